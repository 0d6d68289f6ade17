"""Train households with one shared SB3 policy: ``python -m rl.train EXPERIMENT --algo sac ...``.

The discount factor is always the calibration's beta (spec section 1):
training with any other gamma solves a different problem, so there is no
``--gamma``.  ``--timesteps`` counts agent-steps (SB3's convention: one VecEnv
step of ``n_agents * n_economies`` slots is that many timesteps).

The run directory holds ``config.json`` (resolved experiment, algorithm,
hyperparameters, seed, package versions; written atomically), TensorBoard logs
(``tb/``), periodic checkpoints (``checkpoints/``, with the replay buffer for
off-policy algorithms) and the final ``model.zip`` (written to a temporary
file and renamed).  ``--resume`` continues from the newest checkpoint.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from econ.experiments import EXPERIMENTS, make_experiment
from econ.io import write_json_atomic
from rl.vec_env import EconomyVecEnv

ALGORITHMS = ("sac", "ppo", "td3", "ddpg")

PRESETS = {
    "default": {"sac": {}, "ppo": {}, "td3": {}, "ddpg": {}},
    "tuned": {
        "sac": {"learning_rate": 1e-3, "learning_rate_final": 1e-5, "batch_size": 256, "learning_starts": 1_000,
                "tau": 0.01, "center_rewards": True, "policy_kwargs": {"net_arch": [64, 64], "activation_fn": "silu"}},
        "ppo": {"learning_rate": 3e-4, "n_steps": 128, "batch_size": 2048, "n_epochs": 10,
                "policy_kwargs": {"net_arch": [64, 64]}, "center_rewards": True},
        "td3": {"learning_rate": 1e-3, "batch_size": 256, "learning_starts": 1_000,
                "policy_kwargs": {"net_arch": [64, 64]}},
        "ddpg": {"learning_rate": 1e-3, "batch_size": 256, "learning_starts": 1_000,
                 "policy_kwargs": {"net_arch": [64, 64]}},
    },
}
"""Hyperparameters per preset and algorithm (gamma is always added: it is the calibration's beta).

``default`` is SB3's defaults, the paper's setting.  ``tuned`` uses small
networks (64 x 64: this problem has 2 to 7 inputs and 1 or 2 outputs, and
SB3's 256 x 256 networks cost ~2.7x the time per update on a CPU).  For PPO
it is the recipe that reached the ``rbc`` targets (meant for many slots, e.g.
``--n-economies 64``: 128-step rollouts of 64 economies give 8,192 samples
per update round, minibatches of 2,048) with reward centring
(``center_rewards``: the steady-state period utility is subtracted from every
reward the learner sees; see :func:`_centred`).  For SAC it is the recipe
that reached them with SAC (with 16 economies and 4 gradient steps per VecEnv
step, ``validation.compare.TRAIN_RECIPES``): SiLU activations (a smooth
critic, since the actor follows the critic's action gradient; not ablated
against ReLU), reward centring, and a learning rate falling from 1e-3 to 1e-5.
docs/performance.md gives the measured time to the ``rbc`` targets.

Keys that are not SB3 arguments: ``center_rewards`` (bool),
``learning_rate_final`` (linear decay of ``learning_rate`` to it over the
run), ``action_noise_std`` (Gaussian exploration noise of TD3/DDPG).
``policy_kwargs`` may name its ``activation_fn`` as a string (one of
:data:`ACTIVATIONS`), so that every setting stays JSON.
"""

ACTIVATIONS = ("relu", "tanh", "elu", "silu")
"""Activation functions ``policy_kwargs["activation_fn"]`` may name (torch.nn's ReLU, Tanh, ELU, SiLU)."""


def _algorithm_class(name: str):
    import stable_baselines3 as sb3

    return {"sac": sb3.SAC, "ppo": sb3.PPO, "td3": sb3.TD3, "ddpg": sb3.DDPG}[name]


def _parse_override(text: str):
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"overrides are KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return key.strip(), parsed


def _versions() -> dict:
    import gymnasium
    import stable_baselines3
    import torch

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
    }


def _jsonable(value):
    if hasattr(value, "_asdict"):
        return {k: _jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _latest_checkpoint(directory: Path):
    best, best_steps = None, -1
    for path in directory.glob("model_*_steps.zip"):
        match = re.search(r"_(\d+)_steps\.zip$", path.name)
        if match and int(match.group(1)) > best_steps:
            best, best_steps = path, int(match.group(1))
    return best


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
                    handle.write(f"{point[0]},{point[1]:.3f},{point[2]:.6f}\n")
        return True

    @property
    def best_return(self):
        return max((p[2] for p in self.points), default=None)

    @property
    def final_return(self):
        return self.points[-1][2] if self.points else None


def hyperparameters(algo: str, preset: str, beta: float, n_steps: Optional[int] = None, extra: Optional[dict] = None
                    ) -> dict:
    """Resolved keyword arguments of the SB3 algorithm: preset, then ``extra``, then n_steps; gamma = beta."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {ALGORITHMS}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {tuple(PRESETS)}")
    hyper = {**PRESETS[preset][algo], **(extra or {})}
    if "gamma" in hyper:
        raise ValueError("gamma cannot be set: it is the calibration's beta (spec section 1)")
    if n_steps is not None:
        if algo != "ppo":
            raise ValueError(f"n_steps (the rollout length) applies to PPO only, not {algo}")
        if n_steps < 2:
            raise ValueError(f"n_steps must be >= 2, got {n_steps}")
        hyper["n_steps"] = int(n_steps)
    if "log_std_final" in hyper and algo != "ppo":
        raise ValueError(f"log_std_final applies to PPO only, not {algo}")
    for key in ("target_entropy_final", "target_entropy_anneal_start"):
        if key in hyper and algo != "sac":
            raise ValueError(f"{key} applies to SAC only, not {algo}")
    if "target_entropy_anneal_start" in hyper and "target_entropy_final" not in hyper:
        raise ValueError("target_entropy_anneal_start needs target_entropy_final")
    if "action_noise_std" in hyper and algo not in ("td3", "ddpg"):
        raise ValueError(f"action_noise_std applies to TD3 and DDPG, not {algo}")
    hyper["gamma"] = beta
    return hyper


class _LinearSchedule:
    """Learning rate falling linearly from ``start`` to ``final`` over the run (picklable, for checkpoints)."""

    def __init__(self, start: float, final: float):
        self.start, self.final = start, final

    def __call__(self, progress_remaining: float) -> float:
        return self.final + (self.start - self.final) * progress_remaining


def reward_offset(exp) -> float:
    """Period utility at the deterministic steady state (what ``center_rewards`` subtracts from every reward).

    AR(1) experiments: u(c_ss, l_ss) of the representative-agent steady state.
    KS experiments: log of steady-state consumption per household,
    Y - delta K at K = capital_scale, L = mean employment * lbar, A = mean z.
    """
    from econ.economy import utility

    if exp.technology == "ar1":
        from econ.rbc.steady_state import steady_state

        ss = steady_state(exp.rbc_params)
        return float(utility(ss.consumption, ss.labour, exp.chi, exp.utility))
    from econ.experiments import aggregate_stationary_law

    ks = exp.ks
    law = aggregate_stationary_law(ks)
    capital = exp.capital_scale
    labour = float(law @ (1.0 - ks.unemployment_rates)) * ks.labour_endowment
    output = float(law @ ks.technology) * capital ** exp.alpha * labour ** (1.0 - exp.alpha)
    return float(np.log(output - exp.delta * capital))


def _centred(env, offset: float):
    """The VecEnv with ``offset`` subtracted from every reward (the learner's view only).

    A constant shift of the period reward shifts every value by offset/(1 - beta)
    and leaves the optimal policy unchanged (episodes are truncated, never
    terminated, and SB3 bootstraps through truncation, so the horizon is
    effectively infinite).  It removes the large common level (values near
    -6 in ``rbc``, -40 in ``rbc-full-depreciation``) that the critic otherwise has to fit before the small
    action-dependent differences that decide the policy: reward centring
    (Naik et al. 2024, "Reward Centering").  Finished-episode returns in
    ``info["episode"]`` stay the raw utility sums.
    """
    from stable_baselines3.common.vec_env import VecEnvWrapper

    class _Centred(VecEnvWrapper):
        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, rewards, dones, infos = self.venv.step_wait()
            return obs, rewards - np.float32(offset), dones, infos

    return _Centred(env)


class _EntropyAnnealing(BaseCallback):
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
    of the pull (docs/performance.md).
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


class _ExplorationAnnealing(BaseCallback):
    """SB3 callback capping PPO's Gaussian log-std by a bound falling linearly from its start to ``final``.

    PPO clips its Gaussian actions to the action box; where the optimum lies
    close to an end of the box (Brock-Mirman labour 0.973 against the ceiling
    0.995) the clipped samples bias the mean past the end (the optimal mean of
    the clipped Gaussian is a* + O(sigma)), and the deterministic action sticks
    to the ceiling.  Capping sigma as training proceeds removes that bias;
    learning can still lower sigma below the cap.
    """

    def __init__(self, final: float, total: int):
        super().__init__(0)
        self.final, self.total = final, total

    def _on_training_start(self) -> None:
        self.start_cap = float(self.model.policy.log_std.detach().max())

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        import torch

        progress = min(1.0, self.num_timesteps / self.total)
        cap = self.start_cap + (self.final - self.start_cap) * progress
        with torch.no_grad():
            self.model.policy.log_std.clamp_(max=cap)


def sb3_kwargs(hyper: dict, exp) -> dict:
    """JSON-friendly settings become SB3 objects: ``action_noise_std`` (a number) a Gaussian
    ``action_noise``; ``learning_rate_final`` a linear decay of ``learning_rate`` to it over the run;
    an activation named in ``policy_kwargs`` the torch.nn class."""
    kwargs = dict(hyper)
    kwargs.pop("center_rewards", None)
    kwargs.pop("target_entropy_final", None)
    kwargs.pop("target_entropy_anneal_start", None)
    kwargs.pop("log_std_final", None)
    final = kwargs.pop("learning_rate_final", None)
    if final is not None:
        start = float(kwargs.get("learning_rate", 3e-4))
        if not final > 0:
            raise ValueError(f"learning_rate_final must be > 0, got {final}")
        # SB3 calls schedules with the remaining progress, 1 at the start and 0 at the end
        kwargs["learning_rate"] = _LinearSchedule(start, float(final))
    policy_kwargs = kwargs.get("policy_kwargs")
    if policy_kwargs is not None and isinstance(policy_kwargs.get("activation_fn"), str):
        import torch

        name = policy_kwargs["activation_fn"]
        if name not in ACTIVATIONS:
            raise ValueError(f"policy_kwargs activation_fn must be one of {ACTIVATIONS}, got {name!r}")
        classes = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "elu": torch.nn.ELU, "silu": torch.nn.SiLU}
        kwargs["policy_kwargs"] = {**policy_kwargs, "activation_fn": classes[name]}
    std = kwargs.pop("action_noise_std", None)
    if std is not None:
        from stable_baselines3.common.noise import NormalActionNoise

        if not std > 0:
            raise ValueError(f"action_noise_std must be > 0, got {std}")
        kwargs["action_noise"] = NormalActionNoise(np.zeros(exp.action_size), np.full(exp.action_size, float(std)))
    return kwargs


def train(experiment: str, algo: str, timesteps: int, out, *, seed: int = 0, n_agents: Optional[int] = None,
          n_economies: int = 1, preset: str = "default", overrides: Optional[dict] = None,
          hyper_overrides: Optional[dict] = None, n_steps: Optional[int] = None, checkpoint_every: int = 50_000,
          resume: bool = False, progress: bool = False, eval_every: Optional[int] = None,
          target_welfare_loss: Optional[float] = None, target_policy_error: Optional[float] = None,
          threads: int = 1, argv: Optional[list] = None) -> dict:
    """Train one run and write its run directory (see the module docstring); returns ``summary.json``'s content.

    Raises ``ValueError`` for an unknown experiment, algorithm or preset, an
    override of an unknown field, or incompatible settings (``n_steps`` for an
    off-policy algorithm, evaluation targets for an experiment without a
    per-state benchmark).
    """
    import torch
    from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback

    from rl.evaluation import BenchmarkEvalCallback, has_benchmark

    if isinstance(timesteps, bool) or int(timesteps) != timesteps or timesteps < 1:
        raise ValueError(f"timesteps must be an integer >= 1, got {timesteps!r}")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; choose from {EXPERIMENTS}")
    exp = make_experiment(experiment, n_agents, **(overrides or {}))
    hyper = hyperparameters(algo, preset, exp.beta, n_steps, hyper_overrides)
    wants_eval = eval_every is not None or target_welfare_loss is not None or target_policy_error is not None
    if wants_eval and not has_benchmark(exp):
        raise ValueError(f"evaluation against a benchmark needs a one-household AR(1) experiment "
                         f"(rbc, rbc-full-depreciation); {experiment!r} with N = {exp.num_agents} has none")
    if target_policy_error is not None and target_welfare_loss is None:
        raise ValueError("target_policy_error is checked together with target_welfare_loss: give both")
    if wants_eval and eval_every is None:
        eval_every = 5_000
    torch.set_num_threads(int(threads))
    env = EconomyVecEnv(exp, n_economies=n_economies, seed=seed)
    if hyper.get("center_rewards"):
        env = _centred(env, reward_offset(exp))
    algo_class = _algorithm_class(algo)
    out = Path(out)
    checkpoints = out / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "config.json", {
        "experiment": _jsonable(exp),
        "experiment_name": experiment,
        "algorithm": algo,
        "preset": preset,
        "hyperparameters": _jsonable(hyper),
        "seed": seed,
        "n_agents": exp.num_agents,
        "n_economies": n_economies,
        "num_envs": env.num_envs,
        "timesteps": int(timesteps),
        "overrides": _jsonable(dict(overrides or {})),
        "threads": int(threads),
        "argv": list(argv) if argv is not None else None,
        "versions": _versions(),
    })

    if resume:
        latest = _latest_checkpoint(checkpoints)
        if latest is None:
            raise ValueError(f"resume: no checkpoint in {checkpoints}")
        model = algo_class.load(latest, env=env, device="cpu")
        buffer = latest.with_name(latest.name.replace("model_", "model_replay_buffer_").replace(".zip", ".pkl"))
        if hasattr(model, "load_replay_buffer") and buffer.exists():
            model.load_replay_buffer(buffer)
        print(f"resuming from {latest} at {model.num_timesteps} timesteps")
    else:
        model = algo_class("MlpPolicy", env, seed=seed, device="cpu", tensorboard_log=str(out / "tb"),
                           **sb3_kwargs(hyper, exp))
    if model.gamma != exp.beta:
        raise RuntimeError(f"gamma {model.gamma} differs from beta {exp.beta}")

    tracker = ReturnTracker(out / "returns.csv")
    callbacks = [
        CheckpointCallback(save_freq=max(1, checkpoint_every // env.num_envs), save_path=str(checkpoints),
                           name_prefix="model", save_replay_buffer=algo != "ppo"),
        tracker,
    ]
    if hyper.get("log_std_final") is not None:
        callbacks.append(_ExplorationAnnealing(float(hyper["log_std_final"]), int(timesteps)))
    if hyper.get("target_entropy_final") is not None:
        initial = hyper.get("target_entropy", "auto")
        initial = -float(exp.action_size) if initial == "auto" else float(initial)  # SB3's "auto": -dim(A)
        callbacks.append(_EntropyAnnealing(initial, float(hyper["target_entropy_final"]), int(timesteps),
                                           float(hyper.get("target_entropy_anneal_start", 0.0))))
    evaluator = None
    if wants_eval:
        evaluator = BenchmarkEvalCallback(exp, eval_every, log_path=out / "evaluations.csv",
                                          target_welfare_loss=target_welfare_loss,
                                          target_policy_error=target_policy_error, seed=seed)
        callbacks.append(evaluator)
    start = time.perf_counter()
    remaining = int(timesteps) - model.num_timesteps
    if remaining > 0:
        model.learn(total_timesteps=remaining, callback=CallbackList(callbacks), progress_bar=progress,
                    reset_num_timesteps=not resume, tb_log_name=algo)
    seconds = time.perf_counter() - start
    tmp = out / ".model.tmp.zip"
    model.save(tmp)
    os.replace(tmp, out / "model.zip")
    summary = {
        "timesteps": int(model.num_timesteps),
        "wall_clock_seconds": seconds,
        "best_return": tracker.best_return,
        "final_return": tracker.final_return,
        "evaluations": evaluator.history if evaluator is not None else [],
        "target_reached": evaluator.reached if evaluator is not None else None,
    }
    write_json_atomic(out / "summary.json", summary)
    print(f"saved {out / 'model.zip'} after {model.num_timesteps} timesteps ({seconds:.1f} s)")
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rl.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", choices=EXPERIMENTS)
    parser.add_argument("--algo", required=True, choices=ALGORITHMS)
    parser.add_argument("--timesteps", type=int, required=True, help="total agent-steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--n-agents", type=int, default=None)
    parser.add_argument("--n-economies", type=int, default=1)
    parser.add_argument("--preset", choices=tuple(PRESETS), default="default")
    parser.add_argument("--set", dest="overrides", type=_parse_override, action="append", default=[],
                        metavar="FIELD=VALUE", help="override an experiment field (repeatable)")
    parser.add_argument("--hyper", dest="hyper", type=_parse_override, action="append", default=[],
                        metavar="NAME=VALUE", help="override an SB3 hyperparameter of the preset (repeatable)")
    parser.add_argument("--n-steps", type=int, default=None, help="PPO rollout length per slot")
    parser.add_argument("--checkpoint-every", type=int, default=50_000, help="agent-steps between checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--eval-every", type=int, default=None,
                        help="agent-steps between evaluations against the benchmark (rbc experiments)")
    parser.add_argument("--target-welfare-loss", type=float, default=None,
                        help="stop when the welfare loss (percent) is below this")
    parser.add_argument("--target-policy-error", type=float, default=None,
                        help="... and the mean |chat - chat*| and |l - l*| are below this")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest for small networks)")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        train(args.experiment, args.algo, args.timesteps, args.out, seed=args.seed, n_agents=args.n_agents,
              n_economies=args.n_economies, preset=args.preset, overrides=dict(args.overrides),
              hyper_overrides=dict(args.hyper), n_steps=args.n_steps, checkpoint_every=args.checkpoint_every,
              resume=args.resume, progress=not args.no_progress, eval_every=args.eval_every,
              target_welfare_loss=args.target_welfare_loss, target_policy_error=args.target_policy_error,
              threads=args.threads, argv=sys.argv if argv is None else ["python", "-m", "rl.train", *argv])
    except ValueError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    # Run through the importable module: objects that a saved model pickles (the learning-rate
    # schedule) then refer to ``rl.train._LinearSchedule``, not to ``__main__``, whose class
    # cloudpickle would store by value and only that cloudpickle version could read back.
    from rl.train import main as _main

    raise SystemExit(_main())
