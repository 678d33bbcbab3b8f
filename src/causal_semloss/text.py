"""Premise and hypothesis text: rendering (generation) and parsing (external data only).

Generated records carry their structure, so training and evaluation never parse text; parsing
exists for external JSONL sets, whose rows are text only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from causal_semloss.oracles import Edge

NAME = r"[A-Za-z0-9_]+"
EDGE_RE = re.compile(rf"({NAME})\s+causes\s+({NAME})")
TRANSITIVITY_RE = re.compile(rf"Does\s+({NAME})\s+cause\s+({NAME})\s*\?", re.IGNORECASE)
DSEP_RE = re.compile(
    rf"Are\s+({NAME})\s+and\s+({NAME})\s+d-separated(?:\s+given\s+\{{([^}}]*)\}})?\s*\?",
    re.IGNORECASE,
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


def render_premise(edges: Sequence[Edge]) -> str:
    return " ".join(f"{u} causes {v}." for u, v in edges)


def render_given(given: Sequence[str]) -> str:
    return "{" + ", ".join(given) + "}"


def render_hypothesis(template: str, x: str, y: str, given: Sequence[str] = ()) -> str:
    return template.format(x=x, y=y, given=render_given(given))


def parse_premise(text: str) -> list[Edge]:
    """Edges of "A causes B. B causes C" (periods optional). Empty list if none found."""
    return [(m.group(1), m.group(2)) for m in EDGE_RE.finditer(text)]


def parse_question(task: str, text: str) -> tuple[str, str, list[str]] | None:
    """(x, y, given) of the task's question in `text` (last match wins), or None."""
    if task == "transitivity":
        matches = list(TRANSITIVITY_RE.finditer(text))
        if not matches:
            return None
        m = matches[-1]
        return m.group(1), m.group(2), []
    matches = list(DSEP_RE.finditer(text))
    if not matches:
        return None
    m = matches[-1]
    given = [g.strip() for g in (m.group(3) or "").split(",") if g.strip()]
    return m.group(1), m.group(2), given


def split_question(task: str, text: str) -> tuple[str, str]:
    """Split a prompt into (premise part, question part) at the task's question."""
    pattern = TRANSITIVITY_RE if task == "transitivity" else DSEP_RE
    matches = list(pattern.finditer(text))
    if not matches:
        return text, ""
    start = matches[-1].start()
    return text[:start], text[start:]
