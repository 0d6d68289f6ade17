"""A trial's run directory, the contract between running a sweep and summarising it.

``<sweep dir>/runs/<trial name>/`` holds ``trial.json`` (the :class:`~rl.sweep.plan.Trial`,
written when the sweep is planned), what :func:`rl.train.train` writes
(``config.json``, ``returns.csv``, ``model.zip``, ``summary.json``),
``train.log`` (its output) and, after a failed attempt, ``error.json`` (every
failed attempt: time, error, traceback).  ``summary.json`` is the completion
marker: train writes it atomically after the model, as its very last step.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from econ.io import write_json_atomic
from rl.sweep.plan import Trial

TRIAL_FILE, SUMMARY_FILE, ERROR_FILE, LOG_FILE = "trial.json", "summary.json", "error.json", "train.log"

SWEEP_LOCK = ".sweep.lock"
"""One process writes a sweep directory at a time (a sweep, or an archive into it): a ``filelock`` lock file in it."""

STATUSES = ("ok", "failed", "incomplete", "pending")
"""What :func:`trial_status` answers, in that order of precedence."""


def read_json(path):
    """The content of a JSON file, or None when there is none."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None


def is_complete(run_dir) -> bool:
    """A trial is complete when its run directory holds train's ``summary.json`` (written atomically, last)."""
    return (Path(run_dir) / SUMMARY_FILE).is_file()


def trial_status(run_dir) -> str:
    """``ok`` (summary.json), ``failed`` (error.json, no summary), ``incomplete`` (started), ``pending``."""
    run_dir = Path(run_dir)
    if is_complete(run_dir):
        return "ok"
    if (run_dir / ERROR_FILE).is_file():
        return "failed"
    if (run_dir / "config.json").is_file():
        return "incomplete"
    return "pending"


def write_trial(run_dir, trial: Trial) -> None:
    """Write ``trial.json`` unless it already holds this trial (a re-run leaves the file alone)."""
    path = Path(run_dir) / TRIAL_FILE
    record = trial.to_json()
    if read_json(path) != record:
        write_json_atomic(path, record)


def read_trial(run_dir) -> Trial:
    return Trial.from_json(read_json(Path(run_dir) / TRIAL_FILE))


def record_error(run_dir, error: str, details: str = "") -> dict:
    """Append a failed attempt (time, one-line error, traceback) to ``error.json`` in the run directory."""
    path = Path(run_dir) / ERROR_FILE
    record = read_json(path) or {"attempts": []}
    record["attempts"].append({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "error": error, "traceback": details})
    record["error"] = error
    write_json_atomic(path, record)
    return record
