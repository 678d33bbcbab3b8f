"""Wall time to generate 200k labelled examples (both tasks, every split). Target: <= 60 s.

Run: `make bench` or `.venv/bin/python benchmarks/bench_data.py`.
"""

from __future__ import annotations

import tempfile
import time

from hydra import compose, initialize_config_dir

from causal_semloss.config_checks import checked
from causal_semloss.data.build import build_data
from causal_semloss.paths import CONFIG_DIR

# Per task: 80k train + 2k test + 5 x 3k OOD + 3k adversarial = 100k; two tasks = 200k.
SIZES = ["data.n_train=80000", "data.n_test=2000", "data.n_eval=3000", "data.n_adversarial=3000"]


def main() -> None:
    total, elapsed = 0, 0.0
    with tempfile.TemporaryDirectory() as root:
        for task in ("transitivity", "dseparation"):
            with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
                cfg = checked(
                    compose("config", overrides=[f"task={task}", f"paths.data_root={root}", *SIZES])
                )
            start = time.perf_counter()
            _, manifest, _ = build_data(cfg)
            seconds = time.perf_counter() - start
            n = sum(info["n"] for info in manifest["splits"].values())
            print(f"{task:<13} {n:>7} examples  {seconds:6.1f} s  {n / seconds:8.0f} ex/s")
            total += n
            elapsed += seconds
    print(f"{'total':<13} {total:>7} examples  {elapsed:6.1f} s  (target <= 60 s)")


if __name__ == "__main__":
    main()
