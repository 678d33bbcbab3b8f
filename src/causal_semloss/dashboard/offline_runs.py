"""Read the W&B runs a job wrote, from its files: `<job>/wandb/{offline-run,run}-*/run-*.wandb`.

wandb 0.31 ships no Python reader for these files, so this is one: the leveldb-style log W&B
writes (a 7-byte `:W&B` header, 32 KiB blocks of records — 4-byte checksum, 2-byte length,
1-byte type: full / first / middle / last — each payload a `wandb_internal_pb2.Record`).
The dashboard uses it to find a job's runs; the tests, to check every panel key is logged.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from causal_semloss.errors import UserError

_BLOCK = 32 * 1024
_HEADER = 7
_FULL, _FIRST, _MIDDLE, _LAST = 1, 2, 3, 4


@dataclass
class OfflineRun:
    """What one run file holds: its group and job type, history keys, summary and config."""

    path: Path
    group: str = ""
    job_type: str = ""
    history_keys: set[str] = field(default_factory=set)
    summary: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


def run_files(job_dir: Path) -> list[Path]:
    """The W&B run files of a job dir (offline or synced-online runs), oldest first."""
    return sorted(Path(job_dir).glob("wandb/*run-*/run-*.wandb"))


def _payloads(data: bytes) -> Iterator[bytes]:
    if data[:4] != b":W&B":
        raise UserError("not a W&B run file (no :W&B header)")
    pos, pending = _HEADER, b""
    while pos + _HEADER <= len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[pos : pos + _HEADER])
        pos += _HEADER
        if kind == 0 and length == 0:  # zero padding to the end of the block
            pos += left - _HEADER
            continue
        chunk = data[pos : pos + length]
        pos += length
        if kind == _FULL:
            yield chunk
        elif kind == _FIRST:
            pending = chunk
        elif kind == _MIDDLE:
            pending += chunk
        elif kind == _LAST:
            yield pending + chunk
            pending = b""


def _key(item) -> str:
    return item.key or "/".join(item.nested_key)


def read_run(path: Path) -> OfflineRun:
    """Every history key, the last summary value of each key, and the config of one run file."""
    from wandb.proto import wandb_internal_pb2 as pb

    run = OfflineRun(Path(path))
    for payload in _payloads(Path(path).read_bytes()):
        record = pb.Record()
        record.ParseFromString(payload)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.group, run.job_type = record.run.run_group, record.run.job_type
            for item in record.run.config.update:
                run.config[_key(item)] = json.loads(item.value_json)
        elif kind == "history":
            run.history_keys |= {_key(item) for item in record.history.item}
        elif kind == "summary":
            run.summary.update({_key(i): json.loads(i.value_json) for i in record.summary.update})
    return run
