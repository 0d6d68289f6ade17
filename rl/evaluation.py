"""Evaluation during training: distance to the benchmark, logged, with optional early stopping.

:class:`BenchmarkEvalCallback` scores the current deterministic policy every
``eval_every`` agent-steps against the experiment's benchmark where one
exists (``rbc-full-depreciation``: Brock-Mirman; ``rbc``: the global VFI
solution), with the scores of :mod:`validation.scoring` (spec section 5):
consumption-equivalent welfare loss in percent and the policy error (mean
and max |chat - chat*|, |l - l*| on the benchmark's ergodic states).  Each
evaluation is printed, written to TensorBoard (``eval/...``) and appended to
``evaluations.csv`` in the run directory (the learning curve).  With a
``target_welfare_loss`` (and optionally ``target_policy_error``) training
stops at the first evaluation that meets it.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Optional

from stable_baselines3.common.callbacks import BaseCallback

from econ.experiments import Experiment
from validation import scoring

EVAL_FIELDS = ("timesteps", "seconds", "welfare_loss_percent", "chat_error_mean", "chat_error_max",
               "labour_error_mean", "labour_error_max")


def has_benchmark(experiment: Experiment) -> bool:
    """True where a per-state benchmark policy exists (one household, AR(1), chooses labour)."""
    return experiment.num_agents == 1 and experiment.technology == "ar1" and experiment.chooses_labour


class BenchmarkEvalCallback(BaseCallback):
    """Score the policy against the benchmark every ``eval_every`` agent-steps (see the module docstring).

    Parameters
    ----------
    experiment : Experiment
        Must have a benchmark (:func:`has_benchmark`).
    eval_every : int
        Agent-steps between evaluations.
    log_path : path or None
        CSV file the evaluations are appended to.
    target_welfare_loss, target_policy_error : float or None
        Stop training when the welfare loss (percent) is below the first and,
        if given, the mean consumption-fraction and labour errors below the second.
    n_states : int
        Initial states of the welfare comparison (fewer than the final
        scorecard's, to keep evaluations cheap).
    """

    def __init__(self, experiment: Experiment, eval_every: int, *, log_path: Optional[Path] = None,
                 target_welfare_loss: Optional[float] = None, target_policy_error: Optional[float] = None,
                 n_states: int = 64, seed: int = 0, verbose: int = 1):
        super().__init__(verbose)
        if not has_benchmark(experiment):
            raise ValueError(f"experiment {experiment.name!r} has no per-state benchmark to evaluate against")
        if eval_every < 1:
            raise ValueError(f"eval_every must be >= 1 agent-step, got {eval_every}")
        for name, value in (("target_welfare_loss", target_welfare_loss),
                            ("target_policy_error", target_policy_error)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.experiment = experiment
        self.eval_every = int(eval_every)
        self.log_path = None if log_path is None else Path(log_path)
        self.target_welfare_loss = target_welfare_loss
        self.target_policy_error = target_policy_error
        self.n_states = n_states
        self.seed = seed
        self.benchmark = scoring.benchmark_policy(experiment)
        self.history: list = []
        self.reached: Optional[dict] = None
        self._next = 0
        self._start = time.perf_counter()

    def _on_training_start(self) -> None:
        self._next = self.num_timesteps + self.eval_every
        self._start = time.perf_counter()

    def evaluate(self) -> dict:
        policy = scoring.model_policy(self.model, self.experiment)
        welfare = scoring.welfare_loss(policy, self.benchmark, self.experiment, n_states=self.n_states,
                                       seed=self.seed)
        error = scoring.policy_error(policy, self.benchmark, self.experiment, n_periods=2_000, seed=self.seed)
        return {
            "timesteps": int(self.num_timesteps),
            "seconds": time.perf_counter() - self._start,
            "welfare_loss_percent": welfare.loss_percent,
            "chat_error_mean": error.chat_mean,
            "chat_error_max": error.chat_max,
            "labour_error_mean": error.labour_mean,
            "labour_error_max": error.labour_max,
        }

    def _record(self, row: dict) -> None:
        self.history.append(row)
        for key in EVAL_FIELDS[2:]:
            self.logger.record(f"eval/{key}", row[key])
        if self.log_path is not None:
            new = not self.log_path.exists()
            with open(self.log_path, "a", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=EVAL_FIELDS)
                if new:
                    writer.writeheader()
                writer.writerow(row)
        if self.verbose:
            print(f"[eval] {row['timesteps']:>9d} steps  welfare loss {row['welfare_loss_percent']:.4f} %  "
                  f"|chat err| {row['chat_error_mean']:.4f}  |l err| {row['labour_error_mean']:.4f}", flush=True)

    def _target_met(self, row: dict) -> bool:
        if self.target_welfare_loss is None:
            return False
        met = row["welfare_loss_percent"] < self.target_welfare_loss
        if self.target_policy_error is not None:
            met = met and max(row["chat_error_mean"], row["labour_error_mean"]) < self.target_policy_error
        return met

    def _on_step(self) -> bool:
        if self.num_timesteps < self._next:
            return True
        self._next += self.eval_every
        row = self.evaluate()
        self._record(row)
        if self._target_met(row):
            self.reached = row
            if self.verbose:
                print(f"[eval] target reached after {row['timesteps']} steps ({row['seconds']:.0f} s): stopping")
            return False
        return True


__all__ = ["BenchmarkEvalCallback", "EVAL_FIELDS", "has_benchmark"]
