"""Score trained households against the benchmarks: ``python -m validation.compare EXPERIMENT``.

Out of the box the policy shipped with the project for the experiment
(``validation/policies/<experiment>/``) is scored; ``--model PATH`` scores
other runs (a run directory of ``python -m rl.train`` or its ``model.zip``;
several paths give a seed band), ``--model steady-state`` and ``--model
untrained`` are the negative controls, and ``--train`` trains first with the
stated recipe (:data:`rl.recipes.TRAIN_RECIPES`; ``--algo`` picks among them,
``--recipe-of`` takes another experiment's and ``--hyper`` changes its settings);
in the multi-agent experiments ``--eval-every N`` scores the policy with this
scorecard every N agent-steps while it trains
(:func:`validation.training_eval.training_evaluator`) and
``--stop-at-targets`` stops at the first evaluation that passes.
In the Krusell-Smith experiments ``--welfare-economies E`` simulates the
welfare rows over E economies instead of 8, to narrow their bands.
The scorecard has one row per metric that applies: benchmark value, RL
value, distance, tolerance and pass/fail; rows without a tolerance are
reported, not judged.  A JSON report and PNG figures go to ``--out``.  The
exit status is 1 when a judged metric falls outside its tolerance, 2 for bad
input, 0 otherwise.

The scores are :mod:`validation.rbc`'s, :mod:`validation.krusell_smith`'s and
:mod:`validation.general`'s, their figures :mod:`validation.plots`'; tolerances
(``--tol NAME=VALUE`` overrides any of them) and the reasons for them are in
docs/validation.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

from econ import checks
from econ.experiments import EXPERIMENTS, Experiment, make_experiment
from econ.io import write_json_atomic
from rl.config import TrainConfig, parse_assignment
from rl.loading import load_model, run_config
from rl.recipes import TRAIN_RECIPES, hyperparameters
from rl.recipes import recipe as rl_recipe
from rl.rollout import model_policy, simulate_agents
from rl.train import train
from validation import plots
from validation.controls import CONTROLS, control_model, steady_state_policy
from validation.general import general_scores
from validation.krusell_smith import KS_EXPERIMENTS
from validation.same_economy import WELFARE_BAND, same_economy_references, same_economy_scores
from validation.rbc import RBC_EXPERIMENTS, TOLERANCES, known_metrics, score_rbc
from validation.scorecard import DEFAULT_SIMULATION, combine, format_scorecard
from validation.training_eval import TRAINING_EVAL_EXPERIMENTS, training_evaluator
from validation.welfare import Scenario

POLICY_DIR = Path(__file__).resolve().parent / "policies"
"""Shipped policies: ``POLICY_DIR / <experiment> / model.zip`` with config.json and TRAINED.md beside it."""

SHIPPED_ALGORITHM = {path.name: json.loads((path / "config.json").read_text())["algorithm"]
                     for path in sorted(POLICY_DIR.iterdir()) if (path / "config.json").is_file()}
"""The algorithm of each shipped policy (recorded in its config.json): the default recipe of ``--train``."""


# ----------------------------------------------------------------------------- shipped policies
def shipped_model_path(experiment_name: str) -> Path:
    path = POLICY_DIR / experiment_name / "model.zip"
    if not path.exists():
        raise FileNotFoundError(
            f"no policy is shipped for {experiment_name!r} (looked for {path}); pass --model PATH or --train"
        )
    return path


def score_ks(experiment: Experiment, models: list, labels: List[str], tolerances: Dict[str, float], out: Path,
             welfare_economies: Optional[int] = None):
    """The KS scorecard in the same economy (:mod:`validation.same_economy`): the price-impact and price-taking
    rules played by the same N households on the same shocks (seed 0, :data:`DEFAULT_SIMULATION`), judged
    against the price-impact rule; rows combined over the models, figures of the first.  The welfare rows'
    simulations run over ``welfare_economies`` economies (default: :class:`validation.welfare.Scenario`'s 8)."""
    settings = DEFAULT_SIMULATION[experiment.name]
    references = same_economy_references(experiment, **settings)
    per_run, summaries, all_scores = [], [], []
    for model in models:
        panel = simulate_agents(model, experiment, **settings)
        welfare = Scenario(n_economies=welfare_economies or Scenario().n_economies, seed=panel.seed)
        scores = same_economy_scores(panel, model, references, welfare=welfare)
        per_run.append(scores.rows(tolerances or None))
        summaries.append(scores.summary())
        all_scores.append(scores)
    scores, label = all_scores[0], labels[0]
    pi, sol = references.price_impact_scores, references.price_impact
    print(f"benchmark column: the price-impact rule (solve_krusell_smith(n_agents={experiment.num_agents})) played "
          f"by the same N = {experiment.num_agents} households on the same shocks: mean K {pi.mean_capital:.3f}, "
          f"wealth Gini {pi.gini_wealth:.3f} (its own solver, a continuum on the histogram: {sol.mean_capital:.3f}, "
          f"{sol.gini_wealth:.3f}; the others' reactions leave phi = {', '.join(f'{x:.4f}' for x in sol.phi)} of "
          f"a household's own price impact, by kappa type low to high); {label}: mean K {scores.rl.mean_capital:.3f} "
          f"({100 * (scores.rl.mean_capital / pi.mean_capital - 1):+.1f} %), wealth Gini {scores.rl.gini_wealth:.3f} "
          f"({scores.rl.gini_wealth - pi.gini_wealth:+.3f})\n")
    figures = [plots.plot_law_of_motion(scores.rl, out / "law_of_motion.png", title=experiment.name, label=label),
               plots.plot_lorenz_benchmarks(scores, out / "lorenz.png", label=label),
               plots.plot_consumption_fraction(scores.rl, out / "consumption_fraction.png", title=experiment.name,
                                               label=label)]
    if scores.rl.num_types > 1:
        figures.append(plots.plot_capital_shares(scores, out / "capital_shares.png", label=label))
    benchmark = (f"price-impact Krusell-Smith rule at N = {experiment.num_agents} (econ.solve_krusell_smith with "
                 "n_agents) played in the same economy; price-taking rule at N and the continuum solution reported")
    return combine(per_run), [Path(f) for f in figures], {"benchmark": benchmark,
                                                           "benchmark_phi": [float(x) for x in sol.phi],
                                                           "simulation": settings,
                                                           "welfare_simulation": welfare._asdict(),
                                                           "runs": summaries}


GENERAL_NOTE = ("judged against the price-impact steady state at the agents' N (the equilibrium of the game the "
                "households play: each moves the prices it is paid), at the policy's deterministic fixed point; "
                "rows continuum_*: the price-taking continuum steady state, reported; ergodic_*: long-run means "
                "with shocks, reported")
"""How the ``general`` scorecard is judged, printed above it (reasons: docs/validation.md)."""


def score_general(experiment: Experiment, models: list, labels: List[str], tolerances: Dict[str, float],
                  out: Path):
    """Scorecard rows, figures and report extras of the ``general`` experiment.

    Each model is scored at its deterministic fixed point against the
    price-impact steady state at N (:func:`validation.general.general_scores`), with the long-run means of
    a stochastic simulation (:data:`validation.scorecard.DEFAULT_SIMULATION`, seed 0) reported beside; the rows
    are combined over the models, the figures are the first model's.
    """
    settings = DEFAULT_SIMULATION[experiment.name]
    per_run, summaries, all_scores = [], [], []
    for model in models:
        scores = general_scores(model, experiment, panel=simulate_agents(model, experiment, **settings))
        per_run.append(scores.rows(tolerances or None))
        summaries.append(scores.summary())
        all_scores.append(scores)
    scores, label = all_scores[0], labels[0]
    figures = [plots.plot_general_paths(scores, out / "wealth_paths.png", title=experiment.name),
               plots.plot_general_capital(scores, out / "steady_state.png", title=experiment.name, label=label)]
    benchmark = (f"price-impact steady state at N = {experiment.num_agents} (econ.heterogeneous_steady_state with "
                 "n_agents); the continuum steady state reported beside")
    return combine(per_run), [Path(f) for f in figures], {"benchmark": benchmark, "note": GENERAL_NOTE,
                                                           "simulation": settings, "runs": summaries}


# ----------------------------------------------------------------------------- command line
def _parse_tolerance(text: str):
    name, value = parse_assignment(text)
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"tolerance {name!r} must be a number, got {value!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"tolerance {name!r} must be >= 0, got {value}")
    return name.strip(), value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m validation.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment", choices=EXPERIMENTS, help="the experiment whose benchmarks score the policy")
    parser.add_argument("--model", nargs="+", default=None, metavar="PATH",
                        help="run directories, their checkpoints (RUN/checkpoints/step_*) or model.zip files "
                             "(several: seed band), or steady-state / untrained (the negative controls) "
                             "(default: the shipped policy of the experiment)")
    parser.add_argument("--train", action="store_true",
                        help="train first with the experiment's recipe (rl/hyperparams/ALGO.yml), then score "
                             "(default: False)")
    parser.add_argument("--algo", default=None, help="the --train recipe's algorithm (default: the shipped policy's)")
    parser.add_argument("--recipe-of", default=None, choices=EXPERIMENTS, metavar="EXPERIMENT",
                        help="--train with this experiment's recipe for --algo, e.g. ks-het-mild with the ks SAC "
                             "recipe (default: the experiment's own)")
    parser.add_argument("--hyper", type=parse_assignment, action="append", default=[], metavar="NAME=VALUE",
                        help="--train with this hyperparameter of the recipe changed, as rl.train's --hyper "
                             "(repeatable; default: none)")
    parser.add_argument("--set", type=parse_assignment, action="append", default=[], metavar="NAME=VALUE",
                        help="--train on the experiment with this field changed, as rl.train's --set (repeatable; "
                             "the benchmarks are solved for the changed economy; default: none)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds for --train (default: 0)")
    parser.add_argument("--resume", action="store_true",
                        help="with --train: continue each seed's run in --out from its newest complete checkpoint "
                             "(the same settings; a run not begun starts) (default: off, a run already in --out "
                             "is refused)")
    parser.add_argument("--overwrite", action="store_true",
                        help="with --train: replace a run already in --out with a different one (default: off, "
                             "refused)")
    parser.add_argument("--timesteps", type=int, default=None,
                        help="override the --train budget in agent-steps (default: the recipe's)")
    parser.add_argument("--eval-every", type=int, default=None, metavar="N",
                        help="with --train in ks, ks-het-mild, ks-het-marked, general: score the policy with this "
                             "scorecard's judged rows every N agent-steps while it trains (evaluations.csv in each "
                             "run) (default: none)")
    parser.add_argument("--stop-at-targets", action="store_true",
                        help="with --eval-every: stop each training at its first evaluation where every judged "
                             "row passes (default: off, train the whole budget)")
    parser.add_argument("--out", type=Path, default=None,
                        help="report directory (default: compare-EXPERIMENT for the shipped policy, "
                             "compare-EXPERIMENT-MODEL for --model, compare-EXPERIMENT-train-ALGO for --train)")
    parser.add_argument("--welfare-economies", type=int, default=None, metavar="E",
                        help="economies of the welfare rows' simulations in ks, ks-het-mild and ks-het-marked "
                             "(default: 8; the scorecard's and, with --eval-every, every evaluation's); their 2-sd bands "
                             "narrow as 1 / sqrt(E), the cost grows with E")
    parser.add_argument("--tol", type=_parse_tolerance, action="append", default=[], metavar="NAME=VALUE",
                        help="override a tolerance (repeatable; default: the tolerances of docs/validation.md)")
    return parser


def train_recipe(experiment: str, algo: str, recipe_of: Optional[str] = None, hyper: Optional[dict] = None,
                 fields: Optional[dict] = None) -> dict:
    """The settings ``--train`` uses: the recipe of ``recipe_of`` (default ``experiment``) for ``algo``, with the
    ``hyper`` settings merged into its hyperparameters and the experiment ``fields`` into its overrides, all checked
    (a ValueError before any work).

    Another experiment's recipe lends its algorithm settings and budget only: one that sets experiment fields
    (``--set``, ``n_agents``) is refused, since those fields describe its own economy."""
    recipe = rl_recipe(recipe_of or experiment, algo)
    if recipe_of not in (None, experiment):
        own = sorted(k for k in ("overrides", "n_agents") if recipe.get(k))
        if own:
            raise ValueError(f"--recipe-of {recipe_of}: its {algo} recipe sets {', '.join(own)} of "
                             f"{recipe_of}'s economy ({recipe.get('overrides') or recipe.get('n_agents')}); "
                             f"train with python -m rl.train instead")
    recipe["hyper_overrides"] = {**recipe.get("hyper_overrides", {}), **(hyper or {})}
    if fields:
        recipe["overrides"] = {**recipe.get("overrides", {}), **fields}
    config = TrainConfig(experiment, algo, seed=0, **recipe)
    exp = make_experiment(experiment, config.n_agents, **config.overrides)
    hyperparameters(algo, config.preset, exp.beta, config.n_steps, config.hyper_overrides)
    return recipe


def _train(args, algo: str, recipe: dict, out: Path, tolerances: Dict[str, float]) -> List[Path]:
    if args.timesteps is not None:
        recipe["timesteps"] = args.timesteps
    evaluator = None
    if args.eval_every is not None:
        recipe["eval_every"] = args.eval_every
        experiment = make_experiment(args.experiment, recipe.get("n_agents"), **recipe.get("overrides", {}))
        print("solving the benchmarks of the training-time scorecard (once, before training) ...", flush=True)
        evaluator = training_evaluator(experiment, tolerances, args.welfare_economies)
        print(f"  {evaluator.setup_seconds:.1f} s; an evaluation every {args.eval_every} agent-steps"
              + (", stopping at the first that passes" if args.stop_at_targets else ""), flush=True)
    print(f"training {args.experiment}: {algo}" + (f" ({args.recipe_of}'s recipe)" if args.recipe_of else "")
          + f", preset {recipe['preset']}, {recipe['timesteps']} agent-steps, seeds {args.seeds}"
          + (f", hyperparameters changed: {dict(args.hyper)}" if args.hyper else "")
          + (f", experiment fields changed: {dict(args.set)}" if args.set else ""))
    runs = []
    for seed in args.seeds:
        run = out / f"train-{algo}-seed{seed}"
        summary = train(TrainConfig(args.experiment, algo, seed=seed, **recipe), run, progress=False,
                        evaluator=evaluator, stop_at_target=args.stop_at_targets, argv=args.command,
                        resume=args.resume, overwrite=args.overwrite)
        if evaluator is not None:
            first = next((row for row in summary["evaluations"] if row["passed"]), None)
            cost = sum(row["eval_seconds"] for row in summary["evaluations"])
            print(f"seed {seed}: " + (f"every judged row first passed after {first['timesteps']} agent-steps, "
                                      f"{first['seconds']:.0f} s" if first else
                                      f"no evaluation passed within {summary['timesteps']} agent-steps")
                  + f" ({len(summary['evaluations'])} evaluations, {cost:.0f} s of them)", flush=True)
        runs.append(run)
    return runs


def scoring_experiment(name: str, sources: List[str]) -> Experiment:
    """The experiment the runs were trained on: ``name`` with the overrides recorded in their config.json.

    A checkpoint (``RUN/checkpoints/step_*``) is scored with its run's
    config.json (:func:`rl.loading.run_config`); a model without a run
    configuration is refused, never scored on the default experiment.  Runs
    trained with different overrides (say one with ``tfp_scale``) cannot
    share a scorecard: that is an error.
    """
    settings = set()
    for source in sources:
        if source in CONTROLS:
            continue
        config = run_config(source)
        if config.get("experiment_name", name) != name:
            raise ValueError(f"{source} was trained on {config['experiment_name']!r}, not {name!r}")
        settings.add(json.dumps([config.get("n_agents"), config.get("overrides", {})], sort_keys=True))
    if len(settings) > 1:
        raise ValueError(f"the runs were trained with different settings and cannot be scored together: {settings}")
    if not settings:
        return make_experiment(name)
    n_agents, overrides = json.loads(settings.pop())
    return make_experiment(name, n_agents, **overrides)


def imprecise_rows(rows) -> List[dict]:
    """The judged rows whose estimate's 2-sd band over the simulated economies (:data:`WELFARE_BAND`) is wider
    than their tolerance: ``[{metric, band, tolerance, passed}]``.  Such a row's verdict rests on too few
    economies (at N = 10 one unusual economy of the default 8 decided it, docs/validation.md)."""
    out = []
    for row in rows:
        band = (row.references or {}).get(WELFARE_BAND)
        if row.tolerance is not None and band is not None and band > row.tolerance:
            out.append({"metric": row.metric, "band": float(band), "tolerance": row.tolerance,
                        "passed": row.passed})
    return out


REPORT_OUTPUTS = ("report.json", "*.png")
"""What a scorecard writes into its report directory; an earlier run's are removed first, so none is left stale."""


def default_out(experiment: str, model: Optional[List[str]], train: bool, algo: Optional[str]) -> Path:
    """Each model's own report directory: ``compare-EXPERIMENT`` for the shipped policy, ``-steady-state`` /
    ``-untrained`` for the controls, ``-RUN`` for ``--model`` (``-RUN-and-K-more`` for several), ``-train-ALGO``."""
    if train:
        return Path(f"compare-{experiment}-train-{algo or SHIPPED_ALGORITHM[experiment]}")
    if not model:
        return Path(f"compare-{experiment}")
    first = Path(model[0])
    name = model[0] if model[0] in CONTROLS else (first.name if first.suffix != ".zip" else first.parent.name)
    more = f"-and-{len(model) - 1}-more" if len(model) > 1 else ""
    return Path(f"compare-{experiment}-{name}{more}")


def _clear_outputs(out: Path) -> None:
    """Remove an earlier scorecard's report and figures from ``out`` (nothing else; links are removed, not followed)."""
    for pattern in REPORT_OUTPUTS:
        for path in out.glob(pattern):
            if path.is_file() or path.is_symlink():
                path.unlink()


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.command = ["python", "-m", "validation.compare", *(sys.argv[1:] if argv is None else argv)]
    out = args.out or default_out(args.experiment, args.model, args.train, args.algo)
    tolerances = dict(TOLERANCES.get(args.experiment, {}))
    known = set(tolerances) | (known_metrics() if args.experiment in RBC_EXPERIMENTS else set())
    for name, value in args.tol:
        if known and name not in known:
            parser.error(f"--tol: unknown metric {name!r} for {args.experiment}; known: {sorted(known)}")
        tolerances[name] = value
    if args.train and args.model:
        parser.error("--train and --model exclude each other")
    if args.algo is not None and not args.train:
        parser.error("--algo chooses the recipe of --train")
    if args.eval_every is not None:
        if not args.train:
            parser.error("--eval-every evaluates during --train")
        if args.experiment not in TRAINING_EVAL_EXPERIMENTS:
            parser.error(f"--eval-every: the training-time scorecard exists for "
                         f"{', '.join(TRAINING_EVAL_EXPERIMENTS)}, not {args.experiment} (rbc and "
                         f"rbc-full-depreciation: python -m rl.train --eval-every with --target-welfare-loss)")
        if args.eval_every < 1:
            parser.error(f"--eval-every must be an integer >= 1 agent-step, got {args.eval_every}")
    if args.welfare_economies is not None:
        if args.experiment not in KS_EXPERIMENTS:
            parser.error(f"--welfare-economies: the welfare rows' simulations are those of "
                         f"{', '.join(KS_EXPERIMENTS)}, not {args.experiment}")
        try:  # a 2-sd band needs two economies
            checks.positive_int("--welfare-economies", args.welfare_economies, 2)
        except ValueError as err:
            parser.error(str(err))
    if args.stop_at_targets and args.eval_every is None:
        parser.error("--stop-at-targets stops at an evaluation: give --eval-every")
    for flag, given in (("--recipe-of", args.recipe_of), ("--hyper", args.hyper), ("--set", args.set)):
        if given and not args.train:
            parser.error(f"{flag} changes the recipe of --train")
    for flag, given in (("--resume", args.resume), ("--overwrite", args.overwrite)):
        if given and not args.train:
            parser.error(f"{flag} applies to the runs of --train")
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite exclude each other: continue the runs or replace them")
    source = args.recipe_of or args.experiment
    if args.algo is not None and args.algo not in TRAIN_RECIPES[source]:
        parser.error(f"--algo: no {args.algo!r} recipe for {source}; choose from {sorted(TRAIN_RECIPES[source])}"
                     + ("" if args.recipe_of else " (or another experiment's with --recipe-of)"))
    if args.train:
        algo = args.algo or SHIPPED_ALGORITHM[args.experiment]
        try:
            recipe = train_recipe(args.experiment, algo, args.recipe_of, dict(args.hyper), dict(args.set))
        except ValueError as err:
            parser.error(str(err))
    start = time.perf_counter()
    torch.set_num_threads(1)  # small networks: one thread is fastest (docs/performance.md)
    out.mkdir(parents=True, exist_ok=True)
    _clear_outputs(out)
    try:
        if args.train:
            sources = [str(p) for p in _train(args, algo, recipe, out, tolerances)]
        else:
            sources = args.model or [str(shipped_model_path(args.experiment).parent)]
        experiment = scoring_experiment(args.experiment, sources)
        runs, models, labels = [], [], []
        for source in sources:
            if source in CONTROLS:
                labels.append(source)
                models.append(control_model(source, experiment))
            else:
                path = Path(source)
                runs.append(path if path.is_dir() else path.parent)
                labels.append(path.name if path.is_dir() else path.parent.name)
                models.append(load_model(path, experiment))
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2

    if args.experiment in RBC_EXPERIMENTS:
        policies = [steady_state_policy(experiment) if label == "steady-state" else model_policy(m, experiment)
                    for m, label in zip(models, labels)]
        result = score_rbc(policies, experiment, tolerances)
        figures = plots.plot_rbc(result, policies, experiment, labels, out, runs,
                                 welfare_tolerance=tolerances.get("welfare_loss_percent"))
        rows = result["rows"]
        extra = {
            "benchmark": "Brock-Mirman closed form" if experiment.delta == 1 else "global VFI (econ.solve_vfi)",
            "irf_benchmark": "first-order linearisation (econ.linearize), agrees with Dynare to 1e-13",
            "irf": {"benchmark": {k: v.tolist() for k, v in result["benchmark_irf"].items()},
                    "runs": [{k: v.tolist() for k, v in r["irf"].policy_irf.items()} for r in result["runs"]]},
        }
    else:
        if "steady-state" in labels:
            print("error: the steady-state control applies to rbc and rbc-full-depreciation only", file=sys.stderr)
            return 2
        try:
            if experiment.technology == "ar1":
                rows, figures, extra = score_general(experiment, models, labels, tolerances, out)
            else:
                rows, figures, extra = score_ks(experiment, models, labels, tolerances, out,
                                                args.welfare_economies)
        except ValueError as err:  # e.g. a --tol naming no metric of this experiment
            print(f"error: {err}", file=sys.stderr)
            return 2
    title = f"Scorecard of {args.experiment}: {', '.join(labels)}" + (f"\n{extra['note']}" if "note" in extra else "")
    print(format_scorecard(title, rows))
    failed = [r.metric for r in rows if r.passed is False]
    imprecise = imprecise_rows(rows)
    if imprecise:
        economies = extra["welfare_simulation"]["n_economies"]
        print("\nnote: the estimate is wider than the tolerance in "
              + ", ".join(f"{r['metric']} (2-sd band {r['band']:.3g} against {r['tolerance']:g})" for r in imprecise)
              + f"; its verdict rests on {economies} economies: score again with --welfare-economies "
              + str(max(64, 4 * economies)))
    report = {
        "experiment": args.experiment,
        "experiment_settings": {k: v for k, v in experiment._asdict().items() if k != "ks"},
        "models": sources,
        "rows": [r.as_dict() for r in rows],
        "passed": not failed,
        "failed": failed,
        "tolerances": tolerances,
        "imprecise": imprecise,
        "figures": [str(p) for p in figures],
        "seconds": time.perf_counter() - start,
        **extra,
    }
    write_json_atomic(out / "report.json", report)
    print(f"\nreport {out / 'report.json'}; figures: {', '.join(str(p) for p in figures)}")
    print("PASSED" if not failed else f"FAILED: {', '.join(failed)}")
    return 0 if not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
