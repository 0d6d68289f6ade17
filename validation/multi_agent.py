"""Scores of multi-agent policies against the classical benchmarks (spec sections 4.4, 4.5 and 5).

Experiments ``ks``, ``ks-het-mild``, ``ks-het-marked`` (benchmark: the
Krusell-Smith law-of-motion solution, :func:`econ.solve_krusell_smith`) and
``general`` (benchmark: the heterogeneous deterministic steady state,
:func:`econ.heterogeneous_steady_state`).

The pieces, in the order a scorecard uses them:

1. **Simulation.** :func:`simulate_agents` runs E independent economies of N
   households under one policy through :mod:`rl.core` (``initial_state`` /
   ``observe`` / ``step``: the environment's own transition, which calls
   :func:`econ.economy.period`, so the economics exist once) and returns a
   :class:`Panel` of raw quantities per period.  A *policy* is an SB3 model
   (anything with ``predict(obs, deterministic=True)``; see
   :func:`model_actor`) or a plain callable ``obs (M, obs_dim) float32 ->
   actions (M, action_size)`` in [-1, 1], where the M = E * N rows are whole
   economies, households in order, economies stacked (the layout of
   :func:`rl.core.observe` reshaped, and of the VecEnv's slots).
2. **Reference policies.** :func:`ks_benchmark_actor` plays the KS solution's
   own consumption rule c(k, K; z, e, type) as an action (chat = c / a,
   then :func:`econ.economy.fraction_to_action`); :func:`steady_state_actor`
   plays the heterogeneous steady state's chat and labour per household;
   :func:`constant_actor` ignores the state (the negative control).
3. **Scores.** :func:`ks_scores` (law of motion, Ginis and Lorenz curves,
   consumption fraction against wealth, per-type capital and consumption
   fraction) and :func:`general_scores` (per-household long-run means and
   the aggregates against the heterogeneous steady state).  Each record's
   ``rows(tolerances)`` gives the scorecard lines (:class:`ScoreRow`: metric,
   benchmark, rl, distance, tolerance, passed); a row with tolerance None is
   reported, not judged.  Default tolerances: :data:`KS_TOLERANCES`,
   :data:`GENERAL_TOLERANCES` (each entry states its reason).
4. **Figures** (PNG through :func:`econ.io.save_figure_atomic`):
   :func:`plot_law_of_motion`, :func:`plot_lorenz`,
   :func:`plot_consumption_fraction`, :func:`plot_general_paths`,
   :func:`plot_general_steady_state`.

Typical use (what ``validation/compare.py`` does)::

    exp = make_experiment("ks")
    bench = ks_benchmark(exp)                                       # cached per process
    panel = simulate_agents(model, exp, **DEFAULT_SIMULATION["ks"], seed=0)
    reference = simulate_agents(ks_benchmark_actor(exp, bench), exp, **DEFAULT_SIMULATION["ks"], seed=0)
    scores = ks_scores(panel, exp, bench, policy=model, reference=reference)  # + spec 5's policy error
    rows = scores.rows()                                            # list of ScoreRow
    reference_rows = ks_scores(reference, exp, bench).rows()        # what the benchmark itself scores at this N
    plot_law_of_motion(scores, "out/ks_law_of_motion.png")

With the same seed the two simulations above see the same aggregate and
employment shocks (:mod:`rl.core` draws them independently of the actions),
so the reference line differs from the RL panel only through the policy.

Where the comparison is imperfect (stated again where it matters):

- The RL economy has N = 20 households; the KS benchmark is a continuum
  approximated by 10,000.  With N = 20 the idiosyncratic employment shocks
  of a few households move the aggregate (in ``ks-het-*`` three high-kappa
  households hold most of the capital), and exact unemployment counts are
  round(u_z N) / N: 1/20 = 5% in good times against the benchmark's 4%, so
  effective labour in good times is 1% lower.  Measured with the benchmark's
  own policy at N = 20 (8 economies x 2,000 periods): mean K 1.4-2.2% below
  the benchmark's, law-of-motion slopes up to 0.008 above it in ``ks`` and
  up to 0.025 in ``ks-het-*`` (the persistent wealth of the few rich
  households adds persistence to K), R^2 0.98-0.9995 instead of 0.9999 and
  den Haan errors of 3-6% instead of 0.2-0.5%.  The default
  tolerances accept these finite-N gaps; run :func:`simulate_agents` with a
  larger N (observations do not depend on N, so a policy trained at N = 20
  can be simulated at N = 200) for a comparison with the continuum.
- ``general``: the heterogeneous steady state is a deterministic limit that
  optimal households approach slowly (a kappa = 1.0 household's Euler
  equation fails by beta (1 - delta + kappa r) - 1 = -0.15% per period), the
  split of capital among the highest-kappa households is indeterminate, and
  the hand-to-mouth corner (chat = 1, and l = 1 with linear utility and
  chi = 1) lies outside the action range [0.005, 0.995].  The scores
  therefore judge the determinate quantities (K, L, Y, r, w, the holders'
  total capital and share) and report individual splits without judging them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

import numpy as np

from econ import checks
from econ.economy import ACTION_EPS, CAPITAL_FLOOR, fraction_to_action, markets
from econ.experiments import Experiment
from econ.heterogeneous import HeterogeneousSteadyState, heterogeneous_steady_state
from econ.krusell_smith.solver import KrusellSmithSolution, den_haan_errors, fit_alm, gini, solve_krusell_smith
from econ.krusell_smith.params import AGGREGATE_STATES
from rl import core
from rl.rollout import Actor, Panel, as_actor, economies_in, one_torch_thread, simulate_agents

KS_EXPERIMENTS = ("ks", "ks-het-mild", "ks-het-marked")

DEFAULT_SIMULATION: Dict[str, dict] = {
    "ks": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
    "ks-het-mild": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
    "ks-het-marked": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
    "general": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
}
"""Simulation settings the default tolerances were calibrated on (16,000 economy-periods).

burn_in = 500 (one episode): from the experiments' initial distribution,
k_0 = capital_scale * U(0.25, 1.75), the benchmark's own policy brings mean
K to its ergodic level within 100-200 periods even in ``ks-het-marked``
(where the high-kappa group accumulates from 11 to 87 units of capital).
8 economies x 2,000 periods give about 8,000 law-of-motion pairs per
aggregate state.  About 2 s of simulation on the 2-core machine for N = 20.
"""

# ----------------------------------------------------------------------------- tolerances
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
"""Default tolerances of the KS scorecard (``distance <= tolerance`` passes; None: reported, not judged).

Calibrated on the benchmark's own policy simulated in the N = 20 RL economy
with :data:`DEFAULT_SIMULATION` (seeds 0-3), which must pass every row, and
on the constant-action negative control, which must fail.

- ``lom_slope`` (absolute, per aggregate state): 0.04.  The benchmark's own
  policy at N = 20 re-estimates slopes 0.004-0.008 above the solver's in
  ``ks``, 0.007-0.019 in ``ks-het-marked`` and 0.013-0.025 in
  ``ks-het-mild`` (finite-N persistence, module docstring; seeds 0-3 within
  0.002 of each other), so the brief's 0.01 would fail the benchmark itself;
  0.04 leaves room for the sampling noise of shorter simulations.  At
  N = 200 (4 economies x 1,000 periods) the benchmark's own policy is
  within 0.0014 in ``ks`` and 0.006 in ``ks-het-*``: pass
  ``{"lom_slope": 0.01}`` there.  The slope alone barely discriminates: a
  constant consumption fraction gives slopes within 0.03 too (the level and
  the distribution rows catch it).
- ``lom_intercept``: reported only.  Intercept and slope are nearly collinear
  (a = (1 - b) log K-bar at the mean), so a slope error of 0.01 shifts the
  intercept by about 0.025 at K-bar = 12; the level is judged by
  ``lom_gap_percent`` and ``mean_capital`` instead.
- ``lom_r2``: distance = 1 - R^2 <= 0.05, i.e. R^2 >= 0.95.  A sanity check
  that a log-linear law describes the economy at all: N = 20 noise brings
  the benchmark's own R^2 down to 0.98 in ``ks-het-marked``.  (A constant
  consumption fraction also has a high R^2: it does not discriminate.)
- ``lom_gap_percent``: max over log K in the benchmark's ergodic range and
  both states of 100 |predicted log K'_RL - predicted log K'_bench|, 0.5:
  the one-step forecasts of the two laws, insensitive to the collinearity.
  A one-step gap g corresponds to a gap of about g / (1 - b) (13 g at
  b = 0.925) in the laws' fixed points, so 0.5% allows about 7% there.
  Measured: 0.10-0.16 for the benchmark's own policy at N = 20 (its K is
  1.5-2% lower); 1.0-7.7 for constant consumption fractions 0.05 and 0.1.
- ``mean_capital`` (relative): 5%; measured finite-N gap 1.4-2.2%.
- ``gini_wealth``, ``gini_capital`` (absolute): 0.05, the brief's tolerance;
  measured finite-N gap up to 0.03 (``ks-het-marked``).
- ``consumption_fraction_error``: mean |chat_RL - chat*| on the RL panel's
  own states, chat* the benchmark rule at the same (k, K, z, e, type) and
  the same wealth; 0.02.  Zero (to float32 rounding, 2e-9) for the
  benchmark's own policy; 0.036-0.085 for constant consumption fractions
  0.05 and 0.1, but only 0.008 for the steady state's 0.16 (see below).
- ``policy_error_mean`` (only when ``ks_scores`` is given the policy): spec
  5's policy error, mean |chat_RL - chat*| on the states of the benchmark's
  own ergodic simulation (its policy simulated in the same RL economy,
  same N), overall and by employment; 0.02.  This is the discriminating
  one: a constant chat keeps every household near the mean, where chat* is
  flat (0.15-0.19 in ``ks``), so on its *own* states its error is below
  0.01; on the benchmark's states, which include poor unemployed households
  with chat* of 0.3-0.6, it is 0.032 in ``ks`` (2e-9 for the benchmark's
  own policy).
  ``policy_error_max``: reported only (one odd state decides it).
- ``type_capital_order`` (types variants): number of pairs of types whose
  mean capital is ordered differently from the benchmark; 0 (the spec's
  qualitative claim: higher kappa, more capital).
- ``type_capital_share`` (absolute, per type): share of all capital held by
  the type, 0.10 (the high group holds 0.85 of it in ``ks-het-marked``).
- ``type_relative_capital``: mean capital of a type over the mean of all
  households, reported only (the share above judges the same thing on a
  bounded scale).
- ``type_consumption_fraction`` (absolute, per type): mean chat, 0.05.
"""

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
"""Default tolerances of the ``general`` scorecard (None: reported, not judged).

- ``aggregate_capital``, ``aggregate_labour``, ``output``, ``interest_rate``,
  ``wage`` (relative): 5%.  They are determinate at the steady state.  With
  sigma = 0.01 the ergodic means differ from the deterministic steady state
  at second order (well below 1%); the steady state's own choices played as
  constant actions reach them within 1% (they cannot play the corners
  chat = 1 and l = 1 exactly).  A policy that gives the highest-kappa
  households no more capital than the others has K/L about 3% higher
  (r = (1/beta - 1 + delta) / kappa with kappa 1 instead of 1.02).
- ``holders_capital`` (relative): (1/N) sum over the highest-kappa
  households of k_i, 10%.
- ``holders_capital_share`` (absolute): share of all capital the
  highest-kappa households hold, benchmark 1; tolerance 0.5, i.e. they must
  hold at least half of it.  A kappa-blind policy gives them about 1/g (1/3
  at g = 3).  Generous because the approach to the corner is slow (module
  docstring).
- ``hand_to_mouth_consumption_fraction`` (absolute): mean chat of the other
  households, benchmark 1, at most 0.10 below it (the action range stops at
  0.995).
- ``household_*``: individual capital, labour, consumption fraction,
  reported only (the holders' split is indeterminate).
- ``capital_drift``: largest relative change of a household's mean capital
  between the first and second half of the kept periods: reported, a
  warning that the simulation has not settled.
"""


# ----------------------------------------------------------------------------- score rows
@dataclass(frozen=True)
class ScoreRow:
    """One scorecard line.  ``passed`` is None when the row is reported but not judged."""

    metric: str
    benchmark: object
    """Benchmark value (a float, or a string for an ordering)."""
    rl: object
    distance: float
    tolerance: Optional[float]
    passed: Optional[bool]

    def as_dict(self) -> dict:
        """``{"metric", "benchmark", "rl", "distance", "tolerance", "passed"}`` with plain Python values."""
        def plain(x):
            if isinstance(x, (np.floating, np.integer)):
                return x.item()
            if isinstance(x, np.bool_):
                return bool(x)
            return x

        return {name: plain(getattr(self, name)) for name in ("metric", "benchmark", "rl", "distance", "tolerance",
                                                               "passed")}


def _resolve_tolerances(defaults: Mapping[str, Optional[float]], overrides, metrics: Sequence[tuple]) -> dict:
    """Tolerance of every (metric, family): an exact metric name beats its family, which beats the default."""
    overrides = dict(overrides or {})
    known = set(defaults) | {name for name, _ in metrics}
    for key, value in overrides.items():
        if key not in known:
            raise ValueError(f"tolerances: unknown metric {key!r}; known: {', '.join(sorted(known))}")
        if value is not None:
            checks.non_negative(f"tolerances[{key!r}]", value)
    out = {}
    for name, family in metrics:
        if name in overrides:
            out[name] = overrides[name]
        elif family in overrides:
            out[name] = overrides[family]
        else:
            out[name] = defaults[family]
    return out


def _row(metric, benchmark, rl, distance, tolerance) -> ScoreRow:
    distance = float(distance)
    passed = None if tolerance is None else bool(np.isfinite(distance) and distance <= tolerance)
    return ScoreRow(metric, benchmark, rl, distance, None if tolerance is None else float(tolerance), passed)


def _relative(rl: float, benchmark: float) -> float:
    return abs(rl - benchmark) / abs(benchmark) if benchmark != 0 else float("inf")


# ----------------------------------------------------------------------------- actors
def _require_experiment(experiment) -> Experiment:
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an econ.experiments.Experiment, got {type(experiment).__name__}")
    return experiment


def _require_ks(experiment) -> Experiment:
    experiment = _require_experiment(experiment)
    if experiment.technology != "ks":
        raise ValueError(f"experiment must be a Krusell-Smith experiment ({', '.join(KS_EXPERIMENTS)}); "
                         f"{experiment.name!r} has technology {experiment.technology!r}")
    return experiment


def _require_ar1(experiment) -> Experiment:
    experiment = _require_experiment(experiment)
    if experiment.technology != "ar1":
        raise ValueError(f"experiment must have the AR(1) technology (general); {experiment.name!r} has "
                         f"technology {experiment.technology!r}")
    return experiment


# ----------------------------------------------------------------------------- simulation
# ----------------------------------------------------------------------------- KS benchmark
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
    10,000 households x 1,100 periods by default (spec 4.5), independent of
    the experiment's N.  The cache is keyed by that calibration, the seed and
    the solver options (``functools.lru_cache``; a solve takes 5-20 s).
    Note: the solver always uses exact unemployment counts; an experiment run
    with ``exact_unemployment=False`` is still compared with it.
    """
    experiment = _require_ks(experiment)
    seed = checks.positive_int("seed", seed, 0)
    return _solve_cached(experiment.ks, seed, tuple(sorted(solver_options.items())))


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
    which the benchmark's chat never leaves in the calibrations of the spec).
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
        for j in range(capital.shape[0]):
            c[j] = self.solution.policy.evaluate(capital[j], float(m.effective_capital[j]),
                                                 2 * z[j] + employed[j].astype(np.int64), self._types)
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


def _lorenz(values: np.ndarray, points: int = 501):
    """Lorenz curve of a sample at ``points`` population shares (cumulative share held)."""
    x = np.sort(np.asarray(values, dtype=float).ravel())
    cum = np.concatenate([[0.0], np.cumsum(x)])
    people = np.linspace(0.0, 1.0, points)
    return people, np.interp(people * x.size, np.arange(x.size + 1), cum / cum[-1])


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
    """The solver's: mean over every 10th kept period of the Gini of 10,000 households."""
    benchmark_gini_capital: float
    lorenz_wealth: tuple = field(repr=False)
    """(population share, wealth share) of the pooled sample."""
    benchmark_lorenz_wealth: tuple = field(repr=False)
    """The solver's final-period cross-section (10,000 households)."""
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
                    _relative(self.mean_capital, self.benchmark_mean_capital)))
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
                            float(rel[t]), _relative(rel[t], bench_rel[t])))
                f, f0 = self.type_consumption_fraction[t], self.benchmark_type_consumption_fraction[t]
                out.append((f"type_consumption_fraction_{name}", "type_consumption_fraction", f0, f, abs(f - f0)))
        return out

    def rows(self, tolerances: Optional[Mapping[str, Optional[float]]] = None) -> List[ScoreRow]:
        """Scorecard rows; ``tolerances`` overrides :data:`KS_TOLERANCES` by family (``lom_slope``) or metric
        (``lom_slope_bad``); None un-judges a row.  An unknown key raises ``ValueError``."""
        metrics = self._metrics()
        tol = _resolve_tolerances(KS_TOLERANCES, tolerances, [(m[0], m[1]) for m in metrics])
        return [_row(name, bench, rl, dist, tol[name]) for name, _, bench, rl, dist in metrics]

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
    """Score a KS panel against the law-of-motion benchmark (spec sections 4.5 and 5).

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
        The policy that produced ``panel``.  When given, spec 5's policy error
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
    - Ginis: the RL economy has N = 20 households, the benchmark 10,000.
      The Gini of a sample of 20 is biased down by about 1/N (5%) and is
      noisy, so the RL Gini is that of the *pooled* sample of every economy
      and every ``gini_every``-th kept period (E * N * T / gini_every
      observations).  Pooling over periods adds the time variation of the
      aggregate (K moves by a few percent), negligible beside the
      cross-sectional dispersion.  The benchmark's is the solver's (mean of
      per-period Ginis of 10,000 households, every 10th period).
    - Consumption fraction against wealth: the benchmark rule chat* = c*/a at
      the panel's own states (k, K, z, e, type and the wealth a the household
      actually had), against the chosen chat: mean absolute gap, overall and
      by employment; binned means by (type, employment) for the figure.
    - Policy error (with ``policy``): spec 5, mean and max |chat_RL - chat*|
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
        lorenz_wealth=_lorenz(wealth_sample),
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
    from econ.economy import action_to_fraction
    exp = reference.experiment
    errors, employed = [], []
    for t in range(0, reference.n_periods, sample_every):
        state = core.EconomyState(reference.capital[t], np.log(reference.technology[t]), reference.aggregate_state[t],
                                  reference.employed[t], np.zeros(reference.n_economies, dtype=np.int64))
        obs = core.observe(exp, state).reshape(reference.n_economies * reference.n_households, -1)
        actions = np.asarray(actor(obs), dtype=float).reshape(reference.n_economies, reference.n_households, -1)
        chat = action_to_fraction(actions[..., 0])
        chat_star = benchmark_actor.consumption_fraction(state.capital, state.employed, state.aggregate_state)
        errors.append(np.abs(chat - chat_star))
        employed.append(state.employed)
    err, emp = np.array(errors), np.array(employed)
    return {"all": float(err.mean()), "max": float(err.max()),
            "employed": float(err[emp].mean()) if emp.any() else float("nan"),
            "unemployed": float(err[~emp].mean()) if (~emp).any() else float("nan")}


# ----------------------------------------------------------------------------- general benchmark
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
            out.append((key, key, b, r, _relative(r, b)))
        out.append(("holders_capital", "holders_capital", ss.holders_capital, self.holders_capital,
                    _relative(self.holders_capital, ss.holders_capital)))
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

    def rows(self, tolerances: Optional[Mapping[str, Optional[float]]] = None) -> List[ScoreRow]:
        """Scorecard rows; ``tolerances`` overrides :data:`GENERAL_TOLERANCES` by family or metric name.

        Individual rows of indeterminate households have benchmark NaN (the
        steady state does not pin them down) and are never judged."""
        metrics = self._metrics()
        tol = _resolve_tolerances(GENERAL_TOLERANCES, tolerances, [(m[0], m[1]) for m in metrics])
        rows = []
        for name, _, bench, rl, dist in metrics:
            t = tol[name] if np.isfinite(dist) else None
            rows.append(_row(name, bench, rl, dist, t))
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


# ----------------------------------------------------------------------------- figures
_STATE_COLOURS = {"bad": "tab:red", "good": "tab:blue"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    from econ.io import save_figure_atomic

    plt = _pyplot()
    out = save_figure_atomic(fig, path)
    plt.close(fig)
    return out


def plot_law_of_motion(scores: KSScores, path, title: str = "", label: str = "RL"):
    """Scatter of (log K_t, log K_{t+1}) by aggregate state with the panel's and the benchmark's fitted laws."""
    plt = _pyplot()
    x, y, z = scores.lom_sample
    fig, ax = plt.subplots(figsize=(6.6, 5.2), layout="constrained")
    step = max(1, x.size // 4000)
    lo = min(x.min(), np.log(scores.benchmark_capital_range[0]))
    hi = max(x.max(), np.log(scores.benchmark_capital_range[1]))
    grid = np.linspace(lo, hi, 50)
    for zi, state in enumerate(AGGREGATE_STATES):
        sel = z == zi
        colour = _STATE_COLOURS[state]
        ax.scatter(x[sel][::step], y[sel][::step], s=4, alpha=0.3, color=colour,
                   label=f"{label} simulated, z = {state}")
        a, b = scores.alm[state]
        ax.plot(grid, a + b * grid, color=colour, lw=1.6,
                label=f"{label} fit, {state}: {a:.4f} + {b:.4f} log K (R² {scores.r_squared[state]:.4f})")
        a0, b0 = scores.benchmark_alm[state]
        ax.plot(grid, a0 + b0 * grid, color=colour, lw=1.6, ls="--",
                label=f"benchmark, {state}: {a0:.4f} + {b0:.4f} log K (R² {scores.benchmark_r_squared[state]:.6f})")
    ax.plot(grid, grid, color="grey", lw=0.8, ls=":", label="45° line")
    ax.set_xlabel(r"$\log K_t$ (effective aggregate capital)")
    ax.set_ylabel(r"$\log K_{t+1}$")
    ax.set_title(title or f"{scores.experiment.name}: law of motion, {label} (N = {scores.n_households}) "
                          "vs Krusell-Smith")
    ax.legend(fontsize=7, loc="upper left")
    return _save(fig, path)


def plot_lorenz(scores: KSScores, path, title: str = "", label: str = "RL", extra: Optional[Mapping] = None):
    """Lorenz curves of wealth, panel and benchmark, Ginis in the legend.

    ``extra`` maps further labels to :class:`KSScores` (e.g. the benchmark
    policy simulated at the same N, or other seeds) drawn beside.
    """
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.8, 5.2), layout="constrained")
    people, share = scores.lorenz_wealth
    ax.plot(people, share, lw=1.8, label=f"{label}, N = {scores.n_households} pooled (Gini {scores.gini_wealth:.3f})")
    for other_label, other in (extra or {}).items():
        p, s = other.lorenz_wealth
        ax.plot(p, s, lw=1.2, ls="-.", label=f"{other_label} (Gini {other.gini_wealth:.3f})")
    bp, bs = scores.benchmark_lorenz_wealth
    ax.plot(bp, bs, "--", lw=1.6, color="black",
            label=f"Krusell-Smith benchmark, 10,000 households (Gini {scores.benchmark_gini_wealth:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="equality")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("cumulative share of households (poorest first)")
    ax.set_ylabel("cumulative share of wealth")
    ax.set_title(title or f"{scores.experiment.name}: Lorenz curves of wealth")
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_consumption_fraction(scores: KSScores, path, title: str = "", label: str = "RL"):
    """Consumption fraction against wealth by employment state, one panel per type.

    Lines: the benchmark rule c/a at its mean K by (z, e).  Filled markers:
    the panel's binned mean chat; open markers: the benchmark rule's binned
    mean at the same states (the like-for-like comparison).
    """
    plt = _pyplot()
    wealth, fraction = scores.benchmark_policy_curves
    num_types = scores.num_types
    fig, axes = plt.subplots(1, num_types, figsize=(5.4 * num_types, 4.6), layout="constrained", squeeze=False)
    markers = {True: "o", False: "s"}
    for t, ax in enumerate(axes[0]):
        groups = [b for b in scores.consumption_bins if b["type"] == t]
        top = max([float(b["wealth"].max()) for b in groups] + [1e-9])
        low = min([float(b["wealth"].min()) for b in groups] + [top])
        for zi, state in enumerate(AGGREGATE_STATES):
            for e, status in ((0, "unemployed"), (1, "employed")):
                s = 2 * zi + e
                keep = (wealth[t, s] >= 0.5 * low) & (wealth[t, s] <= 1.5 * top)
                ax.plot(wealth[t, s][keep], fraction[t, s][keep], "-" if e else "--", lw=1.0,
                        color=_STATE_COLOURS[state], label=f"benchmark rule at mean K, z = {state}, {status}")
        for b in groups:
            status = "employed" if b["employed"] else "unemployed"
            colour = "black" if b["employed"] else "tab:orange"
            ax.plot(b["wealth"], b["rl"], markers[b["employed"]], color=colour, ms=5,
                    label=f"{label}, {status} (binned mean)")
            ax.plot(b["wealth"], b["benchmark"], markers[b["employed"]], color=colour, ms=8, mfc="none",
                    label=f"benchmark at {label}'s states, {status}")
        ax.set_xscale("log")
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on a short log range
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.set_xlabel("wealth a = (1-δ)k + rk + wl (log scale)")
        ax.set_ylabel("consumption fraction c / a")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"type κ = {scores.capital_productivity[t]:g}" if num_types > 1 else "all households")
        if t == 0:
            ax.legend(fontsize=6.5)
    fig.suptitle(title or f"{scores.experiment.name}: consumption fraction against wealth, {label} vs Krusell-Smith")
    return _save(fig, path)


def _household_label(ss: HeterogeneousSteadyState, i: int) -> str:
    return f"κ {ss.capital_productivity[i]:g}, λ {ss.labour_productivity[i]:g}"


def plot_general_paths(scores: GeneralScores, path, title: str = ""):
    """Capital and wealth paths per household (mean over economies) with the steady-state levels dashed.

    Holders with an indeterminate split get the level of the equal split
    (:func:`steady_state_allocation`), marked as such in the legend.
    """
    plt = _pyplot()
    ss = scores.steady_state
    capital_ss, wealth_ss = scores.allocation.capital, scores.allocation.wealth
    fig, (ax_k, ax_a) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    n = scores.capital_path.shape[1]
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, n))
    periods = np.arange(scores.capital_path.shape[0])
    for i in range(n):
        ax_k.plot(periods, scores.capital_path[:, i], color=colours[i], lw=1.0, label=_household_label(ss, i))
        ax_a.plot(periods, scores.wealth_path[:, i], color=colours[i], lw=1.0)
        ax_a.axhline(wealth_ss[i], color=colours[i], ls="--", lw=1.0)
    drawn = set()
    for i in range(n):
        level = float(capital_ss[i])
        if round(level, 9) in drawn:
            continue
        drawn.add(round(level, 9))
        if ss.holds_capital[i]:
            what = "steady state, holders (equal split; split indeterminate)" if ss.split_indeterminate \
                else "steady state, holder"
        else:
            what = "steady state, hand-to-mouth (k = 0)"
        ax_k.axhline(level, color="black" if ss.holds_capital[i] else "grey", ls="--", lw=1.2, label=what)
    ax_k.set_xlabel("period (after the burn-in)")
    ax_k.set_ylabel("capital k_i (mean over economies)")
    ax_k.set_title("capital by household")
    ax_k.legend(fontsize=7, ncol=2)
    ax_a.set_xlabel("period (after the burn-in)")
    ax_a.set_ylabel("wealth a_i (mean over economies)")
    ax_a.set_title("wealth by household (dashed: steady state, same colour)")
    fig.suptitle(title or f"{scores.experiment.name}: paths by household (sigma = {scores.sigma:g}) "
                          "against the heterogeneous steady state")
    return _save(fig, path)


def plot_general_steady_state(scores: GeneralScores, path, title: str = "", label: str = "RL"):
    """Bars of long-run mean capital and labour per household against the heterogeneous steady state."""
    plt = _pyplot()
    ss = scores.steady_state
    capital_ss, labour_ss = scores.allocation.capital, scores.allocation.labour
    n = scores.capital.size
    pos = np.arange(n)
    width = 0.38
    fig, (ax_k, ax_l) = plt.subplots(1, 2, figsize=(max(10, 1.1 * n + 4), 4.8), layout="constrained")
    hatch = ["//" if ss.indeterminate[i] else "" for i in range(n)]
    for ax, rl, bench, what in ((ax_k, scores.capital, capital_ss, "capital k_i"),
                                (ax_l, scores.labour, labour_ss, "labour l_i")):
        ax.bar(pos - width / 2, rl, width, label=f"{label} (long-run mean)", color="tab:blue")
        bars = ax.bar(pos + width / 2, bench, width, label="heterogeneous steady state", color="tab:grey")
        for bar, h in zip(bars, hatch):
            bar.set_hatch(h)
        ax.set_xticks(pos, [_household_label(ss, i) for i in range(n)], rotation=60, ha="right", fontsize=7)
        ax.set_ylabel(what)
        ax.set_xlabel("household")
        ax.set_title(what)
    from matplotlib.patches import Patch

    handles, _ = ax_k.get_legend_handles_labels()
    handles.append(Patch(facecolor="tab:grey", hatch="//", label="hatched: split indeterminate (equal split shown)"))
    ax_k.legend(handles=handles, fontsize=8)
    fig.suptitle(title or f"{scores.experiment.name}: long-run means (sigma = {scores.sigma:g}) vs steady state; "
                          f"K {scores.aggregates['aggregate_capital']:.3f} vs {ss.capital:.3f}")
    return _save(fig, path)


__all__ = [
    "Actor",
    "DEFAULT_SIMULATION",
    "GENERAL_TOLERANCES",
    "GeneralScores",
    "KSBenchmarkActor",
    "KSScores",
    "KS_TOLERANCES",
    "ScoreRow",
    "SteadyStateAllocation",
    "general_benchmark",
    "general_scores",
    "ks_benchmark",
    "ks_benchmark_actor",
    "ks_scores",
    "plot_consumption_fraction",
    "plot_general_paths",
    "plot_general_steady_state",
    "plot_law_of_motion",
    "plot_lorenz",
    "steady_state_actor",
    "steady_state_allocation",
    "steady_state_initial_state",
]
