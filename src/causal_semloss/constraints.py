"""The logical formulas an exact semantic loss enforces over the questions of one premise.

An *atom* is one question on a premise, true when its answer is Yes: `(x, y, given)`. A formula
is a list of clauses in CNF; a clause is a tuple of literals, `+(slot + 1)` for "atom `slot` is
Yes" and `-(slot + 1)` for "is No". Every rule below holds of the exact oracle on every premise,
so the true answers always satisfy the formula (a property test checks this on random graphs):

- transitivity (a directed path from x to y in a DAG):
  - closure: Yes(a,b) ∧ Yes(b,c) → Yes(a,c);
  - asymmetry: Yes(a,b) → No(b,a) (a cycle would be needed otherwise);
  - a stated edge u → v: Yes(u,v).
- d-separation:
  - symmetry: dsep(x,y | Z) ↔ dsep(y,x | Z);
  - a stated edge between x and y: never d-separated, whatever Z.

Pure Python on a handful of atoms, run once per premise when a data set is encoded; the loss
evaluates the clauses as tensors (`losses.constraint_term`).
"""

from __future__ import annotations

from collections.abc import Sequence

Atom = tuple[str, str, tuple[str, ...]]
Clause = tuple[int, ...]


def _yes(slot: int) -> int:
    return slot + 1


def _no(slot: int) -> int:
    return -(slot + 1)


def transitivity_clauses(atoms: Sequence[Atom], edges: Sequence[Sequence[str]]) -> list[Clause]:
    slot = {(x, y): i for i, (x, y, _) in enumerate(atoms)}
    stated = {(u, v) for u, v in edges}
    clauses: list[Clause] = []
    for (x, y), i in slot.items():
        back = slot.get((y, x))
        if back is not None and i < back:
            clauses.append((_no(i), _no(back)))  # asymmetry
        if (x, y) in stated:
            clauses.append((_yes(i),))
    for (a, b), ab in slot.items():
        for (b2, c), bc in slot.items():
            ac = slot.get((a, c))
            if b2 == b and ac is not None and c != a:
                clauses.append((_no(ab), _no(bc), _yes(ac)))  # closure
    return clauses


def dseparation_clauses(atoms: Sequence[Atom], edges: Sequence[Sequence[str]]) -> list[Clause]:
    slot = {(x, y, frozenset(given)): i for i, (x, y, given) in enumerate(atoms)}
    adjacent = {frozenset(edge) for edge in edges}
    clauses: list[Clause] = []
    for (x, y, given), i in slot.items():
        mirror = slot.get((y, x, given))
        if mirror is not None and i < mirror:
            clauses += [(_no(i), _yes(mirror)), (_yes(i), _no(mirror))]  # symmetry
        if frozenset((x, y)) in adjacent:
            clauses.append((_no(i),))
    return clauses


CLAUSE_BUILDERS = {
    "transitivity": transitivity_clauses,
    "dseparation": dseparation_clauses,
}


def satisfied(clauses: Sequence[Clause], answers: Sequence[bool]) -> bool:
    """Whether the Yes/No `answers` (one per atom) satisfy every clause."""
    return all(any(answers[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in clauses)
