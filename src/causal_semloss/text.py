"""Premise and hypothesis text: one grammar, used for rendering (generation) and parsing
(external data). Each task's question pattern (`Task.question`, `causal_semloss.tasks`) is
built from `NAME`.

Generated records carry their structure, so training and evaluation never parse text; parsing
exists for external JSONL sets, whose rows are text only.

Grammar (tested by a render -> parse round trip on random Unicode names):

    name     := word (sep word)*        sep: - ' ’ . ‐ ‑
    word     := a Unicode letter, digit or "_", then any of those or combining marks (M*)
    sentence := name "causes" name      words separated by whitespace
    premise  := sentence (("." | whitespace) sentence)* "."?

Combining marks (categories Mn, Mc, Me) make "हिन्दी", "محمّد" and "x̃" single names; a word may not
start with one. Repeats are possessive, so matching a name keeps no backtracking state: memory
stays flat however long a line is ("a.a.a...." of 10 MB once cost ~85x its size).
A separator counts only *between* word characters, so the period that ends "A causes B." is
never part of B, while "A-1", "O'Neil" and "St.Paul" are single names. Sentences may run
together without periods ("A causes B B causes C"), but a period needs a space after it:
in "A causes B.C causes D." the name "B.C" swallows it and the premise does not parse. Anything else in a premise makes it unparseable:
`parse_premise` returns None rather than silently skipping a sentence such as
"A never causes B.".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Sequence
from itertools import chain

from causal_semloss.oracles import Edge

NAME_SEPARATORS = "-'’.‐‑"
# Unicode places combining marks in planes 0, 1 and 14 only (a test checks the whole range).
MARK_PLANES = (range(0x20000), range(0xE0000, 0xF0000))


def _ranges(codes: Iterator[int]) -> str:
    """A regex character-class body for the code points `codes` (ascending), as ranges."""
    spans: list[list[int]] = []
    for code in codes:
        if spans and spans[-1][1] == code - 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(
        re.escape(chr(lo)) + (f"-{re.escape(chr(hi))}" if hi > lo else "") for lo, hi in spans
    )


MARKS = _ranges(c for c in chain(*MARK_PLANES) if unicodedata.category(chr(c))[0] == "M")
WORD = rf"\w[\w{MARKS}]*+"
NAME = rf"{WORD}(?:[{re.escape(NAME_SEPARATORS)}]{WORD})*+"
NAME_RE = re.compile(NAME)
# One sentence at a position: the name, "causes", the name, then a period, whitespace or the end.
SENTENCE_RE = re.compile(rf"\s*({NAME})\s+causes\s+({NAME})(?:\s*\.|(?=\s)|\s*$)")
# The header of the paper's chat prompt, before the premise (prompt/completion rows).
PROMPT_HEADER_RE = re.compile(
    r"^.*?Given the following causal relationships:\s*", re.IGNORECASE | re.DOTALL
)
# Words of the prompt: a node name never equals one of them (case-insensitive), so a premise
# such as "No causes Yes." cannot be generated.
RESERVED_WORDS = frozenset(
    w.lower()
    for w in [
        "Yes",
        "No",
        "Does",
        "cause",
        "causes",
        "Are",
        "and",
        "d",
        "separated",
        "given",
        "Given",
        "the",
        "following",
        "causal",
        "relationships",
        "Please",
        "answer",
        "with",
        "only",
        "or",
        "user",
        "model",
    ]
)


def normalize_text(text: str) -> str:
    """NFC form, so "Bär" typed with a combining diaeresis is the same name as precomposed."""
    return unicodedata.normalize("NFC", text)


def is_name(text: str) -> bool:
    """True when `text` is one name of the grammar (what rendering may emit)."""
    return NAME_RE.fullmatch(text) is not None and text.lower() not in RESERVED_WORDS


def render_premise(edges: Sequence[Edge]) -> str:
    return " ".join(f"{u} causes {v}." for u, v in edges)


def render_given(given: Sequence[str]) -> str:
    return "{" + ", ".join(given) + "}"


def render_hypothesis(template: str, x: str, y: str, given: Sequence[str] = ()) -> str:
    return template.format(x=x, y=y, given=render_given(given))


def parse_premise(text: str) -> list[Edge] | None:
    """Edges of "A causes B. B causes C." in sentence order; None if any part does not parse
    (including a premise with no sentence at all)."""
    edges: list[Edge] = []
    pos, end = 0, len(text)
    while True:
        while pos < end and text[pos].isspace():
            pos += 1
        if pos == end:
            return edges or None
        match = SENTENCE_RE.match(text, pos)
        if match is None:
            return None
        edges.append((match.group(1), match.group(2)))
        pos = match.end()
