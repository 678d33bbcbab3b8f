"""The authors' `{prompt, completion}` rows are read back to the premise and hypothesis they were
rendered from, exactly, or refused by reason: a chat tail never reaches the question."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf

from causal_semloss.data.external import load_external
from causal_semloss.data.external_rows import split_prompt
from causal_semloss.graphs import random_names
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.text import render_hypothesis, render_premise

# PAPER.md, "Prompt (Gemma chat format)", as given there (the completion is "{label}<end_of_turn>").
PAPER_PROMPT = (
    "<start_of_turn>user\nGiven the following causal relationships:\n{premise}\n\n{hypothesis}\n"
    "Please answer with only 'Yes' or 'No'.<end_of_turn>\n<start_of_turn>model\n"
)
# The four questions: one file in each shape must give the same rows.
QUESTIONS = [
    ("A causes B. B causes C.", "Does A cause C?", "Yes"),
    ("A causes B. B causes C.", "Does C cause A?", "No"),
    ("X causes Y. Z causes Y.", "Does X cause Z?", "No"),
    ("P causes Q. Q causes R. R causes S.", "Does P cause S?", "Yes"),
]
HYPOTHESIS_TEMPLATES = {
    task: OmegaConf.load(CONFIG_DIR / "task" / f"{task}.yaml").hypothesis
    for task in ("transitivity", "dseparation")
}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_papers_prompt_is_the_shipped_paper_template():
    assert OmegaConf.load(CONFIG_DIR / "model" / "prompt" / "paper.yaml").template == PAPER_PROMPT


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(sorted(HYPOTHESIS_TEMPLATES)))
def test_the_papers_prompt_round_trips(seed, task):
    rng = random.Random(seed)
    names = random_names(rng, rng.randint(3, 8), (1, 10))
    edges = [(names[i], names[i + 1]) for i in range(len(names) - 1)]
    premise = render_premise(edges)
    given_nodes = names[1:2] if task == "dseparation" and rng.random() < 0.5 else []
    hypothesis = render_hypothesis(HYPOTHESIS_TEMPLATES[task], names[0], names[-1], given_nodes)
    prompt = PAPER_PROMPT.format(premise=premise, hypothesis=hypothesis)
    assert split_prompt(prompt, task) == (premise, hypothesis)


@pytest.mark.parametrize("name", ["paper", "paper_chatml"])
def test_every_shipped_chat_template_round_trips(name):
    template = OmegaConf.load(CONFIG_DIR / "model" / "prompt" / f"{name}.yaml").template
    premise, hypothesis = QUESTIONS[0][:2]
    prompt = template.format(premise=premise, hypothesis=hypothesis)
    assert split_prompt(prompt, "transitivity") == (premise, hypothesis)
    assert split_prompt(prompt.rstrip(), "transitivity") == (premise, hypothesis)


def test_both_shapes_of_the_same_questions_are_the_same_rows(tmp_path):
    plain = [{"premise": p, "hypothesis": h, "label": a} for p, h, a in QUESTIONS]
    prompted = [
        {"prompt": PAPER_PROMPT.format(premise=p, hypothesis=h), "completion": f"{a}<end_of_turn>"}
        for p, h, a in QUESTIONS
    ]
    fields = ("premise", "hypothesis", "label", "oracle", "valid", "edges", "query")
    rows = [
        [
            {k: r[k] for k in fields}
            for r in load_external(_write(tmp_path / name, s), "transitivity").records
        ]
        for name, s in (("plain.jsonl", plain), ("prompted.jsonl", prompted))
    ]
    assert rows[0] == rows[1]
    assert all(r["valid"] for r in rows[1])


def test_a_prompt_with_an_unknown_chat_tail_is_refused_by_reason(tmp_path):
    premise, hypothesis, _ = QUESTIONS[0]
    rows = [
        # another chat format: its tail follows the question
        {"prompt": f"[INST] {premise} {hypothesis} Answer Yes or No. [/INST]", "completion": "Yes"},
        # the paper's prompt with a premise split over a blank line: it cannot be read back
        {
            "prompt": PAPER_PROMPT.format(
                premise="A causes B.\n\nB causes C.", hypothesis=hypothesis
            ),
            "completion": "Yes",
        },
        # a bare prompt: premise and question only (read as before)
        {"prompt": f"{premise} {hypothesis}", "completion": "Yes"},
    ]
    for mode in ("keep", "drop"):
        loaded = load_external(_write(tmp_path / "p.jsonl", rows), "transitivity", on_invalid=mode)
        assert loaded.summary()["invalid"] == {"unparseable_prompt": 2}
        assert [r["line"] for r in loaded.records] == [3]  # never scored, even under keep
        assert loaded.records[0]["hypothesis"] == hypothesis
