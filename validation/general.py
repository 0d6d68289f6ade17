"""Scorecard of the ``general`` experiment against the price-impact steady state at the agents' N.

The RL economy has N households (9 in ``general``), each of which moves the
prices it is paid.  The benchmark that describes that game is the finite-N
(price-impact) steady state, :func:`econ.heterogeneous_steady_state` with
``n_agents = experiment.num_agents`` (:func:`general_benchmark`): every
household's private Euler and intratemporal conditions hold, and the
allocation is determinate.  The continuum (price-taking) steady state
(:func:`continuum_benchmark`: only the highest-kappa households hold capital,
their split indeterminate) is reported beside it, never judged.

:func:`deterministic_fixed_point` runs the policy's economy with sigma = 0
until it settles; :func:`general_scores` judges, at that fixed point, each
household's private Euler residual beta R_i - 1 and intratemporal residual
(:func:`private_residuals`), the aggregates K, L, r and the ordering of
capital by kappa, and reports the individual allocation beside the
benchmark's (and, given a stochastic panel, its ergodic means).
:func:`steady_state_actor` plays the benchmark's own allocation (the
positive control).  Metrics, tolerances and their reasons: docs/validation.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, NamedTuple, Optional

import numpy as np

from econ import checks
from econ.economy import CAPITAL_FLOOR, fraction_to_action, markets
from econ.experiments import Experiment
from econ.heterogeneous import HeterogeneousSteadyState, heterogeneous_steady_state, private_margins
from rl import core
from rl.rollout import Actor, Panel, as_actor, economies_in, in_action_interface, simulate_agents
from validation.scorecard import Row, judged_row, relative_distance, require_technology, resolve_tolerances

GENERAL_TOLERANCES: Dict[str, Optional[float]] = {
    "euler_residual": 0.001,
    "intratemporal_residual": 0.001,
    "aggregate_capital": 0.02,
    "aggregate_labour": 0.02,
    "interest_rate": 0.02,
    "capital_order_by_kappa": 0.0,
    "fixed_point_change": 1e-5,
    "output": None,
    "wage": None,
    "household_capital": None,
    "household_consumption_fraction": None,
    "household_labour": None,
    "fixed_point_distance": None,
    "continuum": None,
    "ergodic": None,
    "capital_drift": None,
}
"""Tolerances of the ``general`` scorecard by metric family (None: reported, not judged), fixed with their reasons
before any trained policy was scored (docs/validation.md): private Euler and intratemporal residuals at the policy's
deterministic fixed point below 0.1 % per period, K, L and r within 2 % of the price-impact steady state, capital
ordered by kappa as in the benchmark, and a fixed point that has settled."""

FIXED_POINT_RTOL = 1e-7
"""The sigma = 0 run stops when no household's capital moves by more than this fraction of mean capital in a period
(as the ``rbc`` fixed point: a float32 network settles into a band of about its resolution, 6e-8)."""

FIXED_POINT_MAX_PERIODS = 5000
"""Longest sigma = 0 run (10 episodes); a policy whose economy still moves after it has no fixed point."""

FIXED_POINT_CHUNK = 100
"""Periods simulated between two checks of the stopping rule."""


def _require_ar1(experiment) -> Experiment:
    return require_technology(experiment, "ar1", "an experiment with the AR(1) technology (general)")


# ----------------------------------------------------------------------------- benchmarks
def general_benchmark(experiment: Experiment) -> HeterogeneousSteadyState:
    """The price-impact steady state of the experiment's N households (the judged benchmark)."""
    experiment = _require_ar1(experiment)
    return heterogeneous_steady_state(experiment.rbc_params, experiment.capital_productivity,
                                      experiment.labour_productivity, n_agents=experiment.num_agents)


def continuum_benchmark(experiment: Experiment) -> HeterogeneousSteadyState:
    """The continuum (price-taking) steady state of the same households (reported beside, never judged)."""
    experiment = _require_ar1(experiment)
    return heterogeneous_steady_state(experiment.rbc_params, experiment.capital_productivity,
                                      experiment.labour_productivity)


class SteadyStateAllocation(NamedTuple):
    """One steady-state allocation of the ``general`` economy, arrays (N,)."""

    capital: np.ndarray
    labour: np.ndarray
    consumption_fraction: np.ndarray
    wealth: np.ndarray


def _allocation_of(experiment: Experiment, capital, labour) -> SteadyStateAllocation:
    """chat_i = 1 - k_i / a_i (k' = k) with a_i from :func:`econ.economy.markets` at A = 1; chat = 1 at k = 0."""
    mk = markets(capital, labour, 1.0, alpha=experiment.alpha, delta=experiment.delta,
                 capital_productivity=experiment.capital_productivity,
                 labour_productivity=experiment.labour_productivity)
    chat = np.where(capital > 0, 1.0 - capital / mk.wealth, 1.0)
    return SteadyStateAllocation(capital, labour, chat, mk.wealth)


def steady_state_allocation(experiment: Experiment) -> SteadyStateAllocation:
    """The price-impact steady state's allocation (determinate), with chat and wealth from the period equations."""
    ss = general_benchmark(experiment)
    return _allocation_of(experiment, ss.household_capital.copy(), ss.household_labour.copy())


def continuum_allocation(experiment: Experiment) -> SteadyStateAllocation:
    """One continuum steady-state allocation, for figures: the indeterminate holders' split resolved as equal.

    Holders get N * holders_capital / n_h each and labour from the
    intratemporal condition and budget with k' = k,

        c_i = (1/beta - 1) k_i + lambda_i w l_i,
        linear:      c_i = lambda_i w / chi          -> l_i = (lambda_i w / chi - (1/beta - 1) k_i) / (lambda_i w)
        log-leisure: c_i = lambda_i w (1 - l_i) / chi -> same numerator over lambda_i w (1 + 1/chi),

    (l_i = 0 at the no-work corner), which adds up to the holders' labour of the steady state.
    """
    experiment = _require_ar1(experiment)
    ss = continuum_benchmark(experiment)
    capital, labour = ss.household_capital.copy(), ss.household_labour.copy()
    holders = ss.indeterminate & ss.holds_capital
    if holders.any():
        capital[holders] = ss.capital_productivity.size * ss.holders_capital / holders.sum()
        m = 1.0 if experiment.utility == "linear" else 1.0 + 1.0 / experiment.chi
        lw = ss.labour_productivity[holders] * ss.wage
        net = 1.0 / experiment.beta - 1.0
        labour[holders] = np.maximum((lw / experiment.chi - net * capital[holders]) / (lw * m), 0.0)
    return _allocation_of(experiment, capital, labour)


def steady_state_actor(experiment: Experiment) -> Actor:
    """Each household plays the price-impact steady state's chat and labour whatever the state.

    Corners (chat = 1 at k = 0, labour 0) are played at the edge of the
    action range [0.005, 0.995].  Rows are households by position (economies of N stacked).  With the ``saving``
    action interface the fractions are played as the saving shares that give them at each state
    (:func:`rl.rollout.in_action_interface`).
    """
    experiment = _require_ar1(experiment)
    _, labour, chat, _ = steady_state_allocation(experiment)
    actions = np.column_stack([fraction_to_action(chat), fraction_to_action(labour)])

    def actor(obs):
        return np.tile(actions, (economies_in(np.asarray(obs), experiment), 1))

    return in_action_interface(actor, experiment)


def steady_state_initial_state(experiment: Experiment, n_economies: int = 1, capital=None):
    """An ``rl.core.EconomyState`` at the price-impact steady state's capital, or at ``capital`` (N,) (log A = 0)."""
    experiment = _require_ar1(experiment)
    n_economies = checks.positive_int("n_economies", n_economies)
    capital = steady_state_allocation(experiment).capital if capital is None else np.asarray(capital, dtype=float)
    shape = (n_economies, experiment.num_agents)
    return core.EconomyState(np.broadcast_to(np.maximum(capital, CAPITAL_FLOOR), shape).copy(),
                             np.zeros(n_economies), np.zeros(n_economies, dtype=np.int64),
                             np.ones(shape, dtype=bool), np.zeros(n_economies, dtype=np.int64))


# ----------------------------------------------------------------------------- the policy's fixed point
class FixedPoint(NamedTuple):
    """The deterministic (sigma = 0) fixed point of a policy's economy (:func:`deterministic_fixed_point`)."""

    capital: np.ndarray
    """k_i at the last period, (N,)."""
    labour: np.ndarray
    consumption_fraction: np.ndarray
    consumption: np.ndarray
    wealth: np.ndarray
    aggregates: Mapping[str, float]
    """K, L, Y, r (base), w (base) at the last period."""
    change: float
    """max_i |k_{i,t+1} - k_{i,t}| / mean_i k_{i,t} in the last period."""
    converged: bool
    """change <= FIXED_POINT_RTOL within FIXED_POINT_MAX_PERIODS."""
    num_periods: int


def deterministic_fixed_point(policy, experiment: Experiment, *, capital=None, rtol: float = FIXED_POINT_RTOL,
                              max_periods: int = FIXED_POINT_MAX_PERIODS) -> FixedPoint:
    """Run the policy's economy with sigma = 0 (log A = 0) until capital stops moving (docs/validation.md).

    Starts at the price-impact steady state (or at ``capital``, (N,)), one
    economy, through :func:`rl.rollout.simulate_agents` (the environment's
    own transition), in chunks of FIXED_POINT_CHUNK periods; stops when the
    largest change of a household's capital in a period is at most
    ``rtol`` times mean capital.  A policy that cycles or drifts does not
    converge: the last period is returned with ``converged`` False (and the
    scorecard's ``fixed_point_change`` row fails).
    """
    experiment = _require_ar1(experiment)._replace(sigma=0.0)
    rtol = checks.positive("rtol", rtol)
    max_periods = checks.positive_int("max_periods", max_periods, 2)
    actor = as_actor(policy)
    state = steady_state_initial_state(experiment, 1, capital)
    done = 0
    while True:
        chunk = min(FIXED_POINT_CHUNK, max(max_periods - done, 2))
        panel = simulate_agents(actor, experiment, chunk, burn_in=0, initial_state=state)
        done += chunk
        last = panel.capital[-1, 0]
        change = float(np.max(np.abs(panel.final_capital[0] - last)) / last.mean())
        if change <= rtol or done >= max_periods:
            break
        state = state._replace(capital=panel.final_capital.copy())
    at = (-1, 0)
    aggregates = {"aggregate_capital": float(panel.effective_capital[at]),
                  "aggregate_labour": float(panel.effective_labour[at]),
                  "output": float(panel.output[at]), "interest_rate": float(panel.interest_rate[at]),
                  "wage": float(panel.wage[at])}
    return FixedPoint(last.copy(), panel.labour[at].copy(), panel.consumption_fraction[at].copy(),
                      panel.consumption[at].copy(), panel.wealth[at].copy(), aggregates, change,
                      change <= rtol, done)


def private_residuals(experiment: Experiment, capital, labour, consumption) -> tuple:
    """(Euler, intratemporal) residuals of every household at a deterministic fixed point, each (N,).

    Euler: beta R_i - 1, with R_i the private gross return of household i
    (:func:`econ.private_margins`, N = the experiment's households): at a
    fixed point c' = c, so 1/c = beta R_i / c' reads beta R_i = 1; the
    residual is the per-period gap of the discounted private return.
    Intratemporal: chi c_i / W_i - 1 (linear utility) or
    chi c_i / ((1 - l_i) W_i) - 1 (log-leisure), with W_i the private
    marginal income from labour: the relative gap between the marginal
    disutility of work and its private reward, per period.
    """
    experiment = _require_ar1(experiment)
    labour = np.asarray(labour, dtype=float)
    m = private_margins(experiment.rbc_params, experiment.capital_productivity, experiment.labour_productivity,
                        np.asarray(capital, dtype=float), labour, n_agents=experiment.num_agents)
    income = m.private_wage if experiment.utility == "linear" else m.private_wage * (1.0 - labour)
    return experiment.beta * m.private_return - 1.0, experiment.chi * np.asarray(consumption) / income - 1.0


# ----------------------------------------------------------------------------- scores
@dataclass(frozen=True, eq=False)
class GeneralScores:
    """A ``general`` policy at its deterministic fixed point against the price-impact steady state."""

    experiment: Experiment
    steady_state: HeterogeneousSteadyState = field(repr=False)
    """The judged benchmark: the price-impact steady state at N = experiment.num_agents."""
    continuum: HeterogeneousSteadyState = field(repr=False)
    """The continuum (price-taking) steady state, reported beside."""
    fixed_point: FixedPoint
    euler_residual: np.ndarray
    """beta R_i - 1 at the fixed point, (N,)."""
    intratemporal_residual: np.ndarray
    allocation: SteadyStateAllocation = field(repr=False)
    """The benchmark's allocation (chat from the period equations)."""
    continuum_allocation: SteadyStateAllocation = field(repr=False)
    """The continuum's, the holders' split resolved as equal (figures only)."""
    ergodic: Optional[Mapping[str, object]] = field(default=None, repr=False)
    """Long-run means of a stochastic panel (aggregates, per-household capital and labour, paths), if one was given."""

    def tag(self, i: int) -> str:
        return f"{i}_kappa{self.steady_state.capital_productivity[i]:g}_lambda{self.steady_state.labour_productivity[i]:g}"

    def capital_order(self) -> tuple:
        """(benchmark order, fixed point's order, discordant pairs).  The orders list the kappa values by their
        households' mean capital; discordant pairs are pairs of households with different kappa whose capital is
        ordered differently at the fixed point than in the benchmark (pairs tied in the benchmark not counted)."""
        kappa = self.steady_state.capital_productivity
        bench, rl = self.steady_state.household_capital, self.fixed_point.capital
        discordant = 0
        for i in range(kappa.size):
            for j in range(i + 1, kappa.size):
                if kappa[i] != kappa[j] and bench[i] != bench[j]:
                    discordant += int(np.sign(bench[i] - bench[j]) != np.sign(rl[i] - rl[j]))

        def order(k):
            means = {float(v): float(np.mean(k[kappa == v])) for v in np.unique(kappa)}
            return "<".join(f"{v:g}" for v in sorted(means, key=means.get))

        return order(bench), order(rl), discordant

    def _metrics(self) -> List[tuple]:
        ss, fp, cont = self.steady_state, self.fixed_point, self.continuum
        out = []
        for i in range(ss.capital_productivity.size):
            euler, intra = float(self.euler_residual[i]), float(self.intratemporal_residual[i])
            # at a benchmark corner the condition is an inequality: k_i = 0 needs beta R_i <= 1, l_i = 0 needs
            # chi c_i >= W_i; only a violation counts
            out.append((f"euler_residual_{self.tag(i)}", "euler_residual", 0.0, euler,
                        abs(euler) if ss.holds_capital[i] else max(euler, 0.0)))
            out.append((f"intratemporal_residual_{self.tag(i)}", "intratemporal_residual", 0.0, intra,
                        abs(intra) if ss.household_labour[i] > 0 else max(-intra, 0.0)))
        bench = {"aggregate_capital": ss.capital, "aggregate_labour": ss.labour, "interest_rate": ss.interest_rate,
                 "output": ss.output, "wage": ss.wage}
        for key, b in bench.items():
            out.append((key, key, float(b), fp.aggregates[key], relative_distance(fp.aggregates[key], b)))
        bench_order, rl_order, discordant = self.capital_order()
        out.append(("capital_order_by_kappa", "capital_order_by_kappa", bench_order, rl_order, float(discordant)))
        out.append(("fixed_point_change", "fixed_point_change", 0.0, fp.change, fp.change))
        distance = float(np.max(np.abs(fp.capital - ss.household_capital)) / np.mean(ss.household_capital))
        out.append(("fixed_point_distance", "fixed_point_distance", 0.0, distance, distance))
        for i in range(ss.capital_productivity.size):
            k0, chat0, l0 = ss.household_capital[i], self.allocation.consumption_fraction[i], ss.household_labour[i]
            out.append((f"household_capital_{self.tag(i)}", "household_capital", float(k0), float(fp.capital[i]),
                        relative_distance(fp.capital[i], k0)))
            out.append((f"household_consumption_fraction_{self.tag(i)}", "household_consumption_fraction",
                        float(chat0), float(fp.consumption_fraction[i]), abs(fp.consumption_fraction[i] - chat0)))
            out.append((f"household_labour_{self.tag(i)}", "household_labour", float(l0), float(fp.labour[i]),
                        abs(fp.labour[i] - l0)))
        for key, b in (("aggregate_capital", cont.capital), ("aggregate_labour", cont.labour),
                       ("interest_rate", cont.interest_rate)):
            out.append((f"continuum_{key}", "continuum", float(b), fp.aggregates[key],
                        relative_distance(fp.aggregates[key], b)))
        if self.ergodic is not None:
            for key in ("aggregate_capital", "aggregate_labour", "interest_rate"):
                value = self.ergodic["aggregates"][key]
                out.append((f"ergodic_{key}", "ergodic", float(bench[key]), value, relative_distance(value, bench[key])))
            drift = self.ergodic["capital_drift"]
            out.append(("capital_drift", "capital_drift", 0.0, drift, drift))
        return out

    def rows(self, tolerances: Optional[Mapping[str, Optional[float]]] = None) -> List[Row]:
        """Scorecard rows; ``tolerances`` overrides :data:`GENERAL_TOLERANCES` by family or metric name."""
        metrics = self._metrics()
        tol = resolve_tolerances(GENERAL_TOLERANCES, tolerances, [(m[0], m[1]) for m in metrics])
        return [judged_row(name, bench, rl, dist, tol[name]) for name, _, bench, rl, dist in metrics]

    def summary(self) -> dict:
        ss, fp = self.steady_state, self.fixed_point
        out = {
            "experiment": self.experiment.name,
            "benchmark": f"price-impact steady state at N = {ss.n_agents}",
            "fixed_point": {"capital": fp.capital.tolist(), "labour": fp.labour.tolist(),
                            "consumption_fraction": fp.consumption_fraction.tolist(),
                            "aggregates": dict(fp.aggregates), "change": fp.change, "converged": fp.converged,
                            "num_periods": fp.num_periods},
            "euler_residual": self.euler_residual.tolist(),
            "intratemporal_residual": self.intratemporal_residual.tolist(),
            "price_impact_steady_state": {"capital": ss.household_capital.tolist(),
                                          "labour": ss.household_labour.tolist(),
                                          "consumption_fraction": self.allocation.consumption_fraction.tolist(),
                                          "K": ss.capital, "L": ss.labour, "r": ss.interest_rate},
            "continuum_steady_state": {"K": self.continuum.capital, "L": self.continuum.labour,
                                       "r": self.continuum.interest_rate,
                                       "holds_capital": self.continuum.holds_capital.tolist(),
                                       "split_indeterminate": bool(self.continuum.split_indeterminate)},
        }
        if self.ergodic is not None:
            out["ergodic"] = {key: self.ergodic[key] for key in ("aggregates", "capital", "labour", "capital_drift",
                                                                 "n_economies", "n_periods")}
        return out


def _ergodic(panel: Panel) -> dict:
    """Long-run means of a stochastic panel: aggregates, per-household capital and labour, drift, paths."""
    half = panel.n_periods // 2
    first, second = panel.capital[:half].mean(axis=(0, 1)), panel.capital[half:].mean(axis=(0, 1))
    capital = panel.capital.mean(axis=(0, 1))
    return {
        "aggregates": {"aggregate_capital": float(panel.effective_capital.mean()),
                       "aggregate_labour": float(panel.effective_labour.mean()),
                       "interest_rate": float(panel.interest_rate.mean())},
        "capital": capital.tolist(),
        "labour": panel.labour.mean(axis=(0, 1)).tolist(),
        "capital_drift": float(np.max(np.abs(second - first)) / capital.mean()),
        "n_economies": panel.n_economies,
        "n_periods": panel.n_periods,
        "sigma": float(panel.experiment.sigma),
        "capital_path": panel.capital.mean(axis=1),
        "wealth_path": panel.wealth.mean(axis=1),
    }


def general_scores(policy, experiment: Experiment, *, panel: Optional[Panel] = None,
                   fixed_point: Optional[FixedPoint] = None) -> GeneralScores:
    """Score a ``general`` policy against the price-impact steady state at the experiment's N.

    Parameters
    ----------
    policy : SB3 model or Actor
        The households' policy (parameter sharing: one policy for all).
    experiment : Experiment
        An AR(1) experiment with N households; its price-impact steady state
        at n_agents = N is the judged benchmark, the continuum steady state is
        reported beside it.
    panel : Panel or None
        A stochastic simulation of the same policy and households
        (:func:`rl.rollout.simulate_agents`); if given, its long-run means are
        reported (rows ``ergodic_*`` and ``capital_drift``, not judged) and kept for the paths figure.
    fixed_point : FixedPoint or None
        The policy's deterministic fixed point, if already computed
        (default: :func:`deterministic_fixed_point` from the steady state).
    """
    experiment = _require_ar1(experiment)
    if panel is not None:
        if not isinstance(panel, Panel):
            raise TypeError(f"panel must be a Panel from simulate_agents, got {type(panel).__name__}")
        pexp = panel.experiment
        if (pexp.technology != "ar1" or pexp.capital_productivity != experiment.capital_productivity
                or pexp.labour_productivity != experiment.labour_productivity):
            raise ValueError("panel and experiment must have the same households (capital_productivity and "
                             "labour_productivity)")
    fp = deterministic_fixed_point(policy, experiment) if fixed_point is None else fixed_point
    euler, intra = private_residuals(experiment, fp.capital, fp.labour, fp.consumption)
    return GeneralScores(experiment=experiment, steady_state=general_benchmark(experiment),
                         continuum=continuum_benchmark(experiment), fixed_point=fp, euler_residual=euler,
                         intratemporal_residual=intra, allocation=steady_state_allocation(experiment),
                         continuum_allocation=continuum_allocation(experiment),
                         ergodic=None if panel is None else _ergodic(panel))
