"""What each arm showed: escapes timed by the one collapse rule at every training point (on the
ID test and each OOD split, not the ID validation monitor), and held against the heuristic."""

from __future__ import annotations

import pandas as pd

from causal_semloss.report.arm_findings import arm_findings, seed_escapes, sentence

SPLITS = ("test", "length", "branching", "adversarial")
POINTS = (0, 10_000, 20_000, 30_000, 40_000)


def _trajectory(course: dict[int, list], examples=POINTS, onto_yes=True):
    """`course[seed]`: per point, is the run collapsed on `branching` (None: no split judged)."""
    rows = []
    for seed, flags in course.items():
        for point, (n_seen, flag) in enumerate(zip(examples, flags, strict=True)):
            for split in SPLITS:
                collapsed = flag if split == "branching" else split == "adversarial"
                rows.append(
                    {
                        "backbone": "tiny",
                        "task": "transitivity",
                        "role": "semantic",
                        "seed": seed,
                        "examples": n_seen,
                        "split": split,
                        "final": point == len(examples) - 1,
                        # the ID test answers Yes; the collapsed split, Yes or No
                        "yes_rate": (99.0 if onto_yes else 1.0) if flag else 60.0,
                        # a collapse on the adversarial set is not one the rule looks at
                        "collapsed": None if flag is None else collapsed,
                    }
                )
    return pd.DataFrame(rows)


def _states(frame):
    return seed_escapes(frame).set_index("seed")


def test_an_escape_is_the_point_after_the_last_collapsed_one_confirmed_by_a_later_one():
    frame = _trajectory({0: [True, True, False, True, False], 1: [True, True, False, False, False]})
    escapes = _states(frame)
    assert escapes.loc[0, "state"] == "off_at_last_only"  # the dip at 20k was not for good
    assert escapes.loc[0, "escape_examples"] == 40_000
    assert escapes.loc[1, "state"] == "escaped" and escapes.loc[1, "escape_examples"] == 20_000
    assert escapes.loc[1, "last_collapsed_examples"] == 10_000


def test_the_untrained_point_is_not_a_collapse_of_training():
    escapes = _states(_trajectory({0: [True, False, False, False, False]}))
    assert escapes.loc[0, "state"] == "never_collapsed" and escapes.loc[0, "collapsed_untrained"]


def test_an_unjudged_point_is_left_out_not_read_as_an_escape():
    escapes = _states(_trajectory({0: [True, True, True, True, None]}))
    assert escapes.loc[0, "state"] == "ended_collapsed"
    assert escapes.loc[0, "points"] == 3


def test_the_answer_collapsed_onto_is_the_collapsed_splits_not_the_id_tests():
    escapes = _states(_trajectory({0: [True, True, True, False, False]}, onto_yes=False))
    assert escapes.loc[0, "collapsed_onto"] == "No"


def test_a_probe_and_the_final_evaluation_at_one_point_count_once_as_the_final():
    frame = _trajectory({0: [True, True, True, True, True]})
    probe = frame[frame["examples"] == 40_000].assign(final=False, collapsed=False)
    escapes = _states(pd.concat([frame, probe]))
    assert escapes.loc[0, "state"] == "ended_collapsed" and escapes.loc[0, "points"] == 4


def test_the_sentence_says_how_every_seed_stood_and_where_the_arm_ended():
    frame = _trajectory(
        {
            0: [True, True, False, False, False],
            1: [True, True, True, False, False],
            2: [True, True, True, True, False],
            3: [True, True, True, True, True],
        }
    )
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
            "examples": [0, 40_000],
            "answer_weight": [1.0, 9.5],
        }
    )
    row = arm_findings(seed_escapes(frame), heuristic, weights).iloc[0]
    assert (row.escaped, row.off_at_last_only, row.ended_collapsed) == (2, 1, 1)
    text = sentence(row)
    assert "left collapse (onto Yes) for good in 2/4 seeds, first point off it 20k–30k" in text
    assert "(last collapsed point 10k–20k)" in text
    assert "off collapse only at the last point (40k) in 1/4" in text
    assert "collapsed (onto Yes) at the end (40k) in 1/4" in text
    assert "×9.5" in text and "ID +0.4 [-2.0, +2.8] at heuristic level" in text
    assert row.course in text and row.ID_vs_heuristic == "+0.4 [-2.0, +2.8] at heuristic level"
