"""The task registry: every question type the suite knows, found by its config name
(`task.name`), the way transformers finds a model class from its config's `model_type`.

Adding a task is a module here with a `Task` subclass, one line in `_REGISTERED`, and its
YAML in conf/task/ (docs/architecture.md, "A task is a plugin"). An unknown name is a ConfigError listing the
known ones — never a silent default.
"""

from __future__ import annotations

from causal_semloss.errors import ConfigError
from causal_semloss.tasks.base import Pair, PairBuilder, Query, Task
from causal_semloss.tasks.common_cause import CommonCause
from causal_semloss.tasks.dseparation import DSeparation
from causal_semloss.tasks.transitivity import Transitivity

_REGISTERED: tuple[Task, ...] = (Transitivity(), DSeparation(), CommonCause())
REGISTRY: dict[str, Task] = {task.name: task for task in _REGISTERED}
# Every registered name, in registration order (also the index of a task's answers in a
# backbone corpus's `task_of_answer`).
TASK_NAMES: tuple[str, ...] = tuple(REGISTRY)
# The paper's two tasks, in its order; the per-split numbers it reports and the models it
# released are on the first.
PAPER_TASKS: tuple[str, ...] = (Transitivity.name, DSeparation.name)
PAPER_SPLIT_TASK: str = Transitivity.name


def get_task(name: str) -> Task:
    """The registered task called `name`; a ConfigError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown task {name!r}; one of {list(TASK_NAMES)}") from None


def task_index(name: str) -> int:
    return TASK_NAMES.index(get_task(name).name)


__all__ = [
    "PAPER_SPLIT_TASK",
    "PAPER_TASKS",
    "REGISTRY",
    "TASK_NAMES",
    "Pair",
    "PairBuilder",
    "Query",
    "Task",
    "get_task",
    "task_index",
]
