"""`python -m causal_semloss.data task=dseparation data.n_train=1000`: generate a task's data."""

from __future__ import annotations

import hydra
from omegaconf import DictConfig
from tqdm import tqdm

from causal_semloss.cli_overrides import hydra_entry
from causal_semloss.config_checks import checked
from causal_semloss.data.build import build_data, split_sizes
from causal_semloss.errors import exit_on_user_error
from causal_semloss.paths import CONFIG_DIR


def summary_table(data_dir, manifest: dict) -> str:
    rows = [f"{'split':<12} {'n':>7} {'%Yes':>7} {'natural %Yes':>13}  path"]
    for split, info in manifest["splits"].items():
        rows.append(
            f"{split:<12} {info['n']:>7} {100 * info['yes_rate']:>6.1f}% "
            f"{100 * info['natural_yes_rate']:>12.1f}%  {data_dir / info['file']}"
        )
    return "\n".join(rows)


@exit_on_user_error
def generate(cfg: DictConfig) -> None:
    cfg = checked(cfg)
    total = sum(split_sizes(cfg).values())
    with tqdm(total=total, desc=f"{cfg.task.name} data", unit="ex", mininterval=0.5) as bar:
        data_dir, manifest, reused = build_data(cfg, progress=bar.update)
    print(("reused " if reused else "wrote ") + str(data_dir))
    print(summary_table(data_dir, manifest))


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    generate(cfg)


main = hydra_entry(hydra_main)


if __name__ == "__main__":
    main()
