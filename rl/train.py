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
from pathlib import Path

import numpy as np

from econ.experiments import EXPERIMENTS, make_experiment
from econ.io import write_json_atomic
from rl.vec_env import EconomyVecEnv

ALGORITHMS = ("sac", "ppo", "td3", "ddpg")

PRESETS = {
    "default": {},
}
"""Hyperparameter presets per name: ``default`` is SB3's defaults (the paper's setting) with gamma = beta.
(A tuned preset is not provided yet: none has been measured to learn this problem faster.)"""


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
    parser.add_argument("--checkpoint-every", type=int, default=50_000, help="agent-steps between checkpoints")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.timesteps < 1:
        parser.error("--timesteps must be >= 1")
    from stable_baselines3.common.callbacks import CheckpointCallback

    try:
        experiment = make_experiment(args.experiment, args.n_agents, **dict(args.overrides))
        env = EconomyVecEnv(experiment, n_economies=args.n_economies, seed=args.seed)
    except ValueError as err:
        parser.error(str(err))
    algo = _algorithm_class(args.algo)
    hyper = {**PRESETS[args.preset], "gamma": experiment.beta}
    out = args.out
    checkpoints = out / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)

    write_json_atomic(out / "config.json", {
        "experiment": _jsonable(experiment),
        "algorithm": args.algo,
        "preset": args.preset,
        "hyperparameters": hyper,
        "seed": args.seed,
        "n_economies": args.n_economies,
        "num_envs": env.num_envs,
        "timesteps": args.timesteps,
        "argv": sys.argv if argv is None else list(argv),
        "versions": _versions(),
    })

    if args.resume:
        latest = _latest_checkpoint(checkpoints)
        if latest is None:
            raise SystemExit(f"--resume: no checkpoint in {checkpoints}")
        model = algo.load(latest, env=env, device="cpu")
        buffer = latest.with_name(latest.name.replace("model_", "model_replay_buffer_").replace(".zip", ".pkl"))
        if hasattr(model, "load_replay_buffer") and buffer.exists():
            model.load_replay_buffer(buffer)
        print(f"resuming from {latest} at {model.num_timesteps} timesteps")
    else:
        model = algo("MlpPolicy", env, seed=args.seed, device="cpu", tensorboard_log=str(out / "tb"), **hyper)
    if abs(model.gamma - experiment.beta) > 0:
        raise SystemExit(f"gamma {model.gamma} differs from beta {experiment.beta}")

    callback = CheckpointCallback(
        save_freq=max(1, args.checkpoint_every // env.num_envs), save_path=str(checkpoints), name_prefix="model",
        save_replay_buffer=args.algo != "ppo",
    )
    remaining = args.timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(total_timesteps=remaining, callback=callback, progress_bar=not args.no_progress,
                    reset_num_timesteps=not args.resume, tb_log_name=args.algo)
    tmp = out / ".model.tmp.zip"
    model.save(tmp)
    os.replace(tmp, out / "model.zip")
    print(f"saved {out / 'model.zip'} after {model.num_timesteps} timesteps")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
