"""Load external JSONL sets ({premise, hypothesis, label} or {prompt, completion}) and check
every row against the oracle.

Invalid rows are classified by reason and, by `on_invalid`, kept with a flag (default, so a
report can show metrics on all rows and on valid rows), dropped, or turned into an error.
Nothing is dropped silently: `LoadedSet.invalid_counts` says what happened to which rows.
Malformed JSON or a row with neither shape is always an error naming the file and line.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from causal_semloss.errors import DataError
from causal_semloss.oracles import build_graph, is_acyclic, oracle_answer
from causal_semloss.text import parse_premise, parse_question, split_question

ON_INVALID = ("keep", "drop", "error")
INVALID_REASONS = (
    "bad_label",
    "unparseable_premise",
    "unparseable_question",
    "self_query",
    "unknown_query_node",
    "query_in_given",
    "cyclic_premise",
    "label_mismatch",
)


@dataclass
class LoadedSet:
    path: str
    task: str
    records: list[dict]
    n_rows: int
    invalid_counts: Counter = field(default_factory=Counter)

    @property
    def n_valid(self) -> int:
        return self.n_rows - sum(self.invalid_counts.values())

    def summary(self) -> dict:
        return {
            "n": self.n_rows,
            "valid": self.n_valid,
            "invalid": dict(sorted(self.invalid_counts.items())),
        }


def normalize_label(raw) -> bool | None:
    if isinstance(raw, bool):
        return raw
    if not isinstance(raw, str):
        return None
    word = raw.strip().strip(".!").strip().lower()
    return {"yes": True, "no": False, "true": True, "false": False}.get(word)


def _text_fields(row: dict, where: str, task: str) -> tuple[str, str, object]:
    """(premise, hypothesis, raw label) of either row shape; a prompt is split at the question."""
    if "premise" in row or "hypothesis" in row:
        for key in ("premise", "hypothesis", "label"):
            if key not in row:
                raise DataError(f"{where}: missing field {key!r}")
            if key != "label" and not isinstance(row[key], str):
                raise DataError(f"{where}: field {key!r} must be a string")
        return row["premise"], row["hypothesis"], row["label"]
    if "prompt" in row:
        if "completion" not in row:
            raise DataError(f"{where}: missing field 'completion'")
        if not isinstance(row["prompt"], str):
            raise DataError(f"{where}: field 'prompt' must be a string")
        return (*split_question(task, row["prompt"]), row["completion"])
    raise DataError(
        f"{where}: expected fields premise/hypothesis/label or prompt/completion, got {sorted(row)}"
    )


def classify_row(task: str, premise: str, hypothesis: str, raw_label) -> tuple[dict, str | None]:
    """Structured form + oracle answer of one row, and the reason it is invalid (or None)."""
    label = normalize_label(raw_label)
    edges = parse_premise(premise)
    question = parse_question(task, hypothesis)
    info: dict = {"edges": [list(e) for e in edges], "query": None, "given": [], "oracle": None}
    if label is None:
        return info, "bad_label"
    info["label"] = "Yes" if label else "No"
    if not edges:
        return info, "unparseable_premise"
    if question is None:
        return info, "unparseable_question"
    x, y, given = question
    info["query"], info["given"] = [x, y], given
    if x == y:
        return info, "self_query"
    graph = build_graph(edges)
    if any(node not in graph for node in (x, y, *given)):
        return info, "unknown_query_node"
    if x in given or y in given:
        return info, "query_in_given"
    if not is_acyclic(graph):
        return info, "cyclic_premise"
    answer = oracle_answer(task, graph, x, y, given)
    info["oracle"] = answer
    return info, None if answer == label else "label_mismatch"


def load_external(path: str | Path, task: str, on_invalid: str = "keep") -> LoadedSet:
    """Read and check every row of a JSONL file; see the module docstring for the contract."""
    if on_invalid not in ON_INVALID:
        raise DataError(f"on_invalid={on_invalid!r}: expected one of {ON_INVALID}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    records: list[dict] = []
    counts: Counter = Counter()
    n_rows = 0
    with open(path, encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{where}: malformed JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
            premise, hypothesis, raw_label = _text_fields(row, where, task)
            n_rows += 1
            info, reason = classify_row(task, premise, hypothesis, raw_label)
            if reason is not None:
                counts[reason] += 1
                if on_invalid == "error":
                    raise DataError(f"{where}: invalid row ({reason})")
                if on_invalid == "drop":
                    continue
            records.append(
                {
                    "id": f"{path.stem}-{line_no:07d}",
                    "task": task,
                    "split": path.stem,
                    "premise": premise.strip(),
                    "hypothesis": hypothesis.strip(),
                    "graph_id": f"{path.stem}-{line_no:07d}",
                    "line": line_no,
                    "valid": reason is None,
                    "invalid_reason": reason,
                    **info,
                }
            )
    if n_rows == 0:
        raise DataError(f"{path}: no rows")
    return LoadedSet(
        path=str(path), task=task, records=records, n_rows=n_rows, invalid_counts=counts
    )
