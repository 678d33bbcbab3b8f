"""Trivial predictors beside every table (ours), evaluated on the same splits as the models, so
a reader sees what an accuracy is worth: always-Yes, always-No, and a surface heuristic that
reads only whether one sentence links the two query nodes directly."""

from __future__ import annotations

from collections.abc import Callable

from causal_semloss.tasks import get_task


def always_yes(record: dict) -> bool:
    return True


def always_no(record: dict) -> bool:
    return False


def direct_link(record: dict) -> bool:
    """The task's surface heuristic (`Task.direct_link`): e.g. transitivity answers Yes iff
    "x causes y" is a sentence. An external row kept by on_invalid=keep whose premise or
    question did not parse gives the heuristic no sentence to read: no link."""
    edges = {tuple(e) for e in record.get("edges") or []}
    return get_task(record["task"]).direct_link(record.get("query"), edges)


BASELINES: dict[str, Callable[[dict], bool]] = {
    "always_yes": always_yes,
    "always_no": always_no,
    "direct_link": direct_link,
}
