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
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import gymnasium
import numpy as np
import stable_baselines3
import torch
from stable_baselines3.common.callbacks import CallbackList, CheckpointCallback

from econ.experiments import make_experiment
from econ.io import jsonable, write_json_atomic
from rl.callbacks import BenchmarkEvalCallback, EntropyAnnealing, ExplorationAnnealing, ReturnTracker, has_benchmark
from rl.config import TrainConfig, add_arguments, from_arguments
from rl.recipes import LinearSchedule, algorithm_class, centred, hyperparameters, recipe, reward_offset, sb3_kwargs
from rl.vec_env import EconomyVecEnv

_LinearSchedule = LinearSchedule
"""Models saved before the recipes moved to :mod:`rl.recipes` pickle their learning-rate schedule under this name."""


def _versions() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
    }


def _code_version() -> dict:
    """The git commit of the code that trains (and whether its tree had uncommitted changes), if it is a checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    if commit.returncode != 0:
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip())}


def _latest_checkpoint(directory: Path):
    best, best_steps = None, -1
    for path in directory.glob("model_*_steps.zip"):
        match = re.search(r"_(\d+)_steps\.zip$", path.name)
        if match and int(match.group(1)) > best_steps:
            best, best_steps = path, int(match.group(1))
    return best


def train(config: TrainConfig, out, *, resume: bool = False, progress: bool = False,
          argv: Optional[list] = None, on_evaluation: Optional[Callable[[dict], bool]] = None) -> dict:
    """Train the run ``config`` into the directory ``out`` (see the module docstring); returns ``summary.json``'s content.

    ``resume`` continues from the newest checkpoint in ``out``; ``progress``
    shows SB3's progress bar; ``argv`` is recorded in ``config.json``; ``on_evaluation`` is called with
    every evaluation against the benchmark and stops training by returning False.
    Raises ``ValueError`` for an override of an unknown field or incompatible
    settings (``n_steps`` for an off-policy algorithm, evaluation targets for
    an experiment without a per-state benchmark).
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be an rl.config.TrainConfig, got {type(config).__name__}")
    c = config
    experiment, algo, timesteps, seed = c.experiment, c.algo, c.timesteps, c.seed
    eval_every, target_welfare_loss, target_policy_error = c.eval_every, c.target_welfare_loss, c.target_policy_error
    exp = make_experiment(experiment, c.n_agents, **c.overrides)
    hyper = hyperparameters(algo, c.preset, exp.beta, c.n_steps, c.hyper_overrides)
    wants_eval = eval_every is not None or target_welfare_loss is not None or target_policy_error is not None
    if wants_eval and not has_benchmark(exp):
        raise ValueError(f"evaluation against a benchmark needs a one-household AR(1) experiment "
                         f"(rbc, rbc-full-depreciation); {experiment!r} with N = {exp.num_agents} has none")
    if target_policy_error is not None and target_welfare_loss is None:
        raise ValueError("target_policy_error is checked together with target_welfare_loss: give both")
    if wants_eval and eval_every is None:
        eval_every = 5_000
    torch.set_num_threads(c.threads)
    env = EconomyVecEnv(exp, n_economies=c.n_economies, seed=seed)
    if hyper.get("center_rewards"):
        env = centred(env, reward_offset(exp))
    algo_class = algorithm_class(algo)
    out = Path(out)
    checkpoints = out / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomic(out / "config.json", {
        "experiment": jsonable(exp),
        "experiment_name": experiment,
        "algorithm": algo,
        "preset": c.preset,
        "hyperparameters": jsonable(hyper),
        "seed": seed,
        "n_agents": exp.num_agents,
        "n_economies": c.n_economies,
        "num_envs": env.num_envs,
        "timesteps": int(timesteps),
        "overrides": jsonable(c.overrides),
        "threads": c.threads,
        "train_config": jsonable(c.as_dict()),
        "argv": list(argv) if argv is not None else None,
        "versions": _versions(),
        "code": _code_version(),
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
        CheckpointCallback(save_freq=max(1, c.checkpoint_every // env.num_envs), save_path=str(checkpoints),
                           name_prefix="model", save_replay_buffer=algo != "ppo"),
        tracker,
    ]
    if hyper.get("log_std_final") is not None:
        callbacks.append(ExplorationAnnealing(float(hyper["log_std_final"]), int(timesteps)))
    if hyper.get("target_entropy_final") is not None:
        initial = hyper.get("target_entropy", "auto")
        initial = -float(exp.action_size) if initial == "auto" else float(initial)  # SB3's "auto": -dim(A)
        callbacks.append(EntropyAnnealing(initial, float(hyper["target_entropy_final"]), int(timesteps),
                                           float(hyper.get("target_entropy_anneal_start", 0.0))))
    evaluator = None
    if wants_eval:
        evaluator = BenchmarkEvalCallback(exp, eval_every, log_path=out / "evaluations.csv",
                                          target_welfare_loss=target_welfare_loss,
                                          target_policy_error=target_policy_error, seed=seed,
                                          on_evaluation=on_evaluation)
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


def build_parser(recipe: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rl.train", description=__doc__.split("\n\n")[0])
    add_arguments(parser, recipe=recipe)
    parser.add_argument("--recipe", action="store_true",
                        help="start from the experiment's recipe for --algo (rl/hyperparams/ALGO.yml); options "
                             "given on the command line replace its values")
    parser.add_argument("--out", type=Path, required=True, help="run directory")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    return parser


def main(argv=None) -> int:
    argv_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(recipe="--recipe" in argv_list)
    args = parser.parse_args(argv_list)
    try:
        config = from_arguments(args, recipe(args.experiment, args.algo) if args.recipe else None)
        train(config, args.out, resume=args.resume, progress=not args.no_progress,
              argv=sys.argv if argv is None else ["python", "-m", "rl.train", *argv])
    except ValueError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    # Run through the importable module: objects that a saved model pickles (the learning-rate
    # schedule) then refer to ``rl.recipes.LinearSchedule``, not to ``__main__``, whose class
    # cloudpickle would store by value and only that cloudpickle version could read back.
    from rl.train import main as _main

    raise SystemExit(_main())
