"""Write files so a reader never sees a half-written one: temp file in the same dir, then rename."""

from __future__ import annotations

import glob
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path beside `path`; on success it is renamed onto `path`, on error removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def atomic_dir(target: str | Path):
    """Yield a staging dir beside `target`; on success it replaces `target` by rename. A previous
    `target` is first renamed aside under a unique name and deleted only then, so two writers
    never delete each other's copy; on error the staging dir is removed."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        if target.exists():
            aside = target.with_name(f".{target.name}.stale-{uuid.uuid4().hex[:8]}")
            target.rename(aside)
            shutil.rmtree(aside, ignore_errors=True)
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_stale_staging(target: str | Path) -> list[Path]:
    """Remove what `atomic_dir(target)` or `atomic_path(target)` left behind when its writer was
    killed (`kill -9`, power loss): `.NAME.*` staging dirs, stale copies and temp files beside
    `target`. Call it only while no live writer of `target` can exist: holding the lock every
    writer holds, or in a dir only this process writes."""
    target = Path(target)
    if not target.parent.is_dir():
        return []
    stale = list(target.parent.glob(f".{glob.escape(target.name)}.*"))
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n")
