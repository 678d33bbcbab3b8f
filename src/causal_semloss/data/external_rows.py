"""One row of an external set: its text fields (either row shape), its label, its structure
and oracle answer, and the reason it is invalid (the first of `REASONS` that applies).

`data.external` reads files and counts rows; this module knows what one row means.
"""

from __future__ import annotations

import re
from functools import cache

from omegaconf import OmegaConf

from causal_semloss.errors import DataError
from causal_semloss.oracles import build_graph, is_acyclic
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.tasks import get_task
from causal_semloss.text import normalize_text, parse_premise

# Every reason a row can be invalid, in the order they are checked (the first one is given):
# the line could not be read, its text cannot be encoded, then label, premise, question, graph.
REASONS = (
    "line_too_long",
    "invalid_unicode",
    "bad_label",
    "unparseable_premise",
    "too_large",
    "unparseable_question",
    "self_query",
    "query_in_given",
    "cyclic_premise",
    "label_mismatch",
)
# A lone UTF-16 surrogate: JSON can escape one ("\\ud800"), no text encoding can carry it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")
# The paper's completion ends with the chat turn's end marker: "Yes<end_of_turn>".
END_OF_TURN = "<end_of_turn>"


@cache
def default_max_nodes() -> int:
    """The default data setting's data.max_nodes, for callers outside a composed config (the
    check CLI, library use; runs pass cfg.data.max_nodes). Read on first use and kept, so
    importing this module reads no file."""
    return int(OmegaConf.load(CONFIG_DIR / "data" / "default.yaml").max_nodes)


def normalize_label(raw) -> bool | None:
    """Yes/No in any case after trimming whitespace; anything else (True, "Maybe", 1) is None."""
    if not isinstance(raw, str):
        return None
    return {"yes": True, "no": False}.get(raw.strip().lower())


def text_fields(row: dict, where: str, task: str) -> tuple[str, str, object]:
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
        return (*get_task(task).split_question(row["prompt"]), completion)
    raise DataError(
        f"{where}: expected fields premise/hypothesis/label or prompt/completion, got {sorted(row)}"
    )


def classify_row(
    task: str,
    premise: str,
    hypothesis: str,
    raw_label,
    max_nodes: int | None = None,
    companion: bool = False,
) -> tuple[dict, str | None]:
    """Structured form + oracle answer of one row, and the reason it is invalid (or None).

    Premise and question are parsed, and the oracle run, as far as the row allows whatever its
    label, so a kept invalid row has every field that could be read. `companion`: an unlabeled
    companion question (no label is then no error). `info["isolated"]` lists query or
    conditioning nodes absent from the premise: nodes without edges (never a reason to reject).
    `max_nodes` None: `default_max_nodes()`.
    """
    if max_nodes is None:
        max_nodes = default_max_nodes()
    label = normalize_label(raw_label)
    edges = parse_premise(normalize_text(premise))
    question = get_task(task).parse_question(normalize_text(hypothesis))
    info: dict = {
        "edges": None if edges is None else [list(e) for e in edges],
        "query": None if question is None else list(question[:2]),
        "given": [] if question is None else question[2],
        "label": None if label is None else ("Yes" if label else "No"),
        "oracle": None,
        "isolated": [],
    }
    reason = _structure_reason(task, edges, question, max_nodes, info)
    if label is None and not (companion and raw_label is None):
        return info, "bad_label"
    if reason is None and label is not None and info["oracle"] != label:
        reason = "label_mismatch"
    return info, reason


def _structure_reason(task: str, edges, question, max_nodes: int, info: dict) -> str | None:
    """Why premise + question cannot be answered (None: `info["oracle"]` is set)."""
    if edges is None:
        return "unparseable_premise"
    nodes = {node for edge in edges for node in edge}
    if len(nodes) > max_nodes:
        return "too_large"
    if question is None:
        return "unparseable_question"
    x, y, given = question
    if x == y:
        return "self_query"
    if x in given or y in given:
        return "query_in_given"
    info["isolated"] = [node for node in dict.fromkeys((x, y, *given)) if node not in nodes]
    graph = build_graph(edges, nodes=info["isolated"])
    if not is_acyclic(graph):
        return "cyclic_premise"
    info["oracle"] = get_task(task).answer(graph, x, y, given)
    return None
