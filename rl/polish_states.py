"""The states a polishing round works on (:mod:`rl.polish_rounds`): the economies simulated with the policy's own mean
actions, optionally with aggregate capital spread around them, their kappa type x employment groups, and the
policy's mean actions and values on them in double precision."""

from __future__ import annotations

import copy
from typing import Optional

import numpy as np
import torch as th

from econ import checks
from econ.experiments import Experiment
from rl import core


def type_employment_groups(experiment: Experiment, states: core.EconomyState) -> list:
    """Boolean masks (S, N) of the kappa type x employment groups present at ``states`` (types sorted, the
    unemployed first)."""
    kappa = np.asarray(experiment.capital_productivity)
    masks = [np.broadcast_to(kappa == k, states.capital.shape) & (states.employed == e)
             for k in np.unique(kappa) for e in (0, 1)]
    return [th.as_tensor(m) for m in masks if m.any()]


def actor_parameters(policy, obs: th.Tensor) -> list:
    """The parameters the mean action at ``obs`` depends on (the critic's and the log-std are not among them)."""
    parameters = list(policy.parameters())
    with th.enable_grad():
        for p in parameters:
            p.requires_grad_(True)
        grads = th.autograd.grad(mean_actions(policy, obs).sum(), parameters, allow_unused=True)
    return [p for p, g in zip(parameters, grads) if g is not None]


def double_copy(policy):
    """A float64 copy of ``policy``, without the distribution of its last forward pass (a graph tensor after
    training, which ``copy.deepcopy`` refuses; every forward pass sets it anew; SAC's is its actor's)."""
    dist = getattr(getattr(policy, "actor", policy), "action_dist", None)
    last = getattr(dist, "distribution", None)
    if last is not None:
        dist.distribution = None
    try:
        return copy.deepcopy(policy).double()
    finally:
        if last is not None:
            dist.distribution = last


def mean_actions(policy, obs: th.Tensor) -> th.Tensor:
    """The deterministic action, in the observations' precision (SB3's own calls would cast them to float32):
    PPO's Gaussian mean; SAC's squashed mean tanh(mu), what its ``predict(deterministic=True)`` plays in the
    [-1, 1] box; TD3's and DDPG's actor (its last layer a tanh)."""
    actor = getattr(policy, "actor", None)
    if actor is None:  # PPO's ActorCriticPolicy and the project's subclasses of it
        return policy.action_net(policy.mlp_extractor.forward_actor(policy.pi_features_extractor(obs)))
    features = actor.features_extractor(obs)
    if hasattr(actor, "latent_pi"):  # SAC
        return th.tanh(actor.mu(actor.latent_pi(features)))
    return actor.mu(features)


def state_values(policy, obs: th.Tensor) -> th.Tensor:
    return policy.value_net(policy.mlp_extractor.forward_critic(policy.vf_features_extractor(obs))).reshape(-1)


def policy_states(experiment: Experiment, policy, n_economies: int, periods: int, burn_in: int,
                  rng: np.random.Generator, start: Optional[core.EconomyState] = None):
    """The states of ``n_economies`` economies simulated ``burn_in + periods`` periods with ``policy``'s mean
    actions (in the policy's precision) from the experiment's initial states (or from ``start``), the last
    ``periods`` kept: one :class:`rl.core.EconomyState` of S = periods x n_economies economies (capital (S, N),
    log A (S,), ...), and the economies' state after the last period (where a continuation starts).  Each economy
    is one path, as in the scorecards' simulations: the episodes' time limit, training's, does not reset it."""
    state = core.initial_state(experiment, n_economies, rng) if start is None else start
    kept = []
    for t in range(burn_in + periods):
        obs = core.observe(experiment, state)
        with th.no_grad():
            flat = th.as_tensor(obs.reshape(-1, obs.shape[-1]), dtype=next(policy.parameters()).dtype)
            actions = mean_actions(policy, flat).numpy()
        if t >= burn_in:
            kept.append(state)
        transition = core.step(experiment, state, actions.reshape(obs.shape[:-1] + (-1,)), rng)
        state = transition.state  # one path: the episodes' time limit (training's) does not reset it
    return core.EconomyState(*(np.concatenate(field) for field in zip(*kept))), state


def spread_capital(states: core.EconomyState, width: float, rng: np.random.Generator) -> core.EconomyState:
    """``states`` with every household's capital of each economy-state, drawn with probability 1/2, scaled by one
    factor exp(u), u ~ U(-``width``, ``width``) (``rng``; the draws are made for every state, so their number does
    not depend on the outcome): aggregate capital K spread around the rule's own, the households' shares of it and
    the shocks as they were.  The rule's first-order condition holds there too, and solving it there fixes how
    the rule responds to K, which sets the others' reactions to a household's saving (its measured phi)."""
    width = checks.closed("spread", width, 0.0, 1.0)
    size = states.capital.shape[0]
    scale = np.exp(rng.uniform(-width, width, size) * (rng.random(size) < 0.5))
    return states._replace(capital=states.capital * scale[:, None])


def reach_capital(states: core.EconomyState, reach: float, rng: np.random.Generator) -> core.EconomyState:
    """``states`` with one household's capital (drawn) of each economy-state drawn with probability 1/4 scaled by
    exp(u), u ~ U(0, ``reach``) (``rng``; the draws are made for every state, so their number does not depend on
    the outcome): one household far richer than the rule's own path puts it, the others and the shocks as they
    were.  The household's first-order condition holds there too; solving it there fits the rule where one never
    fitted can let a household hoard without bound (docs/training.md: TD3 on ks-het-mild)."""
    reach = checks.non_negative("reach", reach)
    size, households = states.capital.shape
    chosen, who = rng.random(size) < 0.25, rng.integers(0, households, size)
    capital = states.capital.copy()
    capital[np.arange(size), who] *= np.exp(rng.uniform(0.0, reach, size) * chosen)
    return states._replace(capital=capital)


def bounded_square(error: th.Tensor, bound: float) -> th.Tensor:
    """``error`` squared, or with ``bound`` b > 0 squared up to |error| = b and 2 b |error| - b^2 beyond it (twice
    Huber's loss: the same value and slope at b, the slope bounded by 2 b beyond); b = 0 squares throughout."""
    if not bound:
        return error ** 2
    size = error.abs()
    return th.where(size <= bound, error ** 2, 2.0 * bound * size - bound ** 2)
