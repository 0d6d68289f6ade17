"""Scorecard of the ``general`` experiment against the heterogeneous deterministic steady state.

The benchmark is :func:`econ.heterogeneous_steady_state` of the experiment's
calibration and households (:func:`general_benchmark`);
:func:`steady_state_allocation` resolves its indeterminate split among the
capital holders to one allocation, which :func:`steady_state_actor` plays
and :func:`steady_state_initial_state` starts from.  :func:`general_scores`
compares the long-run means of a :class:`rl.rollout.Panel` with it.
Metrics, tolerances and why the individual splits are not judged:
docs/validation.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Mapping, NamedTuple, Optional

import numpy as np

from econ import checks
from econ.economy import CAPITAL_FLOOR, fraction_to_action, markets
from econ.experiments import Experiment
from econ.heterogeneous import HeterogeneousSteadyState, heterogeneous_steady_state
from rl import core
from rl.rollout import Actor, Panel, economies_in
from validation.scorecard import Row, judged_row, relative_distance, require_technology, resolve_tolerances

GENERAL_TOLERANCES: Dict[str, Optional[float]] = {
    "aggregate_capital": 0.05,
    "aggregate_labour": 0.05,
    "output": 0.05,
    "interest_rate": 0.05,
    "wage": 0.05,
    "holders_capital": 0.10,
    "holders_capital_share": 0.5,
    "hand_to_mouth_consumption_fraction": 0.10,
    "household_capital": None,
    "household_labour": None,
    "household_consumption_fraction": None,
    "capital_drift": None,
}
"""Default tolerances of the ``general`` scorecard by metric family (None: reported, not judged); each value
with its reason: docs/validation.md."""


def _require_ar1(experiment) -> Experiment:
    return require_technology(experiment, "ar1", "an experiment with the AR(1) technology (general)")


# ----------------------------------------------------------------------------- benchmark
def general_benchmark(experiment: Experiment) -> HeterogeneousSteadyState:
    """:func:`econ.heterogeneous_steady_state` of an AR(1) experiment's calibration and households."""
    experiment = _require_ar1(experiment)
    return heterogeneous_steady_state(experiment.rbc_params, experiment.capital_productivity,
                                      experiment.labour_productivity)


class SteadyStateAllocation(NamedTuple):
    """One steady-state allocation of the ``general`` economy, arrays (N,) (see :func:`steady_state_allocation`)."""

    capital: np.ndarray
    labour: np.ndarray
    consumption_fraction: np.ndarray
    wealth: np.ndarray


def steady_state_allocation(experiment: Experiment) -> SteadyStateAllocation:
    """One steady-state allocation (capital, labour, consumption fraction, wealth), each (N,).

    Determinate households take the steady state's values (hand-to-mouth:
    k = 0, chat = 1).  Where the split among the capital holders is
    indeterminate this picks one: equal capital N * holders_capital / n_h
    each, and labour from each holder's intratemporal condition and budget
    with k' = k:

        c_i = (1/beta - 1) k_i + lambda_i w l_i,
        linear:      c_i = lambda_i w / chi          -> l_i = (lambda_i w / chi - (1/beta - 1) k_i) / (lambda_i w)
        log-leisure: c_i = lambda_i w (1 - l_i) / chi -> same numerator over lambda_i w (1 + 1/chi),

    (l_i = 0 at the no-work corner), which adds up to the steady state's
    holders' labour.  chat_i = 1 - k_i / a_i with a_i from
    :func:`econ.economy.markets` at that allocation (A = 1).
    """
    experiment = _require_ar1(experiment)
    ss = general_benchmark(experiment)
    kappa, lam = ss.capital_productivity, ss.labour_productivity
    n = kappa.size
    capital = ss.household_capital.copy()
    labour = ss.household_labour.copy()
    holders = ss.indeterminate & ss.holds_capital
    if holders.any():
        capital[holders] = n * ss.holders_capital / holders.sum()
        m = 1.0 if experiment.utility == "linear" else 1.0 + 1.0 / experiment.chi
        net = 1.0 / experiment.beta - 1.0
        lw = lam[holders] * ss.wage
        labour[holders] = np.maximum((lw / experiment.chi - net * capital[holders]) / (lw * m), 0.0)
    mk = markets(capital, labour, 1.0, alpha=experiment.alpha, delta=experiment.delta, capital_productivity=kappa,
                 labour_productivity=lam)
    chat = np.where(capital > 0, 1.0 - capital / mk.wealth, 1.0)
    return SteadyStateAllocation(capital, labour, chat, mk.wealth)


def steady_state_actor(experiment: Experiment) -> Actor:
    """Each household plays its :func:`steady_state_allocation` chat and labour whatever the state.

    The corners chat = 1 and l = 1 are played as 0.995 (the action range), so
    hand-to-mouth households keep k' = 0.005 a.  Rows are households by
    position (economies of N stacked).
    """
    experiment = _require_ar1(experiment)
    _, labour, chat, _ = steady_state_allocation(experiment)
    actions = np.column_stack([fraction_to_action(chat), fraction_to_action(labour)])

    def actor(obs):
        obs = np.asarray(obs)
        return np.tile(actions, (economies_in(obs, experiment), 1))

    return actor


def steady_state_initial_state(experiment: Experiment, n_economies: int = 1):
    """An ``rl.core.EconomyState`` at :func:`steady_state_allocation` (log A = 0; k floored at CAPITAL_FLOOR)."""
    experiment = _require_ar1(experiment)
    n_economies = checks.positive_int("n_economies", n_economies)
    capital = steady_state_allocation(experiment).capital
    shape = (n_economies, experiment.num_agents)
    return core.EconomyState(np.broadcast_to(np.maximum(capital, CAPITAL_FLOOR), shape).copy(),
                             np.zeros(n_economies), np.zeros(n_economies, dtype=np.int64),
                             np.ones(shape, dtype=bool), np.zeros(n_economies, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class GeneralScores:
    """Long-run means of a ``general`` panel against the heterogeneous steady state (:func:`general_scores`)."""

    experiment: Experiment
    steady_state: HeterogeneousSteadyState = field(repr=False)
    sigma: float
    """The simulated experiment's sigma (0: the deterministic fixed point of the policy)."""
    n_economies: int
    n_periods: int
    capital: np.ndarray
    """Mean k_i per household over kept periods and economies, (N,)."""
    wealth: np.ndarray
    consumption: np.ndarray
    labour: np.ndarray
    consumption_fraction: np.ndarray
    aggregates: Mapping[str, float]
    """Means of K, L, Y, r (base), w (base) over kept periods and economies."""
    benchmark_aggregates: Mapping[str, float]
    holders_capital: float
    """(1/N) sum over the steady state's capital holders of mean k_i."""
    holders_capital_share: float
    """Their share of all capital (sum of k_i)."""
    hand_to_mouth_consumption_fraction: float
    """Mean chat of the other households (NaN if there are none)."""
    capital_drift: float
    """max_i |mean k_i (second half) - mean k_i (first half)| / mean k over all households."""
    capital_path: np.ndarray = field(repr=False)
    """Mean over economies of k_{i,t}, (T, N)."""
    wealth_path: np.ndarray = field(repr=False)
    allocation: SteadyStateAllocation = field(repr=False)
    """:func:`steady_state_allocation`: one resolution of the indeterminate split, for plots."""

    def _metrics(self) -> List[tuple]:
        ss = self.steady_state
        out = []
        for key in ("aggregate_capital", "aggregate_labour", "output", "interest_rate", "wage"):
            b, r = self.benchmark_aggregates[key], self.aggregates[key]
            out.append((key, key, b, r, relative_distance(r, b)))
        out.append(("holders_capital", "holders_capital", ss.holders_capital, self.holders_capital,
                    relative_distance(self.holders_capital, ss.holders_capital)))
        out.append(("holders_capital_share", "holders_capital_share", 1.0, self.holders_capital_share,
                    abs(1.0 - self.holders_capital_share)))
        if not np.isnan(self.hand_to_mouth_consumption_fraction):
            out.append(("hand_to_mouth_consumption_fraction", "hand_to_mouth_consumption_fraction", 1.0,
                        self.hand_to_mouth_consumption_fraction, 1.0 - self.hand_to_mouth_consumption_fraction))
        kappa, lam = ss.capital_productivity, ss.labour_productivity
        for i in range(kappa.size):
            tag = f"{i}_kappa{kappa[i]:g}_lambda{lam[i]:g}"
            det = not ss.indeterminate[i]
            for fam, bench, value in (("household_capital", ss.household_capital[i], self.capital[i]),
                                      ("household_labour", ss.household_labour[i], self.labour[i]),
                                      ("household_consumption_fraction", ss.household_consumption_fraction[i],
                                       self.consumption_fraction[i])):
                b = float(bench) if det else float("nan")
                out.append((f"{fam}_{tag}", fam, b, float(value), abs(value - b) if det else float("nan")))
        out.append(("capital_drift", "capital_drift", 0.0, self.capital_drift, self.capital_drift))
        return out

    def rows(self, tolerances: Optional[Mapping[str, Optional[float]]] = None) -> List[Row]:
        """Scorecard rows; ``tolerances`` overrides :data:`GENERAL_TOLERANCES` by family or metric name.

        Individual rows of indeterminate households have benchmark NaN (the
        steady state does not pin them down) and are never judged."""
        metrics = self._metrics()
        tol = resolve_tolerances(GENERAL_TOLERANCES, tolerances, [(m[0], m[1]) for m in metrics])
        rows = []
        for name, _, bench, rl, dist in metrics:
            t = tol[name] if np.isfinite(dist) else None
            rows.append(judged_row(name, bench, rl, dist, t))
        return rows

    def summary(self) -> dict:
        ss = self.steady_state
        return {
            "experiment": self.experiment.name,
            "sigma": self.sigma,
            "n_economies": self.n_economies,
            "n_periods": self.n_periods,
            "aggregates": dict(self.aggregates),
            "benchmark_aggregates": dict(self.benchmark_aggregates),
            "holds_capital": ss.holds_capital.tolist(),
            "split_indeterminate": bool(ss.split_indeterminate),
            "capital": self.capital.tolist(),
            "labour": self.labour.tolist(),
            "consumption_fraction": self.consumption_fraction.tolist(),
            "holders_capital": self.holders_capital,
            "benchmark_holders_capital": ss.holders_capital,
            "holders_capital_share": self.holders_capital_share,
            "hand_to_mouth_consumption_fraction": self.hand_to_mouth_consumption_fraction,
            "capital_drift": self.capital_drift,
        }


def general_scores(panel: Panel, experiment: Optional[Experiment] = None) -> GeneralScores:
    """Long-run means per household of a ``general`` panel against the heterogeneous steady state (spec 4.4).

    ``experiment`` (default ``panel.experiment``) gives the steady state; it
    must have the panel's households (kappa_i, lambda_i).  Simulate with
    ``experiment._replace(sigma=0.0)`` to score the policy's deterministic
    fixed point instead of its ergodic means (``sigma`` is recorded).

    The steady state says which households hold capital (the highest kappa);
    the others are hand-to-mouth (k = 0, chat = 1).  Individual capital and
    labour of the holders are indeterminate when there are several (always,
    on the g x g grid), so the judged rows are the aggregates K, L, Y, r, w,
    the holders' total capital and share, and the others' consumption
    fraction; individual values are reported beside the steady state's where
    it determines them.
    """
    if not isinstance(panel, Panel):
        raise TypeError(f"panel must be a Panel from simulate_agents, got {type(panel).__name__}")
    experiment = _require_ar1(panel.experiment if experiment is None else experiment)
    pexp = panel.experiment
    if (pexp.capital_productivity != experiment.capital_productivity
            or pexp.labour_productivity != experiment.labour_productivity):
        raise ValueError("panel and experiment must have the same households (capital_productivity and "
                         "labour_productivity)")
    ss = general_benchmark(experiment)
    mean = lambda a: a.mean(axis=(0, 1))  # noqa: E731
    capital = mean(panel.capital)
    holders = ss.holds_capital
    n = capital.size
    half = panel.n_periods // 2
    first, second = panel.capital[:half].mean(axis=(0, 1)), panel.capital[half:].mean(axis=(0, 1))
    aggregates = {"aggregate_capital": float(panel.effective_capital.mean()),
                  "aggregate_labour": float(panel.effective_labour.mean()),
                  "output": float(panel.output.mean()),
                  "interest_rate": float(panel.interest_rate.mean()),
                  "wage": float(panel.wage.mean())}
    bench = {"aggregate_capital": ss.capital, "aggregate_labour": ss.labour, "output": ss.output,
             "interest_rate": ss.interest_rate, "wage": ss.wage}
    return GeneralScores(
        experiment=pexp,
        steady_state=ss,
        sigma=float(pexp.sigma),
        n_economies=panel.n_economies,
        n_periods=panel.n_periods,
        capital=capital,
        wealth=mean(panel.wealth),
        consumption=mean(panel.consumption),
        labour=mean(panel.labour),
        consumption_fraction=mean(panel.consumption_fraction),
        aggregates=aggregates,
        benchmark_aggregates={k: float(v) for k, v in bench.items()},
        holders_capital=float(capital[holders].sum() / n),
        holders_capital_share=float(capital[holders].sum() / capital.sum()),
        hand_to_mouth_consumption_fraction=(float(mean(panel.consumption_fraction)[~holders].mean())
                                            if (~holders).any() else float("nan")),
        capital_drift=float(np.max(np.abs(second - first)) / capital.mean()),
        capital_path=panel.capital.mean(axis=1),
        wealth_path=panel.wealth.mean(axis=1),
        allocation=steady_state_allocation(experiment),
    )

