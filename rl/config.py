"""The configuration of one training run, declared once.

:class:`TrainConfig` is what :func:`rl.train.train` runs, what a sweep trial
carries and what a recipe (:data:`rl.recipes.TRAIN_RECIPES`) fills in; the
command line of ``python -m rl.train`` is built from its fields
(:func:`add_arguments`), so a new setting is declared in one place.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import json
from dataclasses import dataclass, field
from typing import Optional

from econ import checks
from econ.experiments import EXPERIMENTS
from rl.recipes import ALGORITHMS, PRESETS


class SettingError(ValueError):
    """A bad value of one :class:`TrainConfig` field (``field``); the command line names its flag (:func:`flag_of`)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


def flag_of(field_name: str) -> str:
    """The command-line flag of a :class:`TrainConfig` field (``seed`` -> ``--seed``, ``overrides`` -> ``--set``)."""
    for f in dataclasses.fields(TrainConfig):
        if f.name == field_name:
            if f.metadata.get("positional"):
                return f.name
            return f.metadata.get("flag", "--" + f.name.replace("_", "-"))
    raise KeyError(field_name)


def parse_assignment(text: str) -> tuple:
    """``NAME=VALUE`` from a command line: the value as a Python literal where it is one, else the string.

    ``true`` and ``false`` (the recipes' YAML spelling) are the booleans, as ``True`` and ``False`` are.
    """
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    if value.strip() in ("true", "false"):
        return key.strip(), value.strip() == "true"
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError):
        parsed = value
    return key.strip(), parsed


def _help(text: str, **cli) -> dict:
    return {"help": text, **cli}


@dataclass(frozen=True)
class TrainConfig:
    """One training run: the economy, the algorithm and its settings, the budget and the seed."""

    experiment: str = field(metadata=_help("experiment to train on", positional=True, choices=EXPERIMENTS))
    algo: str = field(metadata=_help("Stable-Baselines3 algorithm", choices=ALGORITHMS))
    timesteps: int = field(metadata=_help("budget in agent-steps (one VecEnv step of N households x E "
                                          "economies counts N x E)"))
    seed: int = field(default=0, metadata=_help("seed of the network, the environment and every shock"))
    n_agents: Optional[int] = field(default=None, metadata=_help("households per economy (default: the "
                                                                 "experiment's N)"))
    n_economies: int = field(default=1, metadata=_help("independent economies stepped together (VecEnv slots "
                                                       "= N x E)"))
    preset: str = field(default="default", metadata=_help("hyperparameter preset (rl.recipes.PRESETS)",
                                                          choices=tuple(PRESETS)))
    overrides: dict = field(default_factory=dict, metadata=_help(
        "override an experiment field, FIELD=VALUE (repeatable)", flag="--set", assignment=True))
    hyper_overrides: dict = field(default_factory=dict, metadata=_help(
        "override a hyperparameter of the preset, NAME=VALUE (repeatable)", flag="--hyper", assignment=True))
    n_steps: Optional[int] = field(default=None, metadata=_help("PPO rollout length per slot (default: the "
                                                                "preset's)"))
    checkpoint_every: int = field(default=50_000, metadata=_help("agent-steps between checkpoints"))
    eval_every: Optional[int] = field(default=None, metadata=_help(
        "agent-steps between evaluations against the benchmark (rbc experiments, or a scorecard given to "
        "rl.train.train, as validation.compare --train does; default: none, or 5000 with a target)"))
    target_welfare_loss: Optional[float] = field(default=None, metadata=_help(
        "stop when the welfare loss (percent of consumption) is below this"))
    target_policy_error: Optional[float] = field(default=None, metadata=_help(
        "... and the mean |chat - chat*| and |l - l*| are below this"))
    threads: int = field(default=1, metadata=_help("torch threads (one is fastest for small networks)"))

    def __post_init__(self):
        if self.experiment not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {self.experiment!r}; choose from {EXPERIMENTS}")
        checks.one_of("algo", self.algo, ALGORITHMS)
        checks.one_of("preset", self.preset, tuple(PRESETS))
        checks.positive_int("timesteps", self.timesteps)
        checks.positive_int("seed", self.seed, 0)
        if self.n_agents is not None:
            checks.positive_int("n_agents", self.n_agents)
        checks.positive_int("n_economies", self.n_economies)
        checks.positive_int("checkpoint_every", self.checkpoint_every)
        checks.positive_int("threads", self.threads)
        if self.eval_every is not None:
            checks.positive_int("eval_every", self.eval_every)
        for name in ("overrides", "hyper_overrides"):
            if not isinstance(getattr(self, name), dict):
                raise ValueError(f"{name} must be a dict, got {type(getattr(self, name)).__name__}")

    def replace(self, **changes) -> "TrainConfig":
        """A copy with ``changes`` (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def add_arguments(parser: argparse.ArgumentParser, *, recipe: bool = False) -> None:
    """One command-line option per :class:`TrainConfig` field, with its help text and default.

    With ``recipe`` the fields other than the experiment and algorithm are optional and default to
    "not given" (:func:`from_arguments` then fills them from a recipe).
    """
    for f in dataclasses.fields(TrainConfig):
        meta = f.metadata
        required = (f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
                    and not (recipe and f.name == "timesteps"))
        default = None if required else (f.default_factory() if f.default_factory is not dataclasses.MISSING
                                         else f.default)
        if required:
            help_text = f"{meta['help']} (required)"
        elif default is None:
            help_text = meta["help"] if "default:" in meta["help"] else f"{meta['help']} (default: none)"
        else:
            help_text = f"{meta['help']} (default: {default})"
        if recipe and not required and f.name not in ("experiment", "algo"):
            default = None
            help_text = meta["help"] + " (default: the recipe's, else the field's)"
        if meta.get("positional"):
            parser.add_argument(f.name, choices=meta.get("choices"), help=f"{meta['help']} (required)")
            continue
        flag = meta.get("flag", "--" + f.name.replace("_", "-"))
        if meta.get("assignment"):
            parser.add_argument(flag, dest=f.name, type=parse_assignment, action="append", default=[],
                                metavar="NAME=VALUE", help=f"{meta['help']} (default: none)")
            continue
        base = str(f.type).replace("Optional[", "").rstrip("]")  # annotations are strings (PEP 563)
        parser.add_argument(flag, dest=f.name, type={"int": int, "float": float}.get(base, str),
                            choices=meta.get("choices"), required=required, default=default, help=help_text)


def from_arguments(args: argparse.Namespace, recipe: Optional[dict] = None) -> TrainConfig:
    """The :class:`TrainConfig` of parsed arguments (see :func:`add_arguments`).

    With a ``recipe`` (arguments parsed with ``add_arguments(..., recipe=True)``), the options given on
    the command line replace the recipe's values, ``--set``/``--hyper`` are merged into its overrides,
    and a field neither gives takes its default.
    """
    values = json.loads(json.dumps(recipe or {}))
    for f in dataclasses.fields(TrainConfig):
        value = getattr(args, f.name)
        if f.metadata.get("assignment"):
            values[f.name] = {**values.get(f.name, {}), **dict(value)}
        elif recipe is None or value is not None:
            values[f.name] = value
    if values.get("timesteps") is None:
        raise SettingError("timesteps", "is required (or --recipe, whose budget it is)")
    try:
        return TrainConfig(**values)
    except ValueError as err:  # the checks name the field first: name its flag instead
        message = str(err)
        for f in dataclasses.fields(TrainConfig):
            if message.startswith(f.name + " "):
                raise SettingError(f.name, message[len(f.name) + 1:]) from None
        raise
