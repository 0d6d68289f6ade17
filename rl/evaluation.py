"""Training-time evaluation by an injected scorer: the protocol and the SB3 callback that runs it.

``rl`` learns and does not know the benchmarks (they live in ``validation``,
which imports ``rl``, never the other way round).  A scorecard that should
judge the policy while it trains is therefore handed to
:func:`rl.train.train` as an object following :class:`Evaluator`: built once
before training (a benchmark is solved then, not at every evaluation) and
called with the model every ``eval_every`` agent-steps.  It returns an
:class:`Evaluation`: the scorecard's values by column and whether every
judged row passed.  :class:`ScorecardEvalCallback` records each evaluation
(``evaluations.csv`` in the run directory, rewritten atomically; TensorBoard
``eval/...``; printed) and, with ``stop_at_target``, stops training at the
first evaluation that passes.  The Krusell-Smith same-economy scorer is
:class:`validation.training_eval.SameEconomyEvaluator`; the one-household
experiments keep their own callback, :class:`rl.callbacks.BenchmarkEvalCallback`.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable, List, Mapping, NamedTuple, Optional, Protocol, Tuple, runtime_checkable


from rl.callbacks import PolicyAveraging, ScheduledEvaluation

LEADING_COLUMNS = ("timesteps", "seconds", "eval_seconds", "passed", "failed")
"""The first columns of ``evaluations.csv`` written by :class:`ScorecardEvalCallback`: agent-steps, wall-clock
seconds since training started (evaluations included), seconds this evaluation took, whether every judged row
passed, and the names of the rows that failed (separated by ``;``); the evaluator's columns follow."""


class Evaluation(NamedTuple):
    """One scoring of a policy: the values of the scorecard by column, and the verdict."""

    values: Mapping[str, object]
    """Column name -> value (a number, or a short string without commas); the same columns at every call."""
    failed: Tuple[str, ...]
    """Names of the judged rows outside their tolerance (empty: every judged row passed)."""
    notes: Tuple[str, ...] = ()
    """What a reader should see at a glance, printed with the evaluation (e.g. the economy hoarding or
    collapsing); not part of the verdict, not a column."""

    @property
    def passed(self) -> bool:
        return not self.failed


@runtime_checkable
class Evaluator(Protocol):
    """What :func:`rl.train.train` accepts as ``evaluator``.

    ``__call__(model)`` scores the model's deterministic policy and must be
    deterministic itself (a fixed seed of its own: the same model gives the
    same :class:`Evaluation`) and must not draw from the training's random
    streams.  ``describe()`` returns the evaluator's settings as plain JSON,
    recorded in the run's ``config.json``.
    """

    def __call__(self, model) -> Evaluation: ...

    def describe(self) -> dict: ...


class ScorecardEvalCallback(ScheduledEvaluation):
    """Every ``eval_every`` agent-steps, score the policy with ``evaluator`` (see the module docstring).

    Parameters
    ----------
    evaluator : Evaluator
        Built before training; called with the model.
    eval_every : int
        Agent-steps between evaluations (the first after ``eval_every``).
    log_path : path or None
        ``evaluations.csv``: :data:`LEADING_COLUMNS`, then the evaluator's
        columns; rewritten atomically (``econ.io.write_text_atomic``) after
        every evaluation, so a reader never sees half a row.
    stop_at_target : bool
        Stop training at the first evaluation whose judged rows all pass.
    on_evaluation : callable or None
        Called with each evaluation's row (a dict); training stops when it returns False.
    averaging : rl.callbacks.PolicyAveraging or None
        The run's ``policy_averaging``: inside its window the average so far is scored (and saved if training
        stops at this evaluation), not the live policy.
    """

    def __init__(self, evaluator: Evaluator, eval_every: int, *, log_path: Optional[Path] = None,
                 stop_at_target: bool = False, verbose: int = 1,
                 on_evaluation: Optional[Callable[[dict], bool]] = None,
                 averaging: Optional[PolicyAveraging] = None):
        if not isinstance(evaluator, Evaluator):
            raise TypeError(f"evaluator must be callable with the model and have describe(), "
                            f"got {type(evaluator).__name__}")
        if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
            raise ValueError(f"eval_every must be an int >= 1 agent-step, got {eval_every!r}")
        super().__init__(eval_every, log_path, verbose, averaging)
        self.evaluator = evaluator
        self.stop_at_target = bool(stop_at_target)
        self.on_evaluation = on_evaluation
        self.reached: Optional[dict] = None
        self._columns: Optional[List[str]] = None
        self._notes: Tuple[str, ...] = ()  # the latest evaluation's notes, printed with its row

    def restore_state(self, state: dict) -> None:
        super().restore_state(state)
        if self.history:
            self._columns = list(self.history[0])

    def _restored_row(self, row: dict) -> dict:
        return _parsed(row)

    def evaluate(self) -> dict:
        """Score the current policy: the row of ``evaluations.csv`` (a dict in column order)."""
        began = time.perf_counter()
        result = self.evaluator(self.model)
        if not isinstance(result, Evaluation):
            raise TypeError(f"the evaluator must return an rl.evaluation.Evaluation, got {type(result).__name__}")
        now = time.perf_counter()
        row = {"timesteps": int(self.num_timesteps), "seconds": now - self._start, "eval_seconds": now - began,
               "passed": result.passed, "failed": ";".join(result.failed)}
        self._notes = tuple(result.notes)
        for name, value in result.values.items():
            if name in row:
                raise ValueError(f"evaluator column {name!r} clashes with a leading column {LEADING_COLUMNS}")
            row[name] = value
        return row

    def _record(self, row: dict) -> None:
        if self._columns is None:
            self._columns = list(row)
        elif list(row) != self._columns:
            added = [c for c in row if c not in self._columns]
            if sorted(set(row) - set(added)) != sorted(self._columns):
                raise ValueError(f"the evaluator changed its columns between evaluations: {list(row)} "
                                 f"after {self._columns}")
            # a run resumed under a newer evaluator that reports more rows: the earlier rows leave them empty
            self._columns = list(row)
            if self.verbose:
                print(f"[eval] columns added since the earlier evaluations (empty in their rows): "
                      f"{', '.join(added)}", flush=True)
        self.history.append(row)
        self.logger.record("eval/passed", float(row["passed"]))
        for name, value in row.items():
            if name not in ("timesteps", "seconds", "failed") and _is_number(value):
                self.logger.record(f"eval/{name}", float(value))
        self._write_history(self._columns)
        if self.verbose:
            verdict = "every judged row passes" if row["passed"] else f"failed: {row['failed'].replace(';', ', ')}"
            notes = "".join(f"  [{note}]" for note in self._notes)
            print(f"[eval] {row['timesteps']:>9d} steps  {row['seconds']:7.0f} s  (evaluation "
                  f"{row['eval_seconds']:.1f} s){notes}  {verdict}", flush=True)

    def _on_step(self) -> bool:
        if not self._due():
            return True
        row, averaged = self._scored()
        if averaged:
            self._notes += (f"policy averaged over the last {averaged} rollouts",)
        self._record(row)
        if self.stop_at_target and row["passed"]:
            self.reached = row
            self._stopping()
            if self.verbose:
                print(f"[eval] targets met after {row['timesteps']} agent-steps ({row['seconds']:.0f} s): stopping",
                      flush=True)
            return False
        return self.on_evaluation is None or bool(self.on_evaluation(row))


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _parsed(row: dict) -> dict:
    """A row read back from ``evaluations.csv`` with its numbers and verdict as Python values."""
    out = {}
    for name, text in row.items():
        if name == "passed":
            out[name] = text == "True"
        elif name == "failed":
            out[name] = text
        elif name == "timesteps":
            out[name] = int(text)
        else:
            try:
                out[name] = float(text)
            except (TypeError, ValueError):
                out[name] = text
    return out
