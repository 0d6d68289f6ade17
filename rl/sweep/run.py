"""Running a sweep: every incomplete trial, on local processes or through Ray Tune, with retries and a log.

Completion and resumption.  ``summary.json`` is the completion marker
(:mod:`rl.sweep.rundir`).  Re-running a sweep runs only the trials whose run
directory lacks it; completed trials are never run again.  A trial saves a
checkpoint every :data:`CHECKPOINTS_PER_TRIAL`-th of its budget
(:mod:`rl.checkpoints`); a partially run trial (the sweep was stopped during
it) resumes from its newest complete checkpoint, which continues the run bit
for bit, and restarts cleanly from step 0 (its training outputs deleted) when
it has none, when anything in its directory is a link, or when the checkpoint
does not fit the trial.  Either way a trial's numbers never depend on whether
the sweep was interrupted (same seed, same numbers), and its
``wall_clock_seconds`` count the training up to the checkpoint it resumed
from plus the rest.  A completed trial's checkpoints are deleted.  A failed
trial is retried; if every attempt fails it is reported (``error.json``,
status ``failed`` in the summary), never dropped.
"""

from __future__ import annotations

import ctypes
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

from econ import checks
from econ.io import exclusive_lock
from rl.checkpoints import latest_checkpoint
from rl.sweep.plan import Trial
from rl.sweep.rundir import (ERROR_FILE, LOG_FILE, SUMMARY_FILE, SWEEP_LOCK, TRIAL_FILE, is_complete, read_json,
                             record_error, write_trial)
from rl.sweep.summary import write_summary
from rl.train import train

TRAINING_OUTPUTS_KEPT = (TRIAL_FILE, ERROR_FILE)
"""What a clean restart keeps in a run directory; everything else is a previous attempt's output."""

CHECKPOINTS_PER_TRIAL = 10
"""A trial saves a checkpoint at every tenth of its budget (the trial's recorded configuration says no checkpoints:
they change none of its numbers, and its name does not depend on them)."""


class SweepResult(NamedTuple):
    """What :func:`run_sweep` did: trial names by outcome, and the summary rows rebuilt afterwards."""

    completed: tuple
    """Trials trained to completion by this invocation."""
    skipped: tuple
    """Trials already complete before it (not run again)."""
    failed: tuple
    """Trials whose every attempt failed."""
    rows: tuple
    """:func:`rl.sweep.summary.collect_rows` of the sweep directory after the run."""

    @property
    def ok(self) -> bool:
        return not self.failed


# --------------------------------------------------------------------------------------------------------------
# One trial (runs in a worker process: a local pool process or a Ray worker)

def _check_inside(run_dir: Path) -> None:
    """A run directory is a real folder of its sweep's ``runs/``: never a link to somewhere else."""
    if run_dir.is_symlink() or (run_dir.exists() and run_dir.resolve().parent != run_dir.parent.resolve()):
        raise ValueError(f"{run_dir} is a symbolic link or leads outside the sweep directory: refusing to write "
                         f"or delete through it")


def _clear_partial(run_dir: Path) -> None:
    """Delete a previous attempt's outputs; links inside the run directory are removed, never followed."""
    _check_inside(run_dir)
    for path in run_dir.iterdir():
        if path.name in TRAINING_OUTPUTS_KEPT:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def run_trial(trial: Trial, run_dir) -> dict:
    """Train ``trial`` into ``run_dir`` (resumed or restarted if partial, see the module docstring); returns
    {"status", "summary" or "error"}.

    A complete run directory is left alone.  Exceptions from training are
    caught, appended to ``error.json`` and returned as ``status = "failed"``
    (the caller decides whether to retry); the trial's output goes to
    ``train.log``.  Interrupts (``KeyboardInterrupt``) propagate.
    """
    run_dir = Path(run_dir)
    if is_complete(run_dir):
        return {"status": "ok", "summary": read_json(run_dir / SUMMARY_FILE)}
    try:
        _check_inside(run_dir)
    except ValueError as err:
        return {"status": "failed", "error": f"ValueError: {err}"}
    run_dir.mkdir(parents=True, exist_ok=True)
    config = trial.config.replace(checkpoint_every=-(-int(trial.config.timesteps) // CHECKPOINTS_PER_TRIAL))
    try:
        summary, refusal = None, None
        if resume_step(run_dir) is not None:
            try:
                with open(run_dir / LOG_FILE, "a") as log, redirect_stdout(log), redirect_stderr(log):
                    print("[sweep] resuming the trial from its newest complete checkpoint", flush=True)
                    summary = train(config, run_dir, resume=True, progress=False)
            except ValueError as err:  # the checkpoint does not fit the trial: refused before anything is written
                refusal = f"[sweep] cannot resume ({err}); starting again from step 0"
        if summary is None:
            _clear_partial(run_dir)
            with open(run_dir / LOG_FILE, "w") as log, redirect_stdout(log), redirect_stderr(log):
                if refusal is not None:
                    print(refusal, flush=True)
                summary = train(config, run_dir, progress=False)
    except Exception as err:  # noqa: BLE001 - every training failure is recorded, then reported by the caller
        message = f"{type(err).__name__}: {err}"
        record_error(run_dir, message, traceback.format_exc())
        return {"status": "failed", "error": message}
    (run_dir / ERROR_FILE).unlink(missing_ok=True)
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)  # they only serve resumption
    return {"status": "ok", "summary": summary}


def resume_step(run_dir) -> Optional[int]:
    """The step a partial trial in ``run_dir`` resumes from: that of its newest complete checkpoint, provided it holds
    a run (``config.json``) and no link anywhere inside; else None (it starts from step 0)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or any(path.is_symlink() for path in run_dir.rglob("*")):
        return None
    found = latest_checkpoint(run_dir / "checkpoints")
    return None if found is None else int(found[1]["step"])


def _tune_trainable(config: dict) -> None:
    """Ray Tune function trainable: one plain :func:`run_trial`; a failure raises so that Tune retries it."""
    from ray import tune  # lazy: Ray is the optional extra 'ray'; this runs in a Ray worker only

    outcome = run_trial(Trial.from_json(config["trial"]), config["trial"]["run_dir"])
    if outcome["status"] != "ok":
        raise RuntimeError(f"trial {config['trial']['name']} failed: {outcome['error']}")
    summary = outcome["summary"]
    tune.report({key: float("nan") if summary[key] is None else summary[key]
                 for key in ("timesteps", "wall_clock_seconds", "best_return", "final_return")})


# --------------------------------------------------------------------------------------------------------------
# Running a sweep


class _Log:
    """Driver's trial log, ``<sweep dir>/sweep-log.jsonl``: one JSON line per event, printed too."""

    def __init__(self, sweep_dir: Path, quiet: bool = False):
        self.path = sweep_dir / "sweep-log.jsonl"
        self.invocation = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self.quiet = quiet

    def __call__(self, event: str, trial: str = "", **details) -> None:
        line = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "invocation": self.invocation, "event": event,
                "trial": trial, **details}
        with open(self.path, "a") as handle:
            handle.write(json.dumps(line) + "\n")
        if not self.quiet:
            extra = " ".join(f"{k}={v}" for k, v in details.items())
            print(f"[sweep] {event:9s} {trial} {extra}".rstrip(), flush=True)


def read_log(sweep_dir) -> list:
    """The events of ``sweep-log.jsonl`` (dicts with time, invocation, event, trial, ...).

    A line cut short by a killed sweep is skipped.
    """
    path = Path(sweep_dir) / "sweep-log.jsonl"
    events = []
    for line in path.read_text().splitlines() if path.exists() else ():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return events


def _die_with_driver(driver: int) -> None:
    """Worker initializer: end this worker when the sweep's driver process dies (even by SIGKILL).

    Linux delivers SIGKILL to the worker when its parent dies (``prctl(PR_SET_PDEATHSIG)``); elsewhere a
    daemon thread notices that the parent changed and exits.
    """
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except OSError:
            pass
    if os.getppid() != driver:  # the driver died before the call above took effect
        os._exit(1)

    def watch():
        while os.getppid() == driver:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _run_local(trials: list, run_dirs: dict, workers: int, retries: int, log: _Log) -> tuple:
    """ProcessPoolExecutor (spawn) with at most ``workers`` trials in flight; returns (completed, failed)."""
    queue = list(trials)
    attempts = {trial.name: 0 for trial in trials}
    completed, failed = [], []
    context = multiprocessing.get_context("spawn")

    def new_pool():
        return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_die_with_driver,
                                   initargs=(os.getpid(),))

    pool = new_pool()
    in_flight: dict = {}
    try:
        while queue or in_flight:
            while queue and len(in_flight) < workers:
                trial = queue.pop(0)
                attempts[trial.name] += 1
                log("start", trial.name, attempt=attempts[trial.name])
                in_flight[pool.submit(run_trial, trial, str(run_dirs[trial.name]))] = trial
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            broken = False
            for future in done:
                trial = in_flight.pop(future)
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    broken = True
                    message = "BrokenProcessPool: the worker process died (killed, out of memory or crashed)"
                    record_error(run_dirs[trial.name], message)
                    outcome = {"status": "failed", "error": message}
                if outcome["status"] == "ok":
                    summary = outcome["summary"]
                    log("done", trial.name, best_return=summary["best_return"],
                        seconds=round(summary["wall_clock_seconds"], 2))
                    completed.append(trial.name)
                elif attempts[trial.name] <= retries:
                    log("retry", trial.name, error=outcome["error"])
                    queue.insert(0, trial)
                else:
                    log("failed", trial.name, error=outcome["error"], attempts=attempts[trial.name])
                    failed.append(trial.name)
            if broken:
                pool.shutdown(wait=True, cancel_futures=True)
                pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return completed, failed


def _run_ray(trials: list, run_dirs: dict, sweep_dir: Path, address: str, workers: int, cpus_per_trial: float,
             retries: int, log: _Log) -> tuple:
    """Ray Tune: a Tuner over a grid search of the trials; returns (completed, failed) from the run directories."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:  # lazy: Ray Tune is the optional extra 'ray'
        import ray
        from ray import tune
    except ImportError as err:
        raise RuntimeError("--ray-address needs Ray Tune: pip install 'marl-bc[ray]'") from err
    started = False
    if not ray.is_initialized():
        if address == "local":
            ray.init(address="local", num_cpus=workers, include_dashboard=False)
        else:
            ray.init(address=address)
        started = True
    try:
        for trial in trials:
            log("submit", trial.name)
        jobs = [{**t.to_json(), "run_dir": str(run_dirs[t.name])} for t in trials]  # Tune's params.json: plain JSON
        tuner = tune.Tuner(
            tune.with_resources(_tune_trainable, {"cpu": cpus_per_trial}),
            param_space={"trial": tune.grid_search(jobs)},
            tune_config=tune.TuneConfig(reuse_actors=True, trial_name_creator=lambda t: t.config["trial"]["name"],
                                        trial_dirname_creator=lambda t: t.config["trial"]["name"]),
            run_config=tune.RunConfig(name=f"tune-{log.invocation}", storage_path=str((sweep_dir / "ray").resolve()),
                                      failure_config=tune.FailureConfig(max_failures=retries),
                                      verbose=0 if log.quiet else 1),
        )
        tuner.fit()
    finally:
        if started:
            ray.shutdown()
    completed, failed = [], []
    for trial in trials:
        if is_complete(run_dirs[trial.name]):
            summary = read_json(run_dirs[trial.name] / SUMMARY_FILE)
            log("done", trial.name, best_return=summary["best_return"],
                seconds=round(summary["wall_clock_seconds"], 2))
            completed.append(trial.name)
        else:
            error = (read_json(run_dirs[trial.name] / ERROR_FILE) or {}).get("error")
            if error is None:
                error = "Ray Tune reported no result and the trial left no error (worker lost?)"
                record_error(run_dirs[trial.name], error)
            log("failed", trial.name, error=error)
            failed.append(trial.name)
    return completed, failed


def run_sweep(trials: Sequence[Trial], sweep_dir, *, workers: int = 1, retries: int = 1,
              ray_address: Optional[str] = None, cpus_per_trial: float = 1.0, quiet: bool = False) -> SweepResult:
    """Run every incomplete trial of ``trials`` into ``sweep_dir/runs/``, then rebuild the summary.

    ``workers`` local processes (or, with ``ray_address``, Ray Tune trials of
    ``cpus_per_trial`` CPUs each; an existing ``ray.init`` connection is used
    as is).  Each trial gets ``1 + retries`` attempts.
    """
    workers = checks.positive_int("workers", workers)
    retries = checks.positive_int("retries", retries, 0)
    checks.positive("cpus_per_trial", cpus_per_trial)
    sweep_dir = Path(sweep_dir)
    runs = sweep_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(sweep_dir, SWEEP_LOCK, "another sweep", "wait for it to finish or choose another directory"):
        return _run_sweep_locked(trials, sweep_dir, runs, workers, retries, ray_address, cpus_per_trial, quiet)


def _run_sweep_locked(trials, sweep_dir, runs, workers, retries, ray_address, cpus_per_trial, quiet) -> SweepResult:
    log = _Log(sweep_dir, quiet)
    run_dirs = {trial.name: runs / trial.name for trial in trials}
    linked = []
    for trial in trials:
        try:
            _check_inside(run_dirs[trial.name])
        except ValueError as err:  # nothing is written there, not even the error
            log("failed", trial.name, error=str(err))
            linked.append(trial.name)
            continue
        write_trial(run_dirs[trial.name], trial)
    trials = [t for t in trials if t.name not in linked]
    skipped = [t.name for t in trials if is_complete(run_dirs[t.name])]
    todo = [t for t in trials if t.name not in skipped]
    log("sweep", backend="ray" if ray_address else "local", trials=len(trials), to_run=len(todo),
        already_complete=len(skipped))
    for name in skipped:
        log("skip", name, reason="summary.json present")
    completed, failed = [], []
    if todo:
        if ray_address:
            completed, failed = _run_ray(todo, run_dirs, sweep_dir, ray_address, workers, cpus_per_trial,
                                         retries, log)
        else:
            completed, failed = _run_local(todo, run_dirs, workers, retries, log)
    rows = write_summary(sweep_dir)
    failed = linked + failed
    log("end", completed=len(completed), skipped=len(skipped), failed=len(failed))
    return SweepResult(tuple(completed), tuple(skipped), tuple(failed), tuple(rows))


