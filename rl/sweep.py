"""Sweeps of training runs: ``python -m rl.sweep run --experiments ks --algorithms sac ppo --n-agents 10 20 ...``.

A sweep is the product of experiments x algorithms x N x seeds (x presets x
budgets x varied experiment fields), given on the command line or in a TOML or
JSON file (``--config``).  Each trial is one plain call of
:func:`rl.train.train` with one torch thread, in its own run directory

    <sweep dir>/runs/<experiment>-<algorithm>-N<n>-s<seed>-<hash8>

where ``hash8`` is the first 8 hex digits of the SHA-256 of the trial's
resolved configuration (the validated experiment record, the resolved SB3
hyperparameters, seed, budget, number of economies).  The run directory holds
``trial.json`` (the trial, written when the sweep is planned), what
:func:`rl.train.train` writes (``config.json``, ``returns.csv``, ``model.zip``,
``summary.json``), ``train.log`` (its output) and, after a failed attempt,
``error.json`` (every failed attempt: time, error, traceback).

Completion and resumption.  ``summary.json`` is the completion marker: train
writes it atomically after the model, as the very last step.  Re-running a
sweep runs only the trials whose run directory lacks it; completed trials are
never run again.  A partially run trial (the sweep was killed during it)
restarts cleanly: its training outputs are deleted and it is trained again
from step 0, so a trial's numbers never depend on whether the sweep was
interrupted (same seed, same numbers).  Sweep trials therefore write no
checkpoints.  A failed trial is retried (``--retries``, default 1); if every
attempt fails it is reported (``error.json``, status ``failed`` in the
summary, exit status 1), never dropped.

Backends.  By default trials run on local processes
(``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method,
``--workers`` of them).  With ``--ray-address ADDRESS`` (``auto`` for the
cluster this machine belongs to, ``local`` to start a private local instance,
or a ``host:port`` / ``ray://`` address) the same trials run through Ray Tune:
a ``tune.Tuner`` over a grid search of the trials, the function trainable
wrapped with ``tune.with_resources`` (``--cpus-per-trial``) and Tune's
``FailureConfig`` doing the retries.  Tune's own results go under
``<sweep dir>/ray/``.  On a cluster the sweep directory must be on a file
system every node sees.

Summary.  ``python -m rl.sweep summarize DIR`` (also run at the end of every
sweep) rebuilds ``summary.csv``, ``summary.md`` and the figures
``figures/scaling-<experiment>.png`` (best return and wall-clock against N,
per algorithm, mean and a two-standard-deviation band over seeds) from the
run directories alone.  See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import shutil
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np

from econ.experiments import EXPERIMENTS, make_experiment
from econ.io import jsonable, write_json_atomic, write_text_atomic
from rl.config import TrainConfig, parse_assignment
from rl.recipes import ALGORITHMS, PRESETS, hyperparameters
from rl.train import train

GRID_AXES = ("experiments", "algorithms", "n_agents", "seeds", "presets", "timesteps", "steps_per_agent")
"""Keys whose values are lists swept over (a scalar counts as a one-element list)."""

TRIAL_SETTINGS = ("overrides", "vary", "hyper", "n_steps", "n_economies")
"""Keys fixed for every trial of a grid block (``vary`` maps an experiment field to a list of values to sweep)."""

EXECUTION_SETTINGS = ("out", "workers", "retries", "ray_address", "cpus_per_trial")
"""Keys of a config file that say how, not what, to run."""

DEFAULT_GRID = {"presets": ["default"], "n_agents": [None], "seeds": [0], "n_economies": 1}

RESULT_COLUMNS = ("experiment", "algorithm", "N", "seed", "preset", "timesteps", "best_return", "final_return",
                  "wall_clock_seconds", "status")
"""Columns of the summary table (CSV and markdown); the CSV adds the run name, budget, overrides and the error."""

NO_CHECKPOINTS = 2 ** 62
"""``checkpoint_every`` of a sweep trial: never (a partial trial restarts from step 0, see the module docstring)."""

ALGORITHM_COLOURS = {"sac": "C0", "ppo": "C1", "td3": "C2", "ddpg": "C3"}


class Trial(NamedTuple):
    """One training run of a sweep: its run-directory name and the (JSON-able) arguments of ``rl.train.train``."""

    name: str
    """``<experiment>-<algorithm>-N<n>-s<seed>-<hash8>``, the run directory's name."""
    spec: dict
    """experiment, algorithm, n_agents, seed, preset, timesteps, steps_per_agent, n_economies, n_steps,
    overrides, hyper_overrides, config_hash."""


class SweepResult(NamedTuple):
    """What :func:`run_sweep` did: trial names by outcome, and the summary rows rebuilt afterwards."""

    completed: tuple
    """Trials trained to completion by this invocation."""
    skipped: tuple
    """Trials already complete before it (not run again)."""
    failed: tuple
    """Trials whose every attempt failed."""
    rows: tuple
    """:func:`collect_rows` of the sweep directory after the run."""

    @property
    def ok(self) -> bool:
        return not self.failed


# --------------------------------------------------------------------------------------------------------------
# Planning: grid -> validated trials


def _as_list(key: str, value) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"empty grid: {key!r} has no values")
    return values


def _canonical(value) -> str:
    return json.dumps(jsonable(value), sort_keys=True, separators=(",", ":"))


def _split_hyper(hyper: dict) -> tuple:
    """``hyper`` holds NAME: VALUE for every algorithm and ALGO: {NAME: VALUE} for one; returns (shared, per algo)."""
    shared, per_algorithm = {}, {}
    for key, value in (hyper or {}).items():
        if key in ALGORITHMS:
            if not isinstance(value, dict):
                raise ValueError(f"hyper.{key} must be a table of hyperparameters, got {value!r}")
            per_algorithm[key] = dict(value)
        else:
            shared[key] = value
    return shared, per_algorithm


def _check_choice(key: str, value, choices) -> None:
    if value not in choices:
        raise ValueError(f"unknown {key[:-1] if key.endswith('s') else key} {value!r} in {key!r}; "
                         f"choose from {', '.join(choices)}")


def _check_int(key: str, value, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{key} must be integers >= {low}, got {value!r}")
    return int(value)


def plan_sweep(blocks: Sequence[dict]) -> list:
    """Expand grid blocks into validated :class:`Trial` records (in grid order, duplicates removed).

    Each block maps the keys of :data:`GRID_AXES` to lists and those of
    :data:`TRIAL_SETTINGS` to fixed values; missing keys take
    :data:`DEFAULT_GRID`.  Exactly one budget is required: ``timesteps``
    (total agent-steps, SB3's count) or ``steps_per_agent`` (vec-steps: the
    trial trains ``steps_per_agent * N * n_economies`` agent-steps, the
    paper's "per-agent updates").  Every trial's experiment and
    hyperparameters are built here, so a bad value is refused before anything
    runs, with a ``ValueError`` naming the parameter and what is allowed.
    """
    if not blocks:
        raise ValueError("empty grid: no grid blocks")
    trials, seen = [], set()
    for block in blocks:
        unknown = sorted(set(block) - set(GRID_AXES) - set(TRIAL_SETTINGS))
        if unknown:
            raise ValueError(f"unknown sweep setting(s) {', '.join(map(repr, unknown))}; "
                             f"allowed: {', '.join(GRID_AXES + TRIAL_SETTINGS)}")
        block = {**DEFAULT_GRID, **block}
        for key in ("experiments", "algorithms"):
            if key not in block:
                raise ValueError(f"the sweep needs {key!r} (choose from "
                                 f"{', '.join(EXPERIMENTS if key == 'experiments' else ALGORITHMS)})")
        has_total, has_per_agent = block.get("timesteps") is not None, block.get("steps_per_agent") is not None
        if has_total == has_per_agent:
            raise ValueError("give exactly one budget: 'timesteps' (total agent-steps) or 'steps_per_agent' "
                             "(vec-steps; timesteps = steps_per_agent * N * n_economies)")
        budget_key = "timesteps" if has_total else "steps_per_agent"
        axes = {key: _as_list(key, block[key]) for key in ("experiments", "algorithms", "n_agents", "seeds",
                                                           "presets", budget_key)}
        for value in axes["experiments"]:
            _check_choice("experiments", value, EXPERIMENTS)
        for value in axes["algorithms"]:
            _check_choice("algorithms", value, ALGORITHMS)
        for value in axes["presets"]:
            _check_choice("presets", value, tuple(PRESETS))
        for value in axes["n_agents"]:
            if value is not None:
                _check_int("n_agents", value, 1)
        for value in axes["seeds"]:
            _check_int("seeds", value, 0)
        for value in axes[budget_key]:
            _check_int(budget_key, value, 1)
        n_economies = _check_int("n_economies", block["n_economies"], 1)
        n_steps = block.get("n_steps")
        if n_steps is not None:
            n_steps = _check_int("n_steps", n_steps, 2)
        overrides = dict(block.get("overrides") or {})
        vary = dict(block.get("vary") or {})
        for field in vary:
            vary[field] = _as_list(f"vary.{field}", vary[field])
        shared_hyper, algorithm_hyper = _split_hyper(block.get("hyper"))
        for algo in algorithm_hyper:
            if algo not in axes["algorithms"]:
                raise ValueError(f"hyper.{algo} is given but {algo!r} is not in 'algorithms' {axes['algorithms']}")
        varied = [dict(zip(vary, values)) for values in itertools.product(*vary.values())] or [{}]

        for experiment, algo, n_agents, seed, preset, budget, varied_fields in itertools.product(
                axes["experiments"], axes["algorithms"], axes["n_agents"], axes["seeds"], axes["presets"],
                axes[budget_key], varied):
            fields = {**overrides, **varied_fields}
            try:
                exp = make_experiment(experiment, n_agents, **fields)
            except ValueError as err:
                raise ValueError(f"experiment {experiment!r} with n_agents={n_agents}"
                                 f"{' and ' + str(fields) if fields else ''}: {err}") from None
            hyper_overrides = {**shared_hyper, **algorithm_hyper.get(algo, {})}
            trial_n_steps = n_steps if algo == "ppo" else None
            try:
                hyper = hyperparameters(algo, preset, exp.beta, trial_n_steps, hyper_overrides)
            except ValueError as err:
                raise ValueError(f"hyper for {algo}: {err}") from None
            timesteps = budget if has_total else budget * exp.num_agents * n_economies
            resolved = {"experiment": exp, "algorithm": algo, "hyperparameters": hyper, "seed": seed,
                        "n_economies": n_economies, "timesteps": timesteps}
            config_hash = hashlib.sha256(_canonical(resolved).encode()).hexdigest()
            if config_hash in seen:
                continue
            seen.add(config_hash)
            spec = {
                "experiment": experiment, "algorithm": algo, "n_agents": exp.num_agents, "seed": int(seed),
                "preset": preset, "timesteps": int(timesteps),
                "steps_per_agent": None if has_total else int(budget), "n_economies": n_economies,
                "n_steps": trial_n_steps, "overrides": jsonable(fields), "hyper_overrides": jsonable(hyper_overrides),
                "config_hash": config_hash,
            }
            name = f"{experiment}-{algo}-N{exp.num_agents}-s{seed}-{config_hash[:8]}"
            trials.append(Trial(name, spec))
    if not trials:
        raise ValueError("empty grid: no trials")
    return trials


# --------------------------------------------------------------------------------------------------------------
# One trial (runs in a worker process: a local pool process or a Ray worker)

TRAINING_OUTPUTS_KEPT = ("trial.json", "error.json")
"""What a clean restart keeps in a run directory; everything else is a previous attempt's output."""


def is_complete(run_dir) -> bool:
    """A trial is complete when its run directory holds train's ``summary.json`` (written atomically, last)."""
    return (Path(run_dir) / "summary.json").is_file()


def _clear_partial(run_dir: Path) -> None:
    for path in run_dir.iterdir():
        if path.name in TRAINING_OUTPUTS_KEPT:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def record_error(run_dir, error: str, details: str = "") -> dict:
    """Append a failed attempt (time, one-line error, traceback) to ``error.json`` in the run directory."""
    path = Path(run_dir) / "error.json"
    record = json.loads(path.read_text()) if path.is_file() else {"attempts": []}
    record["attempts"].append({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "error": error, "traceback": details})
    record["error"] = error
    write_json_atomic(path, record)
    return record


def trial_config(spec: dict) -> TrainConfig:
    """The :class:`rl.config.TrainConfig` of a trial's spec (one torch thread, no checkpoints)."""
    return TrainConfig(spec["experiment"], spec["algorithm"], spec["timesteps"], seed=spec["seed"],
                       n_agents=spec["n_agents"], n_economies=spec["n_economies"], preset=spec["preset"],
                       overrides=spec["overrides"], hyper_overrides=spec["hyper_overrides"], n_steps=spec["n_steps"],
                       checkpoint_every=NO_CHECKPOINTS, threads=1)


def run_trial(spec: dict, run_dir: str) -> dict:
    """Train one trial into ``run_dir`` (clean restart if partial); returns {"status", "summary" or "error"}.

    A complete run directory is left alone.  Exceptions from training are
    caught, appended to ``error.json`` and returned as ``status = "failed"``
    (the caller decides whether to retry); the trial's output goes to
    ``train.log``.  Interrupts (``KeyboardInterrupt``) propagate.
    """
    run_dir = Path(run_dir)
    if is_complete(run_dir):
        return {"status": "ok", "summary": json.loads((run_dir / "summary.json").read_text())}
    run_dir.mkdir(parents=True, exist_ok=True)
    _clear_partial(run_dir)
    try:
        with open(run_dir / "train.log", "w") as log, redirect_stdout(log), redirect_stderr(log):
            summary = train(trial_config(spec), run_dir, progress=False)
    except Exception as err:  # noqa: BLE001 - every training failure is recorded, then reported by the caller
        message = f"{type(err).__name__}: {err}"
        record_error(run_dir, message, traceback.format_exc())
        return {"status": "failed", "error": message}
    error_file = run_dir / "error.json"
    if error_file.exists():
        error_file.unlink()
    return {"status": "ok", "summary": summary}


def _tune_trainable(config: dict) -> None:
    """Ray Tune function trainable: one plain :func:`run_trial`; a failure raises so that Tune retries it."""
    from ray import tune

    outcome = run_trial(config["trial"]["spec"], config["trial"]["run_dir"])
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


def _run_local(trials: list, run_dirs: dict, workers: int, retries: int, log: _Log) -> tuple:
    """ProcessPoolExecutor (spawn) with at most ``workers`` trials in flight; returns (completed, failed)."""
    queue = list(trials)
    attempts = {trial.name: 0 for trial in trials}
    completed, failed = [], []
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    in_flight: dict = {}
    try:
        while queue or in_flight:
            while queue and len(in_flight) < workers:
                trial = queue.pop(0)
                attempts[trial.name] += 1
                log("start", trial.name, attempt=attempts[trial.name])
                in_flight[pool.submit(run_trial, trial.spec, str(run_dirs[trial.name]))] = trial
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
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return completed, failed


def _run_ray(trials: list, run_dirs: dict, sweep_dir: Path, address: str, workers: int, cpus_per_trial: float,
             retries: int, log: _Log) -> tuple:
    """Ray Tune: a Tuner over a grid search of the trials; returns (completed, failed) from the run directories."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
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
        jobs = [{"name": t.name, "spec": t.spec, "run_dir": str(run_dirs[t.name])} for t in trials]
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
            summary = json.loads((run_dirs[trial.name] / "summary.json").read_text())
            log("done", trial.name, best_return=summary["best_return"],
                seconds=round(summary["wall_clock_seconds"], 2))
            completed.append(trial.name)
        else:
            error_file = run_dirs[trial.name] / "error.json"
            if error_file.exists():
                error = json.loads(error_file.read_text())["error"]
            else:
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
    workers = _check_int("workers", workers, 1)
    retries = _check_int("retries", retries, 0)
    if not cpus_per_trial > 0:
        raise ValueError(f"cpus_per_trial must be > 0, got {cpus_per_trial!r}")
    sweep_dir = Path(sweep_dir)
    runs = sweep_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    log = _Log(sweep_dir, quiet)
    run_dirs = {trial.name: runs / trial.name for trial in trials}
    for trial in trials:
        trial_file = run_dirs[trial.name] / "trial.json"
        record = {"name": trial.name, **trial.spec}
        if not trial_file.is_file() or json.loads(trial_file.read_text()) != record:
            write_json_atomic(trial_file, record)
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
    log("end", completed=len(completed), skipped=len(skipped), failed=len(failed))
    return SweepResult(tuple(completed), tuple(skipped), tuple(failed), tuple(rows))


# --------------------------------------------------------------------------------------------------------------
# Summary, rebuilt from the run directories alone


def _read_json(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def trial_status(run_dir) -> str:
    """``ok`` (summary.json), ``failed`` (error.json, no summary), ``incomplete`` (started), ``pending``."""
    run_dir = Path(run_dir)
    if is_complete(run_dir):
        return "ok"
    if (run_dir / "error.json").is_file():
        return "failed"
    if (run_dir / "config.json").is_file():
        return "incomplete"
    return "pending"


def collect_rows(sweep_dir) -> list:
    """One dict per run directory of ``sweep_dir/runs`` (columns :data:`RESULT_COLUMNS` and more), sorted."""
    rows = []
    for trial_file in sorted(Path(sweep_dir, "runs").glob("*/trial.json")):
        run_dir = trial_file.parent
        trial = json.loads(trial_file.read_text())
        summary = _read_json(run_dir / "summary.json") or {}
        error = _read_json(run_dir / "error.json") or {}
        status = trial_status(run_dir)
        rows.append({
            "run": run_dir.name,
            "experiment": trial["experiment"],
            "algorithm": trial["algorithm"],
            "N": trial["n_agents"],
            "seed": trial["seed"],
            "preset": trial["preset"],
            "timesteps": summary.get("timesteps", trial["timesteps"]),
            "best_return": summary.get("best_return"),
            "final_return": summary.get("final_return"),
            "wall_clock_seconds": summary.get("wall_clock_seconds"),
            "status": status,
            "steps_per_agent": trial["steps_per_agent"],
            "n_economies": trial["n_economies"],
            "n_steps": trial["n_steps"],
            "overrides": json.dumps(trial["overrides"], sort_keys=True) if trial["overrides"] else "",
            "hyper_overrides": json.dumps(trial["hyper_overrides"], sort_keys=True) if trial["hyper_overrides"] else "",
            "attempts_failed": len(error.get("attempts", [])) if status != "ok" else 0,
            "error": error.get("error", "") if status != "ok" else "",
        })
    order = {algo: i for i, algo in enumerate(ALGORITHMS)}
    rows.sort(key=lambda r: (r["experiment"], _variant(r), order[r["algorithm"]], r["N"], r["seed"], r["run"]))
    return rows


def _variant(row: dict) -> str:
    """Everything that distinguishes trials besides algorithm, N and seed (one figure per experiment and variant)."""
    budget = (f"{row['steps_per_agent']} steps per agent" if row["steps_per_agent"] is not None
              else f"{row['timesteps']} timesteps")
    parts = [f"preset {row['preset']}", budget]
    if row["n_economies"] != 1:
        parts.append(f"{row['n_economies']} economies")
    if row["n_steps"] is not None:
        parts.append(f"PPO n_steps {row['n_steps']}")
    parts += [text for text in (row["overrides"], row["hyper_overrides"]) if text]
    return ", ".join(parts)


def _fmt(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _mean_band(values: list) -> tuple:
    """Mean and two sample standard deviations (0 with one value)."""
    values = np.asarray(values, dtype=float)
    sd = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), 2.0 * sd


def aggregate(rows: list) -> list:
    """Completed trials grouped over seeds: experiment, variant, algorithm, N, seeds, mean and 2-sd of the results."""
    groups: dict = {}
    for row in rows:
        if row["status"] == "ok" and row["best_return"] is not None:
            groups.setdefault((row["experiment"], _variant(row), row["algorithm"], row["N"]), []).append(row)
    out = []
    for (experiment, variant, algo, n_agents), members in groups.items():
        best, best_band = _mean_band([r["best_return"] for r in members])
        final, final_band = _mean_band([r["final_return"] for r in members])
        seconds, seconds_band = _mean_band([r["wall_clock_seconds"] for r in members])
        out.append({"experiment": experiment, "variant": variant, "algorithm": algo, "N": n_agents,
                    "seeds": len(members), "best_return": best, "best_return_2sd": best_band,
                    "final_return": final, "final_return_2sd": final_band,
                    "wall_clock_seconds": seconds, "wall_clock_seconds_2sd": seconds_band,
                    "timesteps": int(np.mean([r["timesteps"] for r in members]))})
    return out


def markdown_table(rows: list) -> str:
    """The per-trial summary table in markdown (columns :data:`RESULT_COLUMNS`)."""
    lines = ["| " + " | ".join(RESULT_COLUMNS) + " |", "|" + "---|" * len(RESULT_COLUMNS)]
    for row in rows:
        cells = [_fmt(row[c], 1 if c == "wall_clock_seconds" else 3) for c in RESULT_COLUMNS]
        if row["status"] == "failed" and row["error"]:
            cells[-1] = f"failed ({row['error'][:80]})".replace("|", "/")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_aggregate(groups: list) -> str:
    """Mean +- 2 sd over seeds per experiment, algorithm and N, in markdown."""
    lines = ["| experiment | algorithm | N | seeds | timesteps | best_return | final_return | wall_clock_seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for g in groups:
        lines.append(f"| {g['experiment']} | {g['algorithm']} | {g['N']} | {g['seeds']} | {g['timesteps']} | "
                     f"{g['best_return']:.3f} ± {g['best_return_2sd']:.3f} | "
                     f"{g['final_return']:.3f} ± {g['final_return_2sd']:.3f} | "
                     f"{g['wall_clock_seconds']:.1f} ± {g['wall_clock_seconds_2sd']:.1f} |")
    return "\n".join(lines) + "\n"


def plot_scaling(groups: list, path, title: str) -> None:
    """Best return (top) and wall-clock (bottom) against N, one line per algorithm, mean and 2-sd band."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from econ.io import save_figure_atomic

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7.5), sharex=True, layout="constrained")
    for algo in ALGORITHMS:
        members = sorted((g for g in groups if g["algorithm"] == algo), key=lambda g: g["N"])
        if not members:
            continue
        n = np.array([g["N"] for g in members], dtype=float)
        colour = ALGORITHM_COLOURS[algo]
        for ax, key in ((top, "best_return"), (bottom, "wall_clock_seconds")):
            mean = np.array([g[key] for g in members])
            band = np.array([g[f"{key}_2sd"] for g in members])
            seeds = max(g["seeds"] for g in members)
            ax.plot(n, mean, "o-", color=colour, label=f"{algo.upper()} ({seeds} seed{'s' if seeds > 1 else ''})")
            if np.any(band > 0):
                ax.fill_between(n, mean - band, mean + band, color=colour, alpha=0.2, lw=0)
    bottom.set_ylim(bottom=0.0)
    top.set_ylabel("best mean episode return per household")
    bottom.set_ylabel("training wall-clock (s)")
    bottom.set_xlabel("number of households N")
    for ax in (top, bottom):
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    ns = sorted({g["N"] for g in groups})
    bottom.set_xticks(ns, [str(n) for n in ns])
    bottom.minorticks_off()
    top.set_title(f"{title}\nmean and ±2 sd over seeds", fontsize="medium")
    save_figure_atomic(fig, path)
    plt.close(fig)


def write_summary(sweep_dir, figures: bool = True) -> list:
    """Rebuild ``summary.csv``, ``summary.md`` and ``figures/scaling-*.png`` from ``sweep_dir/runs``; returns rows."""
    sweep_dir = Path(sweep_dir)
    rows = collect_rows(sweep_dir)
    columns = list(RESULT_COLUMNS) + [k for k in (rows[0] if rows else {}) if k not in RESULT_COLUMNS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in columns})
    write_text_atomic(sweep_dir / "summary.csv", buffer.getvalue())

    groups = aggregate(rows)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "failed", "incomplete", "pending")}
    text = [f"# Sweep summary: {sweep_dir.name}\n",
            f"{len(rows)} trials: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + ".\n",
            "Returns are undiscounted episode returns averaged over households (the learning curve's points); "
            "wall-clock is the training time of `model.learn` in seconds.\n",
            "## Trials\n", markdown_table(rows)]
    if groups:
        text += ["## Mean ± 2 sd over seeds\n", markdown_aggregate(groups)]
    write_text_atomic(sweep_dir / "summary.md", "\n".join(text))

    if figures:
        by_experiment: dict = {}
        for g in groups:
            by_experiment.setdefault(g["experiment"], {}).setdefault(g["variant"], []).append(g)
        for experiment, variants in by_experiment.items():
            for variant, members in variants.items():
                suffix = "" if len(variants) == 1 else "-" + hashlib.sha256(variant.encode()).hexdigest()[:6]
                plot_scaling(members, sweep_dir / "figures" / f"scaling-{experiment}{suffix}.png",
                             f"{experiment}: {variant}")
    return rows


# --------------------------------------------------------------------------------------------------------------
# Configuration files and the command line


def load_config(path) -> tuple:
    """Read a TOML or JSON sweep file: returns (grid blocks, execution settings).

    Top-level keys are :data:`GRID_AXES`, :data:`TRIAL_SETTINGS`,
    :data:`EXECUTION_SETTINGS` and ``grid``, a list of blocks (tables) each
    holding grid axes and trial settings; a block's values replace the
    top-level ones (``overrides``, ``vary`` and ``hyper`` are merged, the
    block winning).  Without ``grid`` the top level is the one block.
    """
    path = Path(path)
    if path.suffix == ".toml":
        import tomllib

        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    elif path.suffix == ".json":
        data = json.loads(path.read_text())
    else:
        raise ValueError(f"config {path}: the file must end in .toml or .json")
    allowed = GRID_AXES + TRIAL_SETTINGS + EXECUTION_SETTINGS + ("grid",)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"config {path}: unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(allowed)}")
    execution = {k: data[k] for k in EXECUTION_SETTINGS if k in data}
    top = {k: v for k, v in data.items() if k in GRID_AXES + TRIAL_SETTINGS}
    blocks = data.get("grid", [{}])
    if not isinstance(blocks, list) or not blocks:
        raise ValueError(f"config {path}: 'grid' must be a non-empty list of tables")
    return [_merge(top, block) for block in blocks], execution


def _merge(base: dict, block: dict) -> dict:
    merged = {**base, **block}
    for key in ("overrides", "vary", "hyper"):
        if key in base and key in block:
            merged[key] = {**base[key], **block[key]}
    return merged


def _parse_hyper(text: str):
    key, value = parse_assignment(text)
    if ":" in key:
        algo, name = key.split(":", 1)
        return algo.strip(), name.strip(), value
    return None, key, value


def _none_or_int(text: str):
    return None if text.lower() == "default" else int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rl.sweep", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run (or resume) a sweep; `run` may be omitted")
    run.add_argument("--config", type=Path, help="TOML or JSON sweep file (command-line values win)")
    run.add_argument("--out", type=Path, help="sweep directory (run dirs go to OUT/runs)")
    run.add_argument("--experiments", nargs="+", metavar="NAME", help=f"from {', '.join(EXPERIMENTS)}")
    run.add_argument("--algorithms", "--algos", nargs="+", metavar="ALGO", help=f"from {', '.join(ALGORITHMS)}")
    run.add_argument("--n-agents", nargs="+", type=_none_or_int, metavar="N",
                     help="numbers of households ('default': the experiment's)")
    run.add_argument("--seeds", nargs="+", type=int, metavar="SEED")
    run.add_argument("--presets", nargs="+", metavar="PRESET", help=f"from {', '.join(PRESETS)} (default: default)")
    budget = run.add_mutually_exclusive_group()
    budget.add_argument("--timesteps", nargs="+", type=int, metavar="T", help="total agent-steps per trial")
    budget.add_argument("--steps-per-agent", nargs="+", type=int, metavar="S",
                        help="vec-steps per trial (agent-steps = S * N * n_economies)")
    run.add_argument("--set", dest="overrides", type=parse_assignment, action="append", default=[],
                     metavar="FIELD=VALUE", help="override an experiment field in every trial (repeatable)")
    run.add_argument("--vary", type=parse_assignment, action="append", default=[], metavar="FIELD=[V1, V2]",
                     help="sweep an experiment field over a list of values (repeatable)")
    run.add_argument("--hyper", type=_parse_hyper, action="append", default=[], metavar="[ALGO:]NAME=VALUE",
                     help="SB3 hyperparameter over the preset, for every algorithm or only ALGO (repeatable)")
    run.add_argument("--n-steps", type=int, help="rollout length per slot of the PPO trials")
    run.add_argument("--n-economies", type=int, help="economies per VecEnv (default 1)")
    run.add_argument("--workers", type=int, help="local worker processes, or CPUs of a --ray-address local "
                                                 "instance (default 1)")
    run.add_argument("--retries", type=int, help="extra attempts of a failed trial (default 1)")
    run.add_argument("--ray-address", help="run on Ray Tune: 'auto', 'local' or an address (needs the ray extra)")
    run.add_argument("--cpus-per-trial", type=float, help="CPUs Ray reserves per trial (default 1)")
    run.add_argument("--dry-run", action="store_true", help="list the trials and their status, run nothing")
    run.add_argument("--quiet", action="store_true")
    summarize = commands.add_parser("summarize", help="rebuild summary.csv, summary.md and figures from DIR/runs")
    summarize.add_argument("directory", type=Path)
    summarize.add_argument("--no-figures", action="store_true")
    return parser


def _blocks_and_settings(args) -> tuple:
    blocks, execution = load_config(args.config) if args.config else ([{}], {})
    cli = {key: getattr(args, key) for key in ("experiments", "algorithms", "n_agents", "seeds", "presets",
                                                "timesteps", "steps_per_agent", "n_steps", "n_economies")
           if getattr(args, key) is not None}
    if "timesteps" in cli or "steps_per_agent" in cli:
        blocks = [{k: v for k, v in b.items() if k not in ("timesteps", "steps_per_agent")} for b in blocks]
    hyper: dict = {}
    for algo, name, value in args.hyper:
        if algo is None:
            hyper[name] = value
        else:
            hyper.setdefault(algo, {})[name] = value
    dicts = {"overrides": dict(args.overrides), "vary": dict(args.vary), "hyper": hyper}
    merged = []
    for block in blocks:
        block = {**block, **cli}
        for key, values in dicts.items():
            if values:
                block[key] = {**block.get(key, {}), **values}
        merged.append(block)
    settings = {"out": execution.get("out"), "workers": execution.get("workers", 1),
                "retries": execution.get("retries", 1), "ray_address": execution.get("ray_address"),
                "cpus_per_trial": execution.get("cpus_per_trial", 1.0)}
    for key in settings:
        if getattr(args, key, None) is not None:
            settings[key] = getattr(args, key)
    if settings["out"] is None:
        raise ValueError("the sweep directory is missing: give --out DIR (or 'out' in the config file)")
    return merged, settings


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("run", "summarize", "-h", "--help"):
        argv.insert(0, "run")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "summarize":
        if not (args.directory / "runs").is_dir():
            parser.error(f"directory: {args.directory} has no runs/ folder (is it a sweep directory?)")
        rows = write_summary(args.directory, figures=not args.no_figures)
        print(markdown_table(rows), end="")
        print(f"wrote {args.directory / 'summary.csv'}, {args.directory / 'summary.md'}")
        return 0 if all(r["status"] == "ok" for r in rows) else 1
    try:
        blocks, settings = _blocks_and_settings(args)
        trials = plan_sweep(blocks)
    except (ValueError, OSError) as err:
        parser.error(str(err))
    sweep_dir = Path(settings["out"])
    if args.dry_run:
        for trial in trials:
            run_dir = sweep_dir / "runs" / trial.name
            print(f"{trial_status(run_dir) if run_dir.exists() else 'pending':10s} {trial.name} "
                  f"timesteps={trial.spec['timesteps']}")
        return 0
    try:
        result = run_sweep(trials, sweep_dir, workers=settings["workers"], retries=settings["retries"],
                           ray_address=settings["ray_address"], cpus_per_trial=settings["cpus_per_trial"],
                           quiet=args.quiet)
    except (ValueError, RuntimeError, ConnectionError) as err:
        parser.error(str(err))
    print(f"{len(result.completed)} trained, {len(result.skipped)} already complete, {len(result.failed)} failed; "
          f"summary in {sweep_dir / 'summary.md'}")
    for name in result.failed:
        print(f"FAILED {name}: see {sweep_dir / 'runs' / name / 'error.json'}", file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    # Run the module's own import, not this __main__ copy, so that the functions sent to worker processes
    # (local spawn pool or Ray) are pickled by reference as rl.sweep.*.
    from rl.sweep import main as _main

    raise SystemExit(_main())
