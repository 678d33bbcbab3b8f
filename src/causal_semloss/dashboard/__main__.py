"""`python -m causal_semloss.dashboard multirun/<date>/<time> [--out DIR] [--push]`: build the
W&B workspace of a sweep and write it as `dashboard.json` (beside report.md, or in --out).

Offline by default: the spec is serialised without network. `--push` also saves it to W&B — it
needs WANDB_API_KEY, online mode (WANDB_MODE not offline/disabled) and the runs uploaded first
with `wandb sync <sweep>/*/wandb/offline-run-*`. Every check runs before anything is written.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from causal_semloss.atomic import write_json
from causal_semloss.errors import UserError, exit_on_user_error
from causal_semloss.report.sweep import load_sweep

SPEC_FILE = "dashboard.json"


def check_push() -> None:
    """What `--push` needs from the environment, or a UserError saying what is missing."""
    if not os.environ.get("WANDB_API_KEY"):
        raise UserError("--push needs WANDB_API_KEY (and the runs uploaded with `wandb sync`)")
    mode = os.environ.get("WANDB_MODE", "online")
    if mode in ("offline", "disabled", "dryrun"):
        raise UserError(f"--push needs online mode, but WANDB_MODE={mode}")


def build_dashboard(sweep_dir: Path, out_dir: Path, push: bool = False) -> tuple[Path, str | None]:
    """Write `out_dir/dashboard.json` for the sweep (and save it to W&B with `push`): the path
    and, pushed, the workspace's URL. A sweep with no finished job, or a finished job without
    W&B run files, is a UserError before anything is written."""
    from causal_semloss.dashboard.offline_runs import run_files
    from causal_semloss.dashboard.spec import build_workspace, dashboard_plan, workspace_spec

    if push:
        check_push()
    jobs = [j for j in load_sweep(sweep_dir) if j.ok]  # raises when no job finished
    for job in jobs:
        if not run_files(job.path):
            raise UserError(
                f"{job.path}: no W&B run files (wandb/*run-*/run-*.wandb); "
                "was the sweep run with logger=none?"
            )
    plan = dashboard_plan(jobs)
    workspace = build_workspace(plan, name=f"causal-semloss {', '.join(plan.groups)}")
    url = None
    if push:
        if not workspace.entity:
            import wandb

            workspace.entity = wandb.Api().default_entity
        workspace.save()
        url = workspace.url
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SPEC_FILE
    write_json(path, workspace_spec(workspace))
    return path, url


@exit_on_user_error
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="causal-semloss-dashboard", description=__doc__.splitlines()[0]
    )
    parser.add_argument("sweep", type=Path, help="a multirun/<date>/<time> dir")
    parser.add_argument("--out", type=Path, default=None, help="default: the sweep dir")
    parser.add_argument("--push", action="store_true", help="save the workspace to W&B")
    args = parser.parse_args(argv)
    if not args.sweep.is_dir():
        raise UserError(f"{args.sweep}: not a directory")
    path, url = build_dashboard(args.sweep, args.out or args.sweep, push=args.push)
    print(f"workspace spec: {path}")
    if url:
        print(f"workspace: {url}")


if __name__ == "__main__":
    main()
