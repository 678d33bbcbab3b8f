"""Copy the finished jobs of a queue sweep (scripts/queue_runs.sh) into a committed results dir:
each job's JSON files (no weights, no checkpoint) under DEST/runs/<job>/, and DEST/timing.csv —
per job, wall seconds from the queue log, torch threads (runtime.threads), whether it resumed from a checkpoint (then the times are its last part's), training seconds and examples/s from
train_metrics.json's "timing" (probes and validation included), and the bare training rate the
progress bar last showed (steps/s; × batch size = examples/s of the forward+backward+AdamW loop
between probes). Usage: python scripts/collect_runs.py SWEEP_DIR DEST_DIR"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
from pathlib import Path

from causal_semloss.atomic import atomic_path

FILES = ("config.json", "metrics.json", "result.json", "train_metrics.json")


def _walls(sweep: Path) -> dict[str, int]:
    found = {}
    queue = sweep / "logs" / "queue.txt"
    for line in queue.read_text().splitlines() if queue.exists() else []:
        if m := re.match(r"(\S+) rc=0 end \S+ wall_s=(\d+)", line):
            found[m.group(1)] = int(m.group(2))
    return found


def _last_rate(log: Path) -> float | None:
    if not log.exists():
        return None
    rates = re.findall(r"train: 100%.*?([\d.]+)step/s", log.read_text(errors="replace"))
    return float(rates[-1]) if rates else None


def main(sweep: Path, dest: Path) -> None:
    walls, rows = _walls(sweep), []
    for job in sorted(p for p in sweep.iterdir() if (p / "result.json").is_file()):
        result = json.loads((job / "result.json").read_text())
        if result.get("status") != "ok":
            continue
        (dest / "runs" / job.name).mkdir(parents=True, exist_ok=True)
        for name in FILES:
            if (job / name).exists():
                shutil.copy2(job / name, dest / "runs" / job.name / name)
        train = json.loads((job / "train_metrics.json").read_text())
        config = json.loads((job / "config.json").read_text())
        batch = config["train"]["batch_size"]
        rate = _last_rate(sweep / "logs" / f"{job.name}.log")
        timing = train.get("timing", {})
        rows.append(
            {
                "job": job.name,
                "examples": train["examples_seen"],
                "wall_s": walls.get(job.name),
                "threads": config.get("runtime", {}).get("threads"),
                "resumed": bool(train.get("resumed")),  # wall_s and train_s: the last part only
                "train_s": timing.get("train_seconds"),
                "examples_per_s": timing.get("examples_per_second"),
                "bare_steps_per_s": rate,
                "bare_examples_per_s": None if rate is None else round(rate * batch, 1),
            }
        )
    with atomic_path(dest / "timing.csv") as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["job"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} finished jobs -> {dest}/runs, {dest}/timing.csv")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
