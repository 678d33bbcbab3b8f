"""`python -m causal_semloss.evaluate eval.model_dir=outputs/.../model`: score a saved model (or,
without eval.model_dir, the untrained backbone of cfg.model) on the suites of `eval.tasks` (the
run's task unless set; `eval=paper_tasks`: both paper tasks)."""

from __future__ import annotations

from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from causal_semloss.cli_overrides import hydra_entry
from causal_semloss.config_checks import checked, require_rows_to_score
from causal_semloss.data.external import check_external_sets
from causal_semloss.errors import ConfigError, exit_on_user_error
from causal_semloss.evaluate.evaluation import evaluate
from causal_semloss.model.backbone import load_backbone
from causal_semloss.paths import CONFIG_DIR, RESULT, RUN_CONFIG, TRAIN_METRICS
from causal_semloss.runtime import Runtime
from causal_semloss.train.cached_lm_stage import prepare_backbone


def refuse_a_run_dir(out_dir: str | Path) -> None:
    """A dir holds one run: `evaluate` writes metrics.json and predictions/, so it refuses a
    `causal_semloss.run` job's dir (whose files they would replace or sit beside)."""
    found = [
        n for n in (RUN_CONFIG, RESULT, TRAIN_METRICS, "model") if (Path(out_dir) / n).exists()
    ]
    if found:
        raise ConfigError(
            f"{out_dir} holds a run ({', '.join(found)}); evaluate writes its own metrics.json "
            "and predictions/: use another hydra.run.dir"
        )


@exit_on_user_error
def run_evaluation(cfg: DictConfig, out_dir: str) -> None:
    cfg = checked(cfg)
    Runtime.of(cfg)  # an unknown device is refused before any model is built
    require_rows_to_score(cfg.eval)
    refuse_a_run_dir(out_dir)
    check_external_sets(cfg.eval, cfg.task.name, cfg.data.max_nodes)  # before any model load
    if cfg.eval.model_dir is None:
        prepare_backbone(cfg)  # the pre-train stage of a from-config backbone
    backbone = load_backbone(cfg, from_dir=cfg.eval.model_dir)
    metrics = evaluate(cfg, backbone, out_dir)

    def pct(value):
        return "n/a" if value is None else f"{100 * value:.1f}%"

    for task, s in metrics["summary"].items():
        print(
            f"{task}: ID acc {pct(s['id_accuracy'])}, OOD acc {pct(s['ood_accuracy'])}, "
            f"adversarial {pct(s['adversarial_accuracy'])}, collapsed={s['collapsed']}"
        )
    print(f"metrics: {out_dir}/metrics.json; predictions: {out_dir}/predictions/")


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> None:
    run_evaluation(cfg, HydraConfig.get().runtime.output_dir)


main = hydra_entry(hydra_main)


if __name__ == "__main__":
    main()
