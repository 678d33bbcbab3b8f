"""The logical formulas an exact semantic loss enforces over the questions of one premise.

An *atom* is one question on a premise, true when its answer is Yes: `(x, y, given)`. A formula
is a list of clauses in CNF; a clause is a tuple of literals, `+(slot + 1)` for "atom `slot` is
Yes" and `-(slot + 1)` for "is No". Every rule holds of the exact oracle on every premise,
so the true answers always satisfy the formula (a property test checks this on random graphs).
Each task's rules are its `Task.clauses` (`causal_semloss.tasks`); this module holds what they
share.

Pure Python on a handful of atoms, run once per premise when a data set is encoded; the loss
evaluates the clauses as tensors (`losses.constraint_term`).
"""

from __future__ import annotations

from collections.abc import Sequence

Atom = tuple[str, str, tuple[str, ...]]
Clause = tuple[int, ...]


def yes(slot: int) -> int:
    """The literal "atom `slot` is Yes"."""
    return slot + 1


def no(slot: int) -> int:
    """The literal "atom `slot` is No"."""
    return -(slot + 1)


def satisfied(clauses: Sequence[Clause], answers: Sequence[bool]) -> bool:
    """Whether the Yes/No `answers` (one per atom) satisfy every clause."""
    return all(any(answers[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in clauses)
