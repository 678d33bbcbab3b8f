"""`python -m causal_semloss.run task=transitivity recipe=semantic seed=0`: one run end to end
(data -> train -> evaluate). Sweep: `python -m causal_semloss.run -m experiment=paper` (or any
product, `-m task=transitivity,dseparation recipe=baseline,semantic seed=0,1,2`), in parallel
with `hydra/launcher=joblib hydra.launcher.n_jobs=2` (or `hydra/launcher=slurm`).

SIGINT/SIGTERM stops a sweep: the running job checkpoints, no new job starts, and one line on
stderr gives the command that resumes it. Rerunning into the same dir (`hydra.sweep.dir=...`)
skips finished jobs, resumes interrupted ones and reruns failed ones.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from causal_semloss import pipeline
from causal_semloss.cli_overrides import check_overrides
from causal_semloss.config_checks import checked, require_rows_to_score
from causal_semloss.data.external import check_external_sets
from causal_semloss.errors import ConfigError, UserError, exit_on_user_error, one_line
from causal_semloss.paths import CONFIG_DIR
from causal_semloss.pipeline import finished_result, in_sweep
from causal_semloss.sweep_stop import failed_jobs, note_failed_job, run_stoppable, stop_scope

_DIR_OVERRIDES = ("hydra.sweep.dir=", "hydra.run.dir=")


@exit_on_user_error
def run_job(cfg: DictConfig, out_dir: str) -> None:
    """One job: skipped when finished earlier; a failure is noted (`note_failed_job`) so the
    entry point exits non-zero. Outside a sweep a refusal (UserError) is one `error:` line, exit
    2; in a sweep it is that line and a failed job, and the other jobs run."""
    cfg = checked(cfg)
    require_rows_to_score(cfg.eval)
    if cfg.eval.model_dir is not None:  # never silently scored on another model than asked
        raise ConfigError(
            f"config eval.model_dir={cfg.eval.model_dir}: read by `evaluate` only; a run scores "
            "the model it trains (or, untrained, model=...): use causal_semloss.evaluate"
        )
    check_external_sets(cfg.eval, cfg.task.name, cfg.data.max_nodes)  # before training
    done = finished_result(cfg, out_dir)
    if done is not None:
        print(
            f"{done.get('name', done.get('variant'))} seed {done['seed']}: finished earlier -> {out_dir}, skipped"
        )
        return
    try:
        result = pipeline.run_job(cfg, out_dir)
    except UserError as exc:  # refused before the job touched its dir
        if not in_sweep():
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        note_failed_job(out_dir)
        return
    if result["status"] != "ok":
        print(
            f"{result['name']} seed {result['seed']}: FAILED — {result['error']}",
            file=sys.stderr,
        )
        note_failed_job(out_dir)
        return
    if not result["summary"]:  # eval.tasks=[]: external sets only, in metrics.json
        print(f"{result['name']} seed {result['seed']}: scored eval.external -> {out_dir}")
        return
    # An untrained run may be scored on other tasks than its nominal one (eval.tasks).
    task = result["task"] if result["task"] in result["summary"] else next(iter(result["summary"]))
    s = result["summary"][task]
    fmt = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    print(
        f"{result['name']} seed {result['seed']} ({task}): ID {fmt(s['id_accuracy'])}, "
        f"OOD {fmt(s['ood_accuracy'])}, adversarial {fmt(s['adversarial_accuracy'])}, "
        f"collapsed={s['collapsed']} -> {out_dir}"
    )


def resume_override(hc) -> str:
    """The override that reruns this job's sweep (or single run) into the same dir."""
    if hc.mode == RunMode.MULTIRUN:
        return f"hydra.sweep.dir={Path(hc.sweep.dir).resolve()}"
    return f"hydra.run.dir={hc.runtime.output_dir}"


def resume_command(override: str) -> str:
    """The command line this process was started with, its dir override replaced."""
    head = sys.orig_argv[: len(sys.orig_argv) - len(sys.argv) + 1]  # [python, -m, module]
    if "-m" not in head:  # a console script: its path, not the interpreter that runs it
        head = sys.argv[:1]
    args = [a for a in sys.argv[1:] if not a.lstrip("+").startswith(_DIR_OVERRIDES)]
    return shlex.join([*head, *args, override])


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def run_app(cfg: DictConfig) -> None:
    hc = HydraConfig.get()
    run_stoppable(lambda: run_job(cfg, hc.runtime.output_dir), resume_override(hc))


def main() -> None:
    exit_on_user_error(check_overrides)(sys.argv[1:])
    with stop_scope() as stopped:
        try:
            run_app()
        except (KeyboardInterrupt, SystemExit):
            if stopped() is None:
                raise
        report = stopped()
        failed = failed_jobs()
    if report is not None:
        by = f"stopped by {report.signal_name}" if report.signal_name else "stopped"
        if report.resume_override is None:
            print(f"{by} before any job started; rerun the same command", file=sys.stderr)
        else:
            print(f"{by}; resume with: {resume_command(report.resume_override)}", file=sys.stderr)
        sys.exit(1)
    if failed:  # after every other job ran: the sweep's exit status says some did not finish
        print(f"{len(failed)} job(s) failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
