"""Negative controls: policies a scorecard must fail.

- ``steady-state``: hold the representative steady state's consumption
  fraction (and labour) whatever the state
  (:func:`econ.experiments.steady_state_fractions` through
  :func:`rl.rollout.constant_actor`).  At ``rbc-full-depreciation`` this is
  Brock-Mirman's own policy, which is constant, so there it passes, as it must.
- ``untrained``: a freshly initialised network (:func:`rl.loading.untrained_model`).
"""

from __future__ import annotations

from econ.experiments import Experiment, steady_state_fractions
from econ.rbc.accuracy import Policy
from rl.loading import untrained_model
from rl.rollout import Actor, actor_policy, constant_actor

CONTROLS = ("steady-state", "untrained")
"""Names ``python -m validation.compare --model`` accepts in place of a path."""


def steady_state_control(experiment: Experiment) -> Actor:
    """Every household holds the steady-state fractions whatever the state."""
    return constant_actor(experiment, *steady_state_fractions(experiment))


def steady_state_policy(experiment: Experiment) -> Policy:
    """:func:`steady_state_control` of a one-household AR(1) experiment as ``(k, A) -> (chat, l)``."""
    return actor_policy(steady_state_control(experiment), experiment)


def control_model(name: str, experiment: Experiment, seed: int = 0):
    """The control called ``name``: an actor (steady-state) or an SB3 model (untrained)."""
    if name == "steady-state":
        return steady_state_control(experiment)
    if name == "untrained":
        return untrained_model(experiment, seed=seed)
    raise ValueError(f"unknown control {name!r}; choose from {CONTROLS}")
