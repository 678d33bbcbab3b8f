"""External JSONL sets: both row shapes, every invalid reason, on_invalid modes, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from causal_semloss.data.external import check_external, load_external
from causal_semloss.errors import DataError
from tests.conftest import run_cli

ROWS = [
    # valid, no periods between sentences, mixed-case and digit names
    {"premise": "a1 causes B2 B2 causes 33", "hypothesis": "Does a1 cause 33?", "label": "Yes"},
    # valid, prompt/completion shape with the paper's chat wrapper
    {
        "prompt": "<start_of_turn>user\nGiven the following causal relationships:\nX causes Y. Z causes Y.\n\n"
        "Does X cause Z?\nPlease answer with only 'Yes' or 'No'.<end_of_turn>\n<start_of_turn>model\n",
        "completion": "No",
    },
    {
        "premise": "A causes B. B causes A.",
        "hypothesis": "Does A cause B?",
        "label": "Yes",
    },  # cyclic
    {"premise": "A causes B.", "hypothesis": "Does A cause A?", "label": "No"},  # self-query
    # Q is not in the premise: a valid isolated node (info, not invalid), oracle No
    {"premise": "A causes B.", "hypothesis": "Does A cause Q?", "label": "No"},
    {"premise": "A causes B.", "hypothesis": "Does A cause B?", "label": "No"},  # wrong label
    {"premise": "A never causes B.", "hypothesis": "Does A cause B?", "label": "No"},  # no parse
    {"premise": "A causes B.", "hypothesis": "Is A a cause?", "label": "No"},  # no question
    {"premise": "A causes B.", "hypothesis": "Does A cause B?", "label": "Maybe"},  # bad label
]
INFO = {"isolated_query_node": 1}
REASONS = {
    "cyclic_premise": 1,
    "self_query": 1,
    "label_mismatch": 1,
    "unparseable_premise": 1,
    "unparseable_question": 1,
    "bad_label": 1,
}


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_reasons_and_keep(tmp_path):
    loaded = load_external(_write(tmp_path / "set.jsonl", ROWS), "transitivity")
    assert loaded.summary() == {
        "n": 9,
        "valid": 3,
        "invalid": dict(sorted(REASONS.items())),
        "info": INFO,
    }
    assert len(loaded.records) == 9
    valid = [r for r in loaded.records if r["valid"]]
    assert [r["oracle"] for r in valid] == [True, False, False]
    assert valid[1]["edges"] == [["X", "Y"], ["Z", "Y"]]
    assert valid[2]["isolated"] == ["Q"]


def test_drop_and_error(tmp_path):
    path = _write(tmp_path / "set.jsonl", ROWS)
    dropped = load_external(path, "transitivity", on_invalid="drop")
    assert len(dropped.records) == 3 and dropped.summary()["invalid"] == dict(
        sorted(REASONS.items())
    )
    with pytest.raises(DataError, match=r"set.jsonl:3: invalid row \(cyclic_premise\)"):
        load_external(path, "transitivity", on_invalid="error")


def test_dseparation_rows(tmp_path):
    rows = [
        {
            "premise": "A causes B. C causes B.",
            "hypothesis": "Are A and C d-separated given {}?",
            "label": "Yes",
        },
        {
            "premise": "A causes B. C causes B.",
            "hypothesis": "Are A and C d-separated given {B}?",
            "label": "No",
        },
        {
            "premise": "A causes B. B causes C.",
            "hypothesis": "Are A and C d-separated?",
            "label": "No",
        },
        {
            "premise": "A causes B. B causes C.",
            "hypothesis": "Are A and C d-separated given {A}?",
            "label": "No",
        },
    ]
    loaded = load_external(_write(tmp_path / "d.jsonl", rows), "dseparation")
    assert loaded.summary() == {
        "n": 4,
        "valid": 3,
        "invalid": {"query_in_given": 1},
        "info": {},
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", r"bad.jsonl:2: malformed JSON"),
        ('{"premise": "A causes B.", "label": "Yes"}', r"bad.jsonl:2: missing field 'hypothesis'"),
        ('{"text": "A causes B."}', r"bad.jsonl:2: expected fields"),
        ("[1, 2]", r"bad.jsonl:2: expected a JSON object"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n")
    with pytest.raises(DataError, match=message):
        load_external(path, "transitivity")


PLAIN = {"premise": "A causes B.", "hypothesis": "Does A cause B?", "label": "Yes"}
DEEP = 200_000


@pytest.mark.parametrize(
    ("line", "message"),
    [
        # wrong-typed fields are refused, the companion flag included
        (
            json.dumps({**PLAIN, "companion": "yes"}),
            "field 'companion' must be true or false, got \"yes\"",
        ),
        # a row of both shapes: which one was meant is not ours to guess
        (json.dumps({**PLAIN, "prompt": "x", "completion": "No"}), "a row of both shapes"),
        # what json.loads cannot give back: one line, not a RecursionError or ValueError
        ("[" * DEEP + "]" * DEEP, "malformed JSON \\(nested too deep to read\\)"),
        (
            json.dumps(PLAIN)[:-1] + ', "n": ' + "9" * 5000 + "}",
            "malformed JSON \\(an integer of over 4300 digits\\)",
        ),
    ],
    ids=["companion_type", "both_shapes", "deep_nesting", "long_integer"],
)
def test_rows_json_cannot_carry_are_one_error_naming_the_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n")
    for read in (check_external, lambda p, t: load_external(p, t)):
        with pytest.raises(DataError, match=f"bad.jsonl:2: {message}"):
            read(path, "transitivity")


def test_a_hypothesis_with_two_questions_is_refused_by_reason(tmp_path):
    rows = [
        {"premise": "A causes B.", "hypothesis": "Does A cause B? Does B cause A?", "label": "Yes"},
        {"premise": "A causes B.", "hypothesis": "Does B cause A? Does A cause B?", "label": "Yes"},
    ]
    path = _write(tmp_path / "two.jsonl", rows)
    assert check_external(path, "transitivity")["invalid"] == {"several_questions": 2}
    assert load_external(path, "transitivity", on_invalid="drop").records == []


def test_empty_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match="no rows"):
        load_external(_write(tmp_path / "empty.jsonl", []), "transitivity")


def test_check_cli_json(tmp_path):
    path = _write(tmp_path / "set.jsonl", ROWS)
    result = run_cli("causal_semloss.data.check", str(path), "--task", "transitivity", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {
        "n": 9,
        "valid": 3,
        "invalid": dict(sorted(REASONS.items())),
        "info": INFO,
    }
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    result = run_cli(
        "causal_semloss.data.check", str(tmp_path / "bad.jsonl"), "--task", "transitivity"
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'bad.jsonl'}:1: malformed JSON (Expecting property name enclosed in double quotes)"
    ]


# Fails a fresh interpreter if importing the module opens any file of the package but code.
NO_IO_ON_IMPORT = """
import sys
from pathlib import Path
import causal_semloss
package = Path(causal_semloss.__file__).parent
def watch(event, args):
    if event == "open" and isinstance(args[0], str) and Path(args[0]).suffix not in (".py", ".pyc"):
        if Path(args[0]).resolve().is_relative_to(package):
            raise SystemExit(f"read at import: {args[0]}")
sys.addaudithook(watch)
import causal_semloss.data.external
"""


def test_importing_the_module_reads_no_file():
    """The default max_nodes comes from conf/ on first use (`default_max_nodes`), not at import."""
    done = subprocess.run(
        [sys.executable, "-c", NO_IO_ON_IMPORT], env=os.environ, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_named_pipe_is_read_as_written_and_one_error_line_when_nobody_writes(
    tmp_path, monkeypatch, capsys
):
    """Pipes are accepted on purpose; one that nobody writes must not hang `check` (or
    `evaluate`, which reads through the same function) for ever."""
    import threading

    import causal_semloss.input_files as input_files
    from causal_semloss.data.check import main

    monkeypatch.setattr(input_files, "PIPE_WAIT_SECONDS", 0.2, raising=False)
    pipe = tmp_path / "set.jsonl"
    os.mkfifo(pipe)
    outcome = {}

    def check():
        try:
            main([str(pipe), "--task", "transitivity"])
        except SystemExit as exc:
            outcome["code"] = exc.code

    reader = threading.Thread(target=check, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # the old behaviour: blocked in open(); a writer lets it go
        pipe.write_text("")
        reader.join(timeout=10)
        pytest.fail("check waited for a writer for ever")
    assert outcome == {"code": 2}
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        f"error: {pipe}: a named pipe with nothing to read after 0.2 s; start its "
        "writer first (pipes are accepted on purpose, read as they are written)"
    ]
    writer = threading.Thread(target=lambda: pipe.write_text(json.dumps(ROWS[0]) + "\n"))
    writer.start()
    assert load_external(pipe, "transitivity").summary()["valid"] == 1
    writer.join(timeout=10)
