"""Load external JSONL sets ({premise, hypothesis, label} or {prompt, completion}) and check
every row against the oracle.

Invalid rows are classified by reason (the first that applies, in the order of
`external_rows.REASONS`) and, by `on_invalid`, kept with a flag (default, so a report can show
metrics on all rows and on valid rows), dropped, or turned into an error. Nothing is dropped silently: `invalid_counts`
says which rows failed which check, `info_counts` counts valid rows worth knowing about (a query
node the premise never mentions is a valid, isolated node: `isolated_query_node`), and
`skipped` says why each row that is not in `records` is not (rows == records + skipped):
- `companion`: an unlabeled companion question of a generated training split
  (`"companion": true`, no label) is checked against the oracle, never evaluated. A companion
  row that carries a label is an ordinary labeled row (counted as info `labeled_companion`).
- `dropped`: an invalid row under on_invalid=drop.
- `no_answer`: an invalid row kept under on_invalid=keep but with nothing to score it against.
  Keep mode scores a kept row against the oracle where the oracle could run (a row with a bad
  label but a readable premise and question) and against the file's Yes/No label otherwise.
  A prompt that cannot be read back (`unparseable_prompt`) has no text to score: `no_answer`.
Text with a lone surrogate (a JSON "\\ud800", which no encoding can carry) is `invalid_unicode`;
the row keeps its text with U+FFFD in its place. A line over `input_files.MAX_LINE_BYTES` is
`line_too_long`, counted without being parsed. A file in which no row holds the task's question
but some row is `unparseable_question` is refused (it is probably a set of the other task).
Invalid UTF-8, malformed JSON (nested too deep or an integer too long to read included), a row
of neither shape or of both, or a field of the wrong type is always an error naming the file
and line. Files are read line by line (`scan_external` is a generator), so a file of any size
is checked in flat memory by `check_external`, and `check_external_sets` reads a run's
`eval.external` files as its evaluation will, at start-up.
"""

from __future__ import annotations

import json
import stat
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import DictConfig

from causal_semloss.data.external_rows import LONE_SURROGATE, classify_row, text_fields
from causal_semloss.errors import DataError
from causal_semloss.input_files import read_lines, require_input_file

ON_INVALID = ("keep", "drop", "error")
INFO_COUNTS = ("isolated_query_node", "companion", "labeled_companion")
SKIP_REASONS = ("companion", "dropped", "no_answer")


@dataclass
class LoadedSet:
    path: str
    task: str
    records: list[dict]
    n_rows: int
    invalid_counts: Counter = field(default_factory=Counter)
    info_counts: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # rows not in `records`, by why

    @property
    def n_valid(self) -> int:
        return self.n_rows - sum(self.invalid_counts.values())

    def summary(self) -> dict:
        return summary_of(self.n_rows, self.invalid_counts, self.info_counts)


def summary_of(n_rows: int, invalid: Counter, info: Counter) -> dict:
    return {
        "n": n_rows,
        "valid": n_rows - sum(invalid.values()),
        "invalid": dict(sorted(invalid.items())),
        "info": dict(sorted(info.items())),
    }


def scan_rows(
    lines: Iterable[tuple[int, str | None]],
    *,
    source: str,
    task: str,
    max_nodes: int | None = None,
) -> Iterator[dict]:
    """One checked record per non-blank line, lazily: `lines` is consumed as records are asked
    for; a line given as None was too long to read (`line_too_long`). Raises DataError (naming
    `source` and the line) on a malformed line. `max_nodes` None: the default data setting's."""
    stem = Path(source).stem
    for line_no, line in lines:
        if line is None:
            yield _record(stem, task, line_no, "", "", {**UNREAD, "label": None}, "line_too_long")
            continue
        if not line.strip():
            continue
        where = f"{source}:{line_no}"
        row = _parse_line(line, where)
        premise, hypothesis, raw_label = text_fields(row, where, task)
        if premise is None:  # a prompt that cannot be read back: no text to score
            info = {**UNREAD, "label": None}
            yield _record(stem, task, line_no, "", "", info, "unparseable_prompt")
            continue
        broken = LONE_SURROGATE.search(premise + hypothesis) is not None
        premise, hypothesis = (LONE_SURROGATE.sub("\ufffd", t) for t in (premise, hypothesis))
        flagged = row.get("companion") is True
        unlabeled = flagged and raw_label is None
        info, reason = classify_row(task, premise, hypothesis, raw_label, max_nodes, unlabeled)
        record = _record(stem, task, line_no, premise, hypothesis, info, reason)
        record["invalid_reason"] = "invalid_unicode" if broken else reason
        record["valid"] = record["invalid_reason"] is None
        record["companion"], record["labeled_companion"] = unlabeled, flagged and not unlabeled
        yield record


def _parse_line(line: str, where: str) -> dict:
    """One line's JSON object; anything json.loads cannot give back as one is a DataError
    naming the line: malformed JSON, nesting deeper than the interpreter's recursion limit, an
    integer longer than Python converts (`sys.get_int_max_str_digits`)."""
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{where}: malformed JSON ({exc.msg})") from None
    except RecursionError:
        raise DataError(f"{where}: malformed JSON (nested too deep to read)") from None
    except ValueError:
        raise DataError(
            f"{where}: malformed JSON (an integer of over {sys.get_int_max_str_digits()} digits)"
        ) from None
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    return row


# The structure of a line that was not read.
UNREAD = {"edges": None, "query": None, "given": [], "oracle": None, "isolated": []}


def _record(
    stem: str, task: str, line_no: int, premise: str, hypothesis: str, info: dict, reason
) -> dict:
    return {
        "id": f"{stem}-{line_no:07d}",
        "task": task,
        "split": stem,
        "premise": premise.strip(),
        "hypothesis": hypothesis.strip(),
        "graph_id": f"{stem}-{line_no:07d}",
        "line": line_no,
        "valid": reason is None,
        "invalid_reason": reason,
        "companion": False,
        "labeled_companion": False,
        **info,
    }


def scan_external(path: str | Path, task: str, max_nodes: int | None = None) -> Iterator[dict]:
    """Every row of a JSONL file as a checked record, streamed (never the whole file in memory)."""
    path = require_input_file(path)
    return scan_rows(read_lines(path), source=str(path), task=task, max_nodes=max_nodes)


def _count(record: dict, invalid: Counter, info: Counter) -> None:
    if record["invalid_reason"] is not None:
        invalid[record["invalid_reason"]] += 1
    else:
        if record["isolated"]:
            info["isolated_query_node"] += 1
        for name in ("companion", "labeled_companion"):
            if record[name]:
                info[name] += 1


def _counted(path, task: str, max_nodes: int, invalid: Counter, info: Counter) -> Iterator[dict]:
    """`scan_external`'s records, each counted into `invalid`/`info` as it passes; a file with
    no rows is an error once the stream ends."""
    n_rows = 0
    for record in scan_external(path, task, max_nodes):
        n_rows += 1
        _count(record, invalid, info)
        yield record
    if n_rows == 0:
        raise DataError(f"{path}: no rows")


def check_external(path: str | Path, task: str, max_nodes: int | None = None) -> dict:
    """The summary of a file ({"n", "valid", "invalid", "info"}) in flat memory: no record is
    kept."""
    invalid: Counter = Counter()
    info: Counter = Counter()
    n_rows = sum(1 for _ in _counted(path, task, max_nodes, invalid, info))
    return summary_of(n_rows, invalid, info)


def load_external(
    path: str | Path, task: str, on_invalid: str = "keep", max_nodes: int | None = None
) -> LoadedSet:
    """Read and check every row of a JSONL file; see the module docstring for the contract."""
    loaded = LoadedSet(path=str(path), task=task, records=[], n_rows=0)
    loaded.records.extend(_scored(loaded, on_invalid, max_nodes))
    return loaded


def _scored(loaded: LoadedSet, on_invalid: str, max_nodes: int | None) -> Iterator[dict]:
    """The records of `loaded.path` that an evaluation scores, lazily, each row counted into
    `loaded` (rows, invalid and info counts, skipped) as it passes."""
    path, task = loaded.path, loaded.task
    if on_invalid not in ON_INVALID:
        raise DataError(f"on_invalid={on_invalid!r}: expected one of {ON_INVALID}")
    questions = 0
    for record in _counted(path, task, max_nodes, loaded.invalid_counts, loaded.info_counts):
        loaded.n_rows += 1
        questions += record["query"] is not None
        reason = record["invalid_reason"]
        if reason is not None and on_invalid == "error":
            raise DataError(f"{path}:{record['line']}: invalid row ({reason})")
        if record["companion"]:
            loaded.skipped["companion"] += 1  # unlabeled, for the constraint loss: never scored
        elif reason is not None and on_invalid == "drop":
            loaded.skipped["dropped"] += 1
        elif record["oracle"] is None and record["label"] is None:
            loaded.skipped["no_answer"] += 1
        else:
            yield record
    unparsed = loaded.invalid_counts["unparseable_question"]
    if questions == 0 and unparsed:
        raise DataError(
            f"{path}: no row holds a {task} question ({unparsed} of {loaded.n_rows} rows "
            "unparseable_question); for a set of another task set eval.external_task"
        )


def no_row_to_score(path: str, skipped: Counter, on_invalid: str) -> DataError:
    """The error for an external set of which no row is left to score."""
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
    return DataError(
        f"{path}: no row to score ({sum(skipped.values())} rows skipped: {why}; "
        f"eval.on_invalid={on_invalid})"
    )


def check_external_sets(ev: DictConfig, run_task: str, max_nodes: int | None = None) -> None:
    """Read each `ev.external` file as the evaluation will (as `ev.external_task`, else the
    run's task, under `ev.on_invalid` and `data.max_nodes`) and raise what it would raise, at
    start-up rather than after training: a malformed line, no rows, a set of another task, an
    invalid row under on_invalid=error, no row left to score. Streamed: no record is kept. A
    named pipe is not read here (it can be read once: by the evaluation)."""
    task, on_invalid = ev.external_task or run_task, ev.on_invalid
    for path in ev.external:
        if stat.S_ISFIFO(require_input_file(path).stat().st_mode):
            continue
        loaded = LoadedSet(path=str(path), task=task, records=[], n_rows=0)
        if sum(1 for _ in _scored(loaded, on_invalid, max_nodes)) == 0:
            raise no_row_to_score(str(path), loaded.skipped, on_invalid)
