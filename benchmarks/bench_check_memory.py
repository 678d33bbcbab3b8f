"""The external-set checker streams: its peak memory must not grow with the file's size.

Writes JSONL files of increasing size (valid rows, repeated), runs the real CLI
`python -m causal_semloss.data.check FILE --task transitivity --json` on each in a fresh
process, and prints rows, file size, peak RSS and rows/s. Flat peak RSS = streamed.

Run: `.venv/bin/python benchmarks/bench_check_memory.py [--sizes-mb 8 32 128]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = [
    {"premise": "A causes B. B causes C.", "hypothesis": "Does A cause C?", "label": "Yes"},
    {
        "premise": "Bär causes Hund. Hund causes Katze.",
        "hypothesis": "Does Katze cause Bär?",
        "label": "No",
    },
    {"premise": "x1 causes y-2. z causes y-2.", "hypothesis": "Does x1 cause z?", "label": "No"},
]
# Peak RSS of a child process, in MiB (Linux reports ru_maxrss in KiB).
MEASURE = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
)


def write_file(path: Path, megabytes: int) -> int:
    lines = [json.dumps(row, ensure_ascii=False) + "\n" for row in ROWS]
    block = "".join(lines * 1000).encode()
    rows = 0
    with open(path, "wb") as fh:
        while fh.tell() < megabytes * 2**20:
            fh.write(block)
            rows += len(ROWS) * 1000
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[8, 32, 128])
    args = parser.parse_args()
    print(f"{'file MB':>8} {'rows':>10} {'peak RSS MiB':>13} {'rows/s':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes_mb:
            path = Path(tmp) / f"set_{size}.jsonl"
            rows = write_file(path, size)
            command = [sys.executable, "-m", "causal_semloss.data.check", str(path)]
            command += ["--task", "transitivity", "--json"]
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", MEASURE, *command],
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - start
            peak = float(out.stdout.strip().splitlines()[-1])
            print(
                f"{path.stat().st_size / 2**20:8.0f} {rows:10d} {peak:13.0f} {rows / seconds:9.0f}"
            )
            path.unlink()


if __name__ == "__main__":
    main()
