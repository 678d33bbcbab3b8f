"""What a fine-tuning run carries between steps and across a resume (`TrainState`), how it stops
on a signal (`TrainingInterrupted`), and the shape of the trajectory probe the pipeline hands in
(`ProbeFactory`): kept apart from the trainer so its module stays one job."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from causal_semloss.model.backbone import Backbone

# (backbone, examples a step, total steps) -> a probe: `probe(model, step)` gives rows to keep,
# `probe.steps` the steps it wants (evaluate/trajectory.py builds one).
ProbeFactory = Callable[[Backbone, int, int], Any]


class TrainingInterrupted(Exception):
    """SIGINT/SIGTERM arrived: a checkpoint was written; rerunning with the same dir resumes.
    `signum` is the signal that stopped it (None when stopped by `interrupt_at`)."""

    def __init__(self, message: str, signum: int | None = None):
        super().__init__(message)
        self.signum = signum


@dataclass
class TrainState:
    step: int = 0
    history: dict = field(
        default_factory=lambda: {"step": [], "loss": [], "ce": [], "lambda": [], "lr": []}
    )
    validation: list = field(default_factory=list)
    trajectory: list = field(default_factory=list)  # rows of the trajectory probe, if any
