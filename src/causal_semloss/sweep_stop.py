"""Stopping a sweep on a signal, under any Hydra launcher: the running job checkpoints (in
training) or stops at once, no new job starts, and the entry point exits with one line saying
how to resume. Used by `run.py` around the sweep and by `pipeline.run_job` around each job."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from causal_semloss.atomic import write_text
from causal_semloss.train.trainer import TrainingInterrupted

log = logging.getLogger(__name__)

# -- stopping a sweep on a signal -------------------------------------------------------------
# The entry point's process (`stop_scope`) and every process that runs jobs (the same one under
# Hydra's basic launcher; joblib workers; submitit jobs) share a stop dir, named by STOP_DIR_ENV:
# whichever process learns of a stop first writes `stop` there; every job writes `resume`, the
# override that reruns the sweep into the same dir.
STOP_DIR_ENV = "CAUSAL_SEMLOSS_STOP_DIR"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_STOP_FILE = "stop"
_RESUME_FILE = "resume"
_FAILED_PREFIX = "failed-"  # one file per failed job, holding its dir


class SweepInterrupted(KeyboardInterrupt):
    """A signal stopped a job outside the training loop (data generation, evaluation), or a
    stopped job ends the sweep loop of the entry point's own process."""


@dataclass
class _StopState:
    requested: bool = False
    signum: int | None = None
    in_job: bool = False  # a job body runs in this process: a first signal stops it at once
    owner: bool = False  # this process is the entry point's (stop_scope)


_STOP = _StopState()


@dataclass
class StopReport:
    signal_name: str | None  # None: stopped without a signal (the trainer's interrupt_at)
    resume_override: str | None  # None: no job had started


def _stop_dir() -> Path | None:
    value = os.environ.get(STOP_DIR_ENV)
    return Path(value) if value else None


def _request_stop(signum: int | None = None) -> None:
    _STOP.requested = True
    _STOP.signum = _STOP.signum or signum
    stop_dir = _stop_dir()
    if stop_dir is not None and not (stop_dir / _STOP_FILE).exists():
        write_text(stop_dir / _STOP_FILE, str(signum or ""))


def _stop_requested() -> bool:
    stop_dir = _stop_dir()
    return _STOP.requested or (stop_dir is not None and (stop_dir / _STOP_FILE).exists())


def _on_stop_signal(signum: int, frame) -> None:
    if _STOP.requested and not _STOP.in_job:
        raise KeyboardInterrupt  # a second signal while waiting for jobs: give up at once
    first = not _STOP.requested
    _request_stop(signum)
    # Not while a stop already unwinds the job (the trainer caught an earlier signal, which
    # this process's state does not know yet): the cleanup on its way must run to the end.
    stopping = isinstance(sys.exc_info()[1], (TrainingInterrupted, KeyboardInterrupt))
    if first and _STOP.in_job and not stopping:
        raise SweepInterrupted(f"stopped by {signal.Signals(signum).name}")


def note_failed_job(job_dir: str | Path) -> None:
    """Record in the shared stop dir that the job of `job_dir` failed (or was refused), so the
    entry point exits non-zero once the sweep ends; a no-op outside `stop_scope`."""
    stop_dir = _stop_dir()
    if stop_dir is not None:
        fd, _ = tempfile.mkstemp(prefix=_FAILED_PREFIX, dir=stop_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(str(job_dir))


def failed_jobs() -> list[str]:
    """The dirs of the jobs `note_failed_job` recorded, sorted; call it inside `stop_scope`."""
    stop_dir = _stop_dir()
    if stop_dir is None:
        return []
    return sorted(p.read_text(encoding="utf-8") for p in stop_dir.glob(f"{_FAILED_PREFIX}*"))


def _watch_stop_file(stop_file: Path, done: threading.Event) -> None:
    """In a process other than the entry point's: turn the stop file into a SIGTERM to this
    process, so its job stops as if the signal had reached it."""
    while not done.wait(0.2):
        if stop_file.exists():
            if not _STOP.requested:
                os.kill(os.getpid(), signal.SIGTERM)
            return


def run_stoppable(job: Callable[[], None], resume_override: str) -> None:
    """Run one job of a sweep so that SIGINT/SIGTERM stops the sweep cleanly, under any launcher.

    In training the trainer checkpoints and raises TrainingInterrupted; elsewhere the signal
    raises SweepInterrupted at once. Either way the stop is recorded in the shared stop dir, so a
    job not yet started returns without doing anything and jobs in other processes are signalled.
    In the entry point's own process (basic launcher) SweepInterrupted is re-raised to end the
    sweep loop; in a worker the job returns, so the launcher waits for its siblings to checkpoint.
    The entry point's process must be inside `stop_scope`.
    """
    stop_dir = _stop_dir()
    if stop_dir is not None:
        write_text(stop_dir / _RESUME_FILE, resume_override)
    if _stop_requested():
        log.info("the sweep is stopping: job not started")
    else:
        _run_guarded(job, stop_dir)
    if _STOP.owner or stop_dir is None:  # the entry point's process (or no stop_scope at all)
        if _stop_requested():
            raise SweepInterrupted("sweep stopped")
    elif threading.current_thread() is threading.main_thread():
        # A joblib worker that a terminal's Ctrl-C kills while idle breaks the pool, and joblib
        # then kills its siblings mid-checkpoint: between jobs, a worker ignores SIGINT.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_guarded(job: Callable[[], None], stop_dir: Path | None) -> None:
    handlers, done = {}, threading.Event()
    # signal.signal works in the main thread only; joblib (loky) and submitit run jobs there.
    if threading.current_thread() is threading.main_thread():
        handlers = {sig: signal.signal(sig, _on_stop_signal) for sig in STOP_SIGNALS}
        if stop_dir is not None and not _STOP.owner:
            watcher = threading.Thread(
                target=_watch_stop_file, args=(stop_dir / _STOP_FILE, done), daemon=True
            )
            watcher.start()
    try:
        _STOP.in_job = True
        job()
    except (TrainingInterrupted, SweepInterrupted) as exc:
        log.warning("%s", exc)
        _request_stop(getattr(exc, "signum", None))  # the trainer's: for the stop line
    finally:
        _STOP.in_job = False
        done.set()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


@contextmanager
def stop_scope() -> Iterator[Callable[[], StopReport | None]]:
    """The entry point's side of `run_stoppable`: handles SIGINT/SIGTERM in this process, makes
    the stop dir the job processes share, and yields a function that says whether (and how) the
    sweep was stopped. A second signal while jobs finish raises KeyboardInterrupt at once."""
    stop_dir = Path(tempfile.mkdtemp(prefix="causal-semloss-stop-"))
    previous_env = os.environ.get(STOP_DIR_ENV)
    os.environ[STOP_DIR_ENV] = str(stop_dir)
    global _STOP
    _STOP = _StopState(owner=True)
    handlers = {sig: signal.signal(sig, _on_stop_signal) for sig in STOP_SIGNALS}

    def report() -> StopReport | None:
        if not _stop_requested():
            return None
        text = (stop_dir / _STOP_FILE).read_text() if (stop_dir / _STOP_FILE).exists() else ""
        signum = _STOP.signum or (int(text) if text else None)
        resume = stop_dir / _RESUME_FILE
        return StopReport(
            signal.Signals(signum).name if signum else None,
            resume.read_text() if resume.exists() else None,
        )

    try:
        yield report
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        _STOP = _StopState()
        if previous_env is None:
            os.environ.pop(STOP_DIR_ENV, None)
        else:
            os.environ[STOP_DIR_ENV] = previous_env
        shutil.rmtree(stop_dir, ignore_errors=True)
