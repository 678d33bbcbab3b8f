"""What each arm showed: escapes timed by the one collapse rule at every trajectory point (on the
ID test and each OOD split, not the ID validation monitor), and held against the heuristic."""

from __future__ import annotations

import pandas as pd

from causal_semloss.report.arm_findings import arm_findings, seed_escapes, sentence

SPLITS = ("test", "length", "branching", "adversarial")


def _trajectory(course: dict[int, list[bool]], examples=(0, 10_000, 20_000, 30_000)):
    """`course[seed]`: per point, is the run collapsed on `branching` (the ID test says Yes)."""
    rows = []
    for seed, flags in course.items():
        for point, (n_seen, flag) in enumerate(zip(examples, flags, strict=True)):
            for split in SPLITS:
                rows.append(
                    {
                        "backbone": "tiny",
                        "task": "transitivity",
                        "role": "semantic",
                        "seed": seed,
                        "examples": n_seen,
                        "split": split,
                        "final": point == len(examples) - 1,
                        "yes_rate": 99.0 if flag else 60.0,
                        # a collapse on the adversarial set is not one the rule looks at
                        "collapsed": flag if split == "branching" else split == "adversarial",
                    }
                )
    return pd.DataFrame(rows)


def test_an_escape_is_the_point_after_the_last_collapsed_one():
    frame = _trajectory({0: [True, False, True, False], 1: [True, True, True, True]})
    escapes = seed_escapes(frame).set_index("seed")
    assert escapes.loc[0, "escape_examples"] == 30_000  # the dip at 10k was not for good
    assert escapes.loc[0, "last_collapsed_examples"] == 20_000
    assert escapes.loc[0, "collapsed_onto"] == "Yes"
    assert pd.isna(escapes.loc[1, "escape_examples"]) and escapes.loc[1, "collapsed_last"]


def test_a_probe_and_the_final_evaluation_at_one_point_count_once_as_the_final():
    frame = _trajectory({0: [True, True]}, examples=(0, 30_000))
    probe = frame[frame["examples"] == 30_000].assign(final=False, collapsed=False)
    escapes = seed_escapes(pd.concat([frame, probe])).set_index("seed")
    assert escapes.loc[0, "collapsed_last"] and escapes.loc[0, "points"] == 2


def test_the_sentence_says_when_the_runs_left_collapse_and_where_they_ended():
    frame = _trajectory({0: [True, False, False, False], 1: [True, True, True, False]})
    heuristic = pd.DataFrame(
        [
            {
                "task": "transitivity",
                "backbone": "tiny",
                "role": "semantic",
                "measure": "ID balanced accuracy",
                "difference": 0.4,
                "ci_low": -2.0,
                "ci_high": 2.8,
                "label": "at heuristic level",
            }
        ]
    )
    weights = pd.DataFrame(
        {
            "backbone": ["tiny"] * 2,
            "task": ["transitivity"] * 2,
            "role": ["semantic"] * 2,
            "examples": [0, 30_000],
            "answer_weight": [1.0, 9.5],
        }
    )
    row = arm_findings(frame, heuristic, weights).iloc[0]
    assert (row.escaped, row.escape_min, row.escape_max, row.ended_collapsed) == (
        2,
        10_000,
        30_000,
        0,
    )
    text = sentence(row)
    assert "left collapse (onto Yes) for good in 2/2 seeds, first point off it 10k–30k" in text
    assert "(last collapsed point 0–20k)" in text
    assert "×9.5" in text and "ID +0.4 [-2.0, +2.8] at heuristic level" in text
    assert row.course in text and row.ID_vs_heuristic == "+0.4 [-2.0, +2.8] at heuristic level"
