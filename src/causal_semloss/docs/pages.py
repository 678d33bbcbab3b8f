"""Study pages and benchmark page made from templates whose numbers are read from committed files.

A template (`docs/templates/**/*.md`) is prose with placeholders; `render` replaces each
placeholder by a value or a table read from a file the repository holds, so a number on a
generated page cannot drift from the file it cites (tests/test_docs.py rebuilds every page and
fails when one is stale). Placeholders, arguments separated by ` ;; ` (paths from the repo root):

- `{{value FILE ;; QUERY ;; COLUMN [;; FORMAT]}}`: one cell of a CSV. QUERY is a pandas query
  (`*` for every row) that must leave one row, or COLUMN is `min(c)`, `max(c)`, `mean(c)`,
  `count(c)` over the rows it leaves. FORMAT is a format spec (`.1f` unless given).
- `{{table FILE ;; QUERY ;; COL=Header, COL=Header ... [;; FORMAT]}}`: those rows and columns as
  a Markdown table.
- `{{json FILE ;; dotted.key [;; FORMAT]}}`: a value from a JSON file (a number in the path
  indexes a list; `FORMAT` `%` = percent).
- `{{text FILE ;; REGEX}}`: the first group of REGEX's first match in a text file.
- `{{escape RUNS_DIR ;; TASK ;; RECIPE}}`: per seed, when the run's validation yes-rate entered
  the collapse band for good, and λ there (`escape.py`).

Every generated page starts with a line saying so and naming its template.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from causal_semloss.docs.escape import escape_table

PLACEHOLDER = re.compile(r"\{\{(value|table|json|text|escape) (.*?)\}\}", re.S)
AGGREGATE = re.compile(r"^(min|max|mean|count)\((\w+)\)$")


def _fmt(value, spec: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return f"{value:,}"
    if spec == "%":
        return f"{100 * value:.1f}"
    if spec == "d":
        return f"{int(round(value)):,}"
    return format(value, spec)


def _rows(repo: Path, path: str, query: str) -> pd.DataFrame:
    frame = pd.read_csv(repo / path)
    return frame if query == "*" else frame.query(query, engine="python")


def _value(repo: Path, path: str, query: str, column: str, spec: str = ".1f") -> str:
    rows = _rows(repo, path, query)
    if match := AGGREGATE.match(column):
        how, col = match.groups()
        if rows.empty:
            raise ValueError(f"{path}: no row matches {query!r}")
        return _fmt(len(rows) if how == "count" else getattr(rows[col], how)(), spec)
    if len(rows) != 1:
        raise ValueError(f"{path}: {query!r} leaves {len(rows)} rows, not one")
    return _fmt(rows[column].iloc[0], spec)


def _table(repo: Path, path: str, query: str, columns: str, spec: str = ".1f") -> str:
    rows = _rows(repo, path, query)
    if rows.empty:
        raise ValueError(f"{path}: no row matches {query!r}")
    pairs = [c.strip().split("=", 1) for c in columns.split(",")]
    lines = ["| " + " | ".join(h for _, h in pairs) + " |", "|" + "---|" * len(pairs)]
    for i in range(len(rows)):  # column by column: a row Series would turn ints into floats
        cells = (_fmt(rows[c].iloc[i], spec).replace("|", "\\|") for c, _ in pairs)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + f"\n\n(from `{path}`)"


def _json(repo: Path, path: str, key: str, spec: str = ".1f") -> str:
    value = json.loads((repo / path).read_text())
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return _fmt(value, spec)


def _text(repo: Path, path: str, pattern: str) -> str:
    match = re.search(pattern, (repo / path).read_text(), re.M)
    if match is None:
        raise ValueError(f"{path}: no match for {pattern!r}")
    return match.group(1)


def render(template: Path, repo: Path) -> str:
    """The page `template` describes, every placeholder filled from the files it names."""

    def fill(match: re.Match) -> str:
        kind, args = match.group(1), [a.strip() for a in match.group(2).split(";;")]
        handler = {
            "value": _value,
            "table": _table,
            "json": _json,
            "text": _text,
            "escape": escape_table,
        }[kind]
        try:
            return handler(repo, *args)
        except Exception as error:
            raise ValueError(f"{template}: {match.group(0)!r}: {error}") from error

    name = template.resolve().relative_to(repo.resolve()).as_posix()
    banner = (
        f"<!-- Generated from {name} by `python -m causal_semloss.docs`: edit the template, "
        "not this page. Every number in a table or in {{...}} comes from the file it names. -->\n"
    )
    return banner + PLACEHOLDER.sub(fill, template.read_text())
