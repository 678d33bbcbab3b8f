"""Hostile external files: encodings, labels, oversized premises, names the old parser cut
short, isolated query nodes, and streaming (no file is read whole)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from causal_semloss.data.external import check_external, load_external, scan_rows
from causal_semloss.errors import DataError
from tests.conftest import ROW, run_cli


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_invalid_utf8_is_exit_2_naming_file_line_and_byte(tmp_path):
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(
        (json.dumps(ROW) + "\n").encode() + '{"premise": "Bär causes X."}\n'.encode("latin-1")
    )
    with pytest.raises(DataError, match=r"latin1.jsonl:2: not UTF-8 \(byte 0xe4\)"):
        load_external(path, "transitivity")
    result = run_cli("causal_semloss.data.check", str(path), "--task", "transitivity")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"error: {path}:2: not UTF-8 (byte 0xe4)"]


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(ROW) + "\n").encode())
    assert load_external(path, "transitivity").summary()["valid"] == 1


@pytest.mark.parametrize(
    ("label", "valid"),
    [
        ("Yes", True),
        (" yes ", True),
        ("YES\n", True),
        ("Maybe", False),
        ("Yes.", False),
        ("y", False),
        (True, False),
        (1, False),
        (None, False),
        ("", False),
    ],
)
def test_labels_other_than_yes_no_are_bad_label(tmp_path, label, valid):
    loaded = load_external(_write(tmp_path / "l.jsonl", [{**ROW, "label": label}]), "transitivity")
    assert loaded.summary()["invalid"] == ({} if valid else {"bad_label": 1})


def test_premise_over_max_nodes_is_too_large(tmp_path):
    premise = " ".join(f"n{i} causes n{i + 1}." for i in range(300))
    row = {"premise": premise, "hypothesis": "Does n0 cause n300?", "label": "Yes"}
    path = _write(tmp_path / "big.jsonl", [row])
    assert load_external(path, "transitivity").summary()["invalid"] == {"too_large": 1}
    assert load_external(path, "transitivity", max_nodes=400).summary()["valid"] == 1
    result = run_cli(
        "causal_semloss.data.check",
        str(path),
        "--task",
        "transitivity",
        "--max-nodes",
        "10",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["invalid"] == {"too_large": 1}


def test_unicode_and_hyphenated_names_are_whole(tmp_path):
    rows = [
        {
            "premise": "Bär causes Hund. Hund causes Katze.",
            "hypothesis": "Does Bär cause Katze?",
            "label": "Yes",
        },
        {"premise": "A-1 causes B-2.", "hypothesis": "Does A-1 cause B-2?", "label": "Yes"},
        # the old parser read "r causes Hund" and called this row valid
        {"premise": "Bär causes Hund.", "hypothesis": "Does r cause Hund?", "label": "Yes"},
        {"premise": "A never causes B.", "hypothesis": "Does A cause B?", "label": "No"},
    ]
    loaded = load_external(_write(tmp_path / "u.jsonl", rows), "transitivity")
    assert loaded.records[0]["edges"] == [["Bär", "Hund"], ["Hund", "Katze"]]
    assert loaded.records[1]["edges"] == [["A-1", "B-2"]]
    assert loaded.records[2]["invalid_reason"] == "label_mismatch"
    assert loaded.records[2]["isolated"] == ["r"]
    assert loaded.summary()["invalid"] == {"label_mismatch": 1, "unparseable_premise": 1}


def test_isolated_query_nodes_are_valid_and_counted_as_info(tmp_path):
    rows = [
        {
            "premise": "A causes B.",
            "hypothesis": "Are A and Q d-separated given {}?",
            "label": "Yes",
        },
        {
            "premise": "A causes B.",
            "hypothesis": "Are A and B d-separated given {Z}?",
            "label": "No",
        },
    ]
    summary = load_external(_write(tmp_path / "d.jsonl", rows), "dseparation").summary()
    assert summary == {"n": 2, "valid": 2, "invalid": {}, "info": {"isolated_query_node": 2}}


def test_rows_are_streamed_not_read_whole(tmp_path, monkeypatch):
    # An endless line source: scanning must yield records as lines arrive.
    endless = ((i, json.dumps(ROW)) for i in itertools.count(1))
    first = list(itertools.islice(scan_rows(endless, source="x.jsonl", task="transitivity"), 3))
    assert [r["line"] for r in first] == [1, 2, 3]

    # The file loaders never read a file whole.
    def refuse(*args, **kwargs):
        raise AssertionError("read the whole file")

    monkeypatch.setattr(Path, "read_text", refuse)
    monkeypatch.setattr(Path, "read_bytes", refuse)
    path = tmp_path / "many.jsonl"
    with open(path, "w") as fh:
        fh.writelines(json.dumps(ROW) + "\n" for _ in range(2000))
    assert check_external(path, "transitivity")["valid"] == 2000
    assert load_external(path, "transitivity").n_rows == 2000


def test_empty_and_non_object_files_exit_2(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    for name, message in (("empty.jsonl", "no rows"), ("list.jsonl", "expected a JSON object")):
        result = run_cli(
            "causal_semloss.data.check", str(tmp_path / name), "--task", "transitivity"
        )
        assert result.returncode == 2 and message in result.stderr


MARKED = ("हिन्दी", "محمّد", "x̃")  # Devanagari vowel signs and virama, Arabic shadda, x + tilde


def test_names_with_combining_marks_parse_with_exact_oracle_labels(tmp_path):
    a, b, c = MARKED
    chain = f"{a} causes {b}. {b} causes {c}."
    rows = [
        {"premise": chain, "hypothesis": f"Does {a} cause {c}?", "label": "Yes"},
        {"premise": chain, "hypothesis": f"Does {c} cause {a}?", "label": "No"},
        {"premise": "x causes y.", "hypothesis": f"Does {c} cause y?", "label": "No"},  # x̃ != x
    ]
    loaded = load_external(_write(tmp_path / "m.jsonl", rows), "transitivity")
    assert loaded.summary() == {
        "n": 3,
        "valid": 3,
        "invalid": {},
        "info": {"isolated_query_node": 1},
    }
    assert loaded.records[0]["edges"] == [[a, b], [b, c]]
    assert [r["oracle"] for r in loaded.records] == [True, False, False]
    dsep = {"premise": chain, "hypothesis": f"Are {a} and {c} d-separated given {{{b}}}?"}
    rows = [
        {**dsep, "label": "Yes"},
        {**dsep, "hypothesis": f"Are {a} and {c} d-separated?", "label": "No"},
    ]
    assert load_external(_write(tmp_path / "d.jsonl", rows), "dseparation").n_valid == 2


def test_a_lone_surrogate_is_invalid_unicode_and_the_kept_row_is_encodable(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(
        '{"premise": "A causes B.", "hypothesis": "Does A cause B?\\ud800", "label": "Yes"}\n'
        '{"premise": "A\\udc00 causes B.", "hypothesis": "Does A cause B?", "label": "Yes"}\n'
    )
    assert check_external(path, "transitivity")["invalid"] == {"invalid_unicode": 2}
    kept = load_external(path, "transitivity").records
    assert [r["invalid_reason"] for r in kept] == ["invalid_unicode"] * 2
    for record in kept:
        (record["premise"] + record["hypothesis"]).encode("utf-8")  # what the tokenizer needs
    assert kept[0]["oracle"] is True  # the rest of the row still parses


def test_labeled_rows_marked_companion_are_evaluated(tmp_path):
    rows = [{**ROW, "companion": True}, {**ROW, "label": None, "companion": True}]
    loaded = load_external(_write(tmp_path / "c.jsonl", rows), "transitivity")
    assert [r["label"] for r in loaded.records] == ["Yes"]
    assert loaded.skipped == {"companion": 1}
    assert loaded.summary()["info"] == {"companion": 1, "labeled_companion": 1}


def test_keep_mode_scores_invalid_rows_against_the_oracle_where_it_ran(tmp_path):
    rows = [
        {**ROW, "label": "Maybe"},
        {"premise": "A never causes B.", "hypothesis": "Does A cause B?", "label": "Maybe"},
        {"premise": "A never causes B.", "hypothesis": "Does A cause B?", "label": "No"},
    ]
    loaded = load_external(_write(tmp_path / "k.jsonl", rows), "transitivity")
    assert [(r["line"], r["oracle"], r["label"]) for r in loaded.records] == [
        (1, True, None),
        (3, None, "No"),
    ]
    assert loaded.skipped == {"no_answer": 1}
    assert loaded.n_rows == len(loaded.records) + sum(loaded.skipped.values())


def test_a_file_of_the_other_task_is_refused_with_a_hint(tmp_path):
    path = _write(tmp_path / "t.jsonl", [ROW, {**ROW, "label": "No"}])
    with pytest.raises(DataError, match="no row holds a dseparation question.*external_task"):
        load_external(path, "dseparation")


def test_an_overlong_line_is_counted_without_being_parsed(tmp_path, monkeypatch):
    import causal_semloss.input_files as input_files

    monkeypatch.setattr(input_files, "MAX_LINE_BYTES", 1000)
    rows = [ROW, {**ROW, "premise": "A causes B. " * 200}, ROW]
    path = _write(tmp_path / "long.jsonl", rows)
    assert check_external(path, "transitivity") == {
        "n": 3,
        "valid": 2,
        "invalid": {"line_too_long": 1},
        "info": {},
    }
    loaded = load_external(path, "transitivity")
    assert [r["line"] for r in loaded.records] == [1, 3]
    assert loaded.skipped == {"no_answer": 1}


def test_long_dotted_names_parse_in_linear_memory():
    import tracemalloc

    premise = "a." * 100_000 + "a causes b."
    line = json.dumps({"premise": premise, "hypothesis": "Does b cause a?", "label": "No"})
    tracemalloc.start()
    try:
        (record,) = scan_rows([(1, line)], source="x.jsonl", task="transitivity")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert record["valid"]
    assert peak < 12 * len(line), peak / len(line)


@pytest.mark.parametrize("kind", ["directory", "device", "missing"])
def test_paths_that_are_not_files_say_what_they_are(tmp_path, kind):
    path, message = {
        "directory": (tmp_path, "is a directory"),
        "device": (Path("/dev/null"), "not a regular file"),
        "missing": (tmp_path / "nope.jsonl", "no such file"),
    }[kind]
    with pytest.raises(DataError, match=f"{path}: {message}"):
        check_external(path, "transitivity")
    with pytest.raises(DataError, match=f"{path}: {message}"):
        load_external(path, "transitivity")
