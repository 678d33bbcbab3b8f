"""A non-editable install works: the wheel carries the Hydra config, so its console scripts find
it from any directory. Built without network (no build isolation); the fresh venv borrows the
dev venv's dependencies through a path file, never its editable copy of this package."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.slow
def test_wheel_installs_and_its_console_script_finds_the_config(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("causal_semloss-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "-q",
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Dependencies from the dev venv, appended after the fresh venv's own site-packages.
    (Path(site) / "dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.run(
        [str(python), "-c", "import causal_semloss.paths as p; print(p.CONFIG_DIR)"],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(site) and (Path(where) / "config.yaml").exists()
    result = subprocess.run(
        [str(env_dir / "bin" / "causal-semloss-data"), "--help"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    # the config groups were found: the task group lists every task YAML
    task_line = next(line for line in result.stdout.splitlines() if line.startswith("task:"))
    assert {"dseparation", "transitivity"} <= {t.strip() for t in task_line[5:].split(",")}
