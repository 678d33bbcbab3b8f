"""Write the suite's evaluation sets for other tools: lm-evaluation-harness tasks.

`python -m causal_semloss.export lm-eval OUT_DIR [--overwrite] [KEY=VALUE ...]` (or
`causal-semloss-export`) writes them with export/lm_eval_tasks.py.

KEY=VALUE are Hydra overrides of the suite's config, as the other entry points take them: which
data (`data=paper`, `seed=1`, `data.n_test=200`), which prompt (`model=...`,
`model/prompt=compact`) and which sets (`eval.tasks`, `eval.splits`, `eval.max_examples`). Then
`lm_eval --model hf --model_args pretrained=DIR --include_path OUT_DIR --tasks causal_semloss`.
An OUT_DIR that holds files is refused unless --overwrite; a bad override or path is one
`error:` line, exit 2, and nothing is written.
"""

from __future__ import annotations

import argparse

from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from causal_semloss.config_checks import checked
from causal_semloss.errors import ConfigError, exit_on_user_error
from causal_semloss.export.lm_eval_tasks import PREFIX, export_lm_eval
from causal_semloss.paths import CONFIG_DIR


def compose_config(overrides: list[str]):
    """The suite's config with `overrides`, composed and checked as @hydra.main entry points do."""
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(f"overrides: {str(exc).splitlines()[0]}") from None
    return checked(cfg)


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="causal-semloss-export", description=__doc__.splitlines()[0]
    )
    formats = parser.add_subparsers(dest="format", required=True)
    lm_eval = formats.add_parser(
        "lm-eval",
        help="lm-evaluation-harness task YAMLs and JSONL data",
        usage="%(prog)s OUT_DIR [--overwrite] [KEY=VALUE ...]",
        description="KEY=VALUE: Hydra overrides of the suite's config (data, model/prompt, "
        "eval.tasks, eval.splits, eval.max_examples), as `python -m causal_semloss.data` takes.",
    )
    lm_eval.add_argument("out_dir", help="where to write the tasks (load with --include_path)")
    lm_eval.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT_DIR")
    # The rest are Hydra overrides (KEY=VALUE), before or after --overwrite.
    args, overrides = parser.parse_known_args(argv)
    unknown = [arg for arg in overrides if arg.startswith("-")]
    if unknown:
        lm_eval.error(f"unrecognized arguments: {' '.join(unknown)}")
    cfg = compose_config(overrides)
    summary = export_lm_eval(cfg, args.out_dir, overwrite=args.overwrite)
    for task, info in summary["tasks"].items():
        sizes = ", ".join(f"{split} {s['n']}" for split, s in info["splits"].items())
        print(f"{task}: {sizes}")
    print(f"wrote {args.out_dir} (prompt {summary['prompt']['name']}); score a model with:")
    print(
        f"  lm_eval --model hf --model_args pretrained=MODEL_DIR --include_path {args.out_dir} "
        f"--tasks {PREFIX} --output_path RESULTS_DIR"
    )


if __name__ == "__main__":
    main()
