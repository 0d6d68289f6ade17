"""Loading a trained model for scoring, without unpickling anything.

An SB3 ``model.zip`` holds a JSON file whose entries (spaces, schedules,
``policy_kwargs``) are cloudpickle payloads: :meth:`BaseAlgorithm.load`
unpickles them, so loading a crafted zip runs arbitrary code.  Scoring needs
only the network, so :func:`load_model` never calls it:

1. the run's ``config.json`` (plain JSON, written by :func:`rl.train.train`
   beside ``model.zip``) gives the algorithm and its hyperparameters
   (``policy_kwargs`` included);
2. a fresh SB3 model is built from them through the recipes
   (:func:`rl.recipes.sb3_kwargs`), for the experiment being scored;
3. only the zip's ``policy.pth`` is read, with
   ``torch.load(..., weights_only=True)``, which restores tensors and refuses
   any other object, and loaded into the network (every key must match).

A ``model.zip`` without ``config.json`` beside it is refused.  The trust model
(what is safe to load, what is not) is in docs/security.md.
"""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from pathlib import Path

import torch

from econ.experiments import Experiment
from rl.advantages import group_columns
from rl.checkpoints import MANIFEST, check_checkpoint
from rl.policies import NormalisedValuePolicy, RelativeNoisePolicy, TypeCriticSACPolicy, TypeNetworksPolicy
from rl.ppo import PerActionPPO
from rl.recipes import ALGORITHMS, PRESETS, algorithm_class, policy_class, sb3_kwargs, type_policy_kwargs
from rl.sac import ExpectedNextValueSAC, ExpectsOverShocks
from rl.td3 import ExpectedNextValueDDPG, ExpectedNextValueTD3
from rl.vec_env import EconomyVecEnv

OFF_POLICY = ("sac", "td3", "ddpg")
"""Algorithms with a replay buffer (what a checkpoint must save with the model)."""


def run_config(path) -> dict:
    """The ``config.json`` of the run directory ``path`` (or of the directory of the ``.zip`` ``path``).

    A checkpoint folder (``RUN/checkpoints/step_*``, :mod:`rl.checkpoints`)
    has no ``config.json`` of its own: its run's is read, once the checkpoint
    is known to be complete (its files match its manifest).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no model at {path}")
    directory = path.parent if path.suffix == ".zip" else path
    config = directory / "config.json"
    if not config.is_file() and (directory / MANIFEST).is_file() and directory.parent.name == "checkpoints":
        problem = check_checkpoint(directory)
        if problem is not None:
            raise ValueError(f"{directory}: not a usable checkpoint: {problem}")
        config = directory.parent.parent / "config.json"
    if not config.is_file():
        raise ValueError(f"{path}: no config.json beside the model; a model is loaded only with the "
                         f"config.json of its run (an SB3 zip alone would have to be unpickled)")
    try:
        data = json.loads(config.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config}: not a readable JSON run configuration ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{config}: a run configuration must be a JSON object")
    return data


EXPECTED_TARGETS = {"sac": ExpectedNextValueSAC, "td3": ExpectedNextValueTD3, "ddpg": ExpectedNextValueDDPG}
"""The off-policy classes whose critic targets integrate next period's shocks out (``expected_next_value``)."""


def model_class(algo: str, hyper: dict):
    """The class that trains ``algo`` with ``hyper``: SB3's, or for an off-policy algorithm with
    ``expected_next_value`` its :data:`EXPECTED_TARGETS` class, or for PPO with ``per_action_advantages``
    :class:`rl.ppo.PerActionPPO` (same policy network: :func:`load_model` reads either's weights)."""
    if algo in EXPECTED_TARGETS and hyper.get("expected_next_value"):
        return EXPECTED_TARGETS[algo]
    if algo == "ppo" and hyper.get("per_action_advantages"):
        return PerActionPPO
    return algorithm_class(algo)


def build_model(algo: str, hyper: dict, experiment: Experiment, *, seed=None, env=None):
    """A fresh SB3 model of ``algo`` with the resolved hyperparameters ``hyper`` (CPU, ``MlpPolicy`` or
    :func:`rl.recipes.policy_class`'s policy; with ``critic_per_type`` :class:`rl.policies.TypeCriticSACPolicy`
    (SAC) or :class:`rl.policies.TypeNetworksPolicy` (PPO; also with ``actor_per_type``) for ``experiment``'s kappa
    types (or those of ``household_types``); with ``relative_noise`` :class:`rl.policies.RelativeNoisePolicy`;
    with ``value_normalisation`` :class:`rl.policies.NormalisedValuePolicy`)."""
    env = EconomyVecEnv(experiment, seed=0) if env is None else env
    kwargs = sb3_kwargs(hyper, experiment)
    policy = policy_class(algo, kwargs.get("policy_kwargs"))
    options = {"actor_per_type": "actor", "critic_per_type": "value"}
    chosen = [key for key in options if hyper.get(key)]
    if chosen:
        extra = type_policy_kwargs(experiment, chosen[0], hyper.get("household_types"))  # first named: its error
        kwargs["policy_kwargs"] = {**(kwargs.get("policy_kwargs") or {}), **extra}
        if algo == "ppo":
            policy = TypeNetworksPolicy
            kwargs["policy_kwargs"]["per_type"] = tuple(options[key] for key in chosen)
        else:
            policy = TypeCriticSACPolicy
    if hyper.get("relative_noise") is not None:  # rl.recipes.hyperparameters refuses it beside the other policies
        policy = RelativeNoisePolicy
        kwargs["policy_kwargs"] = {**(kwargs.get("policy_kwargs") or {}), "noise_floor": hyper["relative_noise"]}
    if hyper.get("value_normalisation") is not None:  # likewise refused beside the other policies
        policy = NormalisedValuePolicy
    model = model_class(algo, hyper)(policy, env, seed=seed, device="cpu", **kwargs)
    return restore_unsaved(model, hyper, experiment)


def restore_unsaved(model, hyper: dict, experiment: Experiment):
    """Set on ``model`` what is not saved with it: the shock expectation of ``experiment``
    (:class:`rl.sac.ExpectsOverShocks`) and the ``actor_groups``, ``critic_groups`` and ``critic_pessimism``
    settings of ``hyper`` (names checked by :func:`rl.advantages.group_columns`).  Every model a run builds,
    resumes or loads gets them here."""
    if isinstance(model, ExpectsOverShocks):
        model.expect_over_shocks(experiment)
    if hyper.get("actor_groups") is not None:
        model.weigh_actor_by_groups(group_columns(experiment, hyper["actor_groups"], "actor_groups"))
    if hyper.get("critic_groups") is not None:
        model.weigh_critic_by_groups(group_columns(experiment, hyper["critic_groups"], "critic_groups"))
    if hyper.get("critic_pessimism") is not None:
        model.set_critic_pessimism(hyper["critic_pessimism"])
    return model


def _policy_weights(zip_path: Path) -> dict:
    try:
        with zipfile.ZipFile(zip_path) as archive:
            raw = archive.read("policy.pth")
    except (zipfile.BadZipFile, KeyError, OSError) as err:
        raise ValueError(f"{zip_path}: not an SB3 model archive with policy.pth ({err})") from None
    try:
        weights = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - the restricted unpickler refuses anything but tensors
        raise ValueError(f"{zip_path}: policy.pth holds more than tensors, refused ({err})") from None
    if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
        raise ValueError(f"{zip_path}: policy.pth is not a dictionary of tensors")
    return weights


def load_model(path, experiment: Experiment):
    """The trained SB3 model of a run directory (or its ``model.zip``) for scoring on ``experiment``.

    Rebuilt from the run's ``config.json``; only the policy weights are read
    from the zip (see the module docstring).  Raises ``FileNotFoundError``
    without a model and ``ValueError`` without ``config.json``, for a model
    trained on another experiment or with other observations or actions, or
    for weights that do not fit the network the configuration describes.
    """
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an econ.experiments.Experiment, got {type(experiment).__name__}")
    path = Path(path)
    zip_path = path / "model.zip" if path.is_dir() else path
    if not zip_path.is_file():
        raise FileNotFoundError(f"no model at {zip_path}")
    config = run_config(zip_path)
    name = config.get("experiment_name")
    if name is not None and name != experiment.name:
        raise ValueError(f"{zip_path} was trained on {name!r}, not {experiment.name!r}")
    algo, hyper = config.get("algorithm"), config.get("hyperparameters")
    if algo not in ALGORITHMS:
        raise ValueError(f"{zip_path.parent / 'config.json'}: algorithm must be one of {ALGORITHMS}, got {algo!r}")
    if not isinstance(hyper, dict):
        raise ValueError(f"{zip_path.parent / 'config.json'}: no 'hyperparameters' object")
    stored = config.get("experiment") or {}
    observations = stored.get("observations")
    if observations is not None and tuple(observations) != tuple(experiment.observations):
        raise ValueError(f"{zip_path} observes {tuple(observations)}, the experiment {tuple(experiment.observations)}")
    hyper = dict(hyper)
    if algo in OFF_POLICY:
        hyper["buffer_size"] = 1  # scoring never fills the replay buffer: do not allocate it
    # building the network draws initial weights: leave the global RNG alone; SB3's warning about
    # PPO's batch_size against the rollout length concerns training, not a model that only predicts
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"(?s).*batch_size", category=UserWarning)  # the message spans lines
        model = build_model(algo, hyper, experiment)
    try:
        model.policy.load_state_dict(_policy_weights(zip_path), strict=True)
    except RuntimeError as err:
        raise ValueError(f"{zip_path}: the weights do not fit the network of its config.json "
                         f"({str(err).splitlines()[0]})") from None
    model.policy.set_training_mode(False)
    return model


def untrained_model(experiment: Experiment, seed: int = 0):
    """A freshly initialised SAC (tuned preset's network): the 'untrained policy' negative control."""
    env = EconomyVecEnv(experiment, seed=seed)
    kwargs = sb3_kwargs({"policy_kwargs": PRESETS["tuned"]["sac"]["policy_kwargs"]}, experiment)
    return algorithm_class("sac")("MlpPolicy", env, seed=seed, device="cpu", gamma=experiment.beta, **kwargs)
