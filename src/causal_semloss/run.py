"""`python -m causal_semloss.run variant=transitivity_semantic seed=0`: one paper variant end to
end (data -> train -> evaluate). Sweep: `python -m causal_semloss.run -m experiment=paper`."""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from causal_semloss.errors import exit_on_user_error
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.pipeline import run_variant
from causal_semloss.schema import checked


@exit_on_user_error
def run_job(cfg: DictConfig, out_dir: str) -> None:
    result = run_variant(checked(cfg), out_dir)
    if result["status"] != "ok":
        print(
            f"{result['variant']} seed {result['seed']}: FAILED — {result['error']}",
            file=sys.stderr,
        )
        return
    s = result["summary"][result["task"]]
    fmt = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    print(
        f"{result['variant']} seed {result['seed']} ({result['task']}): ID {fmt(s['id_accuracy'])}, "
        f"OOD {fmt(s['ood_accuracy'])}, adversarial {fmt(s['adversarial_accuracy'])}, "
        f"collapsed={s['collapsed']} -> {out_dir}"
    )


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    run_job(cfg, HydraConfig.get().runtime.output_dir)


if __name__ == "__main__":
    main()
