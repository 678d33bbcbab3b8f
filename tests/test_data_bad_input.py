"""Hostile external files: encodings, labels, oversized premises, names the old parser cut
short, isolated query nodes, and streaming (no file is read whole)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from causal_semloss.data.external import check_external, load_external, scan_rows
from causal_semloss.errors import DataError
from tests.conftest import run_cli

ROW = {"premise": "A causes B. B causes C.", "hypothesis": "Does A cause C?", "label": "Yes"}


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
