"""Welfare of one household, or of everyone, under another rule in the same N-household economy.

The machinery of the unilateral-deviation rows of the Krusell-Smith
scorecard (:mod:`validation.same_economy`) and of the equilibrium check of
the finite-N benchmark (one household deviating from a rule that the others
keep playing must not gain, docs/finite_n.md):

- :func:`mixed_actor`: one household position of every economy plays
  another actor, the others keep theirs.
- :func:`scaled_actor`: one household position scales its consumption
  fraction by a factor.
- :func:`burn_in_state`: the state of E economies after a burn-in under a
  rule (the common starting point of both scenarios).
- :func:`consumption_equivalent`: per household, the consumption-equivalent
  gain of one scenario over another on the same shocks from the same states.
- :func:`unilateral_gains`: the gain of given households from each playing
  another actor alone while the others keep the base rule (mean over
  economies and a 2-sd band of that mean); :func:`switching_gains` averages
  it over the households of each type for the scorecard, and
  :func:`deviation_table` does the same for the equilibrium check;
  :func:`economy_gain`: every household switching together, averaged over all
  households.

Timing and measure.  Both scenarios start from the same state (E economies
after ``burn_in`` periods of the base rule) and see the same shocks (the
same seed: z, employment and A do not depend on actions).  Household i's
value over the horizon T is V_i = sum_{t<T} beta^t u(c_{i,t}) (the
environment's reward, log c in the KS variants).  Consuming (1 + x) times
as much in every period raises V by log(1 + x) (1 - beta^T) / (1 - beta) with
log utility, so the consumption-equivalent gain of scenario B over A is

    x_i = exp((V_i^B - V_i^A) (1 - beta) / (1 - beta^T)) - 1,

reported in percent of consumption per period (positive: B is better).
T is chosen so that beta^T < 1e-8 (360 periods at beta = 0.95): what
happens after the horizon, including the capital left at T, weighs less
than 1e-8 of the sum.
"""

from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Optional, Sequence

import numpy as np

from econ import checks
from econ.economy import ACTION_EPS, action_to_fraction, fraction_to_action
from econ.experiments import Experiment
from rl import core
from rl.rollout import Actor, Panel, as_actor, economies_in, one_torch_thread, simulate_agents

HORIZON_WEIGHT = 1e-8
"""Default horizon: the first T with beta^T below this (the discounted weight left beyond the horizon)."""


def default_horizon(beta: float) -> int:
    """Smallest T with beta^T < :data:`HORIZON_WEIGHT` (360 at beta = 0.95)."""
    beta = checks.open_interval("beta", beta, 0.0, 1.0)
    return int(math.ceil(math.log(HORIZON_WEIGHT) / math.log(beta)))


def _positions(experiment: Experiment, household: int) -> int:
    n = experiment.num_agents
    household = checks.positive_int("household", household, 0)
    if household >= n:
        raise ValueError(f"household must be a position in 0..{n - 1} (N = {n} households), got {household}")
    return household


def mixed_actor(base, other, experiment: Experiment, household: int) -> Actor:
    """Household position ``household`` of every economy plays ``other``; everybody else plays ``base``.

    Both are SB3 models or :data:`rl.rollout.Actor` callables; each is called
    on the whole batch of observations (actors may read the whole economy, as
    the benchmark actor does) and the rows are then picked.
    """
    base_actor, other_actor = as_actor(base), as_actor(other)
    household = _positions(experiment, household)

    def actor(obs):
        obs = np.asarray(obs)
        e_count = economies_in(obs, experiment)
        actions = np.array(base_actor(obs), dtype=float).reshape(e_count, experiment.num_agents, -1)
        switched = np.asarray(other_actor(obs), dtype=float).reshape(actions.shape)
        actions[:, household] = switched[:, household]
        return actions.reshape(obs.shape[0], -1)

    return actor


def scaled_actor(base, experiment: Experiment, household: int, factor: float) -> Actor:
    """``base``, except that household position ``household`` consumes ``factor`` times its fraction.

    chat -> clip(factor chat, 0.005, 0.995), the action range; labour (where
    chosen) is left as ``base`` plays it.
    """
    if experiment.action_interface != "fraction":
        raise ValueError(f"scaled_actor scales the consumption fraction, the first action only with action_interface "
                         f"'fraction'; {experiment.name!r} has {experiment.action_interface!r}")
    base_actor = as_actor(base)
    household = _positions(experiment, household)
    factor = checks.positive("factor", factor)

    def actor(obs):
        obs = np.asarray(obs)
        e_count = economies_in(obs, experiment)
        actions = np.array(base_actor(obs), dtype=float).reshape(e_count, experiment.num_agents, -1)
        chat = action_to_fraction(actions[:, household, 0])
        actions[:, household, 0] = fraction_to_action(np.clip(factor * chat, ACTION_EPS, 1.0 - ACTION_EPS))
        return actions.reshape(obs.shape[0], -1)

    return actor


def burn_in_state(policy, experiment: Experiment, *, n_economies: int, burn_in: int, seed: int) -> core.EconomyState:
    """The state of ``n_economies`` economies after ``burn_in`` periods of ``policy`` from the experiment's
    initial distribution (one ``numpy.random.Generator`` seeded with ``seed``, through :mod:`rl.core`)."""
    actor = as_actor(policy)
    n_economies = checks.positive_int("n_economies", n_economies)
    burn_in = checks.positive_int("burn_in", burn_in, 0)
    rng = np.random.default_rng(checks.positive_int("seed", seed, 0))
    state = core.initial_state(experiment, n_economies, rng)
    n = experiment.num_agents
    with one_torch_thread():
        for _ in range(burn_in):
            actions = np.asarray(actor(core.observe(experiment, state).reshape(n_economies * n, -1)), dtype=float)
            state = core.step(experiment, state, actions.reshape(n_economies, n, -1), rng).state
    return state


def discounted_utility(panel: Panel, beta: float) -> np.ndarray:
    """V_i = sum_t beta^t reward_{i,t} over the panel's kept periods, shape (E, N)."""
    weights = beta ** np.arange(panel.n_periods)
    return np.tensordot(weights, panel.reward, axes=(0, 0))


def consumption_equivalent(value_alternative, value_base, beta: float, horizon: int) -> np.ndarray:
    """Percent gain x = 100 (exp((V_B - V_A)(1 - beta)/(1 - beta^T)) - 1) of B (``alternative``) over A."""
    diff = np.asarray(value_alternative, dtype=float) - np.asarray(value_base, dtype=float)
    return 100.0 * np.expm1(diff * (1.0 - beta) / (1.0 - beta ** horizon))


class Gain(NamedTuple):
    """A welfare gain in percent of consumption per period: mean over economies and 2 sd of that mean."""

    mean: float
    band: float
    """2 standard deviations of the mean over economies (2 sd / sqrt(E)); nan with one economy."""
    per_economy: np.ndarray


def _gain(values: np.ndarray) -> Gain:
    values = np.asarray(values, dtype=float)
    band = 2.0 * float(np.std(values, ddof=1)) / math.sqrt(values.size) if values.size > 1 else float("nan")
    return Gain(float(values.mean()), band, values)


class Scenario(NamedTuple):
    """Common settings of a welfare comparison: E economies after a burn-in, then a horizon of T periods."""

    n_economies: int = 8
    burn_in: int = 500
    horizon: Optional[int] = None
    """None: :func:`default_horizon` (beta)."""
    seed: int = 0


def _run(policy, experiment, state, scenario: Scenario, horizon: int) -> Panel:
    return simulate_agents(policy, experiment, horizon, seed=scenario.seed + 1, burn_in=0,
                           n_economies=scenario.n_economies, initial_state=state)


UNILATERAL_HOUSEHOLDS_PER_TYPE = 20
"""At most this many households of a type deviate, one at a time, for its unilateral-gain row (evenly spaced
positions; every household of the type in the N = 20 economies).  With one household per type the estimate's 2-sd
band was up to 0.6 percent of consumption for the middle type of ``ks-het-marked`` (one household's employment
history decides it), ten times the 0.05 percent tolerance; averaged over the type's 14 households it was 0.07."""


def households_of_each_type(experiment: Experiment, at_most: int = UNILATERAL_HOUSEHOLDS_PER_TYPE) -> list:
    """Positions of the households of each distinct kappa (in increasing kappa): all of them, or ``at_most``
    evenly spaced ones (the first and the last included)."""
    at_most = checks.positive_int("at_most", at_most)
    kappa = np.asarray(experiment.capital_productivity)
    groups = []
    for value in np.unique(kappa):
        members = np.flatnonzero(kappa == value)
        if members.size > at_most:
            members = members[np.unique(np.linspace(0, members.size - 1, at_most).round().astype(int))]
        groups.append([int(h) for h in members])
    return groups


def scenario_values(base, alternatives: Sequence, experiment: Experiment, scenario: Scenario = Scenario()):
    """Discounted utilities (E, N) of ``base`` and of each alternative actor, from the same state on the same shocks.

    Every economy starts from the state after ``scenario.burn_in`` periods of
    ``base`` (:func:`burn_in_state`); the base economy and each alternative
    are then simulated for the horizon.  Returns ``(horizon, base value,
    [alternative values])``.
    """
    horizon = scenario.horizon or default_horizon(experiment.beta)
    state = burn_in_state(base, experiment, n_economies=scenario.n_economies, burn_in=scenario.burn_in,
                          seed=scenario.seed)
    values = [discounted_utility(_run(policy, experiment, state, scenario, horizon), experiment.beta)
              for policy in [base, *alternatives]]
    return horizon, values[0], values[1:]


def unilateral_gains(base, deviations: Sequence[Actor], experiment: Experiment, households: Sequence[int],
                     scenario: Scenario = Scenario()) -> list:
    """Gain of household ``households[j]`` from playing ``deviations[j]`` while the others keep ``base``.

    ``deviations[j]`` is a whole-batch actor in which only ``households[j]``
    differs from ``base`` (build it with :func:`mixed_actor` or
    :func:`scaled_actor`); see :func:`scenario_values` for the common state
    and shocks.  Returns one :class:`Gain` per deviation (mean over the E
    economies, each one independent draw).
    """
    if len(deviations) != len(households):
        raise ValueError(f"deviations and households must have the same length, got {len(deviations)} and "
                         f"{len(households)}")
    horizon, base_value, values = scenario_values(base, deviations, experiment, scenario)
    return [_gain(consumption_equivalent(value[:, h], base_value[:, h], experiment.beta, horizon))
            for value, h in zip(values, households)]


def economy_gain(base, other, experiment: Experiment, scenario: Scenario = Scenario()) -> Gain:
    """Gain of every household switching together from ``base`` to ``other``, averaged over the households of each
    economy (the band: 2 sd over economies of that average); the common state and shocks of
    :func:`scenario_values`.  With utility log c + v(l) this is the base economy's return normalised by the other
    rule's: 0 when they are as good, positive when ``other`` is better."""
    horizon, base_value, (value,) = scenario_values(base, [other], experiment, scenario)
    return _gain(consumption_equivalent(value, base_value, experiment.beta, horizon).mean(axis=1))


def _own_gains(values: Sequence, households: Sequence[int], base_value, beta: float, horizon: int) -> dict:
    """``{h: per-economy gain}``: household ``households[j]``'s own gain in the scenario ``values[j]`` over the base."""
    return {h: consumption_equivalent(value[:, h], base_value[:, h], beta, horizon)
            for value, h in zip(values, households)}


def _type_averages(groups: Sequence, own: Mapping) -> list:
    """One :class:`Gain` per group of households: within each economy the mean of its households' own gains."""
    return [_gain(np.mean([own[h] for h in group], axis=0)) for group in groups]


def switching_gains(base, others: Mapping[str, object], experiment: Experiment,
                    scenario: Scenario = Scenario()) -> dict:
    """Welfare of switching from a rule ``base`` to each benchmark rule in ``others`` (docs/validation.md), per kappa type.

    ``unilateral``: each household of a type (:func:`households_of_each_type`)
    plays the other rule, one at a time, while all the others keep ``base``;
    its own gain is measured, and the type's gains are averaged within each
    economy (the band: 2 sd over economies of that average).  ``economy``:
    every household plays it against every household playing ``base``, the
    gain averaged over the households of the type within each economy.  All
    from the state after the burn-in of ``base``, on the same shocks (one
    base simulation shared).  Returns ``{name: {"unilateral": [Gain per type],
    "economy": [Gain per type]}}``, types in increasing kappa.
    """
    groups = households_of_each_type(experiment)
    households = [h for group in groups for h in group]
    alternatives = []
    for other in others.values():
        alternatives += [mixed_actor(base, other, experiment, h) for h in households] + [other]
    horizon, base_value, values = scenario_values(base, alternatives, experiment, scenario)
    beta = experiment.beta
    kappa = np.asarray(experiment.capital_productivity)
    out, per = {}, len(households) + 1
    for j, name in enumerate(others):
        mine = values[j * per:(j + 1) * per]
        unilateral = _type_averages(groups, _own_gains(mine, households, base_value, beta, horizon))
        everyone = consumption_equivalent(mine[-1], base_value, beta, horizon)
        economy = [_gain(everyone[:, kappa == v].mean(axis=1)) for v in np.unique(kappa)]
        out[name] = {"unilateral": unilateral, "economy": economy}
    return out


def deviation_table(base, experiment: Experiment, factors: Sequence[float], scenario: Scenario = Scenario()) -> dict:
    """Gain of a household of each type from scaling its consumption fraction by each factor, the others keeping
    ``base`` (the equilibrium check of docs/finite_n.md).  Every household of the type
    (:func:`households_of_each_type`) deviates alone in turn, and the type's gains are averaged within each economy,
    as for the unilateral row of :func:`switching_gains`.  Returns ``{(kappa, factor): Gain}``."""
    groups = households_of_each_type(experiment)
    households = [h for group in groups for h in group]
    kappa = np.asarray(experiment.capital_productivity)
    horizon, base_value, values = scenario_values(
        base, [scaled_actor(base, experiment, h, f) for f in factors for h in households], experiment, scenario)
    out = {}
    for j, f in enumerate(factors):
        mine = values[j * len(households):(j + 1) * len(households)]
        gains = _type_averages(groups, _own_gains(mine, households, base_value, experiment.beta, horizon))
        out.update({(float(kappa[group[0]]), f): gain for group, gain in zip(groups, gains)})
    return out


def pool(gains: Sequence[Gain]) -> Gain:
    """One :class:`Gain` from several (e.g. seeds): the per-economy gains pooled, each economy an independent draw."""
    return _gain(np.concatenate([g.per_economy for g in gains]))


def deviation_tables(base, experiment: Experiment, factors: Sequence[float], seeds: Sequence[int],
                     scenario: Scenario = Scenario()) -> dict:
    """:func:`deviation_table` for several seeds (``scenario`` with its seed replaced), pooled by :func:`pool`."""
    tables = [deviation_table(base, experiment, factors, scenario._replace(seed=int(s))) for s in seeds]
    return {key: pool([t[key] for t in tables]) for key in tables[0]}
