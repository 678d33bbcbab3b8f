"""Load external JSONL sets ({premise, hypothesis, label} or {prompt, completion}) and check
every row against the oracle.

Invalid rows are classified by reason and, by `on_invalid`, kept with a flag (default, so a
report can show metrics on all rows and on valid rows), dropped, or turned into an error.
Nothing is dropped silently: `LoadedSet.invalid_counts` says what happened to which rows, and
`LoadedSet.info_counts` counts valid rows worth knowing about (a query node that the premise
never mentions is a valid, isolated node: `isolated_query_node`; an unlabeled companion
question of a generated training split, `"companion": true`, is checked against the oracle,
counted as `companion` and never evaluated).
Invalid UTF-8, malformed JSON or a row with neither shape is always an error naming the file
and line. Files are read line by line (`scan_external` is a generator), so a file of any size
is checked in flat memory by `check_external`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from omegaconf import OmegaConf

from causal_semloss.errors import DataError
from causal_semloss.oracles import build_graph, is_acyclic, oracle_answer
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.text import normalize_text, parse_premise, parse_question, split_question

ON_INVALID = ("keep", "drop", "error")
INFO_COUNTS = ("isolated_query_node", "companion")
# The default data setting's data.max_nodes: for callers outside a composed config (the check
# CLI, library use); runs pass cfg.data.max_nodes.
DEFAULT_MAX_NODES = int(OmegaConf.load(CONFIG_DIR / "data" / "default.yaml").max_nodes)
UTF8_BOM = b"\xef\xbb\xbf"
# The paper's completion ends with the chat turn's end marker: "Yes<end_of_turn>".
END_OF_TURN = "<end_of_turn>"


@dataclass
class LoadedSet:
    path: str
    task: str
    records: list[dict]
    n_rows: int
    invalid_counts: Counter = field(default_factory=Counter)
    info_counts: Counter = field(default_factory=Counter)

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


def normalize_label(raw) -> bool | None:
    """Yes/No in any case after trimming whitespace; anything else (True, "Maybe", 1) is None."""
    if not isinstance(raw, str):
        return None
    return {"yes": True, "no": False}.get(raw.strip().lower())


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
        completion = row["completion"]
        if isinstance(completion, str):
            completion = completion.strip().removesuffix(END_OF_TURN)
        return (*split_question(task, row["prompt"]), completion)
    raise DataError(
        f"{where}: expected fields premise/hypothesis/label or prompt/completion, got {sorted(row)}"
    )


def classify_row(
    task: str,
    premise: str,
    hypothesis: str,
    raw_label,
    max_nodes: int = DEFAULT_MAX_NODES,
    companion: bool = False,
) -> tuple[dict, str | None]:
    """Structured form + oracle answer of one row, and the reason it is invalid (or None).

    `info["isolated"]` lists query or conditioning nodes absent from the premise: they are
    nodes without edges (never a reason to reject the row).
    """
    label = normalize_label(raw_label)
    edges = parse_premise(normalize_text(premise))
    info: dict = {
        "edges": None if edges is None else [list(e) for e in edges],
        "query": None,
        "given": [],
        "oracle": None,
        "isolated": [],
    }
    if label is None and not (companion and raw_label is None):
        return info, "bad_label"
    info["label"] = None if label is None else ("Yes" if label else "No")
    if edges is None:
        return info, "unparseable_premise"
    nodes = {node for edge in edges for node in edge}
    if len(nodes) > max_nodes:
        return info, "too_large"
    question = parse_question(task, normalize_text(hypothesis))
    if question is None:
        return info, "unparseable_question"
    x, y, given = question
    info["query"], info["given"] = [x, y], given
    if x == y:
        return info, "self_query"
    if x in given or y in given:
        return info, "query_in_given"
    info["isolated"] = [node for node in dict.fromkeys((x, y, *given)) if node not in nodes]
    graph = build_graph(edges, nodes=info["isolated"])
    if not is_acyclic(graph):
        return info, "cyclic_premise"
    answer = oracle_answer(task, graph, x, y, given)
    info["oracle"] = answer
    return info, None if label is None or answer == label else "label_mismatch"


def read_lines(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, decoded one at a time; a leading BOM is dropped."""
    with open(path, "rb") as fh:
        for line_no, raw in enumerate(fh, start=1):
            if line_no == 1:
                raw = raw.removeprefix(UTF8_BOM)
            try:
                yield line_no, raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DataError(
                    f"{path}:{line_no}: not UTF-8 (byte 0x{raw[exc.start]:02x})"
                ) from None


def scan_rows(
    lines: Iterable[tuple[int, str]],
    *,
    source: str,
    task: str,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> Iterator[dict]:
    """One checked record per non-blank line, lazily: `lines` is consumed as records are asked
    for. Raises DataError (naming `source` and the line) on a malformed line."""
    stem = Path(source).stem
    for line_no, line in lines:
        if not line.strip():
            continue
        where = f"{source}:{line_no}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{where}: malformed JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
        premise, hypothesis, raw_label = _text_fields(row, where, task)
        companion = row.get("companion") is True
        info, reason = classify_row(task, premise, hypothesis, raw_label, max_nodes, companion)
        yield {
            "id": f"{stem}-{line_no:07d}",
            "task": task,
            "split": stem,
            "premise": premise.strip(),
            "hypothesis": hypothesis.strip(),
            "graph_id": f"{stem}-{line_no:07d}",
            "line": line_no,
            "valid": reason is None,
            "invalid_reason": reason,
            "companion": companion,
            **info,
        }


def scan_external(
    path: str | Path, task: str, max_nodes: int = DEFAULT_MAX_NODES
) -> Iterator[dict]:
    """Every row of a JSONL file as a checked record, streamed (never the whole file in memory)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    return scan_rows(read_lines(path), source=str(path), task=task, max_nodes=max_nodes)


def _count(record: dict, invalid: Counter, info: Counter) -> None:
    if record["invalid_reason"] is not None:
        invalid[record["invalid_reason"]] += 1
    else:
        if record["isolated"]:
            info["isolated_query_node"] += 1
        if record["companion"]:
            info["companion"] += 1


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


def check_external(path: str | Path, task: str, max_nodes: int = DEFAULT_MAX_NODES) -> dict:
    """The summary of a file ({"n", "valid", "invalid", "info"}) in flat memory: no record is
    kept."""
    invalid: Counter = Counter()
    info: Counter = Counter()
    n_rows = sum(1 for _ in _counted(path, task, max_nodes, invalid, info))
    return summary_of(n_rows, invalid, info)


def load_external(
    path: str | Path, task: str, on_invalid: str = "keep", max_nodes: int = DEFAULT_MAX_NODES
) -> LoadedSet:
    """Read and check every row of a JSONL file; see the module docstring for the contract."""
    if on_invalid not in ON_INVALID:
        raise DataError(f"on_invalid={on_invalid!r}: expected one of {ON_INVALID}")
    records: list[dict] = []
    invalid: Counter = Counter()
    info: Counter = Counter()
    n_rows = 0
    for record in _counted(path, task, max_nodes, invalid, info):
        n_rows += 1
        reason = record["invalid_reason"]
        if record["companion"] and reason is None:
            continue  # unlabeled, for the constraint loss: counted above, never evaluated
        if reason is not None and on_invalid == "error":
            raise DataError(f"{path}:{record['line']}: invalid row ({reason})")
        if reason is not None and on_invalid == "drop":
            continue
        records.append(record)
    return LoadedSet(
        path=str(path),
        task=task,
        records=records,
        n_rows=n_rows,
        invalid_counts=invalid,
        info_counts=info,
    )
