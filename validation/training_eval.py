"""The multi-agent scorecards as training-time evaluators (:class:`rl.evaluation.Evaluator`).

:class:`SameEconomyEvaluator` is built once before training: it solves the
two benchmarks of a KS experiment (``ks``, ``ks-het-mild``, ``ks-het-marked``)
and plays their rules in the simulated economy
(:func:`validation.same_economy.same_economy_references`, about 30 s for
``ks`` at the scorecard's settings on the development machine).  Each call
with the training model then costs what scoring one policy costs: one panel
of the policy on the same shocks (8 economies x 2,500 periods of N = 20
households, about 0.7 s) and :func:`validation.same_economy.same_economy_scores`
(policy errors on the reference states, the unilateral and whole-economy
switching gains; about 1.3 s), i.e. about 2 s for ``ks``.  The simulation is
the scorecard's own (:data:`validation.scorecard.DEFAULT_SIMULATION`, seed
:data:`EVALUATION_SEED`), so an evaluation that passes is exactly the
scorecard ``python -m validation.compare EXPERIMENT --model RUN`` prints for
that policy, with the same tolerances (overrides as in ``--tol``).  It draws
only from its own seeded generators, never from the training's.

:class:`GeneralEvaluator` does the same for ``general``: the judged rows of
its scorecard are those of the policy's deterministic fixed point
(:func:`validation.general.general_scores` without a panel; the stochastic
panel the scorecard adds gives only unjudged ``ergodic_*`` rows), so an
evaluation passes exactly when ``python -m validation.compare general
--model RUN`` passes.  One costs a sigma = 0 run of the N households to their
fixed point and the two steady-state solves, about a second.

``python -m validation.compare EXPERIMENT --train --eval-every N
[--stop-at-targets]`` builds one (:func:`training_evaluator`) and hands it to
:func:`rl.train.train`.
"""

from __future__ import annotations

import time
from typing import Mapping, Optional

from econ import checks
from econ.experiments import Experiment
from rl.evaluation import Evaluation
from rl.rollout import one_torch_thread, simulate_agents
from validation.general import GENERAL_TOLERANCES, general_scores, steady_state_actor
from validation.krusell_smith import KS_EXPERIMENTS, _require_ks
from validation.same_economy import same_economy_references, same_economy_scores, tolerances_for
from validation.scorecard import DEFAULT_SIMULATION
from validation.welfare import Scenario

TRAINING_EVAL_EXPERIMENTS = KS_EXPERIMENTS + ("general",)
"""The experiments scored while they train (``validation.compare --train --eval-every``): the KS ones by
:class:`SameEconomyEvaluator`, ``general`` by :class:`GeneralEvaluator`."""

DIVERGENCE_FACTOR = 2.0
"""Capital above this multiple of the benchmark's, or below the benchmark's divided by it, is noted in the training
log as hoarding or collapse (every tolerance on capital is a few percent: this flags runaway, not a miss)."""

CAPITAL_ROWS = ("mean_capital", "aggregate_capital")
"""The rows holding the economy's capital: the KS scorecards' time-mean capital, ``general``'s fixed-point capital."""

EVALUATION_SEED = 0
"""Seed of the evaluation's shocks and initial states: the scorecard's (``validation.compare`` uses seed 0), so a
training-time evaluation and the final scorecard of the same policy agree exactly."""


class SameEconomyEvaluator:
    """Score a KS policy during training with the same-economy scorecard (see the module docstring).

    Parameters
    ----------
    experiment : Experiment
        The KS experiment the agents train on (same N and overrides).
    tolerances : mapping or None
        Overrides of :data:`validation.same_economy.SAME_ECONOMY_TOLERANCES`
        by family or metric, as ``--tol``; None un-judges a row.  Checked here,
        before training.
    simulation : mapping or None
        ``n_periods``, ``burn_in``, ``n_economies`` of the panels (default: the
        scorecard's, :data:`DEFAULT_SIMULATION`); smaller only in tests.
    welfare : Scenario or None
        Welfare simulations (default: the scorecard's, ``Scenario(seed=EVALUATION_SEED)``).
    **solver_options
        Passed to both KS solves (e.g. a smaller panel in tests).

    Calling it with a model returns an :class:`rl.evaluation.Evaluation`:
    for every scorecard row its RL value (column ``<metric>``) and, for a
    judged row, its distance (``<metric>_distance``); ``failed`` names the
    judged rows outside their tolerance.
    """

    def __init__(self, experiment: Experiment, *, tolerances: Optional[Mapping[str, Optional[float]]] = None,
                 simulation: Optional[Mapping[str, int]] = None, welfare: Optional[Scenario] = None,
                 **solver_options):
        began = time.perf_counter()
        self.experiment = _require_ks(experiment)
        settings = dict(DEFAULT_SIMULATION[experiment.name] if simulation is None else simulation)
        if sorted(settings) != ["burn_in", "n_economies", "n_periods"]:
            raise ValueError(f"simulation must give n_periods, burn_in and n_economies, got {sorted(settings)}")
        for name, value in settings.items():
            checks.positive_int(name, value, 0 if name == "burn_in" else 1)
        self.simulation = {**settings, "seed": EVALUATION_SEED}
        self.welfare = Scenario(seed=EVALUATION_SEED) if welfare is None else welfare
        if not isinstance(self.welfare, Scenario):
            raise TypeError(f"welfare must be a validation.welfare.Scenario, got {type(self.welfare).__name__}")
        self.tolerances = dict(tolerances or {})
        self.solver_options = dict(solver_options)
        self.references = same_economy_references(self.experiment, **self.simulation, **self.solver_options)
        # the price-impact rule scored as if it were the policy: checks the tolerance names now, not after
        # the first stretch of training, and fixes the columns
        benchmark = same_economy_scores(self.references.price_impact_panel, self.references.price_impact_actor,
                                        self.references, welfare=self.welfare, reference_welfare=False)
        self.columns = tuple(self._evaluation(benchmark).values)
        self.setup_seconds = time.perf_counter() - began
        """Wall-clock of the construction (the two solves and the reference panels), paid once."""

    def describe(self) -> dict:
        """The settings, as plain JSON (recorded in the run's config.json)."""
        return {"scorecard": "same-economy", "experiment": self.experiment.name,
                "n_agents": self.experiment.num_agents, "simulation": dict(self.simulation),
                "welfare": self.welfare._asdict(),
                "tolerances": {**tolerances_for(self.experiment), **self.tolerances},
                "solver_options": dict(self.solver_options)}

    def _evaluation(self, scores) -> Evaluation:
        return _evaluation(scores.rows(self.tolerances))

    def __call__(self, model) -> Evaluation:
        with one_torch_thread():
            panel = simulate_agents(model, self.experiment, **self.simulation)
            scores = same_economy_scores(panel, model, self.references, welfare=self.welfare,
                                         reference_welfare=False)  # judged rows only
        return self._evaluation(scores)


class GeneralEvaluator:
    """Score a ``general`` policy during training with the judged rows of its scorecard (see the module docstring).

    Parameters
    ----------
    experiment : Experiment
        The ``general`` experiment the agents train on (same N and overrides).
    tolerances : mapping or None
        Overrides of :data:`validation.general.GENERAL_TOLERANCES` by family or
        metric, as ``--tol``; checked here, before training, by scoring the
        price-impact steady state's own rule.
    """

    def __init__(self, experiment: Experiment, *, tolerances: Optional[Mapping[str, Optional[float]]] = None):
        began = time.perf_counter()
        if not isinstance(experiment, Experiment) or experiment.name != "general":
            raise ValueError(f"GeneralEvaluator scores the 'general' experiment, got "
                             f"{getattr(experiment, 'name', type(experiment).__name__)!r}")
        self.experiment = experiment
        self.tolerances = dict(tolerances or {})
        self.columns = tuple(_evaluation(general_scores(steady_state_actor(experiment), experiment)
                                         .rows(self.tolerances)).values)
        self.setup_seconds = time.perf_counter() - began
        """Wall-clock of the construction (the steady-state solves and the benchmark's own scoring)."""

    def describe(self) -> dict:
        """The settings, as plain JSON (recorded in the run's config.json)."""
        return {"scorecard": "general fixed point", "experiment": self.experiment.name,
                "n_agents": self.experiment.num_agents, "tolerances": {**GENERAL_TOLERANCES, **self.tolerances}}

    def __call__(self, model) -> Evaluation:
        with one_torch_thread():
            return _evaluation(general_scores(model, self.experiment).rows(self.tolerances))


def training_evaluator(experiment: Experiment, tolerances: Optional[Mapping[str, Optional[float]]] = None,
                       welfare_economies: Optional[int] = None):
    """The training-time evaluator of a multi-agent experiment (one of :data:`TRAINING_EVAL_EXPERIMENTS`);
    ``welfare_economies``: the KS welfare rows simulated over that many economies instead of the scorecard's 8."""
    if experiment.name == "general":
        if welfare_economies is not None:
            raise ValueError("welfare_economies: general's scorecard has no welfare rows")
        return GeneralEvaluator(experiment, tolerances=tolerances)
    if experiment.name in KS_EXPERIMENTS:
        welfare = None if welfare_economies is None else Scenario(
            n_economies=checks.positive_int("welfare_economies", welfare_economies, 2), seed=EVALUATION_SEED)
        return SameEconomyEvaluator(experiment, tolerances=tolerances, welfare=welfare)
    raise ValueError(f"no training-time scorecard for {experiment.name!r}; "
                     f"choose from {', '.join(TRAINING_EVAL_EXPERIMENTS)}")


def _evaluation(rows) -> Evaluation:
    """Scorecard rows as an Evaluation: each row's RL value, each judged row's distance, the judged rows that fail,
    and a note when capital has run away from the benchmark's (:func:`divergence_notes`)."""
    values = {}
    for row in rows:
        values[row.metric] = row.rl if isinstance(row.rl, str) else float(row.rl)
        if row.tolerance is not None:
            values[f"{row.metric}_distance"] = float(row.distance)
    return Evaluation(values, tuple(row.metric for row in rows if row.passed is False), divergence_notes(rows))


def divergence_notes(rows) -> tuple:
    """``("hoarding: ...",)`` when the economy's capital is more than :data:`DIVERGENCE_FACTOR` times the
    benchmark's, ``("collapse: ...",)`` when it is below the benchmark's divided by it, else ``()``.

    The rows fail either way; the note says in the training's log why (an SAC run on ``ks-het-mild`` that
    hoards shows sixteen failed rows and, with it, mean capital seven times the benchmark's)."""
    for row in rows:
        if row.metric in CAPITAL_ROWS and not isinstance(row.rl, str) and float(row.benchmark) > 0:
            ratio = float(row.rl) / float(row.benchmark)
            what = f"{row.metric} {float(row.rl):.4g} is {ratio:.3g} times the benchmark's {float(row.benchmark):.4g}"
            if ratio > DIVERGENCE_FACTOR:
                return (f"hoarding: {what}",)
            if ratio < 1 / DIVERGENCE_FACTOR:
                return (f"collapse: {what}",)
    return ()
