"""One row of an external set: its text fields (either row shape), its label, its structure
and oracle answer, and the reason it is invalid (the first of `REASONS` that applies).

`data.external` reads files and counts rows; this module knows what one row means.

A `{prompt, completion}` row (the authors' released files) is read back to the premise and
hypothesis it was rendered from: a prompt written with one of the chat templates of
conf/model/prompt/ (the authors' is `paper`) is matched against it, so the chat header and tail
never reach the question; any other prompt must be a premise followed by the task's question
and nothing else (an optional "Given the following causal relationships:" header aside).
Whatever else a prompt holds, the row is `unparseable_prompt` and never scored: its text
would be scored with a template wrapped around a template.
"""

from __future__ import annotations

import json
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
    "unparseable_prompt",
    "bad_label",
    "unparseable_premise",
    "too_large",
    "unparseable_question",
    "several_questions",
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


@cache
def prompt_patterns() -> tuple[re.Pattern[str], ...]:
    """The chat templates of conf/model/prompt/, each as a pattern whose groups give back the
    premise and hypothesis it was rendered with, exactly. Templates with no text before the
    premise (`compact`) are left out: nothing tells their fields from the text around them.
    Neither field may hold the separator between them ("\\n\\n" in `paper`; generated text never
    does), so a prompt splits one way or not at all; whitespace after the template's end is
    allowed. Read on first use, like `default_max_nodes`."""
    patterns = []
    for path in sorted((CONFIG_DIR / "model" / "prompt").glob("*.yaml")):
        template = str(OmegaConf.load(path).template)
        head, _, rest = template.partition("{premise}")
        middle, _, tail = rest.partition("{hypothesis}")
        if not head.strip() or not middle or "{" in tail:
            continue
        field = rf"(?:(?!{re.escape(middle)}).)*?"  # never the separator: one way to split
        patterns.append(
            re.compile(
                rf"\s*{re.escape(head)}(?P<premise>{field}){re.escape(middle)}"
                rf"(?P<hypothesis>{field}){re.escape(tail.rstrip())}\s*",
                re.DOTALL,
            )
        )
    return tuple(patterns)


def split_prompt(prompt: str, task: str) -> tuple[str, str] | None:
    """(premise, hypothesis) of a prompt (see the module docstring), or None."""
    for pattern in prompt_patterns():
        if match := pattern.fullmatch(prompt):
            return match["premise"], match["hypothesis"]
    premise, question = get_task(task).split_question(prompt)
    if question.strip() and not get_task(task).question.fullmatch(question.strip()):
        return None  # text after the question: an unknown chat tail
    return premise, question  # no question at all: `unparseable_question`, as for a hypothesis


def text_fields(row: dict, where: str, task: str) -> tuple[str | None, str | None, object]:
    """(premise, hypothesis, raw label) of either row shape; (None, None, label) for a prompt
    that `split_prompt` cannot read. A row of both shapes, or of neither, is a DataError, and
    so is a field of the wrong type."""
    if "companion" in row and not isinstance(row["companion"], bool):
        raise DataError(
            f"{where}: field 'companion' must be true or false, got {_shown(row['companion'])}"
        )
    shapes = [s for s in (("premise", "hypothesis"), ("prompt", "completion")) if row.keys() & s]
    if len(shapes) == 2:
        raise DataError(
            f"{where}: a row of both shapes (premise/hypothesis/label and prompt/completion); "
            f"keep one, got {sorted(row)}"
        )
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
        premise, hypothesis = split_prompt(row["prompt"], task) or (None, None)
        return premise, hypothesis, completion
    raise DataError(
        f"{where}: expected fields premise/hypothesis/label or prompt/completion, got {sorted(row)}"
    )


def _shown(value) -> str:
    """A field's value in an error line: its JSON, cut short (its type if even that fails)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (RecursionError, ValueError):  # nested near the limit json.loads stopped short of
        return f"a {type(value).__name__}"
    return text if len(text) <= 40 else text[:37] + "..."


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
    hypothesis = normalize_text(hypothesis)
    question = get_task(task).parse_question(hypothesis)
    several = len(get_task(task).question.findall(hypothesis)) > 1
    info: dict = {
        "edges": None if edges is None else [list(e) for e in edges],
        "query": None if question is None else list(question[:2]),
        "given": [] if question is None else question[2],
        "label": None if label is None else ("Yes" if label else "No"),
        "oracle": None,
        "isolated": [],
    }
    reason = _structure_reason(task, edges, question, max_nodes, info, several)
    if label is None and not (companion and raw_label is None):
        return info, "bad_label"
    if reason is None and label is not None and info["oracle"] != label:
        reason = "label_mismatch"
    return info, reason


def _structure_reason(
    task: str, edges, question, max_nodes: int, info: dict, several: bool = False
) -> str | None:
    """Why premise + question cannot be answered (None: `info["oracle"]` is set). `several`:
    the hypothesis asks more than one question (which one a model answers is anyone's guess)."""
    if edges is None:
        return "unparseable_premise"
    nodes = {node for edge in edges for node in edge}
    if len(nodes) > max_nodes:
        return "too_large"
    if question is None:
        return "unparseable_question"
    if several:
        return "several_questions"
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
