"""`python -m causal_semloss.train task=transitivity loss=scheduled`: fine-tune one model.

Output (the Hydra run dir): model/ (safetensors + tokenizer), train_metrics.json, wandb/.
Interrupted (Ctrl-C / SIGTERM)? Rerun with `hydra.run.dir=<that dir>` to resume.
"""

from __future__ import annotations

import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from causal_semloss.cli_overrides import hydra_entry
from causal_semloss.config_checks import checked
from causal_semloss.errors import exit_on_user_error
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.train.finetune import train
from causal_semloss.train.loop import TrainingDiverged
from causal_semloss.train.trainer import TrainingInterrupted


@exit_on_user_error
def run_training(cfg: DictConfig, out_dir: str) -> None:
    cfg = checked(cfg)
    try:
        metrics = train(cfg, out_dir)
    except TrainingInterrupted as exc:
        print(f"stopped: {exc}", file=sys.stderr)
        sys.exit(130)
    except TrainingDiverged as exc:  # not bad input (exit 2): the run itself failed
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    last = metrics["validation"][-1] if metrics["validation"] else {}
    print(f"model:   {out_dir}/model")
    print(f"metrics: {out_dir}/train_metrics.json")
    if last:
        print(
            f"validation: accuracy {last['accuracy']:.3f}, yes-rate {last['yes_rate']:.3f} after {metrics['steps']} steps"
        )


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    run_training(cfg, HydraConfig.get().runtime.output_dir)


main = hydra_entry(hydra_main)


if __name__ == "__main__":
    main()
