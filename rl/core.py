"""The MARL-BC environment as pure functions: state in, state out (gymnax style).

A batch of ``E`` independent economies of ``N`` households each is an
:class:`EconomyState` of arrays with economies on the first axis and households
on the second.  :func:`step` advances every economy by one period through
:func:`econ.economy.period` (the one implementation of the period equations,
shared with every benchmark) and then draws the shocks of period t+1 from the
``numpy.random.Generator`` it is given; nothing here holds state or draws from
a global generator.  The loops over households of the shocks and observations
are compiled (:mod:`rl._kernels`); the draws are made here, in a fixed order,
and passed in.

Timing (docs/model.md): in period t the households observe (k_{i,t}, A_t,
z_t, e_{i,t}), choose chat_{i,t} (and l_{i,t}); production, prices,
consumption, next capital and rewards follow from :func:`econ.economy.period`;
then the technology (and in KS variants employment) moves to t+1.  An episode
is truncated when t reaches the experiment's ``episode_length`` (a time limit,
not a terminal state); :func:`reset_where` redraws the initial state of the
economies whose episode ended.

Observation components (``econ.experiments.OBSERVATIONS``), per household:
capital k_i / capital_scale, aggregate effective capital K / capital_scale,
log A_t / tfp_scale (1 by default: as is), z_t and e_{i,t} as 0/1 indicators, kappa_i and lambda_i as
1 + (x - 1) / productivity_scale (1 by default: as is).
"""

from __future__ import annotations

import functools
from typing import NamedTuple, Optional

import numpy as np

from econ.krusell_smith.panel import exact_count_transition
from econ.economy import ACTION_EPS, PeriodOutcome, action_to_fraction, markets, next_log_tfp, period
from econ.experiments import Experiment, aggregate_stationary_law
from rl import _kernels


class EconomyState(NamedTuple):
    """State of E economies at the start of a period (economies on axis 0, households on axis 1)."""

    capital: np.ndarray
    """k_{i,t}, shape (E, N)."""
    log_tfp: np.ndarray
    """log A_t, shape (E,).  In KS variants log z_t."""
    aggregate_state: np.ndarray
    """z_t index, shape (E,): 1 good, 0 bad (KS); always 0 for the AR(1) technology."""
    employed: np.ndarray
    """e_{i,t} in {0, 1}, shape (E, N), bool (always True for the AR(1) technology)."""
    time: np.ndarray
    """t, periods elapsed in the current episode, shape (E,)."""


class Transition(NamedTuple):
    """Everything one call of :func:`step` determines."""

    state: EconomyState
    """The state at t+1 (before any reset)."""
    outcome: PeriodOutcome
    """Aggregates, prices, wealth, consumption, next capital and rewards of period t, each (E,) or (E, N)."""
    consumption_fraction: np.ndarray
    """chat_{i,t}, (E, N)."""
    labour: np.ndarray
    """l_{i,t} (chosen, or lbar e_{i,t} in KS variants), (E, N)."""
    technology: np.ndarray
    """A_t, (E,)."""
    truncated: np.ndarray
    """True where the episode hit its time limit at t+1, (E,)."""


# ----------------------------------------------------------------------------- static arrays
class _Static(NamedTuple):
    capital_productivity: np.ndarray
    labour_productivity: np.ndarray
    probability_good: Optional[np.ndarray]
    probability_employed: Optional[np.ndarray]
    ks_technology: Optional[np.ndarray]
    ks_log_technology: Optional[np.ndarray]
    unemployment_rates: Optional[np.ndarray]
    target_unemployed: Optional[np.ndarray]
    stationary_good: float
    observation_codes: np.ndarray


_STATIC_CACHE: dict = {}


def _static(exp: Experiment) -> _Static:
    """Arrays derived from ``exp`` once (the records hold tuples); cached by object identity."""
    hit = _STATIC_CACHE.get(id(exp))
    if hit is not None and hit[0] is exp:
        return hit[1]
    ks = exp.ks
    static = _Static(
        np.asarray(exp.capital_productivity, dtype=float),
        np.asarray(exp.labour_productivity, dtype=float),
        None if ks is None else np.ascontiguousarray(ks.aggregate_transition[:, 1], dtype=float),  # P(good | z)
        None if ks is None else _kernels.employment_probabilities(np.asarray(ks.transition, dtype=float)),
        None if ks is None else ks.technology,
        None if ks is None else np.log(ks.technology),
        None if ks is None else ks.unemployment_rates,
        # round(u_z N), halves up, for z = bad, good
        None if ks is None else np.floor(ks.unemployment_rates * exp.num_agents + 0.5).astype(np.int64),
        0.0 if ks is None else float(aggregate_stationary_law(ks)[1]),
        np.array([_kernels.OBSERVATION_CODES[name] for name in exp.observations], dtype=np.int64),
    )
    if len(_STATIC_CACHE) > 64:
        _STATIC_CACHE.clear()
    _STATIC_CACHE[id(exp)] = (exp, static)
    return static


# ----------------------------------------------------------------------------- shocks
def _draw_employment(exp: Experiment, probability_employed: np.ndarray, aggregate_state, rng) -> np.ndarray:
    """e_i = 1 with the given probabilities; with exact unemployment, then exactly round(u_z N) unemployed.

    The count is made exact by switching a uniformly random subset of the
    households on the side with too many: one uniform key per household from
    ``rng``, the candidates with the smallest keys switch
    (:func:`rl._kernels.set_unemployment_count`, a partial selection).
    """
    employed = rng.random(probability_employed.shape) < probability_employed
    if exp.exact_unemployment:
        keys = rng.random(employed.shape)
        _kernels.set_unemployment_count(employed, _static(exp).target_unemployed[aggregate_state], keys)
    return employed


def _next_shocks(exp: Experiment, state: EconomyState, rng: np.random.Generator):
    """Draw (log A, z, e) of period t+1 given period t's.

    Draw order: AR(1): one standard normal per economy.  KS: one uniform per
    economy (z'), one per household (e'), then, with exact unemployment, one
    key per household (see :func:`_draw_employment`); they are drawn in one
    call, which gives the same numbers as three calls in this order.
    """
    employed = state.employed
    n_economies, n_households = employed.shape
    if exp.technology == "ar1":
        log_tfp = next_log_tfp(state.log_tfp, exp.rho, exp.sigma, rng.standard_normal(n_economies))
        return log_tfp, state.aggregate_state, employed
    static = _static(exp)
    exact = exp.exact_unemployment
    uniforms = rng.random(n_economies + (2 if exact else 1) * n_economies * n_households)
    return _kernels.ks_next_shocks(state.aggregate_state, employed, static.probability_good,
                                   static.probability_employed, static.ks_log_technology, static.target_unemployed,
                                   exact, uniforms)


# ----------------------------------------------------------------------------- public verbs
def initial_state(exp: Experiment, n_economies: int, rng: np.random.Generator) -> EconomyState:
    """Initial states of ``n_economies`` economies (docs/model.md).

    log A_0 = 0 (AR(1)); z_0 from the chain's stationary law and e_{i,0} given
    z_0 (exact unemployment count if the experiment says so); k_{i,0} =
    capital_scale * U(low, high), or exactly capital_scale with
    ``start_at_steady_state``.
    """
    shape = (n_economies, exp.num_agents)
    if exp.technology == "ar1":
        log_tfp = np.zeros(n_economies)
        aggregate_state = np.zeros(n_economies, dtype=np.int64)
        employed = np.ones(shape, dtype=bool)
    else:
        static = _static(exp)
        aggregate_state = (rng.random(n_economies) < static.stationary_good).astype(np.int64)
        rates = static.unemployment_rates[aggregate_state]
        employed = _draw_employment(exp, np.broadcast_to(1.0 - rates[:, None], shape), aggregate_state, rng)
        log_tfp = static.ks_log_technology[aggregate_state]
    if exp.start_at_steady_state:
        capital = np.full(shape, exp.capital_scale)
    else:
        capital = exp.capital_scale * rng.uniform(exp.initial_capital_low, exp.initial_capital_high, shape)
    return EconomyState(capital, log_tfp, aggregate_state, employed, np.zeros(n_economies, dtype=np.int64))


def technology(exp: Experiment, state: EconomyState) -> np.ndarray:
    """A_t of each economy."""
    if exp.technology == "ar1":
        return np.exp(state.log_tfp)
    return _static(exp).ks_technology[state.aggregate_state]


def action_array(actions) -> np.ndarray:
    """``actions`` as an array of real numbers; booleans, complex numbers, strings and objects are refused."""
    array = np.asarray(actions)
    if array.dtype.kind not in "fiu":
        raise ValueError(f"actions must be real numbers in [-1, 1], got an array of dtype {array.dtype}")
    return array


def _full_time_wealth(exp: Experiment, capital, tfp, labour):
    """(a, abar): each household's wealth at its ``labour`` and at full-time labour 1 - ACTION_EPS, today's prices
    set by everyone's ``labour`` ((E, N) arrays; ``tfp`` (E,))."""
    m = markets(capital, labour, tfp, alpha=exp.alpha, delta=exp.delta,
                capital_productivity=np.asarray(exp.capital_productivity),
                labour_productivity=np.asarray(exp.labour_productivity))
    return m.wealth, m.wealth + m.wage * (1.0 - ACTION_EPS - labour)


def saving_to_fraction(exp: Experiment, capital, tfp, share, labour) -> np.ndarray:
    """The consumption fraction of a household that saves ``share`` of its full-time wealth and works ``labour``
    (``action_interface`` ``saving``): chat = 1 - share abar / a(l), at least ACTION_EPS.  Arrays (E, N), ``tfp``
    (E,).  At most 1 - ACTION_EPS, since share >= ACTION_EPS and abar >= a(l)."""
    wealth, full = _full_time_wealth(exp, capital, tfp, labour)
    return np.maximum(1.0 - np.asarray(share) * full / wealth, ACTION_EPS)


def fraction_to_saving(exp: Experiment, capital, tfp, chat, labour) -> np.ndarray:
    """The inverse of :func:`saving_to_fraction`: the share of full-time wealth that consumption fraction ``chat``
    at ``labour`` saves, (1 - chat) a(l) / abar, clipped to [ACTION_EPS, 1 - ACTION_EPS] (a household at
    chat = 1 - ACTION_EPS that works less than full time would save less than the smallest share)."""
    wealth, full = _full_time_wealth(exp, capital, tfp, labour)
    return np.clip((1.0 - np.asarray(chat)) * wealth / full, ACTION_EPS, 1.0 - ACTION_EPS)


def actions_to_choices(exp: Experiment, state: EconomyState, actions) -> tuple[np.ndarray, np.ndarray]:
    """Map actions in [-1, 1] (shape (E, N, action_size)) to (chat, labour), each (E, N).

    Labour is the chosen fraction (AR(1) experiments) or lbar * e_{i,t} (KS).  The first action is the
    consumption fraction, or with ``exp.action_interface`` ``saving`` the share of full-time wealth saved
    (:func:`saving_to_fraction`, at the prices everyone's labour sets).
    Non-finite actions raise ``ValueError`` (in :func:`econ.economy.action_to_fraction`), and so do
    actions that are not real numbers (:func:`action_array`).
    """
    actions = action_array(actions)
    n_economies, n_households = shape = state.capital.shape
    action_size = exp.action_size
    if actions.size != n_economies * n_households * action_size:
        expected = shape + (action_size,)
        raise ValueError(f"actions must have shape {expected} (economies, households, action size), got {actions.shape}")
    fractions = action_to_fraction(actions.reshape(n_economies, n_households, action_size))
    if action_size == 1:  # KS: the consumption fraction only
        return fractions.reshape(shape), exp.ks.labour_endowment * state.employed
    labour = fractions[..., 1]
    if exp.action_interface == "saving":
        return saving_to_fraction(exp, state.capital, technology(exp, state), fractions[..., 0], labour), labour
    return fractions[..., 0], labour


def step(exp: Experiment, state: EconomyState, actions, rng: np.random.Generator) -> Transition:
    """Advance every economy by one period (see the module docstring); no reset here."""
    chat, labour = actions_to_choices(exp, state, actions)
    tfp = technology(exp, state)
    outcome = period(
        state.capital,
        chat,
        labour,
        tfp,
        alpha=exp.alpha,
        delta=exp.delta,
        chi=exp.chi,
        utility_form=exp.utility,
        capital_productivity=_static(exp).capital_productivity,
        labour_productivity=_static(exp).labour_productivity,
    )
    log_tfp, aggregate_state, employed = _next_shocks(exp, state, rng)
    time = state.time + 1
    next_state = EconomyState(outcome.next_capital, log_tfp, aggregate_state, employed, time)
    return Transition(next_state, outcome, chat, labour, tfp, time >= exp.episode_length)


def reset_where(exp: Experiment, state: EconomyState, mask, rng: np.random.Generator) -> EconomyState:
    """Replace the economies where ``mask`` is True by fresh initial states (draws only for those)."""
    mask = np.asarray(mask, dtype=bool)
    n_reset = int(mask.sum())
    if n_reset == 0:
        return state
    fresh = initial_state(exp, n_reset, rng)
    fields = []
    for old, new in zip(state, fresh):
        merged = old.copy()
        merged[mask] = new
        fields.append(merged)
    return EconomyState(*fields)


class ShockLaw(NamedTuple):
    """The law of next period's aggregate state and a household's employment in a KS economy of the environment.

    ``aggregate[z, z']`` = P(z' | z); ``employed[z, e, z']`` = P(e'_i = 1 | z, e_i, z'), the marginal of one
    household as :func:`step` draws it (with exact unemployment counts: after the re-assignment).
    """

    aggregate: np.ndarray
    """(2, 2), rows today's z (0 bad, 1 good)."""
    employed: np.ndarray
    """(2, 2, 2), indexed [z, e, z']."""


def shock_law(exp: Experiment) -> ShockLaw:
    """P(z' | z) and one household's P(e' = 1 | z, e, z') in ``exp``'s environment (KS experiments only).

    Without exact unemployment the household's employment follows the chain:
    P(e' = 1 | z, e, z') = P[(z,e),(z',1)] / (P[(z,e),(z',0)] + P[(z,e),(z',1)]).
    With exact unemployment (the default) an economy holds exactly
    floor(u_z N + 1/2) unemployed households in every period: :func:`step`
    draws every household from the chain and then switches a uniformly random
    subset of the side with too many; one household's law is then
    :func:`econ.krusell_smith.panel.exact_count_transition` (exact binomial sums).
    """
    ks = exp.ks
    if ks is None:
        raise ValueError(f"shock_law needs a Krusell-Smith experiment (technology 'ks'); {exp.name!r} has an AR(1) "
                         f"technology")
    aggregate = np.asarray(ks.aggregate_transition, dtype=float)
    if not exp.exact_unemployment:
        return ShockLaw(aggregate, _static(exp).probability_employed.copy())
    transition = exact_count_transition(ks, exp.num_agents)
    table = np.empty((2, 2, 2))
    for z in range(2):
        for e in range(2):
            for z_next in range(2):
                table[z, e, z_next] = transition[2 * z + e, 2 * z_next + 1] / aggregate[z, z_next]
    return ShockLaw(aggregate, table)


TFP_QUADRATURE_NODES = 9
"""Gauss-Hermite nodes of the expectation over next period's TFP innovation (AR(1) technology).  Exact for a value
that is a polynomial of degree up to 17 in log A'; a smooth critic over the +-4 sd the nodes span is integrated to
far below its own error."""


class ShockScenarios(NamedTuple):
    """Next period's shocks as a finite set of scenarios, for a batch of households' observations at t.

    In scenario s, row m of the next observations has ``values[s, m]`` in the ``columns`` it replaces (the shock
    components) and the rest as observed; ``weights[s, m]`` is its probability given row m's observation at t.
    """

    columns: tuple
    """The observation columns the shocks occupy."""
    values: np.ndarray
    """(S, M, len(columns)) float32: the shock components of each scenario and row, as observed."""
    weights: np.ndarray
    """(S, M) float64: each scenario's probability given today's observation of the row; they sum to 1 over S."""


def shock_scenarios(exp: Experiment, observations: np.ndarray, law: Optional[ShockLaw] = None) -> ShockScenarios:
    """Next period's shocks given the households' observations at t (shape (M, d)), as :class:`ShockScenarios`.

    Krusell-Smith technology: the four (z', e'_i), weighted by :func:`shock_law` (``law``, computed when not given)
    given the (z, e_i) read from ``observations``.  AR(1) technology: log A_{t+1} = rho log A_t + sigma eps at the
    :data:`TFP_QUADRATURE_NODES` Gauss-Hermite nodes eps of the standard normal, with their weights, log A_t read
    from ``observations``.  One description of the expectation, used by PPO's advantages
    (:func:`next_state_values`, numpy) and SAC's critic targets (:class:`rl.sac.ShockExpectation`, torch).
    """
    check_shock_expectation(exp)
    names = exp.observations
    flat = np.asarray(observations).reshape(-1, len(names))
    rows = flat.shape[0]
    if exp.technology == "ar1":
        column = names.index("log_tfp")
        nodes, weights = _tfp_quadrature()
        log_tfp = flat[:, column].astype(float) * exp.tfp_scale
        values = np.stack([next_log_tfp(log_tfp, exp.rho, exp.sigma, node) / exp.tfp_scale for node in nodes])
        return ShockScenarios((column,), values[:, :, None].astype(np.float32),
                              np.repeat(weights[:, None], rows, axis=1))
    law = shock_law(exp) if law is None else law
    log_z = np.log(exp.ks.technology)
    e_now = (flat[:, names.index("employed")] > 0.5).astype(np.int64)
    if "aggregate_state" in names:
        z_now = flat[:, names.index("aggregate_state")] > 0.5
    else:
        z_now = flat[:, names.index("log_tfp")] * exp.tfp_scale > 0.5 * (log_z[0] + log_z[1])
    z_now = z_now.astype(np.int64)
    columns, per_z = [], []
    if "aggregate_state" in names:
        columns.append(names.index("aggregate_state"))
        per_z.append(lambda z: float(z))
    if "log_tfp" in names:
        columns.append(names.index("log_tfp"))
        per_z.append(lambda z: log_z[z] / exp.tfp_scale)
    columns.append(names.index("employed"))
    values, weights = [], []
    for z_next in range(2):
        p_z = law.aggregate[z_now, z_next]
        p_employed = law.employed[z_now, e_now, z_next]
        for e_next, p_e in ((1, p_employed), (0, 1.0 - p_employed)):
            values.append(np.tile(np.array([f(z_next) for f in per_z] + [e_next], dtype=np.float32), (rows, 1)))
            weights.append(p_z * p_e)
    return ShockScenarios(tuple(columns), np.stack(values), np.stack(weights))


@functools.lru_cache(maxsize=1)
def _tfp_quadrature() -> tuple:
    nodes, weights = np.polynomial.hermite_e.hermegauss(TFP_QUADRATURE_NODES)
    return nodes, weights / weights.sum()


def next_state_values(exp: Experiment, observations: np.ndarray, next_observations: np.ndarray, value) -> np.ndarray:
    """E[V(o_{t+1}) | o_t, actions]: the mean of ``value`` over next period's shocks.

    ``observations`` are households' observations at t, ``next_observations``
    those at t+1 (same shape (..., d)).  Their shock components are replaced
    by each scenario of :func:`shock_scenarios` (Krusell-Smith technology: the
    four (z', e'_i) weighted by :func:`shock_law`; AR(1) technology: log
    A_{t+1} at the Gauss-Hermite nodes of the innovation) and the values
    weighted by the scenarios' probabilities.  The other components (own and
    aggregate capital, productivities) are set at t and do not depend on the
    shocks, so this is the conditional expectation of V at t+1 (exact for the
    chain, to the quadrature's accuracy for the AR(1)).  ``value`` maps an
    (M, d) float32 array to M values.
    """
    obs = np.asarray(observations)
    scenarios = shock_scenarios(exp, obs)
    columns = list(scenarios.columns)
    nxt = np.array(next_observations, dtype=np.float32).reshape(-1, obs.shape[-1])
    expected = np.zeros(nxt.shape[0])
    for values, weights in zip(scenarios.values, scenarios.weights):
        nxt[:, columns] = values
        expected += weights * np.asarray(value(nxt), dtype=float).reshape(-1)
    return expected.reshape(obs.shape[:-1])


def check_shock_expectation(exp: Experiment) -> None:
    """Refuse, with a one-line error, an experiment whose next-period shocks :func:`next_state_values` cannot
    integrate out (its observations lack the shock components it replaces).  Reads only the observation list:
    it runs on every rollout."""
    names = exp.observations
    if exp.technology == "ar1":
        if "log_tfp" not in names:
            raise ValueError(f"expected_next_value needs the observation 'log_tfp' in an AR(1) economy; "
                             f"{exp.name!r} observes {names}")
        return
    if "employed" not in names:
        raise ValueError(f"expected_next_value needs the observation 'employed'; {exp.name!r} observes {names}")
    if "aggregate_state" not in names and "log_tfp" not in names:
        raise ValueError(f"expected_next_value needs 'aggregate_state' or 'log_tfp' among the observations {names}")


def observation_size(exp: Experiment) -> int:
    """Length of one household's observation vector."""
    return len(exp.observations)


def observe(exp: Experiment, state: EconomyState) -> np.ndarray:
    """Normalised observations, float32 of shape (E, N, len(exp.observations)) (:func:`rl._kernels.observe_into`)."""
    static = _static(exp)
    capital = state.capital
    out = np.empty(capital.shape + (static.observation_codes.shape[0],), dtype=np.float32)
    _kernels.observe_into(static.observation_codes, capital, state.log_tfp, state.aggregate_state, state.employed,
                          static.capital_productivity, static.labour_productivity, float(exp.capital_scale),
                          float(exp.tfp_scale), float(exp.productivity_scale), out)
    return out


def observed_capital_and_log_tfp(exp: Experiment, observations) -> tuple:
    """(capital (E, N), log A (E,)) read back from households' observations (..., d) of whole economies,
    economy-major (the inverse of :func:`observe` for own capital and log A, both of which must be observed)."""
    names = exp.observations
    missing = [name for name in ("capital", "log_tfp") if name not in names]
    if missing:
        raise ValueError(f"reading the state from observations needs {missing} observed; {exp.name!r} observes "
                         f"{names}")
    obs = np.asarray(observations).reshape(-1, len(names))
    n = exp.num_agents
    if obs.shape[0] % n:
        raise ValueError(f"observations must hold whole economies of {n} households, got {obs.shape[0]} households")
    capital = obs[:, names.index("capital")].astype(float).reshape(-1, n) * exp.capital_scale
    return capital, obs[::n, names.index("log_tfp")].astype(float) * exp.tfp_scale


def raw_quantities(transition: Transition) -> dict:
    """The economic quantities of one period as a dict of arrays (for analysis code)."""
    o = transition.outcome
    return {
        "next_capital": o.next_capital,  # k_{i,t+1}
        "consumption": o.consumption,
        "consumption_fraction": transition.consumption_fraction,
        "labour": transition.labour,
        "wealth": o.wealth,
        "interest_rate": o.interest_rate,
        "wage": o.wage,
        "output": o.output,
        "effective_capital": o.effective_capital,
        "effective_labour": o.effective_labour,
        "technology": transition.technology,
        "reward": o.reward,
    }


__all__ = [
    "EconomyState",
    "ShockLaw",
    "ShockScenarios",
    "Transition",
    "actions_to_choices",
    "check_shock_expectation",
    "fraction_to_saving",
    "initial_state",
    "next_state_values",
    "observation_size",
    "observe",
    "observed_capital_and_log_tfp",
    "raw_quantities",
    "reset_where",
    "saving_to_fraction",
    "shock_law",
    "shock_scenarios",
    "step",
    "technology",
]


class RecordsLastTransition:
    """Mixin of the environments: ``last_transition`` and :meth:`raw`, its economic quantities."""

    last_transition: Optional[Transition] = None

    def raw(self) -> dict:
        """Economic quantities of the last step: arrays of shape (economies, N) or (economies,)."""
        if self.last_transition is None:
            raise RuntimeError("no step taken yet")
        return raw_quantities(self.last_transition)

