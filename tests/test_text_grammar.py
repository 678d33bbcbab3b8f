"""The one premise/question grammar: Unicode and punctuated names, nothing skipped silently,
and render -> parse gives back the same graph."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from causal_semloss.graphs import NAME_ALPHABET
from causal_semloss.tasks import get_task
from causal_semloss.text import (
    NAME_RE,
    NAME_SEPARATORS,
    RESERVED_WORDS,
    is_name,
    parse_premise,
    render_hypothesis,
    render_premise,
)


@pytest.mark.parametrize(
    ("text", "edges"),
    [
        ("A causes B.", [("A", "B")]),
        ("A-1 causes B-2.", [("A-1", "B-2")]),
        ("Bär causes Hund. Hund causes Katze.", [("Bär", "Hund"), ("Hund", "Katze")]),
        ("O'Neil causes St.Paul.", [("O'Neil", "St.Paul")]),
        ("東京 causes 大阪.", [("東京", "大阪")]),
        ("a1 causes B2 B2 causes 33", [("a1", "B2"), ("B2", "33")]),  # periods optional
        ("  A causes B .\n B causes C.  ", [("A", "B"), ("B", "C")]),
    ],
)
def test_parses(text, edges):
    assert parse_premise(text) == edges


@pytest.mark.parametrize(
    "text",
    [
        "A never causes B.",
        "A is B.",
        "A causes B. and then some",
        "A causes B.C causes D.",  # no space after the period: "B.C" is one name
        "-A causes B.",
        "",
    ],
)
def test_unparseable_is_none_not_partial(text):
    assert parse_premise(text) is None


def test_questions_with_unicode_names():
    assert get_task("transitivity").parse_question("Does Bär cause Katze?") == ("Bär", "Katze", [])
    assert get_task("dseparation").parse_question(
        "Are A-1 and C.d d-separated given {Ö, x'y}?"
    ) == (
        "A-1",
        "C.d",
        ["Ö", "x'y"],
    )
    assert get_task("dseparation").parse_question("Are A and C d-separated given {}?") == (
        "A",
        "C",
        [],
    )
    assert get_task("dseparation").parse_question("Are A and C d-separated given {B C}?") is None


def test_prompt_header_is_not_part_of_the_premise():
    prompt = (
        "<start_of_turn>user\nGiven the following causal relationships:\nX causes Y.\n\n"
        "Does X cause Y?\nPlease answer with only 'Yes' or 'No'.<end_of_turn>\n"
    )
    premise, question = get_task("transitivity").split_question(prompt)
    assert parse_premise(premise) == [("X", "Y")]
    assert question.startswith("Does X cause Y?")


def test_generated_names_are_names():
    import random

    from causal_semloss.graphs import random_names

    assert all(NAME_RE.fullmatch(c) for c in NAME_ALPHABET)
    assert all(is_name(n) for n in random_names(random.Random(0), 500, (1, 10)))
    assert not is_name("d") and not is_name("A.") and not is_name("B b")


_WORD = st.text(st.characters(categories=("Lu", "Ll", "Lt", "Lo", "Nd")), min_size=1, max_size=4)
_NAMES = st.builds(
    lambda first, rest: first + "".join(sep + word for sep, word in rest),
    _WORD,
    st.lists(st.tuples(st.sampled_from(NAME_SEPARATORS), _WORD), max_size=2),
).filter(is_name)


@settings(max_examples=300, deadline=None)
@given(
    names=st.lists(_NAMES, min_size=2, max_size=8, unique=True),
    data=st.data(),
)
def test_render_parse_round_trip(names, data):
    pairs = [(u, v) for u in names for v in names if u != v]
    edges = data.draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=12, unique=True))
    assert parse_premise(render_premise(edges)) == edges
    x, y = edges[0]
    given_nodes = [n for n in names if n not in (x, y)][:3]
    template = "Are {x} and {y} d-separated given {given}?"
    hypothesis = render_hypothesis(template, x, y, given_nodes)
    assert get_task("dseparation").parse_question(hypothesis) == (x, y, given_nodes)
    assert get_task("transitivity").parse_question(
        render_hypothesis("Does {x} cause {y}?", x, y)
    ) == (
        x,
        y,
        [],
    )


# A word starts with a letter, digit or "_"; combining marks (Mn, Mc, Me) may follow it.
_MARKED_WORD = st.builds(
    lambda first, rest: first + rest,
    st.characters(categories=("L", "Nd")),
    st.text(st.characters(categories=("L", "M", "Nd")), max_size=4),
)
_MARKED_NAMES = st.builds(
    lambda first, rest: first + "".join(sep + word for sep, word in rest),
    _MARKED_WORD,
    st.lists(st.tuples(st.sampled_from(NAME_SEPARATORS), _MARKED_WORD), max_size=2),
).filter(lambda name: name.lower() not in RESERVED_WORDS)


@pytest.mark.parametrize("name", ["हिन्दी", "محمّد", "x̃", "Bär", "a\u20dd"])
def test_names_may_carry_combining_marks(name):
    assert is_name(name)
    assert parse_premise(f"{name} causes B.") == [(name, "B")]
    assert get_task("transitivity").parse_question(f"Does {name} cause B?") == (name, "B", [])
    assert not is_name("\u0303x")  # a mark cannot start a word


@settings(max_examples=150, deadline=None)
@given(names=st.lists(_MARKED_NAMES, min_size=2, max_size=6, unique=True), data=st.data())
def test_render_parse_round_trip_with_combining_marks(names, data):
    pairs = [(u, v) for u in names for v in names if u != v]
    edges = data.draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=8, unique=True))
    assert parse_premise(render_premise(edges)) == edges
    x, y = edges[0]
    given_nodes = [n for n in names if n not in (x, y)][:2]
    hypothesis = render_hypothesis("Are {x} and {y} d-separated given {given}?", x, y, given_nodes)
    assert get_task("dseparation").parse_question(hypothesis) == (x, y, given_nodes)


def test_every_combining_mark_lies_in_the_planes_scanned():
    import sys
    import unicodedata

    from causal_semloss.text import MARK_PLANES

    scanned = {c for plane in MARK_PLANES for c in plane}
    marks = (c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c))[0] == "M")
    assert all(c in scanned for c in marks)
