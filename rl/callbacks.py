"""SB3 callbacks of a training run: the learning curve, exploration annealing, and
evaluation against the benchmark during training.

- :class:`ReturnTracker`: mean return of every finished batch of episodes
  (``returns.csv``).
- :class:`CriticWatch` (PPO): a warning as soon as the critic fails to fit the
  returns rollout after rollout.
- :class:`ValueNormalisation` (PPO): the value head's mean and scale moved
  towards each rollout's returns (:class:`rl.policies.NormalisedValuePolicy`).
- :class:`EntropyAnnealing` (SAC) and :class:`ExplorationAnnealing` (PPO):
  exploration noise lowered over the run.
- PPO's advantages (next period's shocks integrated out, their lambda annealed,
  standardised within groups): :mod:`rl.advantages`.
- :class:`BenchmarkEvalCallback`: every ``eval_every`` agent-steps, the current
  deterministic policy against the experiment's benchmark where one exists
  (``rbc-full-depreciation``: Brock-Mirman; ``rbc``: the global VFI solution),
  with the metrics of :mod:`econ.rbc.accuracy`: consumption-equivalent welfare
  loss in percent and the policy error (mean and max |chat - chat*|, |l - l*|
  on the benchmark's ergodic states).  Each evaluation is printed, written to
  TensorBoard (``eval/...``) and added to ``evaluations.csv`` (rewritten atomically); with a
  ``target_welfare_loss`` (and optionally ``target_policy_error``) training
  stops at the first evaluation that meets it.
"""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.utils import explained_variance

from econ.experiments import Experiment
from econ.io import write_text_atomic
from econ.rbc.accuracy import benchmark_policy, policy_error, welfare_loss
from rl.recipes import LinearSchedule
from rl.rollout import model_policy


def read_rows(path: Optional[Path]) -> list:
    """Rows of a CSV file of this module (none if there is no file)."""
    if path is None or not Path(path).is_file():
        return []
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def truncate_rows(path: Path, step: int) -> None:
    """Keep the rows of the CSV ``path`` (first column: timesteps) up to ``step``, atomically.

    A resumed run recomputes the rows after its checkpoint's step; keeping
    them would write them twice.
    """
    path = Path(path)
    if not path.is_file():
        return
    lines = path.read_text().splitlines(keepends=True)
    if not lines:
        return
    width = lines[0].count(",")
    # a line cut short by a kill (no newline, or fewer fields) is dropped with the later ones
    kept = lines[:1] + [line for line in lines[1:] if line.endswith("\n") and line.count(",") == width
                        and _leading_int(line) is not None and _leading_int(line) <= step]
    write_text_atomic(path, "".join(kept))


def _leading_int(line: str):
    try:
        return int(line.split(",", 1)[0])
    except ValueError:
        return None


CRITIC_HEALTHY = 0.5
"""Below this share of the last rollout's return variance explained by PPO's critic, training warns.  Fitted critics
explain 0.95 to 1.00 of it (every PPO trial of the scaling study but the `ks` ones at N = 10: 0.97 or more from
the first fifth of the run on); a critic whose tanh units have saturated explains none (its value is one constant;
docs/training.md, the critic at N = 10)."""


def critic_explained_variance(model) -> Optional[float]:
    """Share of the variance of the last rollout's returns that PPO's critic explained when it collected them (SB3's
    ``train/explained_variance`` of the last update); None without a rollout buffer (SAC, TD3, DDPG) or before the
    first complete rollout."""
    buffer = getattr(model, "rollout_buffer", None)
    if buffer is None or not buffer.full:
        return None
    explained = float(explained_variance(buffer.values.flatten(), buffer.returns.flatten()))
    return explained if np.isfinite(explained) else None  # returns without variance: nothing to explain


def critic_warning(explained: Optional[float]) -> Optional[str]:
    """The one-line warning for a critic that explains less than :data:`CRITIC_HEALTHY` of the returns, else None."""
    if explained is None or explained >= CRITIC_HEALTHY:
        return None
    shown = round(explained, 3) + 0.0  # -0.0004 shows as 0.000, not -0.000
    return (f"warning: the critic explains {shown:.3f} of the variance of the last rollout's returns (fitted "
            f"critics: 0.95 and above); PPO's advantages rest on a value function that does not fit them (saturated "
            f"units? docs/training.md)")


class CriticWatch(BaseCallback):
    """PPO: warns once, as soon as it shows, about a critic that does not fit the returns: when, from rollout
    ``warmup`` on, the last ``window`` rollouts' critics all explained less than :data:`CRITIC_HEALTHY` of their
    returns (:func:`critic_warning`, with the agent-step).  Fitted critics pass 0.5 within the first 5 to 10
    rollouts of the KS recipes (0.3 M agent-steps or less); a saturated one stays at 0.00 from the first
    (docs/training.md), so the defaults leave three times that before judging.  It reads the
    rollout buffer after the other callbacks have finished its returns (it is added after them)."""

    def __init__(self, warmup: int = 30, window: int = 15):
        super().__init__()
        if not 1 <= window <= warmup:
            raise ValueError(f"CriticWatch needs 1 <= window <= warmup, got window {window}, warmup {warmup}")
        self.warmup, self.window = int(warmup), int(window)
        self.explained: list = []
        self.warned_at: Optional[int] = None

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        self.explained = (self.explained + [critic_explained_variance(self.model)])[-self.warmup:]
        last = self.explained[-self.window:]
        if (self.warned_at is None and len(self.explained) >= self.warmup
                and all(v is not None and v < CRITIC_HEALTHY for v in last)):
            self.warned_at = int(self.num_timesteps)
            print(f"{critic_warning(last[-1])}; at {self.warned_at} agent-steps, {self.window} rollouts in a row",
                  flush=True)


class ValueNormalisation(BaseCallback):
    """PPO with :class:`rl.policies.NormalisedValuePolicy`: at the end of every rollout, once the other callbacks
    have finished its returns (it is added after them) and before the gradient steps, the value head's mean and
    standard deviation move towards the returns' (all the way on the first rollout, then by the share ``rate``),
    every predicted value unchanged (:meth:`rl.policies.NormalisedValueHead.update`, which refuses a rate outside
    (0, 1]).  Its state is the head's buffers, saved with the model."""

    def __init__(self, rate: float):
        super().__init__(0)
        self.rate = float(rate)

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        head = self.model.policy.value_net
        if not hasattr(head, "update"):
            raise TypeError(f"ValueNormalisation needs NormalisedValuePolicy's value head, got {type(head).__name__}")
        head.update(torch.as_tensor(self.model.rollout_buffer.returns), self.rate)


class ReturnTracker(BaseCallback):
    """SB3 callback recording the mean return of every finished batch of episodes (the learning curve).

    All economies of the VecEnv start together and are truncated together, so
    each truncation finishes one episode per slot; their mean undiscounted
    return is one point of ``returns.csv`` (timesteps, seconds, mean_return).
    ``best_return`` is the largest such mean, ``final_return`` the last.
    """

    def __init__(self, path: Optional[Path] = None):
        super().__init__(0)
        self.path = path
        self.points: list = []
        self.start = time.perf_counter()

    def _on_step(self) -> bool:
        returns = [info["episode"]["r"] for info in self.locals.get("infos", ()) if "episode" in info]
        if returns:
            point = (int(self.num_timesteps), time.perf_counter() - self.start, float(np.mean(returns)))
            self.points.append(point)
            self.logger.record("rollout/batch_return", point[2])
            if self.path is not None:
                new = not self.path.exists()
                with open(self.path, "a") as handle:
                    if new:
                        handle.write("timesteps,seconds,mean_return\n")
                    handle.write(f"{point[0]},{point[1]:.3f},{point[2]!r}\n")  # the return in full: a resumed run reads it back
        return True

    def checkpoint_state(self) -> dict:
        return {"seconds": time.perf_counter() - self.start}

    def restore_state(self, state: dict) -> None:
        """Continue a resumed run: the clock from the checkpoint, the points from ``returns.csv`` (truncated to it)."""
        self.start = time.perf_counter() - float(state["seconds"])
        self.points = [(int(r["timesteps"]), float(r["seconds"]), float(r["mean_return"])) for r in read_rows(self.path)]

    @property
    def best_return(self):
        return max((p[2] for p in self.points), default=None)

    @property
    def final_return(self):
        return self.points[-1][2] if self.points else None


class EntropyAnnealing(BaseCallback):
    """SB3 callback moving SAC's ``target_entropy`` linearly to ``final`` over the last part of the run.

    The target stays at its initial value until the fraction ``start`` of the
    run's timesteps, then falls linearly to ``final`` at the end.  SAC's
    entropy bonus includes the log-Jacobian of its tanh squashing, which pulls
    the mean action towards the middle of the action box with a force
    proportional to the temperature; where the value is flat in an action
    (labour, with utility linear in labour) that pull is a visible bias: it
    damps the labour response to TFP and, at Brock-Mirman's l* = 0.973, pulls
    labour down by 0.04.  Exploring broadly first and lowering the temperature
    late, once the critic has learned from the broad exploration, removes most
    of the pull (evidence: docs/training.md).
    """

    def __init__(self, initial: float, final: float, total: int, start: float = 0.0):
        super().__init__(0)
        if not 0.0 <= start < 1.0:
            raise ValueError(f"target_entropy_anneal_start must be in [0, 1), got {start}")
        # the initial target is given, not read from the model, so that a resumed run keeps its schedule
        self.start_entropy, self.final, self.total, self.start = initial, final, total, start

    def _on_step(self) -> bool:
        progress = (self.num_timesteps / self.total - self.start) / (1.0 - self.start)
        progress = min(1.0, max(0.0, progress))
        self.model.target_entropy = self.start_entropy + (self.final - self.start_entropy) * progress
        return True


class ExplorationAnnealing(BaseCallback):
    """SB3 callback capping PPO's Gaussian log-std by a bound falling linearly from its start to ``final``.

    PPO clips its Gaussian actions to the action box; where the optimum lies
    close to an end of the box (Brock-Mirman labour 0.973 against the ceiling
    0.995) the clipped samples bias the mean past the end (the optimal mean of
    the clipped Gaussian is a* + O(sigma)), and the deterministic action sticks
    to the ceiling.  Capping sigma as training proceeds removes that bias;
    learning can still lower sigma below the cap.

    ``final`` is one bound for every action, or one per action (a sequence as long as the action): an action
    whose optimum lies in a flat direction of the objective learns its mean from larger noise than one with a
    steep optimum (docs/training.md: ``general``).
    """

    def __init__(self, final, total: int):
        super().__init__(0)
        self.final = float(final) if np.ndim(final) == 0 else [float(f) for f in final]
        self.total = total
        self.start_cap = None

    def _on_training_start(self) -> None:
        log_std = self.model.policy.log_std
        if np.ndim(self.final) and len(self.final) != log_std.numel():
            raise ValueError(f"log_std_final has {len(self.final)} entries for {log_std.numel()} actions: give one "
                             f"number, or one per action")
        if self.start_cap is None:  # a resumed run keeps the cap's starting point from its checkpoint
            self.start_cap = float(log_std.detach().max())

    def checkpoint_state(self) -> dict:
        return {"start_cap": self.start_cap}

    def restore_state(self, state: dict) -> None:
        self.start_cap = state["start_cap"]

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        progress = min(1.0, self.num_timesteps / self.total)
        log_std = self.model.policy.log_std
        # the bound in double precision, then rounded to the parameter's type (as clamp_ rounds a Python float)
        cap = torch.as_tensor(self.start_cap + (np.asarray(self.final, dtype=np.float64) - self.start_cap) * progress,
                              dtype=log_std.dtype)
        with torch.no_grad():
            log_std.copy_(torch.minimum(log_std, cap))


class PolicyAveraging(BaseCallback):
    """SB3 callback averaging a policy's weights over the final stretch of a run (Polyak-Ruppert averaging).

    From the rollout that ends at or after ``(1 - share) * total`` agent-steps on, the weights every rollout was
    collected with (the policy's whole state: actor, critic and log-std for PPO; actor, critics and their target
    copies for SAC, TD3 and DDPG, whose rollout is one VecEnv step and whose gradient steps follow it) are summed in
    double precision;
    :meth:`apply` puts their mean into the model once the whole budget is spent, so that ``model.zip`` holds the
    average and not the last update's weights.  Training-time evaluations inside the window score the average so
    far (:meth:`average`, through :class:`ScheduledEvaluation`): the policy the run would save if it stopped there;
    a run stopped early at a training-time target saves that average (:meth:`apply` with ``early``).  The sums and
    their count are part of every checkpoint (JSON numbers are exact), so a resumed run averages exactly what the
    uninterrupted one does.  Why: the last updates' noise on a flat objective (docs/training.md: ``general``), and
    an off-policy rule that swings between gradient steps late in a run (docs/training.md: TD3 on ``ks-het-mild``).
    """

    def __init__(self, share: float, total: int):
        super().__init__(0)
        self.share, self.total = float(share), int(total)
        self.count, self.sums, self.restored_total = 0, None, None
        self.applied = False

    def checkpoint_state(self) -> dict:
        sums = None if self.sums is None else {name: {"shape": list(v.shape), "values": v.ravel().tolist()}
                                               for name, v in self.sums.items()}
        return {"count": self.count, "sums": sums, "total": self.total}

    def restore_state(self, state: dict) -> None:
        self.count = int(state["count"])
        self.sums = None if state["sums"] is None else {
            name: np.asarray(v["values"], dtype=np.float64).reshape(v["shape"]) for name, v in state["sums"].items()}
        self.restored_total = int(state["total"])

    def _on_training_start(self) -> None:
        # a run resumed with a larger budget moves the window; sums from before its new start would be wrong
        if self.restored_total is not None and self.restored_total != self.total and self.count:
            if self.model.num_timesteps / self.total >= 1.0 - self.share:
                raise ValueError(f"resume: policy_averaging began at {1.0 - self.share:g} of the budget of "
                                 f"{self.restored_total} agent-steps; with {self.total} its window would start "
                                 f"before the checkpoint ({self.model.num_timesteps}) and the average before it is "
                                 f"lost: resume from an earlier checkpoint or keep the budget")
            self.count, self.sums = 0, None  # the new window starts after the checkpoint: nothing averaged yet

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.num_timesteps / self.total < 1.0 - self.share:
            return
        weights = self.model.policy.state_dict()
        if self.sums is None:
            self.sums = {name: np.zeros(tuple(v.shape), dtype=np.float64) for name, v in weights.items()}
        for name, v in weights.items():
            self.sums[name] += v.detach().cpu().double().numpy()
        self.count += 1

    def average(self, policy) -> Optional[dict]:
        """The mean of the rollouts' weights so far, as a state dict of ``policy``'s dtypes; None before the
        window's first rollout."""
        if self.count == 0:
            return None
        return {name: torch.as_tensor(self.sums[name] / self.count).to(v.dtype)
                for name, v in policy.state_dict().items()}

    def apply(self, model, early: bool = False) -> bool:
        """Put the average into ``model``'s policy if a rollout was averaged and the budget was spent (or
        ``early``: the run stops at a training-time target judged on this average)."""
        if self.count == 0 or (model.num_timesteps < self.total and not early):
            return False
        model.policy.load_state_dict(self.average(model.policy))
        self.applied = True
        return True


class ActionNoiseAnnealing(BaseCallback):
    """SB3 callback moving the standard deviation of TD3's or DDPG's Gaussian exploration noise linearly from
    ``initial`` to ``final`` over the run, in step with a learning rate decayed linearly over the same run.

    The schedule is a function of the run's agent-steps alone (no state of its own), so a resumed run continues it.
    With several environments SB3 wraps the noise into one copy per environment
    (:class:`stable_baselines3.common.noise.VectorizedActionNoise`); each copy is set.
    """

    def __init__(self, initial: float, final: float, total: int):
        super().__init__(0)
        self.schedule, self.total = LinearSchedule(float(initial), float(final)), int(total)

    def sigma(self, timesteps: int) -> float:
        """The noise's standard deviation after ``timesteps`` agent-steps (the learning rate's schedule)."""
        return self.schedule(1.0 - min(1.0, max(0.0, timesteps / self.total)))

    def _set(self) -> None:
        sigma = self.sigma(self.num_timesteps)
        noise = self.model.action_noise
        for copy in getattr(noise, "noises", [noise]):
            copy._sigma.fill(sigma)  # in place: called every step, for every environment's copy

    def _on_training_start(self) -> None:
        self._set()

    def _on_step(self) -> bool:
        self._set()
        return True


EVAL_FIELDS = ("timesteps", "seconds", "welfare_loss_percent", "chat_error_mean", "chat_error_max",
               "labour_error_mean", "labour_error_max")


def has_benchmark(experiment: Experiment) -> bool:
    """True where a per-state benchmark policy exists (one household, AR(1), chooses labour)."""
    return experiment.num_agents == 1 and experiment.technology == "ar1" and experiment.chooses_labour


class ScheduledEvaluation(BaseCallback):
    """The schedule and clock of an evaluation every ``eval_every`` agent-steps, kept across a resume.

    ``self._next``: the agent-step of the next evaluation; ``self._start``:
    the clock's origin (seconds count from the start of training, resumed
    runs included); :meth:`checkpoint_state` and :meth:`restore_state` carry
    both through a checkpoint, and :meth:`restore_state` reads the earlier
    rows back from ``self.log_path`` through :meth:`_restored_row`.
    """

    def __init__(self, eval_every: int, log_path: Optional[Path], verbose: int = 0,
                 averaging: Optional[PolicyAveraging] = None):
        super().__init__(verbose)
        if eval_every < 1:
            raise ValueError(f"eval_every must be >= 1 agent-step, got {eval_every}")
        self.eval_every = int(eval_every)
        self.log_path = None if log_path is None else Path(log_path)
        self.averaging = averaging
        self.history: list = []
        self._next = 0
        self._start = time.perf_counter()
        self._restored = False

    def _on_training_start(self) -> None:
        if not self._restored:
            self._next = self.num_timesteps + self.eval_every
            self._start = time.perf_counter()

    def checkpoint_state(self) -> dict:
        return {"next": self._next, "seconds": time.perf_counter() - self._start}

    def restore_state(self, state: dict) -> None:
        """Continue a resumed run: the schedule and clock from the checkpoint, the rows from the (truncated) CSV."""
        self._next, self._start, self._restored = int(state["next"]), time.perf_counter() - state["seconds"], True
        self.history = [self._restored_row(row) for row in read_rows(self.log_path)]

    def _restored_row(self, row: dict) -> dict:
        """One CSV row (strings) as the history holds it."""
        raise NotImplementedError

    def _write_history(self, columns: list) -> None:
        """Rewrite ``self.log_path`` atomically with every row of the history (no torn file if the run is killed)."""
        if self.log_path is None:
            return
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self.history)
        write_text_atomic(self.log_path, buffer.getvalue())

    def _due(self) -> bool:
        """True once per ``eval_every`` agent-steps (and moves the schedule on)."""
        if self.num_timesteps < self._next:
            return False
        self._next += self.eval_every
        return True

    def _scored(self) -> tuple:
        """(row, averaged rollouts): :meth:`evaluate` of the policy the run would save now.  Inside a
        ``policy_averaging`` window that is the average so far: it is put into the policy for the evaluation and
        the live weights are put back after it, bit for bit, so training goes on as without the evaluation."""
        average = None if self.averaging is None else self.averaging.average(self.model.policy)
        if average is None:
            return self.evaluate(), 0
        live = {name: v.detach().clone() for name, v in self.model.policy.state_dict().items()}
        self.model.policy.load_state_dict(average)
        try:
            return self.evaluate(), self.averaging.count
        finally:
            self.model.policy.load_state_dict(live)

    def _stopping(self) -> None:
        """Training stops at this evaluation: the model keeps the weights it was judged with."""
        if self.averaging is not None:
            self.averaging.apply(self.model, early=True)


class BenchmarkEvalCallback(ScheduledEvaluation):
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
    on_evaluation : callable or None
        Called with each evaluation's row; training stops when it returns
        False (a hyperparameter search prunes a trial this way).
    """

    def __init__(self, experiment: Experiment, eval_every: int, *, log_path: Optional[Path] = None,
                 target_welfare_loss: Optional[float] = None, target_policy_error: Optional[float] = None,
                 n_states: int = 64, seed: int = 0, verbose: int = 1,
                 on_evaluation: Optional[Callable[[dict], bool]] = None,
                 averaging: Optional[PolicyAveraging] = None):
        super().__init__(eval_every, log_path, verbose, averaging)
        if not has_benchmark(experiment):
            raise ValueError(f"experiment {experiment.name!r} has no per-state benchmark to evaluate against")
        for name, value in (("target_welfare_loss", target_welfare_loss),
                            ("target_policy_error", target_policy_error)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        self.experiment = experiment
        self.target_welfare_loss = target_welfare_loss
        self.target_policy_error = target_policy_error
        self.n_states = n_states
        self.seed = seed
        self.on_evaluation = on_evaluation
        self.benchmark = benchmark_policy(experiment)
        self.reached: Optional[dict] = None

    def _restored_row(self, row: dict) -> dict:
        return {k: (int(v) if k == "timesteps" else float(v)) for k, v in row.items()}

    def evaluate(self) -> dict:
        policy = model_policy(self.model, self.experiment)
        welfare = welfare_loss(policy, self.benchmark, self.experiment, n_states=self.n_states,
                                       seed=self.seed)
        error = policy_error(policy, self.benchmark, self.experiment, n_periods=2_000, seed=self.seed)
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
        self._write_history(EVAL_FIELDS)
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
        if not self._due():
            return True
        row, averaged = self._scored()
        self._record(row)
        if averaged and self.verbose:
            print(f"[eval] (the policy averaged over the last {averaged} rollouts)")
        if self._target_met(row):
            self.reached = row
            self._stopping()
            if self.verbose:
                print(f"[eval] target reached after {row['timesteps']} steps ({row['seconds']:.0f} s): stopping")
            return False
        return self.on_evaluation is None or bool(self.on_evaluation(row))
