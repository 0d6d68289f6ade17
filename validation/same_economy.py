"""The Krusell-Smith scorecard in the same economy: RL households against benchmark rules played at the same N.

Three benchmarks of a KS experiment (``ks``, ``ks-het-mild``,
``ks-het-marked``) with N households:

- the price-impact rule: ``solve_krusell_smith(experiment.ks, n_agents=N)``
  (:func:`validation.krusell_smith.price_impact_benchmark`), each household's
  Euler equation with its private return (open loop, docs/finite_n.md);
- the price-taking rule: the continuum solution's rule
  (:func:`validation.krusell_smith.ks_benchmark`);
- the continuum solver's own numbers (a continuum, on the histogram).

The first two are played by the same N households on the same shocks from
the same initial states as the RL panel (:func:`rl.rollout.simulate_agents`
with the same seed and settings: shocks do not depend on actions).  Judged
rows compare the RL panel with the price-impact rule's panel (the
equilibrium of the game the agents play); the price-taking and continuum
values are extra columns, reported, not judged.  Metrics, tolerances and why:
docs/validation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, NamedTuple, Optional

import numpy as np

from econ import checks
from econ.economy import action_to_fraction
from econ.experiments import Experiment
from econ.krusell_smith.solver import KrusellSmithSolution
from rl.rollout import Panel, as_actor, one_torch_thread, simulate_agents
from validation.krusell_smith import (KSBenchmarkActor, KSScores, _household_types, _require_ks, ks_benchmark,
                                      ks_scores, price_impact_benchmark)
from validation.scorecard import Row, judged_row, relative_distance, resolve_tolerances
from validation.welfare import Gain, Scenario, switching_gains

_COMMON: Dict[str, Optional[float]] = {
    "lom_slope": 0.04,
    "lom_intercept": None,
    "lom_r2": 0.05,
    "lom_gap_percent": 0.5,
    "lom_den_haan_max_percent": None,
    "gini_capital": None,
    "type_capital_order": None,
    "consumption_fraction_error": 0.02,
    "policy_error_mean": 0.02,
    "policy_error_max": None,
    "welfare_unilateral": 0.05,
    "welfare_economy": None,
    "realised_euler": None,
}

SAME_ECONOMY_TOLERANCES: Dict[str, Dict[str, Optional[float]]] = {
    "ks": {**_COMMON, "mean_capital": 0.03, "gini_wealth": 0.02, "chat_bias": 0.0015,
           "type_capital_share": None, "type_consumption_fraction": None},
    "ks-het": {**_COMMON, "mean_capital": 0.05, "gini_wealth": 0.03, "chat_bias": None,
               "type_capital_share": 0.03, "type_consumption_fraction": 0.005},
}
"""Tolerances of the same-economy KS scorecard by metric family, for ``ks`` (one type) and the ``ks-het-*``
variants; None: reported, not judged.  Written down before any RL policy was scored against them, from the
targets a trained policy must meet (each value and its reason: docs/validation.md); never loosened to pass."""

REFERENCE_COLUMNS = ("price-taking", "continuum", "PI solver")
"""Extra columns: the price-taking rule played at N in the same economy, the continuum solver's number, and the
price-impact solver's own number (its continuum on the histogram)."""

WELFARE_BAND = "welfare 2sd band"
"""The extra column of the welfare rows: their estimate's 2 sd over the simulated economies (of the mean)."""


def tolerances_for(experiment: Experiment) -> Dict[str, Optional[float]]:
    """The default tolerances of :data:`SAME_ECONOMY_TOLERANCES` for a KS experiment (by its number of types)."""
    return SAME_ECONOMY_TOLERANCES["ks" if len(experiment.ks.capital_productivity) == 1 else "ks-het"]


class SameEconomyReferences(NamedTuple):
    """The benchmark rules of a KS experiment played by its N households (:func:`same_economy_references`)."""

    experiment: Experiment
    continuum: KrusellSmithSolution
    price_impact: KrusellSmithSolution
    price_taking_actor: KSBenchmarkActor
    price_impact_actor: KSBenchmarkActor
    price_taking_panel: Panel
    price_impact_panel: Panel
    price_taking_scores: KSScores
    price_impact_scores: KSScores


def same_economy_references(experiment: Experiment, *, n_periods: int, burn_in: int, n_economies: int,
                            seed: int = 0, **solver_options) -> SameEconomyReferences:
    """Solve both benchmarks (cached per process) and simulate each rule in the RL economy.

    The panels use ``simulate_agents`` with exactly these settings: an RL
    panel simulated with the same ones sees the same shocks from the same
    initial states.  ``solver_options`` go to both solves (e.g. a smaller
    panel in tests).
    """
    experiment = _require_ks(experiment)
    continuum = ks_benchmark(experiment, **solver_options)
    finite = price_impact_benchmark(experiment, **solver_options)
    settings = dict(n_periods=n_periods, burn_in=burn_in, n_economies=n_economies, seed=seed)
    taking, impact = KSBenchmarkActor(experiment, continuum), KSBenchmarkActor(experiment, finite)
    taking_panel = simulate_agents(taking, experiment, **settings)
    impact_panel = simulate_agents(impact, experiment, **settings)
    return SameEconomyReferences(experiment, continuum, finite, taking, impact, taking_panel, impact_panel,
                                 ks_scores(taking_panel, experiment, continuum),
                                 ks_scores(impact_panel, experiment, continuum))


def _errors_on(policy, reference: Panel, benchmark: KSBenchmarkActor, sample_every: int):
    """chat_policy - chat* on every ``sample_every``-th state of ``reference`` (observations rebuilt by rl.core):
    (difference, employed), each (S, E, N)."""
    actor = as_actor(policy)
    diffs, employed = [], []
    with one_torch_thread():
        for t in range(0, reference.n_periods, sample_every):
            state = reference.state(t)
            actions = np.asarray(actor(reference.observations(t)), dtype=float)
            actions = actions.reshape(reference.n_economies, reference.n_households, -1)
            chat_star = benchmark.consumption_fraction(state.capital, state.employed, state.aggregate_state)
            diffs.append(action_to_fraction(actions[..., 0]) - chat_star)
            employed.append(state.employed)
    return np.array(diffs), np.array(employed)


def _bias(diff, employed, types, num_types) -> dict:
    """Signed mean error by (type, employed)."""
    out = {}
    for t in range(num_types):
        mine = np.broadcast_to(types == t, diff.shape)
        for e in (True, False):
            sel = mine & (employed == e)
            out[(t, e)] = float(diff[sel].mean()) if sel.any() else float("nan")
    return out


def realised_euler(panel, experiment, price_impact) -> dict:
    """``{(type, employed): (mean, 2 sd over economies)}`` of beta R'_i c_t / c_{t+1} - 1 along ``panel`` (keys as
    :func:`_bias`: type index in the calibration's order, employment at t).

    R'_i = 1 - delta + kappa_i r' [1 + (phi/N)_i (1 - alpha)(l'_i / L' - kappa_i k'_i / K')], the private return
    of docs/finite_n.md with ``price_impact`` = phi / N per type (0: the market return), from the panel's own
    next-period prices and holdings; grouped by the household's type and employment at t, averaged within each
    economy (the economies are independent; periods of one household are not), then over economies.  A panel
    with consumption that is not positive somewhere (the environment's never is) is refused, not divided by.
    """
    smallest = float(np.min(panel.consumption))
    if not smallest > 0.0:  # also catches NaN
        raise ValueError(f"realised_euler: consumption must be positive in every period, got {smallest!r}")
    types = _household_types(experiment)
    kappa = np.asarray(experiment.capital_productivity, dtype=float)
    impact = np.asarray(price_impact, dtype=float)[types]
    K, L = panel.effective_capital[1:, :, None], panel.effective_labour[1:, :, None]
    own = (1.0 - experiment.alpha) * (panel.labour[1:] / L - kappa * panel.capital[1:] / K)
    R = 1.0 - experiment.delta + kappa * panel.interest_rate[1:, :, None] * (1.0 + impact * own)
    residual = experiment.beta * R * panel.consumption[:-1] / panel.consumption[1:] - 1.0
    employed = panel.employed[:-1]
    out = {}
    for t in range(len(experiment.ks.capital_productivity)):
        for e in (True, False):
            mine = (types == t)[None, None, :] & (employed == e)
            per_economy = np.array([residual[:, j][mine[:, j]].mean() for j in range(panel.n_economies)
                                    if mine[:, j].any()])
            if per_economy.size:
                band = (2.0 * float(per_economy.std(ddof=1)) / float(np.sqrt(per_economy.size))
                        if per_economy.size > 1 else float("nan"))
                out[(t, e)] = (float(per_economy.mean()), band)
    return out


@dataclass(frozen=True, eq=False)
class SameEconomyScores:
    """Scores of a KS panel against the benchmark rules played in the same economy (:func:`same_economy_scores`)."""

    references: SameEconomyReferences
    rl: KSScores
    """The RL panel's statistics (scored against the continuum solver by :func:`ks_scores`)."""
    chat_bias: Mapping[tuple, float]
    """Signed mean chat_RL - chat* on the price-impact panel's states, by (type, employed)."""
    chat_bias_price_taking: Mapping[tuple, float]
    """The same against the price-taking rule on the price-taking panel's states."""
    policy_error: Mapping[str, float]
    """Mean and max |chat_RL - chat*| on the price-impact panel's states."""
    consumption_fraction_error: float
    """Mean |chat_RL - chat*_PI| on the RL panel's own states."""
    welfare: Mapping[str, Mapping[str, List[Gain]]]
    """:func:`validation.welfare.switching_gains` of the policy against ``price-impact`` and (unless
    :func:`same_economy_scores` skipped it) ``price-taking``."""
    realised_euler: Mapping[tuple, tuple]
    """:func:`realised_euler` along the RL panel, by (type, employed): (mean, 2 sd over economies)."""
    benchmark_realised_euler: Mapping[tuple, tuple]
    """The same along the price-impact rule's panel."""

    @property
    def experiment(self) -> Experiment:
        return self.references.experiment

    @property
    def n_households(self) -> int:
        return self.rl.n_households

    def type_name(self, t: int) -> str:
        return self.rl.type_name(t)

    def _solver_shares(self, solution: KrusellSmithSolution) -> np.ndarray:
        held = np.asarray(solution.capital_by_type) * np.asarray(self.experiment.ks.type_shares)
        return held / held.sum()

    def _metrics(self) -> List[tuple]:
        """(name, family, benchmark, rl, distance, references) of every row."""
        refs = self.references
        pi, pt, rl = refs.price_impact_scores, refs.price_taking_scores, self.rl
        cont, pisol = refs.continuum, refs.price_impact
        out = [("mean_capital", "mean_capital", pi.mean_capital, rl.mean_capital,
                relative_distance(rl.mean_capital, pi.mean_capital),
                (pt.mean_capital, cont.mean_capital, pisol.mean_capital))]
        for what in ("wealth", "capital"):
            g_pi, g_rl = getattr(pi, f"gini_{what}"), getattr(rl, f"gini_{what}")
            out.append((f"gini_{what}", f"gini_{what}", g_pi, g_rl, abs(g_rl - g_pi),
                        (getattr(pt, f"gini_{what}"), getattr(cont, f"gini_{what}"), getattr(pisol, f"gini_{what}"))))
        num_types = rl.num_types
        if num_types > 1:
            def order(k):
                return " < ".join(rl.type_name(t) for t in np.argsort(k, kind="stable"))

            k_pi, k_rl = np.asarray(pi.type_mean_capital), np.asarray(rl.type_mean_capital)
            discordant = sum(1 for i in range(num_types) for j in range(i + 1, num_types)
                             if np.sign(k_rl[i] - k_rl[j]) != np.sign(k_pi[i] - k_pi[j]))
            out.append(("type_capital_order", "type_capital_order", order(k_pi), order(k_rl), discordant, None))
            s_cont, s_pisol = self._solver_shares(cont), self._solver_shares(pisol)
            for t in range(num_types):
                s_pi, s_rl, s_pt = (float(x.type_capital_share[t]) for x in (pi, rl, pt))
                out.append((f"type_capital_share_{rl.type_name(t)}", "type_capital_share", s_pi, s_rl,
                            abs(s_rl - s_pi), (s_pt, float(s_cont[t]), float(s_pisol[t]))))
        for t in range(num_types):
            f_pi, f_rl, f_pt = (x.type_consumption_fraction[t] for x in (pi, rl, pt))
            out.append((f"type_consumption_fraction_{rl.type_name(t)}", "type_consumption_fraction", f_pi, f_rl,
                        abs(f_rl - f_pi), (f_pt, cont.consumption_fraction_by_type[t],
                                           pisol.consumption_fraction_by_type[t])))
        for t in range(num_types):
            prefix = "chat_bias" if num_types == 1 else f"chat_bias_{rl.type_name(t)}"
            for e, status in ((True, "employed"), (False, "unemployed")):
                bias = self.chat_bias[(t, e)]
                out.append((f"{prefix}_{status}", "chat_bias", 0.0, bias, abs(bias),
                            (self.chat_bias_price_taking[(t, e)], None, None)))
        for (t, e), (mean, band) in self.realised_euler.items():
            prefix = "realised_euler" if num_types == 1 else f"realised_euler_{rl.type_name(t)}"
            bench = self.benchmark_realised_euler[(t, e)][0]
            out.append((f"{prefix}_{'employed' if e else 'unemployed'}", "realised_euler", bench, mean,
                        abs(mean - bench), None, band))
        out.append(("policy_error_mean", "policy_error_mean", 0.0, self.policy_error["all"],
                    self.policy_error["all"], None))
        out.append(("policy_error_max", "policy_error_max", 0.0, self.policy_error["max"], self.policy_error["max"],
                    None))
        out.append(("consumption_fraction_error", "consumption_fraction_error", 0.0, self.consumption_fraction_error,
                    self.consumption_fraction_error, None))
        for kind in ("unilateral", "economy"):
            for t in range(num_types):
                gain = self.welfare["price-impact"][kind][t]
                taking = self.welfare["price-taking"][kind][t].mean if "price-taking" in self.welfare else None
                out.append((f"welfare_{kind}_{rl.type_name(t)}", f"welfare_{kind}", 0.0, gain.mean,
                            max(gain.mean, 0.0), (taking, None, None), gain.band))
        # law of motion against the price-impact panel's fitted law
        for state in ("good", "bad"):
            (a, b), (a0, b0), (_, b1) = rl.alm[state], pi.alm[state], pt.alm[state]
            out.append((f"lom_slope_{state}", "lom_slope", b0, b, abs(b - b0),
                        (b1, cont.alm[state][1], pisol.alm[state][1])))
            out.append((f"lom_intercept_{state}", "lom_intercept", a0, a, abs(a - a0),
                        (pt.alm[state][0], cont.alm[state][0], pisol.alm[state][0])))
            out.append((f"lom_r2_{state}", "lom_r2", pi.r_squared[state], rl.r_squared[state],
                        1.0 - rl.r_squared[state], (pt.r_squared[state], cont.r_squared[state],
                                                    pisol.r_squared[state])))
        out.append(("lom_gap_percent", "lom_gap_percent", 0.0, _lom_gap(rl, refs), _lom_gap(rl, refs),
                    (_lom_gap(pt, refs), None, None)))
        out.append(("lom_den_haan_max_percent", "lom_den_haan_max_percent", pi.den_haan_max, rl.den_haan_max,
                    abs(rl.den_haan_max - pi.den_haan_max), (pt.den_haan_max, cont.den_haan_max,
                                                             pisol.den_haan_max)))
        return out

    def rows(self, tolerances: Optional[Mapping[str, Optional[float]]] = None) -> List[Row]:
        """Scorecard rows; ``tolerances`` overrides :func:`tolerances_for` by family (``chat_bias``) or metric
        (``chat_bias_employed``); None un-judges a row.  The benchmark column is the price-impact rule at N in
        the same economy; ``references`` hold the other columns (:data:`REFERENCE_COLUMNS`, and for the
        welfare rows ``welfare 2sd band``, 2 sd of the mean over the simulated economies)."""
        metrics = self._metrics()
        tol = resolve_tolerances(tolerances_for(self.experiment), tolerances, [(m[0], m[1]) for m in metrics])
        rows = []
        for name, _, bench, rl, dist, refs, *band in metrics:
            columns = {} if refs is None else {k: v for k, v in zip(REFERENCE_COLUMNS, refs) if v is not None}
            if band:
                columns[WELFARE_BAND if name.startswith("welfare_") else "2sd band"] = band[0]
            rows.append(judged_row(name, bench, rl, dist, tol[name], columns or None))
        return rows

    def summary(self) -> dict:
        """Plain-Python numbers of the three benchmarks and the RL panel for a JSON report."""
        refs = self.references

        def describe(scores: KSScores) -> dict:
            return {"mean_capital": scores.mean_capital, "gini_wealth": scores.gini_wealth,
                    "gini_capital": scores.gini_capital, "type_capital_share": scores.type_capital_share.tolist(),
                    "type_consumption_fraction": list(scores.type_consumption_fraction),
                    "alm": {k: list(v) for k, v in scores.alm.items()}}

        def solver(sol: KrusellSmithSolution) -> dict:
            return {"n_agents": sol.n_agents, "mean_capital": sol.mean_capital, "gini_wealth": sol.gini_wealth,
                    "gini_capital": sol.gini_capital, "capital_share": self._solver_shares(sol).tolist(),
                    "consumption_fraction_by_type": list(sol.consumption_fraction_by_type),
                    "alm": {k: list(v) for k, v in sol.alm.items()}}

        return {"experiment": self.experiment.name, "n_households": self.n_households,
                "rl": describe(self.rl), "price_impact_at_n": describe(refs.price_impact_scores),
                "price_taking_at_n": describe(refs.price_taking_scores),
                "continuum_solver": solver(refs.continuum), "price_impact_solver": solver(refs.price_impact),
                "welfare": {name: {kind: [g.mean for g in gains] for kind, gains in w.items()}
                            for name, w in self.welfare.items()}}


def _lom_gap(scores: KSScores, refs: SameEconomyReferences) -> float:
    """max over log K in the price-impact panel's range and both states of 100 |log K'_panel - log K'_PI|."""
    K = refs.price_impact_panel.effective_capital
    grid = np.linspace(np.log(K.min()), np.log(K.max()), 50)
    pi = refs.price_impact_scores.alm
    return 100.0 * max(float(np.max(np.abs((scores.alm[s][0] + scores.alm[s][1] * grid)
                                           - (pi[s][0] + pi[s][1] * grid)))) for s in ("good", "bad"))


def same_economy_scores(panel: Panel, policy, references: SameEconomyReferences, *,
                        welfare: Optional[Scenario] = None, sample_every: int = 5,
                        reference_welfare: bool = True) -> SameEconomyScores:
    """Score a KS panel of ``policy`` against the benchmark rules played in the same economy.

    ``panel`` must be ``simulate_agents(policy, references.experiment, ...)``
    with the settings of ``references`` (same seed: same shocks and initial
    states).  ``welfare`` sets the welfare simulations
    (:class:`validation.welfare.Scenario`; default 8 economies, 500 periods
    of burn-in under ``policy``, the horizon beta^T < 1e-8, seed of the panel).
    ``sample_every``: kept periods between the reference states at which the
    policy is compared with a rule.  ``reference_welfare=False`` skips the
    welfare simulations of switching to the price-taking rule, which only fill
    the welfare rows' reference column (they halve the cost of the welfare
    rows; the training-time evaluation, which reads only the judged rows,
    skips them).
    """
    if not isinstance(references, SameEconomyReferences):
        raise TypeError(f"references must come from same_economy_references, got {type(references).__name__}")
    exp = references.experiment
    ref = references.price_impact_panel
    if not isinstance(panel, Panel) or panel.experiment != exp:
        raise ValueError("panel must be a Panel simulated with the references' experiment")
    if (panel.seed, panel.burn_in, panel.n_periods, panel.n_economies) != (ref.seed, ref.burn_in, ref.n_periods,
                                                                            ref.n_economies):
        raise ValueError(f"panel must be simulated like the reference panels (seed {ref.seed}, burn_in "
                         f"{ref.burn_in}, n_periods {ref.n_periods}, n_economies {ref.n_economies}) so that it "
                         f"sees the same shocks; got seed {panel.seed}, burn_in {panel.burn_in}, n_periods "
                         f"{panel.n_periods}, n_economies {panel.n_economies}")
    sample_every = checks.positive_int("sample_every", sample_every)
    welfare = Scenario(seed=panel.seed) if welfare is None else welfare
    types = _household_types(exp)
    num_types = len(exp.ks.capital_productivity)
    diff, employed = _errors_on(policy, ref, references.price_impact_actor, sample_every)
    diff_pt, employed_pt = _errors_on(policy, references.price_taking_panel, references.price_taking_actor,
                                      sample_every)
    own = np.array([panel.consumption_fraction[t] - references.price_impact_actor.consumption_fraction(
        panel.capital[t], panel.employed[t], panel.aggregate_state[t]) for t in range(0, panel.n_periods,
                                                                                      sample_every)])
    others = {"price-impact": references.price_impact_actor}
    if reference_welfare:
        others["price-taking"] = references.price_taking_actor
    gains = switching_gains(policy, others, exp, welfare)
    impact = references.price_impact.price_impact
    return SameEconomyScores(
        references=references,
        rl=ks_scores(panel, exp, references.continuum),
        chat_bias=_bias(diff, employed, types, num_types),
        chat_bias_price_taking=_bias(diff_pt, employed_pt, types, num_types),
        policy_error={"all": float(np.abs(diff).mean()), "max": float(np.abs(diff).max())},
        consumption_fraction_error=float(np.abs(own).mean()),
        welfare=gains,
        realised_euler=realised_euler(panel, exp, impact),
        benchmark_realised_euler=realised_euler(ref, exp, impact),
    )
