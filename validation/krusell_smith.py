"""Krusell-Smith scorecard: the experiments ``ks``, ``ks-het-mild`` and ``ks-het-marked``.

The benchmark is the Krusell-Smith law-of-motion solution of the
experiment's calibration (:func:`ks_benchmark`, cached per process).
:class:`KSBenchmarkActor` plays that solution's consumption rule as actions,
so it can be simulated in the RL economy like any policy (the reference and
positive control); :func:`ks_scores` scores a :class:`rl.rollout.Panel`
against the benchmark: law of motion, Ginis and Lorenz curves, consumption
fraction against wealth, the policy error and the per-type rows.
Metrics, tolerances and where the finite-N comparison is imperfect:
docs/validation.md.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional

import numpy as np
import quantecon as qe

from econ import checks
from econ.economy import ACTION_EPS, action_to_fraction, fraction_to_action, markets
from econ.experiments import Experiment
from econ.krusell_smith.solver import KrusellSmithSolution, den_haan_errors, fit_alm, gini, solve_krusell_smith
from rl.rollout import Actor, Panel, as_actor, economies_in, one_torch_thread, simulate_agents
from validation.scorecard import Row, judged_row, relative_distance, require_technology, resolve_tolerances

KS_EXPERIMENTS = ("ks", "ks-het-mild", "ks-het-marked")

KS_TOLERANCES: Dict[str, Optional[float]] = {
    "lom_slope": 0.04,
    "lom_intercept": None,
    "lom_r2": 0.05,
    "lom_gap_percent": 0.5,
    "lom_den_haan_max_percent": None,
    "mean_capital": 0.05,
    "gini_wealth": 0.05,
    "gini_capital": 0.05,
    "consumption_fraction_error": 0.02,
    "policy_error_mean": 0.02,
    "policy_error_max": None,
    "type_capital_order": 0.0,
    "type_capital_share": 0.10,
    "type_relative_capital": None,
    "type_consumption_fraction": 0.05,
}
"""Default tolerances of the KS scorecard by metric family (``distance <= tolerance`` passes; None: reported,
not judged).  Calibrated on the benchmark's own policy in the N = 20 economy, which must pass every row, and on
constant-action controls, which must fail; each value with its reason and measurements: docs/validation.md."""


def _require_ks(experiment) -> Experiment:
    return require_technology(experiment, "ks", f"a Krusell-Smith experiment ({', '.join(KS_EXPERIMENTS)})")


# ----------------------------------------------------------------------------- benchmark
@functools.lru_cache(maxsize=8)
def _solve_cached(params, seed: int, options: tuple) -> KrusellSmithSolution:
    return solve_krusell_smith(params, seed=seed, **dict(options))


def ks_benchmark(experiment: Experiment, *, seed: int = 0, **solver_options) -> KrusellSmithSolution:
    """The KS law-of-motion solution of a KS experiment's calibration, cached per process.

    The experiment's ``ks`` field *is* the solver's calibration
    (:func:`econ.experiments.make_experiment` builds it with the same
    constructors as ``python -m econ ks --calibration NAME``, alpha, beta
    and delta synced to the experiment's, and the kappa types with their
    shares), so the benchmark is ``solve_krusell_smith(experiment.ks)``:
    Young's histogram over 1,100 periods by default (docs/krusell_smith.md), independent of
    the experiment's N.  The cache is keyed by that calibration, the seed and
    the solver options (``functools.lru_cache``; a solve takes 5-20 s).
    Note: the solver always uses exact unemployment counts; an experiment run
    with ``exact_unemployment=False`` is still compared with it.
    """
    experiment = _require_ks(experiment)
    seed = checks.positive_int("seed", seed, 0)
    return _solve_cached(experiment.ks, seed, tuple(sorted(solver_options.items())))


def price_impact_benchmark(experiment: Experiment, *, seed: int = 0, **solver_options) -> KrusellSmithSolution:
    """The finite-N (price-impact) KS solution at the experiment's N, cached like :func:`ks_benchmark`.

    ``solve_krusell_smith(experiment.ks, n_agents=experiment.num_agents)``:
    each household's Euler equation uses its private return: its own effect on prices, net of the other
    households' reactions to it by default (``conjecture="consistent"``; docs/finite_n.md), and the unemployment
    rates and employment transition of an N-household economy with the experiment's ``exact_unemployment``.
    """
    experiment = _require_ks(experiment)
    solver_options.setdefault("exact_unemployment", bool(experiment.exact_unemployment))
    return ks_benchmark(experiment, seed=seed, n_agents=experiment.num_agents, **solver_options)


def _household_types(experiment: Experiment) -> np.ndarray:
    """Index into ``experiment.ks.capital_productivity`` of each household's kappa."""
    types_kappa = np.asarray(experiment.ks.capital_productivity)
    kappa = np.asarray(experiment.capital_productivity)
    match = np.isclose(kappa[:, None], types_kappa[None, :], rtol=1e-12, atol=0.0)
    if not np.all(match.any(axis=1)):
        bad = sorted(set(kappa[~match.any(axis=1)].tolist()))
        raise ValueError(f"experiment capital_productivity has values {bad} that are not among the KS types "
                         f"{tuple(types_kappa)}: no benchmark policy for them")
    return np.argmax(match, axis=1).astype(np.int64)


def _check_benchmark(experiment: Experiment, benchmark) -> KrusellSmithSolution:
    if benchmark is None:
        return ks_benchmark(experiment)
    if not isinstance(benchmark, KrusellSmithSolution):
        raise TypeError(f"benchmark must be a KrusellSmithSolution (see ks_benchmark), got {type(benchmark).__name__}")
    if benchmark.params != experiment.ks:
        raise ValueError("benchmark was solved for a different calibration than experiment.ks; "
                         "use ks_benchmark(experiment)")
    return benchmark


class KSBenchmarkActor:
    """The KS solution's own consumption rule played as actions (an :data:`Actor`).

    From each household's observation it recovers k_i (``capital`` times
    ``capital_scale``), e_i (``employed``) and z (``aggregate_state``, or the
    sign of ``log_tfp`` about the midpoint of log z_bad and log z_good); its
    type comes from its position in the economy (rows are economies of N
    households in order).  Wealth a_i and K come from
    :func:`econ.economy.markets` on the decoded cross-section -- the same
    equations the environment steps with -- and the rule's consumption
    c(k_i, K; z, e_i, type) (:meth:`econ.krusell_smith.solver.HouseholdPolicy.evaluate`,
    bilinear in (k, K)) becomes chat = c / a and the action
    :func:`econ.economy.fraction_to_action` (chat) (clipped to [0.005, 0.995],
    which the benchmark's chat never leaves in the experiments' calibrations).
    A finite-N (price-impact) solution's rule is read at K clamped to its K
    grid, as the solver's own simulation reads it (``clamp_aggregate``).
    Observations are float32, so k and K are recovered to about 1e-7
    relative.  ``clipped`` counts the household-periods whose chat had to be clipped.
    """

    def __init__(self, experiment: Experiment, solution: KrusellSmithSolution):
        self.experiment = _require_ks(experiment)
        self.solution = _check_benchmark(self.experiment, solution)
        obs = self.experiment.observations
        for needed in ("capital", "employed"):
            if needed not in obs:
                raise ValueError(f"the benchmark actor needs the observation {needed!r}; experiment observes {obs}")
        if "aggregate_state" not in obs and "log_tfp" not in obs:
            raise ValueError(f"the benchmark actor needs the observation 'aggregate_state' or 'log_tfp'; "
                             f"experiment observes {obs}")
        self._capital = obs.index("capital")
        self._employed = obs.index("employed")
        ks = self.experiment.ks
        if "aggregate_state" in obs:
            self._z_column, self._z_threshold = obs.index("aggregate_state"), 0.5
        else:
            scale = getattr(self.experiment, "tfp_scale", 1.0)
            self._z_column = obs.index("log_tfp")
            self._z_threshold = 0.5 * (math.log(ks.z_bad) + math.log(ks.z_good)) / scale
        self._types = _household_types(self.experiment)
        self._kappa = np.asarray(self.experiment.capital_productivity)
        self.clipped = 0

    def consumption_fraction(self, capital, employed, aggregate_state) -> np.ndarray:
        """chat* = c / a of the benchmark rule for states (E, N), (E, N), (E,)."""
        exp, ks = self.experiment, self.experiment.ks
        capital = np.asarray(capital, dtype=float)
        employed = np.asarray(employed, dtype=bool)
        z = np.asarray(aggregate_state, dtype=np.int64)
        m = markets(capital, ks.labour_endowment * employed, ks.technology[z], alpha=exp.alpha, delta=exp.delta,
                    capital_productivity=self._kappa)
        c = np.empty_like(capital)
        grid = self.solution.policy.aggregate_capital_grid
        for j in range(capital.shape[0]):
            K = float(m.effective_capital[j])
            if self.solution.n_agents is not None:  # read like the solver's simulation reads a finite-N rule
                K = min(max(K, grid[0]), grid[-1])
            c[j] = self.solution.policy.evaluate(capital[j], K, 2 * z[j] + employed[j].astype(np.int64), self._types)
        return c / m.wealth

    def __call__(self, obs) -> np.ndarray:
        obs = np.asarray(obs)
        e_count = economies_in(obs, self.experiment)
        n = self.experiment.num_agents
        capital = obs[:, self._capital].astype(float).reshape(e_count, n) * self.experiment.capital_scale
        employed = obs[:, self._employed].reshape(e_count, n) > 0.5
        z = (obs[:, self._z_column].reshape(e_count, n)[:, 0] > self._z_threshold).astype(np.int64)
        chat = self.consumption_fraction(capital, employed, z)
        self.clipped += int(np.sum((chat < ACTION_EPS) | (chat > 1.0 - ACTION_EPS)))
        return fraction_to_action(chat).reshape(-1, 1)


def ks_benchmark_actor(experiment: Experiment, solution: Optional[KrusellSmithSolution] = None) -> KSBenchmarkActor:
    """The KS benchmark's own policy as an actor (``solution`` defaults to :func:`ks_benchmark`)."""
    return KSBenchmarkActor(experiment, solution)


# ----------------------------------------------------------------------------- KS scores
def _fit_law_of_motion(panel: Panel):
    """Pooled OLS per aggregate state of log K_{t+1} on log K_t over all economies' kept periods.

    Returns ``(alm (2, 2) [z] = (a, b), r2 (2,), x, y, z)`` with the pooled pairs.
    """
    logK = np.log(panel.effective_capital)  # (T, E)
    x, y, z = logK[:-1].ravel(), logK[1:].ravel(), panel.aggregate_state[:-1].ravel()
    alm, r2 = fit_alm(x, y, z)
    return alm, r2, x, y, z


@dataclass(frozen=True, eq=False)
class KSScores:
    """Scores of a KS panel against the law-of-motion benchmark (:func:`ks_scores`).

    Dictionaries keyed by aggregate state hold ``(a, b)`` of log K' = a + b log K.
    """

    experiment: Experiment
    n_households: int
    n_economies: int
    n_periods: int
    alm: Mapping[str, tuple]
    """The law re-estimated from the panel (pooled OLS over economies, per z_t)."""
    r_squared: Mapping[str, float]
    benchmark_alm: Mapping[str, tuple]
    benchmark_r_squared: Mapping[str, float]
    lom_gap_percent: float
    """max over log K in the benchmark's ergodic range and both states of 100 |log K'_RL - log K'_bench|."""
    den_haan_max: float
    """Den Haan's dynamic forecast error (percent) of the panel's own fitted law, worst economy."""
    benchmark_den_haan_max: float
    mean_capital: float
    """Mean effective capital K over the kept periods and economies."""
    benchmark_mean_capital: float
    gini_wealth: float
    """Gini of the pooled sample of a_{i,t} (every ``gini_every``-th kept period, all economies)."""
    gini_capital: float
    benchmark_gini_wealth: float
    """The solver's: mean over every 10th kept period of the Gini of its population (histogram by default)."""
    benchmark_gini_capital: float
    lorenz_wealth: tuple = field(repr=False)
    """(population share, wealth share) of the pooled sample (:func:`quantecon.lorenz_curve`)."""
    benchmark_lorenz_wealth: tuple = field(repr=False)
    """The solver's final-period cross-section (histogram nodes by default, weighted)."""
    consumption_fraction_error: Mapping[str, float]
    """Mean |chat_RL - chat*| on the panel's sampled states, ``all``, ``employed``, ``unemployed``."""
    consumption_bins: tuple = field(repr=False)
    """One dict per (type, employed) group: ``type``, ``employed``, ``wealth`` (bin means), ``rl`` and
    ``benchmark`` (mean chat in the bin; the benchmark's at the same states), ``count``."""
    benchmark_policy_curves: tuple = field(repr=False)
    """(wealth, chat), each [type, state, k], of the benchmark rule at its mean K (state = 2 z + e)."""
    capital_productivity: tuple
    """kappa of each type."""
    type_mean_capital: tuple
    benchmark_type_mean_capital: tuple
    type_consumption_fraction: tuple
    benchmark_type_consumption_fraction: tuple
    type_shares: tuple
    """Population shares of the types in the benchmark (the RL economy's are the experiment's counts / N)."""
    type_counts: tuple
    """Households of each type per RL economy."""
    lom_sample: tuple = field(repr=False)
    """(log K_t, log K_{t+1}, z_t) pooled pairs of the panel, for the scatter."""
    benchmark_capital_range: tuple
    """(min, max) of the benchmark's kept K path."""
    policy_error: Optional[Mapping[str, float]] = None
    """Spec 5's policy error on the benchmark's ergodic states (when ``ks_scores`` got the policy):
    mean |chat_RL - chat*| ``all``, ``employed``, ``unemployed`` and ``max``."""

    # --------------------------------------------------------------- derived
    @property
    def num_types(self) -> int:
        return len(self.capital_productivity)

    @staticmethod
    def _shares(mean_capital, weights) -> np.ndarray:
        held = np.asarray(mean_capital) * np.asarray(weights)
        return held / held.sum()

    @property
    def type_capital_share(self) -> np.ndarray:
        return self._shares(self.type_mean_capital, self.type_counts)

    @property
    def benchmark_type_capital_share(self) -> np.ndarray:
        return self._shares(self.benchmark_type_mean_capital, self.type_shares)

    @property
    def type_relative_capital(self) -> np.ndarray:
        """Mean capital of each type over the mean capital of all households."""
        k, w = np.asarray(self.type_mean_capital), np.asarray(self.type_counts, dtype=float)
        return k / (k @ w / w.sum())

    @property
    def benchmark_type_relative_capital(self) -> np.ndarray:
        k, w = np.asarray(self.benchmark_type_mean_capital), np.asarray(self.type_shares)
        return k / (k @ w)

    def type_name(self, t: int) -> str:
        return f"kappa{self.capital_productivity[t]:g}"

    # --------------------------------------------------------------- rows
    def _metrics(self) -> List[tuple]:
        """(name, family, benchmark, rl, distance) of every row."""
        out = []
        for state in ("good", "bad"):
            (a, b), (a0, b0) = self.alm[state], self.benchmark_alm[state]
            out.append((f"lom_slope_{state}", "lom_slope", b0, b, abs(b - b0)))
            out.append((f"lom_intercept_{state}", "lom_intercept", a0, a, abs(a - a0)))
            out.append((f"lom_r2_{state}", "lom_r2", self.benchmark_r_squared[state], self.r_squared[state],
                        1.0 - self.r_squared[state]))
        out.append(("lom_gap_percent", "lom_gap_percent", 0.0, self.lom_gap_percent, self.lom_gap_percent))
        out.append(("lom_den_haan_max_percent", "lom_den_haan_max_percent", self.benchmark_den_haan_max,
                    self.den_haan_max, abs(self.den_haan_max - self.benchmark_den_haan_max)))
        out.append(("mean_capital", "mean_capital", self.benchmark_mean_capital, self.mean_capital,
                    relative_distance(self.mean_capital, self.benchmark_mean_capital)))
        out.append(("gini_wealth", "gini_wealth", self.benchmark_gini_wealth, self.gini_wealth,
                    abs(self.gini_wealth - self.benchmark_gini_wealth)))
        out.append(("gini_capital", "gini_capital", self.benchmark_gini_capital, self.gini_capital,
                    abs(self.gini_capital - self.benchmark_gini_capital)))
        for key in ("all", "employed", "unemployed"):
            name = "consumption_fraction_error" if key == "all" else f"consumption_fraction_error_{key}"
            value = self.consumption_fraction_error[key]
            out.append((name, "consumption_fraction_error", 0.0, value, value))
        if self.policy_error is not None:
            for key in ("all", "employed", "unemployed"):
                name = "policy_error_mean" if key == "all" else f"policy_error_mean_{key}"
                value = self.policy_error[key]
                out.append((name, "policy_error_mean", 0.0, value, value))
            out.append(("policy_error_max", "policy_error_max", 0.0, self.policy_error["max"],
                        self.policy_error["max"]))
        if self.num_types > 1:
            rl_k, bench_k = np.asarray(self.type_mean_capital), np.asarray(self.benchmark_type_mean_capital)
            discordant = sum(1 for i in range(self.num_types) for j in range(i + 1, self.num_types)
                             if np.sign(rl_k[i] - rl_k[j]) != np.sign(bench_k[i] - bench_k[j]))

            def order(k):
                return " < ".join(self.type_name(t) for t in np.argsort(k, kind="stable"))

            out.append(("type_capital_order", "type_capital_order", order(bench_k), order(rl_k), discordant))
            shares, bench_shares = self.type_capital_share, self.benchmark_type_capital_share
            rel, bench_rel = self.type_relative_capital, self.benchmark_type_relative_capital
            for t in range(self.num_types):
                name = self.type_name(t)
                out.append((f"type_capital_share_{name}", "type_capital_share", float(bench_shares[t]),
                            float(shares[t]), abs(shares[t] - bench_shares[t])))
                out.append((f"type_relative_capital_{name}", "type_relative_capital", float(bench_rel[t]),
                            float(rel[t]), relative_distance(rel[t], bench_rel[t])))
                f, f0 = self.type_consumption_fraction[t], self.benchmark_type_consumption_fraction[t]
                out.append((f"type_consumption_fraction_{name}", "type_consumption_fraction", f0, f, abs(f - f0)))
        return out

    def rows(self, tolerances: Optional[Mapping[str, Optional[float]]] = None) -> List[Row]:
        """Scorecard rows; ``tolerances`` overrides :data:`KS_TOLERANCES` by family (``lom_slope``) or metric
        (``lom_slope_bad``); None un-judges a row.  An unknown key raises ``ValueError``."""
        metrics = self._metrics()
        tol = resolve_tolerances(KS_TOLERANCES, tolerances, [(m[0], m[1]) for m in metrics])
        return [judged_row(name, bench, rl, dist, tol[name]) for name, _, bench, rl, dist in metrics]

    def summary(self) -> dict:
        """Plain-Python numbers for a JSON report (no per-observation arrays)."""
        return {
            "experiment": self.experiment.name,
            "n_households": self.n_households,
            "n_economies": self.n_economies,
            "n_periods": self.n_periods,
            "alm": {k: list(v) for k, v in self.alm.items()},
            "r_squared": dict(self.r_squared),
            "benchmark_alm": {k: list(v) for k, v in self.benchmark_alm.items()},
            "benchmark_r_squared": dict(self.benchmark_r_squared),
            "lom_gap_percent": self.lom_gap_percent,
            "den_haan_max": self.den_haan_max,
            "mean_capital": self.mean_capital,
            "benchmark_mean_capital": self.benchmark_mean_capital,
            "gini_wealth": self.gini_wealth,
            "gini_capital": self.gini_capital,
            "benchmark_gini_wealth": self.benchmark_gini_wealth,
            "benchmark_gini_capital": self.benchmark_gini_capital,
            "consumption_fraction_error": dict(self.consumption_fraction_error),
            "policy_error": None if self.policy_error is None else dict(self.policy_error),
            "capital_productivity": list(self.capital_productivity),
            "type_mean_capital": list(self.type_mean_capital),
            "benchmark_type_mean_capital": list(self.benchmark_type_mean_capital),
            "type_consumption_fraction": list(self.type_consumption_fraction),
            "benchmark_type_consumption_fraction": list(self.benchmark_type_consumption_fraction),
        }


def ks_scores(panel: Panel, experiment: Optional[Experiment] = None,
              benchmark: Optional[KrusellSmithSolution] = None, *, policy=None, reference: Optional[Panel] = None,
              n_bins: int = 12, sample_every: int = 5, gini_every: int = 10) -> KSScores:
    """Score a KS panel against the law-of-motion benchmark (docs/krusell_smith.md and docs/validation.md).

    Parameters
    ----------
    panel : Panel
        From :func:`simulate_agents` on a KS experiment.
    experiment : Experiment or None
        The benchmark's experiment (default ``panel.experiment``); it must have
        the panel's KS calibration (N may differ).
    benchmark : KrusellSmithSolution or None
        Default :func:`ks_benchmark` (experiment) (solved once per process).
    policy : SB3 model or Actor, optional
        The policy that produced ``panel``.  When given, docs/validation.md's policy error
        is computed: the policy's chat against the benchmark rule's on the
        states of ``reference``.
    reference : Panel, optional
        The benchmark's own ergodic simulation in the RL economy (default:
        :func:`ks_benchmark_actor` simulated like ``panel``: same
        experiment, periods, burn-in, economies and seed).  Only used with ``policy``.
    n_bins : int
        Wealth bins (quantiles of the panel's wealth) per (type, employment) group.
    sample_every : int
        Kept periods between the states at which the benchmark rule is
        evaluated for the consumption-fraction comparison.
    gini_every : int
        Kept periods between the cross-sections pooled for the Ginis and Lorenz curve.

    What is compared, and how:

    - Law of motion: OLS of log K_{t+1} on log K_t per z_t, pooling the pairs
      of all economies (each economy's own K and z path), beside the solver's
      coefficients and R^2; the one-step gap between the two laws on the
      benchmark's ergodic K range; den Haan's forecast error of the panel's
      own law (each economy from its first kept K; worst economy).
    - Ginis: the RL economy has N = 20 households, the benchmark a continuum (its histogram).
      The Gini of a sample of 20 is biased down by about 1/N (5%) and is
      noisy, so the RL Gini is that of the *pooled* sample of every economy
      and every ``gini_every``-th kept period (E * N * T / gini_every
      observations).  Pooling over periods adds the time variation of the
      aggregate (K moves by a few percent), negligible beside the
      cross-sectional dispersion.  The benchmark's is the solver's (mean of
      per-period Ginis of its population, every 10th period).
    - Consumption fraction against wealth: the benchmark rule chat* = c*/a at
      the panel's own states (k, K, z, e, type and the wealth a the household
      actually had), against the chosen chat: mean absolute gap, overall and
      by employment; binned means by (type, employment) for the figure.
    - Policy error (with ``policy``): docs/validation.md, mean and max |chat_RL - chat*|
      on the benchmark's own ergodic states (every ``sample_every``-th
      period of ``reference``), overall and by employment.
    - Types (``ks-het-*``): mean capital of each type (also relative to the
      mean and as a share of all capital) and its mean chat, beside the
      solver's ``capital_by_type`` and ``consumption_fraction_by_type``.
    """
    if not isinstance(panel, Panel):
        raise TypeError(f"panel must be a Panel from simulate_agents, got {type(panel).__name__}")
    experiment = _require_ks(panel.experiment if experiment is None else experiment)
    if panel.experiment.technology != "ks" or panel.experiment.ks != experiment.ks:
        raise ValueError("panel was simulated with a different calibration than experiment (panel.experiment.ks "
                         "must equal experiment.ks)")
    bench = _check_benchmark(experiment, benchmark)
    n_bins = checks.positive_int("n_bins", n_bins, 1)
    sample_every = checks.positive_int("sample_every", sample_every)
    gini_every = checks.positive_int("gini_every", gini_every)
    pexp = panel.experiment

    # --- law of motion
    alm, r2, x, y, z = _fit_law_of_motion(panel)
    kept = bench.capital_path[bench.burn_in:]
    grid = np.linspace(np.log(kept.min()), np.log(kept.max()), 50)
    b_alm = np.array([bench.alm["bad"], bench.alm["good"]])
    gap = max(float(np.max(np.abs((alm[zi, 0] + alm[zi, 1] * grid) - (b_alm[zi, 0] + b_alm[zi, 1] * grid))))
              for zi in (0, 1))
    dh = max(den_haan_errors(alm, panel.effective_capital[:, j], panel.aggregate_state[:, j], 0)[0]
             for j in range(panel.n_economies))

    # --- inequality
    wealth_sample = panel.wealth[::gini_every]
    capital_sample = panel.capital[::gini_every]

    # --- consumption fraction at the panel's states
    actor = KSBenchmarkActor(pexp, bench)
    idx = np.arange(0, panel.n_periods, sample_every)
    chat_star = np.empty((idx.size, panel.n_economies, panel.n_households))
    for i, t in enumerate(idx):
        chat_star[i] = actor.consumption_fraction(panel.capital[t], panel.employed[t], panel.aggregate_state[t])
    chat = panel.consumption_fraction[idx]
    emp = panel.employed[idx]
    wealth = panel.wealth[idx]
    err = np.abs(chat - chat_star)
    error = {"all": float(err.mean()),
             "employed": float(err[emp].mean()) if emp.any() else float("nan"),
             "unemployed": float(err[~emp].mean()) if (~emp).any() else float("nan")}
    types = _household_types(pexp)
    num_types = len(experiment.ks.capital_productivity)
    bins = []
    for t in range(num_types):
        mine = np.broadcast_to(types == t, emp.shape)
        for e in (1, 0):
            sel = mine & (emp == bool(e))
            if not sel.any():
                continue
            a, c_rl, c_b = wealth[sel], chat[sel], chat_star[sel]
            edges = np.unique(np.quantile(a, np.linspace(0.0, 1.0, n_bins + 1)))
            which = np.clip(np.searchsorted(edges, a, side="right") - 1, 0, max(edges.size - 2, 0))
            count = np.bincount(which, minlength=max(edges.size - 1, 1))
            keep = count > 0

            def binned(v):
                return (np.bincount(which, weights=v, minlength=count.size)[keep] / count[keep])

            bins.append({"type": t, "employed": bool(e), "wealth": binned(a), "rl": binned(c_rl),
                         "benchmark": binned(c_b), "count": count[keep]})
    curves = bench.policy.at_aggregate_capital(bench.mean_capital)

    # --- policy error on the benchmark's ergodic states
    policy_error = None
    if policy is not None:
        if reference is None:
            reference = simulate_agents(KSBenchmarkActor(pexp, bench), pexp, panel.n_periods, seed=panel.seed,
                                        burn_in=panel.burn_in, n_economies=panel.n_economies)
        elif not isinstance(reference, Panel) or reference.experiment != pexp:
            raise ValueError("reference must be a Panel simulated with the panel's experiment")
        with one_torch_thread():
            policy_error = _policy_error(as_actor(policy), reference, actor, sample_every)

    # --- types
    counts = np.bincount(types, minlength=num_types)
    type_k, type_f = [], []
    for t in range(num_types):
        if counts[t] == 0:
            type_k.append(float("nan"))
            type_f.append(float("nan"))
        else:
            type_k.append(float(panel.capital[:, :, types == t].mean()))
            type_f.append(float(panel.consumption_fraction[:, :, types == t].mean()))

    return KSScores(
        experiment=pexp,
        n_households=panel.n_households,
        n_economies=panel.n_economies,
        n_periods=panel.n_periods,
        alm={"good": (float(alm[1, 0]), float(alm[1, 1])), "bad": (float(alm[0, 0]), float(alm[0, 1]))},
        r_squared={"good": float(r2[1]), "bad": float(r2[0])},
        benchmark_alm=dict(bench.alm),
        benchmark_r_squared=dict(bench.r_squared),
        lom_gap_percent=100.0 * gap,
        den_haan_max=float(dh),
        benchmark_den_haan_max=float(bench.den_haan_max),
        mean_capital=float(panel.effective_capital.mean()),
        benchmark_mean_capital=float(bench.mean_capital),
        gini_wealth=gini(wealth_sample),
        gini_capital=gini(capital_sample),
        benchmark_gini_wealth=float(bench.gini_wealth),
        benchmark_gini_capital=float(bench.gini_capital),
        lorenz_wealth=qe.lorenz_curve(wealth_sample.ravel()),
        benchmark_lorenz_wealth=tuple(bench.lorenz_wealth),
        consumption_fraction_error=error,
        consumption_bins=tuple(bins),
        benchmark_policy_curves=(curves[0], curves[2]),
        capital_productivity=tuple(experiment.ks.capital_productivity),
        type_mean_capital=tuple(type_k),
        benchmark_type_mean_capital=tuple(float(v) for v in bench.capital_by_type),
        type_consumption_fraction=tuple(type_f),
        benchmark_type_consumption_fraction=tuple(float(v) for v in bench.consumption_fraction_by_type),
        type_shares=tuple(experiment.ks.type_shares),
        type_counts=tuple(int(c) for c in counts),
        lom_sample=(x, y, z),
        benchmark_capital_range=(float(kept.min()), float(kept.max())),
        policy_error=policy_error,
    )


def _policy_error(actor: Actor, reference: Panel, benchmark_actor: KSBenchmarkActor, sample_every: int) -> dict:
    """|chat_RL - chat*| on every ``sample_every``-th period of ``reference`` (observations rebuilt by rl.core)."""
    errors, employed = [], []
    for t in range(0, reference.n_periods, sample_every):
        state = reference.state(t)
        actions = np.asarray(actor(reference.observations(t)), dtype=float)
        actions = actions.reshape(reference.n_economies, reference.n_households, -1)
        chat = action_to_fraction(actions[..., 0])
        chat_star = benchmark_actor.consumption_fraction(state.capital, state.employed, state.aggregate_state)
        errors.append(np.abs(chat - chat_star))
        employed.append(state.employed)
    err, emp = np.array(errors), np.array(employed)
    return {"all": float(err.mean()), "max": float(err.max()),
            "employed": float(err[emp].mean()) if emp.any() else float("nan"),
            "unemployed": float(err[~emp].mean()) if (~emp).any() else float("nan")}


