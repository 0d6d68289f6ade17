"""Planning a sweep: grid blocks -> validated :class:`Trial` records, one :class:`rl.config.TrainConfig` each.

A trial's run directory is named ``<experiment>-<algorithm>-N<n>-s<seed>-<hash8>``,
``hash8`` being the first 8 hex digits of :func:`config_hash`: the SHA-256 of the
trial's resolved configuration (the validated experiment record with every
field, the resolved SB3 hyperparameters, seed, agent-steps, economies), so two
spellings of the same training are the same run and any change is a new one.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import NamedTuple, Optional, Sequence

import numpy as np

from econ.experiments import EXPERIMENTS, Experiment, make_experiment
from econ.io import jsonable
from rl.config import TrainConfig
from rl.recipes import ALGORITHMS, PRESETS, hyperparameters, recipe

GRID_AXES = ("experiments", "algorithms", "n_agents", "seeds", "presets", "timesteps", "steps_per_agent")
"""Keys whose values are lists swept over (a scalar counts as a one-element list)."""

TRIAL_SETTINGS = ("overrides", "vary", "hyper", "n_steps", "n_economies", "recipe")
"""Keys fixed for every trial of a grid block (``vary`` maps an experiment field to a list of values to sweep;
``recipe = true`` starts every trial from its experiment's training recipe, :func:`recipe_settings`)."""

DEFAULT_GRID = {"presets": ["default"], "n_agents": [None], "seeds": [0], "n_economies": 1}
"""Values of the keys a grid block leaves out (``n_agents`` None: the experiment's own N)."""

NO_CHECKPOINTS = 2 ** 62
"""``checkpoint_every`` a trial records: none (they change no number and no trial name); :func:`rl.sweep.run_trial`
runs it with :data:`rl.sweep.run.CHECKPOINTS_PER_TRIAL` checkpoints."""


class Trial(NamedTuple):
    """One training run of a sweep: its run-directory name and the configuration it trains."""

    name: str
    """``<experiment>-<algorithm>-N<n>-s<seed>-<hash8>``, the run directory's name."""
    config: TrainConfig
    """What :func:`rl.train.train` runs: resolved N, total agent-steps, one torch thread (checkpoints: see
    :data:`NO_CHECKPOINTS`)."""
    steps_per_agent: Optional[int] = None
    """The budget as the grid spelled it, in vec-steps (``config.timesteps = steps_per_agent * N *
    n_economies``); None when the grid gave total ``timesteps``.  Only the summary's labels use it."""

    def to_json(self) -> dict:
        """The trial as plain JSON data (``trial.json``); :meth:`from_json` reads it back equal."""
        return {"name": self.name, "steps_per_agent": self.steps_per_agent,
                "config": jsonable(self.config.as_dict())}

    @classmethod
    def from_json(cls, record: dict) -> "Trial":
        """The trial of :meth:`to_json`'s data, or of a ``trial.json`` written before trials held a TrainConfig."""
        if "config" in record:
            return cls(record["name"], TrainConfig(**record["config"]), record["steps_per_agent"])
        config = TrainConfig(record["experiment"], record["algorithm"], record["timesteps"], seed=record["seed"],
                             n_agents=record["n_agents"], n_economies=record["n_economies"],
                             preset=record["preset"], overrides=record["overrides"],
                             hyper_overrides=record["hyper_overrides"], n_steps=record["n_steps"],
                             checkpoint_every=NO_CHECKPOINTS, threads=1)
        return cls(record["name"], config, record["steps_per_agent"])


def config_hash(config: TrainConfig, exp: Optional[Experiment] = None, hyper: Optional[dict] = None) -> str:
    """SHA-256 (hex) of what a run trains: experiment record, algorithm, resolved hyperparameters, seed, budget.

    ``exp`` and ``hyper`` are ``config``'s experiment and hyperparameters when
    the caller has already built them.  Settings that do not change the
    numbers (threads, checkpoints, the preset's name as opposed to its values)
    are left out.
    """
    if exp is None:
        exp = make_experiment(config.experiment, config.n_agents, **config.overrides)
    if hyper is None:
        hyper = hyperparameters(config.algo, config.preset, exp.beta, config.n_steps, config.hyper_overrides)
    resolved = {"experiment": exp, "algorithm": config.algo, "hyperparameters": hyper, "seed": config.seed,
                "n_economies": config.n_economies, "timesteps": config.timesteps}
    canonical = json.dumps(jsonable(resolved), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _as_list(key: str, value) -> list:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"empty grid: {key!r} has no values")
    return values


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
    """A grid value: an integer >= ``low`` (the message speaks of the grid key's values, hence the plural)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{key} must be integers >= {low}, got {value!r}")
    return int(value)


def _block_axes(block: dict) -> tuple:
    """Validate one grid block's keys and axis values; returns (block with defaults, axes, budget key)."""
    unknown = sorted(set(block) - set(GRID_AXES) - set(TRIAL_SETTINGS))
    if unknown:
        raise ValueError(f"unknown sweep setting(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(GRID_AXES + TRIAL_SETTINGS)}")
    if not isinstance(block.get("recipe", False), bool):
        raise ValueError(f"recipe must be true or false, got {block['recipe']!r}")
    if block.get("recipe") and block.get("presets") is not None:
        raise ValueError("give either 'recipe = true' (each trial takes its recipe's preset) or 'presets', not both")
    block = {**DEFAULT_GRID, **{key: value for key, value in block.items() if value is not None}}
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
    for key, choices in (("experiments", EXPERIMENTS), ("algorithms", ALGORITHMS), ("presets", tuple(PRESETS))):
        for value in axes[key]:
            _check_choice(key, value, choices)
    for value in axes["n_agents"]:
        if value is not None:
            _check_int("n_agents", value, 1)
    for value in axes["seeds"]:
        _check_int("seeds", value, 0)
    for value in axes[budget_key]:
        _check_int(budget_key, value, 1)
    return block, axes, budget_key


def recipe_settings(experiment: str, algo: str, n_steps: Optional[int], n_economies: Optional[int],
                    overrides: dict, hyper: dict) -> tuple:
    """A trial's (preset, n_steps, n_economies, overrides, hyper_overrides) starting from the training recipe.

    The recipe of ``experiment`` with ``algo`` (:func:`rl.recipes.recipe`, a
    ValueError naming the recipes that exist if there is none) gives the
    preset, ``n_steps``, ``n_economies``, ``overrides`` and
    ``hyper_overrides`` -- not the budget (the grid's), nor checkpoints and
    evaluations (a sweep trial has none); the grid block's ``n_steps`` and
    ``n_economies`` (when not None) replace the recipe's, and its
    ``overrides`` and ``hyper`` are merged over the recipe's (the block
    winning).
    """
    settings = recipe(experiment, algo)
    return (settings.get("preset", "default"),
            settings.get("n_steps") if n_steps is None else n_steps,
            settings.get("n_economies", 1) if n_economies is None else n_economies,
            jsonable({**settings.get("overrides", {}), **overrides}),
            jsonable({**settings.get("hyper_overrides", {}), **hyper}))


def plan_sweep(blocks: Sequence[dict]) -> list:
    """Expand grid blocks into validated :class:`Trial` records (in grid order, duplicates removed).

    Each block maps the keys of :data:`GRID_AXES` to lists and those of
    :data:`TRIAL_SETTINGS` to fixed values; missing keys take
    :data:`DEFAULT_GRID`.  Exactly one budget is required: ``timesteps``
    (total agent-steps, SB3's count) or ``steps_per_agent`` (vec-steps: the
    trial trains ``steps_per_agent * N * n_economies`` agent-steps, the
    paper's "per-agent updates").  With ``recipe = true`` a trial starts from
    its experiment's training recipe (:func:`recipe_settings`).  Every trial's experiment and
    hyperparameters are built here, so a bad value is refused before anything
    runs, with a ``ValueError`` naming the parameter and what is allowed.
    """
    if not blocks:
        raise ValueError("empty grid: no grid blocks")
    trials, seen = [], set()
    for block in blocks:
        given_economies = block.get("n_economies") is not None
        block, axes, budget_key = _block_axes(block)
        n_economies = _check_int("n_economies", block["n_economies"], 1)
        n_steps = block.get("n_steps")
        if n_steps is not None:
            n_steps = _check_int("n_steps", n_steps, 2)
        overrides = dict(block.get("overrides") or {})
        vary = {field: _as_list(f"vary.{field}", values) for field, values in (block.get("vary") or {}).items()}
        shared_hyper, algorithm_hyper = _split_hyper(block.get("hyper"))
        for algo in algorithm_hyper:
            if algo not in axes["algorithms"]:
                raise ValueError(f"hyper.{algo} is given but {algo!r} is not in 'algorithms' {axes['algorithms']}")
        varied = [dict(zip(vary, values)) for values in itertools.product(*vary.values())] or [{}]

        for experiment, algo, n_agents, seed, preset, budget, varied_fields in itertools.product(
                axes["experiments"], axes["algorithms"], axes["n_agents"], axes["seeds"], axes["presets"],
                axes[budget_key], varied):
            block_hyper = {**shared_hyper, **algorithm_hyper.get(algo, {})}
            trial_n_steps, trial_economies = n_steps, n_economies
            if block.get("recipe"):
                preset, trial_n_steps, trial_economies, fields, hyper_overrides = recipe_settings(
                    experiment, algo, n_steps, n_economies if given_economies else None,
                    {**overrides, **varied_fields}, block_hyper)
            else:
                fields, hyper_overrides = jsonable({**overrides, **varied_fields}), jsonable(block_hyper)
            try:
                exp = make_experiment(experiment, n_agents, **fields)
            except ValueError as err:
                raise ValueError(f"experiment {experiment!r} with n_agents={n_agents}"
                                 f"{' and ' + str(fields) if fields else ''}: {err}") from None
            trial_n_steps = trial_n_steps if algo == "ppo" else None
            try:
                hyper = hyperparameters(algo, preset, exp.beta, trial_n_steps, hyper_overrides)
            except ValueError as err:
                raise ValueError(f"hyper for {algo}: {err}") from None
            steps_per_agent = None if budget_key == "timesteps" else int(budget)
            timesteps = int(budget) if steps_per_agent is None else steps_per_agent * exp.num_agents * trial_economies
            config = TrainConfig(experiment, algo, timesteps, seed=int(seed), n_agents=exp.num_agents,
                                 n_economies=trial_economies, preset=preset, overrides=fields,
                                 hyper_overrides=hyper_overrides, n_steps=trial_n_steps,
                                 checkpoint_every=NO_CHECKPOINTS, threads=1)
            digest = config_hash(config, exp, hyper)
            if digest in seen:
                continue
            seen.add(digest)
            trials.append(Trial(f"{experiment}-{algo}-N{exp.num_agents}-s{seed}-{digest[:8]}", config,
                                steps_per_agent))
    if not trials:
        raise ValueError("empty grid: no trials")
    return trials
