"""How households are trained: the SB3 algorithms, hyperparameter presets, the
training recipes (loading a trained model: :mod:`rl.loading`).

One table each, used by ``rl.train``, ``rl.sweep``, ``validation.compare --train``
and the slow learning tests.  Measured evidence for the presets and recipes
(why these settings, and how long they take) is in docs/training.md and
docs/performance.md.
"""

from __future__ import annotations

import difflib
import inspect
import json
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import stable_baselines3 as sb3
import yaml
import torch
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.vec_env import VecEnvWrapper

from econ import checks
from econ.economy import utility
from econ.experiments import EXPERIMENTS, Experiment, stationary_means
from econ.krusell_smith import solve_krusell_smith
from econ.rbc.steady_state import steady_state
from rl.policies import CriticActivationPolicy
from rl.polish_settings import check_setting as check_polish
from rl.replay import RecentReplayBuffer

ALGORITHMS = ("sac", "ppo", "td3", "ddpg")
"""The Stable-Baselines3 algorithms a run may use (:func:`algorithm_class` gives the class)."""

HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"
"""One YAML file per algorithm (RL Zoo's layout): ``presets`` and one recipe per experiment."""


def _read_hyperparams() -> tuple[dict, dict]:
    presets: dict = {}
    recipes: dict = {}
    for algo in ALGORITHMS:
        path = HYPERPARAMS_DIR / f"{algo}.yml"
        table = yaml.safe_load(path.read_text()) or {}
        if "presets" not in table:
            raise ValueError(f"{path}: no 'presets' table")
        for name, settings in table.pop("presets").items():
            presets.setdefault(name, {})[algo] = dict(settings or {})
        for experiment, recipe in table.items():
            if experiment not in EXPERIMENTS:
                raise ValueError(f"{path}: unknown experiment {experiment!r}; choose from {EXPERIMENTS}")
            recipes.setdefault(experiment, {})[algo] = dict(recipe)
    for name, table in presets.items():
        missing = [algo for algo in ALGORITHMS if algo not in table]
        if missing:
            raise ValueError(f"preset {name!r} is missing for {missing} in {HYPERPARAMS_DIR}")
    return presets, recipes


PRESETS, TRAIN_RECIPES = _read_hyperparams()
"""``PRESETS[preset][algo]``: hyperparameters (gamma is always added: it is the calibration's beta);
``TRAIN_RECIPES[experiment][algo]``: the training recipe, fields of :class:`rl.config.TrainConfig` (budgets in
agent-steps), used by ``rl.train --recipe``, ``validation.compare --train``, ``rl.sweep`` and the slow
learning tests.  Both come from the YAML files in :data:`HYPERPARAMS_DIR`.

``default`` is SB3's defaults (the paper's setting); ``tuned`` is the setting the
recipes start from (what each choice does and the evidence: docs/training.md).
Keys that are not SB3 arguments: ``center_rewards`` (bool, or ``"by_type"``: :func:`centred`),
``learning_rate_final`` (linear decay of ``learning_rate`` to it over the run),
``action_noise_std`` (Gaussian exploration noise of TD3/DDPG; ``action_noise_final``: its standard deviation
decayed linearly to that over the run, :class:`rl.callbacks.ActionNoiseAnnealing`),
``log_std_final`` (PPO; one number, or one per action), ``expected_next_value`` (every algorithm:
:class:`rl.advantages.ExpectedNextValue` for PPO, :mod:`rl.sac` and :mod:`rl.td3` for the others),
``advantage_groups`` (PPO: a list of observation names,
:class:`rl.advantages.GroupAdvantageNormalisation`; ``advantage_groups_until``: the fraction of the run it applies to,
all of it by default; ``advantage_groups_balance``: how far each group's weight in the policy's loss is evened out,
0 by default), ``value_lambda`` (PPO with ``expected_next_value``: the lambda of the critic's
targets, GAE's by default, :class:`rl.advantages.ExpectedNextValue`), ``gae_lambda_final`` and
``gae_lambda_anneal_start`` (PPO with ``expected_next_value``: the advantages' lambda moved linearly from
``gae_lambda`` to the final one from that fraction of the run on, the critic's targets keeping ``gae_lambda`` unless
``value_lambda`` is set, :class:`rl.advantages.AdvantageLambdaAnnealing`; ``value_lambda_final``: the critic's
lambda moved on the same schedule to it), ``mean_action_baseline`` (PPO with
``expected_next_value``: the advantages' baseline is the one-step lookahead at the policy's mean action instead of
V(o), :func:`rl.advantages.lookahead_baseline` in the Krusell-Smith economies,
:func:`rl.advantages.counterfactual_lookahead_baseline` in the AR(1) ones), ``per_action_advantages`` (PPO with
``expected_next_value``, an AR(1) economy with two or more actions: one advantage per action, the other actions'
own effect on today's lookahead removed, and one clipped surrogate per action, :class:`rl.ppo.PerActionPPO`;
``antithetic_advantages``: each also without the even part of its own lookahead term, the mirrored action's
lookahead against the sampled one's; ``fixed_saving_labour``: labour's advantage the lookahead's change along
labour at unchanged saving, which the intratemporal condition alone sets, :func:`rl.advantages.per_action_advantages`),
``actor_groups`` (SAC, TD3 or DDPG with
``expected_next_value``: observation names whose groups get equal shares of the actor's gradient,
:meth:`rl.sac.WeighsActorByGroups.weigh_actor_by_groups`),
``critic_groups`` (likewise for the critics' regression, :meth:`rl.sac.ExpectedNextValueSAC.weigh_critic_by_groups`),
``critic_pessimism`` (SAC with ``expected_next_value``: the weight on the critics' minimum, the rest on their mean,
:func:`rl.sac.combine_critics`; 1, SB3's, by default), ``critic_per_type`` (SAC: one set of critic networks per
kappa type, :class:`rl.policies.TypeCriticSACPolicy`; PPO: the value network's hidden layers per kappa type,
:class:`rl.policies.TypeNetworksPolicy`), ``actor_per_type`` (PPO: the actor's hidden layers per kappa type, the
same policy), ``household_types`` (with either: the observations whose values make a type, some of
:data:`TYPE_OBSERVATIONS`; ``[capital_productivity, labour_productivity]`` gives every (kappa, lambda) pair its
own networks), ``relative_noise`` (PPO, a floor m in [0, 1]: exploration noise proportional to m plus the fraction
at the mean action, :class:`rl.policies.RelativeNoisePolicy`; ``log_std`` and ``log_std_final`` are then logs of
the noise per unit of fraction), ``value_normalisation`` (PPO, a share in (0, 1]: the value's mean and scale
follow the returns, this share of each rollout's moments, :class:`rl.policies.NormalisedValuePolicy`),
``policy_averaging`` (a share in (0, 1]: the final model holds the policy's weights averaged over the start of
every rollout in that last share of the run, a rollout being one VecEnv step for SAC, TD3 and DDPG,
:class:`rl.callbacks.PolicyAveraging`), ``polish`` (PPO: ``{rounds, steps, learning_rate, anchor}`` and optionally
``margin``: after training the actor's mean moved along labour at unchanged saving until the intratemporal condition
holds (AR(1) economies with two actions), or with ``margin: lookahead`` up each household's one-step lookahead
through the critic (also the Krusell-Smith economies), or with ``margin: euler`` onto each household's Euler
equation (the Krusell-Smith economies; SAC, TD3 and DDPG too), :func:`rl.polish_rounds.polish`),
``recent_replay`` (SAC, TD3, DDPG: ``{transitions: N, share:
f}``, a share f of every batch from the newest N transitions, :class:`rl.replay.RecentReplayBuffer`),
``target_entropy_final`` and ``target_entropy_anneal_start`` (SAC): the exploration annealing of :mod:`rl.callbacks`;
``behaviour_snapshot_every`` (SAC, TD3, DDPG with ``expected_next_value``: agent-steps between refreshes of the frozen
copy of the policy every household acts with, :mod:`rl.behaviour`; it must divide ``checkpoint_every``).
``policy_kwargs`` may name its ``activation_fn`` as a string (one of :data:`ACTIVATIONS`), so that every setting
stays JSON; for PPO it may also name a
``critic_activation_fn``, the critic's own units (:class:`rl.policies.CriticActivationPolicy`).
"""

ACTIVATION_CLASSES = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "elu": torch.nn.ELU, "silu": torch.nn.SiLU}
"""The torch.nn class of each activation ``policy_kwargs["activation_fn"]`` (and ``"critic_activation_fn"``) may
name."""

ACTIVATIONS = tuple(ACTIVATION_CLASSES)
"""The names :data:`ACTIVATION_CLASSES` accepts."""


def algorithm_class(name: str):
    """The Stable-Baselines3 class of an algorithm named in :data:`ALGORITHMS`."""
    if name not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {name!r}; choose from {ALGORITHMS}")
    return {"sac": sb3.SAC, "ppo": sb3.PPO, "td3": sb3.TD3, "ddpg": sb3.DDPG}[name]


def _check_owner(hyper: dict, algo: str, key: str, owner: str, carrier: str) -> None:
    """A ValueError unless the setting ``key`` of ``hyper`` is used with ``owner`` and ``expected_next_value``
    (whose code, ``carrier``, applies it)."""
    if algo != owner:
        raise ValueError(f"{key} applies to {owner.upper()} only, not {algo}")
    if hyper.get("expected_next_value") is not True:
        raise ValueError(f"{key} needs expected_next_value: true ({carrier})")


POLICY_OPTIONS = ("relative_noise", "value_normalisation", "critic_per_type", "actor_per_type")
"""Settings that each build the model with a policy class of their own (:func:`rl.loading.build_model`); the first
two combine with none of the others."""

SETTING_NEEDS = {"gae_lambda_anneal_start": "gae_lambda_final", "value_lambda_final": "gae_lambda_final",
                 "advantage_groups_until": "advantage_groups", "advantage_groups_balance": "advantage_groups"}
"""Settings that mean nothing without another (a schedule's start without its end value, ...): refused alone."""


def hyperparameters(algo: str, preset: str, beta: float, n_steps: Optional[int] = None, extra: Optional[dict] = None
                    ) -> dict:
    """Resolved keyword arguments of the SB3 algorithm: preset, then ``extra``, then n_steps; gamma = beta."""
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose from {ALGORITHMS}")
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {tuple(PRESETS)}")
    hyper = {**PRESETS[preset][algo], **(extra or {})}
    if "gamma" in hyper:
        raise ValueError("gamma cannot be set: it is the calibration's beta (docs/model.md)")
    if n_steps is not None:
        if algo != "ppo":
            raise ValueError(f"n_steps (the rollout length) applies to PPO only, not {algo}")
        if n_steps < 2:
            raise ValueError(f"n_steps must be >= 2, got {n_steps}")
        hyper["n_steps"] = int(n_steps)
    if "log_std_final" in hyper:
        if algo != "ppo":
            raise ValueError(f"log_std_final applies to PPO only, not {algo}")
        final = hyper["log_std_final"]
        entries = final if isinstance(final, (list, tuple)) else [final]
        if not entries or not all(isinstance(f, (int, float)) and not isinstance(f, bool) and np.isfinite(f)
                                  for f in entries):
            raise ValueError(f"log_std_final must be a finite number or a list of them (one per action), "
                             f"got {final!r}")
    if "expected_next_value" in hyper:
        if not isinstance(hyper["expected_next_value"], bool):
            raise ValueError(f"expected_next_value must be true or false, got {hyper['expected_next_value']!r}")
    for key, owners in (("advantage_groups", ("ppo",)), ("actor_groups", ("sac", "td3", "ddpg")),
                        ("critic_groups", ("sac",))):
        if key not in hyper:
            continue
        groups = hyper[key]
        if algo not in owners:
            named = " and ".join(", ".join(o.upper() for o in owners).rsplit(", ", 1))
            raise ValueError(f"{key} applies to {named} only, not {algo}")
        if not isinstance(groups, (list, tuple)) or not groups or not all(isinstance(g, str) for g in groups):
            raise ValueError(f"{key} must be a non-empty list of observation names, got {groups!r}")
    for key in ("actor_groups", "critic_groups"):
        if key in hyper and hyper.get("expected_next_value") is not True:
            raise ValueError(f"{key} needs expected_next_value: true (the classes of rl.sac and rl.td3 that "
                             f"integrate the shocks out carry it)")
    if "critic_pessimism" in hyper:
        _check_owner(hyper, algo, "critic_pessimism", "sac", "rl.sac.ExpectedNextValueSAC carries it")
        value = hyper["critic_pessimism"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"critic_pessimism must be a number in [0, 1], got {value!r}")
    if "value_lambda" in hyper:
        _check_owner(hyper, algo, "value_lambda", "ppo", "rl.advantages.ExpectedNextValue computes the value targets")
        checks.closed("value_lambda", hyper["value_lambda"], 0.0, 1.0)
    if "mean_action_baseline" in hyper:
        if not isinstance(hyper["mean_action_baseline"], bool):
            raise ValueError(f"mean_action_baseline must be true or false, got {hyper['mean_action_baseline']!r}")
        if hyper["mean_action_baseline"]:
            _check_owner(hyper, algo, "mean_action_baseline", "ppo", "rl.advantages.ExpectedNextValue applies it")
    if "per_action_advantages" in hyper:
        if not isinstance(hyper["per_action_advantages"], bool):
            raise ValueError(f"per_action_advantages must be true or false, got {hyper['per_action_advantages']!r}")
        if hyper["per_action_advantages"]:
            _check_owner(hyper, algo, "per_action_advantages", "ppo", "rl.advantages.ExpectedNextValue computes them")
            if hyper.get("advantage_groups") is not None:
                raise ValueError("per_action_advantages cannot be combined with advantage_groups (which standardises "
                                 "the one advantage per sample)")
    for key in ("antithetic_advantages", "fixed_saving_labour"):  # refinements of the per-action advantages
        if key in hyper:
            if not isinstance(hyper[key], bool):
                raise ValueError(f"{key} must be true or false, got {hyper[key]!r}")
            if hyper[key] and hyper.get("per_action_advantages") is not True:
                raise ValueError(f"{key} needs per_action_advantages: true")
    if "gae_lambda_final" in hyper:
        _check_owner(hyper, algo, "gae_lambda_final", "ppo", "rl.advantages.ExpectedNextValue keeps the critic's own "
                                                               "lambda")
        checks.closed("gae_lambda_final", hyper["gae_lambda_final"], 0.0, 1.0)
    if "value_lambda_final" in hyper:
        _check_owner(hyper, algo, "value_lambda_final", "ppo", "rl.advantages.ExpectedNextValue computes the value "
                                                                 "targets")
        checks.closed("value_lambda_final", hyper["value_lambda_final"], 0.0, 1.0)
    if "gae_lambda_anneal_start" in hyper:
        start = hyper["gae_lambda_anneal_start"]
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not 0.0 <= start < 1.0:
            raise ValueError(f"gae_lambda_anneal_start must be a number in [0, 1), got {start!r}")
    if "advantage_groups_until" in hyper:
        checks.half_open("advantage_groups_until (fraction of the run)", hyper["advantage_groups_until"], 0.0, 1.0)
    if "advantage_groups_balance" in hyper:
        checks.closed("advantage_groups_balance", hyper["advantage_groups_balance"], 0.0, 1.0)
    for key, needed in SETTING_NEEDS.items():
        if key in hyper and needed not in hyper:
            raise ValueError(f"{key} needs {needed}")
    if "relative_noise" in hyper:
        value = hyper["relative_noise"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
            raise ValueError(f"relative_noise must be a number in [0, 1] (the floor added to the fraction), "
                             f"got {value!r}")
        if algo != "ppo":
            raise ValueError(f"relative_noise applies to PPO only (its Gaussian noise), not {algo}")
    if "policy_averaging" in hyper:
        checks.half_open("policy_averaging", hyper["policy_averaging"], 0.0, 1.0)
    if "value_normalisation" in hyper:
        checks.half_open("value_normalisation", hyper["value_normalisation"], 0.0, 1.0)
        if algo != "ppo":
            raise ValueError(f"value_normalisation applies to PPO only (its value network), not {algo}")
    own_class = [key for key in POLICY_OPTIONS if hyper.get(key) not in (None, False)]
    if (hyper.get("policy_kwargs") or {}).get("critic_activation_fn"):
        own_class.append("policy_kwargs critic_activation_fn")
    if len(own_class) > 1 and own_class[0] in ("relative_noise", "value_normalisation"):
        raise ValueError(f"{own_class[0]} and {own_class[1]} cannot be combined (each is its own policy class)")
    if "household_types" in hyper:
        names = hyper["household_types"]
        if (not isinstance(names, (list, tuple)) or not names or not all(isinstance(n, str) for n in names)
                or len(set(names)) != len(names) or not set(names) <= set(TYPE_OBSERVATIONS)):
            raise ValueError(f"household_types must list some of {TYPE_OBSERVATIONS} once each, got {names!r}")
        if not (hyper.get("critic_per_type") or hyper.get("actor_per_type")):
            raise ValueError("household_types needs critic_per_type or actor_per_type (whose types it defines)")
    for key, algos in (("critic_per_type", ("sac", "ppo")), ("actor_per_type", ("ppo",))):
        if key not in hyper:
            continue
        if not isinstance(hyper[key], bool):
            raise ValueError(f"{key} must be true or false, got {hyper[key]!r}")
        if hyper[key] and algo not in algos:
            raise ValueError(f"{key} applies to {' and '.join(a.upper() for a in algos)} only, not {algo}")
        if hyper[key] and (hyper.get("policy_kwargs") or {}).get("critic_activation_fn"):
            raise ValueError(f"{key} and policy_kwargs critic_activation_fn cannot be combined")
    if "recent_replay" in hyper:
        check_recent_replay(algo, hyper)
    if "polish" in hyper:
        check_polish(algo, hyper["polish"])
    for key in ("target_entropy_final", "target_entropy_anneal_start"):
        if key in hyper and algo != "sac":
            raise ValueError(f"{key} applies to SAC only, not {algo}")
    if "target_entropy_anneal_start" in hyper and "target_entropy_final" not in hyper:
        raise ValueError("target_entropy_anneal_start needs target_entropy_final")
    for key in ("action_noise_std", "action_noise_final"):
        if key in hyper and algo not in ("td3", "ddpg"):
            raise ValueError(f"{key} applies to TD3 and DDPG, not {algo}")
    if "behaviour_snapshot_every" in hyper:
        if algo == "ppo":
            raise ValueError("behaviour_snapshot_every applies to the off-policy algorithms (sac, td3, ddpg), not ppo")
        if hyper.get("expected_next_value") is not True:
            raise ValueError("behaviour_snapshot_every needs expected_next_value: true "
                             "(rl.sac and rl.td3's classes carry it)")
        checks.positive_int("behaviour_snapshot_every", hyper["behaviour_snapshot_every"])
    if "action_noise_final" in hyper:
        if "action_noise_std" not in hyper:
            raise ValueError("action_noise_final needs action_noise_std (the noise it anneals from)")
        checks.positive("action_noise_final", hyper["action_noise_final"])
    for key in ("batch_size", "buffer_size", "n_epochs", "policy_delay", "target_update_interval"):
        if key in hyper:
            checks.positive_int(key, hyper[key])
    if "learning_starts" in hyper:
        checks.positive_int("learning_starts", hyper["learning_starts"], 0)
    if "gradient_steps" in hyper and hyper["gradient_steps"] != -1:
        checks.positive_int("gradient_steps (or -1: as many as environment steps)", hyper["gradient_steps"])
    for key in ("learning_rate", "learning_rate_final"):
        if key in hyper:
            checks.positive(key, hyper[key])
    if "tau" in hyper:
        checks.half_open("tau", hyper["tau"], 0.0, 1.0)
    hyper["gamma"] = beta
    check_sb3_arguments(algo, sb3_kwargs(hyper, None))
    return hyper


RECENT_REPLAY_KEYS = ("transitions", "share")
"""The fields of the ``recent_replay`` setting (:class:`rl.replay.RecentReplayBuffer`'s ``recent`` and
``recent_share``)."""


def check_recent_replay(algo: str, hyper: dict) -> None:
    """``recent_replay``: an off-policy algorithm's, a mapping of exactly :data:`RECENT_REPLAY_KEYS`, with
    ``transitions`` a positive integer at most ``buffer_size`` (SB3's default 1 M if not set) and ``share`` in
    (0, 1]."""
    if algo == "ppo":
        raise ValueError("recent_replay applies to the off-policy algorithms (sac, td3, ddpg), not ppo")
    value = hyper["recent_replay"]
    if not isinstance(value, dict) or sorted(value) != sorted(RECENT_REPLAY_KEYS):
        raise ValueError(f"recent_replay must be {{transitions: N, share: f}}, got {value!r}")
    checks.positive_int("recent_replay transitions", value["transitions"])
    checks.half_open("recent_replay share", value["share"], 0.0, 1.0)
    buffer_size = hyper.get("buffer_size", 1_000_000)
    if value["transitions"] > buffer_size:
        raise ValueError(f"recent_replay transitions must be at most buffer_size ({buffer_size}), "
                         f"got {value['transitions']}")


def check_sb3_arguments(algo: str, kwargs: dict) -> None:
    """Refuse a keyword the SB3 class of ``algo`` (or its ``MlpPolicy``, for ``policy_kwargs``) does not take.

    SB3 would raise a ``TypeError`` only once the model is built; checked here,
    a misspelt ``--hyper lerning_rate=1e-3`` is refused before a run directory is written.
    """
    cls = algorithm_class(algo)
    # the run itself sets the device, the seed and the TensorBoard folder
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "policy", "env", "_init_setup_model",
                                                                  "device", "seed", "tensorboard_log"}
    _refuse_unknown(f"{algo} hyperparameter", kwargs, accepted)
    policy_kwargs = kwargs.get("policy_kwargs") or {}
    if not isinstance(policy_kwargs, dict):
        raise ValueError(f"policy_kwargs must be a dict, got {policy_kwargs!r}")
    policy = policy_class(algo, policy_kwargs)  # refuses critic_activation_fn outside PPO
    accepted = set(inspect.signature(cls.policy_aliases["MlpPolicy"].__init__).parameters) - {
        "self", "observation_space", "action_space", "lr_schedule"}
    if policy is CriticActivationPolicy:
        accepted.add("critic_activation_fn")
    _refuse_unknown(f"{algo} policy_kwargs entry", policy_kwargs, accepted)


def policy_class(algo: str, policy_kwargs: dict | None):
    """What the model of ``algo`` is built with: ``"MlpPolicy"``, or for PPO with a ``critic_activation_fn`` in
    ``policy_kwargs`` :class:`rl.policies.CriticActivationPolicy`."""
    if not (policy_kwargs or {}).get("critic_activation_fn"):
        return "MlpPolicy"
    if algo != "ppo":
        given = policy_kwargs["critic_activation_fn"]
        raise ValueError(f"policy_kwargs critic_activation_fn applies to ppo only (its actor and critic share an "
                         f"activation); {algo} got {getattr(given, '__name__', given)!r}")
    return CriticActivationPolicy


TYPE_OBSERVATIONS = ("capital_productivity", "labour_productivity")
"""The observations ``household_types`` may name: the columns whose values make a household's type for
``critic_per_type`` and ``actor_per_type`` (kappa alone by default)."""


def type_policy_kwargs(exp: Experiment, option: str = "critic_per_type",
                       household_types: Optional[Sequence[str]] = None) -> dict:
    """The ``policy_kwargs`` :class:`rl.policies.TypeCriticSACPolicy` (or :class:`rl.policies.TypeNetworksPolicy`)
    needs for ``exp``: the observation column of kappa (or the columns ``household_types`` names) and each type's
    observed value (or values: one row per distinct combination among the households); a ValueError naming
    ``option`` without observed types."""
    names = ["capital_productivity"] if household_types is None else list(household_types)
    for name in names:
        if name not in exp.observations:
            raise ValueError(f"{option} needs {name} among the observations of {exp.name!r} ({exp.observations})")
    raw = np.column_stack([np.asarray(getattr(exp, name), dtype=float) for name in names])
    types = np.unique(raw, axis=0)
    if types.shape[0] < 2:
        raise ValueError(f"{option} needs at least two types of {' and '.join(names)}, {exp.name!r} has "
                         f"{types.shape[0]}")
    observed = 1.0 + (types - 1.0) / exp.productivity_scale  # as rl.core.observe writes them
    if len(names) == 1:
        return {"type_column": exp.observations.index(names[0]), "type_values": observed[:, 0].tolist()}
    return {"type_column": [exp.observations.index(name) for name in names], "type_values": observed.tolist()}


def _refuse_unknown(what: str, given: dict, accepted: set) -> None:
    unknown = sorted(set(given) - accepted)
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(accepted), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown {what} {unknown[0]!r}{hint}; accepted: {', '.join(sorted(accepted))}")


class LinearSchedule:
    """Learning rate falling linearly from ``start`` to ``final`` over the run (picklable, for checkpoints)."""

    def __init__(self, start: float, final: float):
        self.start, self.final = start, final

    def __call__(self, progress_remaining: float) -> float:
        return self.final + (self.start - self.final) * progress_remaining



def sb3_kwargs(hyper: dict, exp) -> dict:
    """JSON-friendly settings become SB3 objects: ``action_noise_std`` (a number) a Gaussian
    ``action_noise``; ``learning_rate_final`` a linear decay of ``learning_rate`` to it over the run;
    an activation named in ``policy_kwargs`` the torch.nn class."""
    kwargs = dict(hyper)
    kwargs.pop("center_rewards", None)
    kwargs.pop("target_entropy_final", None)
    kwargs.pop("target_entropy_anneal_start", None)
    kwargs.pop("log_std_final", None)
    kwargs.pop("action_noise_final", None)
    kwargs.pop("expected_next_value", None)
    kwargs.pop("advantage_groups", None)
    kwargs.pop("advantage_groups_until", None)
    kwargs.pop("advantage_groups_balance", None)
    kwargs.pop("value_lambda", None)
    kwargs.pop("actor_groups", None)
    kwargs.pop("critic_groups", None)
    kwargs.pop("critic_per_type", None)
    kwargs.pop("actor_per_type", None)
    kwargs.pop("household_types", None)
    kwargs.pop("relative_noise", None)
    kwargs.pop("value_normalisation", None)
    kwargs.pop("policy_averaging", None)
    kwargs.pop("polish", None)
    kwargs.pop("gae_lambda_final", None)
    kwargs.pop("value_lambda_final", None)
    kwargs.pop("mean_action_baseline", None)
    kwargs.pop("per_action_advantages", None)
    kwargs.pop("antithetic_advantages", None)
    kwargs.pop("fixed_saving_labour", None)
    kwargs.pop("gae_lambda_anneal_start", None)
    kwargs.pop("critic_pessimism", None)
    kwargs.pop("behaviour_snapshot_every", None)
    recent = kwargs.pop("recent_replay", None)
    if recent is not None:
        kwargs["replay_buffer_class"] = RecentReplayBuffer
        kwargs["replay_buffer_kwargs"] = {"recent": int(recent["transitions"]), "recent_share": float(recent["share"])}
    final = kwargs.pop("learning_rate_final", None)
    if final is not None:
        start = float(kwargs.get("learning_rate", 3e-4))
        if not final > 0:
            raise ValueError(f"learning_rate_final must be > 0, got {final}")
        # SB3 calls schedules with the remaining progress, 1 at the start and 0 at the end
        kwargs["learning_rate"] = LinearSchedule(start, float(final))
    policy_kwargs = kwargs.get("policy_kwargs")
    if policy_kwargs is not None:  # a copy: SB3's DDPG writes n_critics into the dict it is given
        policy_kwargs = kwargs["policy_kwargs"] = dict(policy_kwargs)
    for key in ("activation_fn", "critic_activation_fn"):
        if policy_kwargs is not None and isinstance(policy_kwargs.get(key), str):
            name = policy_kwargs[key]
            if name not in ACTIVATIONS:
                raise ValueError(f"policy_kwargs {key} must be one of {ACTIVATIONS}, got {name!r}")
            policy_kwargs[key] = ACTIVATION_CLASSES[name]
    std = kwargs.pop("action_noise_std", None)
    if std is not None:
        if not std > 0:
            raise ValueError(f"action_noise_std must be > 0, got {std}")
        if exp is None:  # checking names only (check_sb3_arguments): the noise's size is not needed
            kwargs["action_noise"] = None
            return kwargs
        kwargs["action_noise"] = NormalActionNoise(np.zeros(exp.action_size), np.full(exp.action_size, float(std)))
    return kwargs


def reward_offset(exp: Experiment) -> float:
    """Period utility at the deterministic steady state (what ``center_rewards`` subtracts from every reward).

    AR(1) experiments: u(c_ss, l_ss) of the representative-agent steady state.
    KS experiments: log of steady-state consumption per household,
    Y - delta K at K = capital_scale, L = mean employment * lbar, A = mean z.
    """
    if exp.technology == "ar1":
        ss = steady_state(exp.rbc_params)
        return float(utility(ss.consumption, ss.labour, exp.chi, exp.utility))
    technology, labour = stationary_means(exp.ks)
    capital = exp.capital_scale
    output = technology * capital ** exp.alpha * labour ** (1.0 - exp.alpha)
    return float(np.log(output - exp.delta * capital))


CENTRE_BY_TYPE = "by_type"
"""``center_rewards`` value that subtracts each kappa type's own level (:func:`type_reward_offsets`)."""


def check_center_rewards(value, exp: Experiment) -> None:
    """``center_rewards`` must be true, false or ``"by_type"``; ``"by_type"`` needs kappa types."""
    if isinstance(value, bool):
        return
    if value != CENTRE_BY_TYPE:
        raise ValueError(f"center_rewards must be true, false or {CENTRE_BY_TYPE!r}, got {value!r}")
    if exp.ks is None or exp.ks.num_types < 2:
        raise ValueError(f"center_rewards {CENTRE_BY_TYPE!r} needs an experiment with capital-productivity types "
                         f"(ks-het-mild, ks-het-marked), not {exp.name!r}")


def type_reward_offsets(exp: Experiment) -> np.ndarray:
    """Per household (shape (N,)): the log of its kappa type's mean consumption in the continuum Krusell-Smith
    equilibrium (what ``center_rewards: by_type`` subtracts; a 10 to 20 s solve).

    Each household's offset is a constant of its own problem, so, as for :func:`reward_offset`, its optimal
    policy is unchanged; what changes is the level each type's value sits at (in ``ks-het-marked`` the high type's
    period utility is about 1.1 above the others', 22 in value at beta 0.95), which the critic no longer fits.
    """
    check_center_rewards(CENTRE_BY_TYPE, exp)
    solution = solve_krusell_smith(exp.ks)
    consumption = np.asarray(solution.household_consumption)
    types = np.asarray(solution.household_types)
    weights = np.asarray(solution.household_weights)
    levels = np.empty(exp.ks.num_types)
    for j in range(exp.ks.num_types):
        mine = types == j
        levels[j] = np.log(np.average(consumption[mine], weights=weights[mine]))
    return levels[exp.ks.household_types(exp.num_agents)]


def centred(env, offset):
    """The VecEnv with ``offset`` subtracted from every reward (the learner's view only); ``offset`` is a number,
    or one per household of an economy (shape (N,), repeated over the VecEnv's economies).

    A constant shift of the period reward shifts every value by offset/(1 - beta)
    and leaves the optimal policy unchanged (episodes are truncated, never
    terminated, and SB3 bootstraps through truncation, so the horizon is
    effectively infinite).  It removes the large common level (values near
    -6 in ``rbc``, -40 in ``rbc-full-depreciation``) that the critic otherwise has to fit before the small
    action-dependent differences that decide the policy: reward centring
    (Naik et al. 2024, "Reward Centering").  Finished-episode returns in
    ``info["episode"]`` stay the raw utility sums.
    """
    offset = np.asarray(offset, dtype=np.float32)
    if offset.ndim:
        if offset.ndim != 1 or env.num_envs % offset.shape[0]:
            raise ValueError(f"offset must be a number or one per household of an economy, got shape {offset.shape} "
                             f"for {env.num_envs} agents")
        offset = np.tile(offset, env.num_envs // offset.shape[0])
    if not np.all(np.isfinite(offset)):
        raise ValueError(f"offset must be finite, got {offset}")

    class _Centred(VecEnvWrapper):
        def reset(self):
            return self.venv.reset()

        def step_wait(self):
            obs, rewards, dones, infos = self.venv.step_wait()
            return obs, rewards - offset, dones, infos

    return _Centred(env)



# ----------------------------------------------------------------------------- recipes
def recipe(experiment: str, algo: str) -> dict:
    """The recipe of ``experiment`` with ``algo`` (a copy), or a ValueError naming the recipes that exist."""
    if experiment not in TRAIN_RECIPES or algo not in TRAIN_RECIPES[experiment]:
        known = sorted(TRAIN_RECIPES.get(experiment, {}))
        raise ValueError(f"no {algo!r} recipe for {experiment!r}; recipes exist for {known or 'no algorithm'} "
                         f"(files in {HYPERPARAMS_DIR})")
    return json.loads(json.dumps(TRAIN_RECIPES[experiment][algo]))
