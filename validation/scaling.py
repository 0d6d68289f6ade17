"""The scaling study's scores: every trial of a sweep against the finite-N and the continuum benchmarks at its N.

``python -m validation.scaling summarize SWEEP_DIR`` rebuilds, from the run
directories alone, the sweep's own summary (:func:`rl.sweep.write_summary`:
returns and wall-clock) and the scaling tables and figures:

- ``scaling.csv`` and ``scaling.md``: one row per trial (:data:`SCALING_COLUMNS`),
  then mean and 2 sd over seeds per experiment, algorithm and N;
- ``figures/continuum-<experiment>.png``: the RL economy's distance to the
  continuum equilibrium against N, beside the distance of the price-impact
  benchmark at N to the same continuum (the finite-N distance a perfect
  learner would keep; the mean-field claim is that both shrink with N);
- ``figures/finite-n-<experiment>.png``: the RL economy's distance to the
  price-impact benchmark at its own N, per algorithm, mean and 2-sd band over
  seeds (the stability claim), with the scorecard's tolerances;
- ``figures/wall-clock-<experiment>.png``: measured training hours against N,
  beside the paper's figure-8 hours for SAC on ``ks``;
- ``figures/learning-<experiment>.png``: every trial's learning curve against
  updates per agent, one colour per N.

Scores per experiment family (distances as in docs/validation.md):

- KS variants (``ks``, ``ks-het-*``, :mod:`validation.same_economy`): the RL
  policy, the price-impact rule (``solve_krusell_smith(n_agents=N)``) and the
  price-taking rule (the continuum solution's) are played by the same N
  households on the same shocks.  ``pi_*``: RL against the price-impact rule
  (mean K relative, wealth Gini absolute, worst consumption-fraction bias,
  largest unilateral welfare gain of switching to the rule, percent of
  consumption); ``continuum_*``: RL against the continuum solver's mean K and
  Gini, the price-taking rule's chat and the gain of switching to it;
  ``benchmarks_*``: the price-impact rule at N against the continuum
  (``benchmarks_K_solvers``: the two solvers' own continuum populations).
- ``general`` (:mod:`validation.general`): at the policy's deterministic fixed
  point, K, L and r against the price-impact steady state at N (``pi_*``) and
  the continuum steady state (``continuum_*``), the largest private Euler and
  intratemporal residuals; ``pi_economy_gain_percent``: the gain of every
  household switching together from the policy to the price-impact steady
  state's rule on the same shocks (the return normalised, as for the KS
  variants); ``benchmarks_*``: the two steady states' K, L, r.

A trial's scores are stored in its run directory (``scaling.json``, with the
settings they were computed with) and reused while the settings are
unchanged; the benchmarks are solved once per (experiment, N) per call.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

import numpy as np

from econ import checks
from econ.cli_help import HelpFormatter
from econ.experiments import make_experiment
from econ.io import write_csv_atomic, write_json_atomic, write_text_atomic
from rl.loading import load_model
from rl.recipes import ALGORITHMS
from rl.rollout import one_torch_thread, simulate_agents
from rl.sweep import collect_rows, write_summary
from rl.sweep.rundir import read_json
from validation.general import continuum_benchmark, general_benchmark, general_scores, steady_state_actor
from validation.krusell_smith import KS_EXPERIMENTS, _household_types
from validation.same_economy import same_economy_references, same_economy_scores
from validation.scaling_plots import plot_continuum, plot_finite_n, plot_learning_curves, plot_wall_clock
from validation.scorecard import DEFAULT_SIMULATION, relative_distance
from validation.welfare import Scenario, economy_gain

SCORES_VERSION = 5
"""Bumped when the scores' definition changes: stored scores of another version are recomputed."""

SCORES_FILE = "scaling.json"

SETTINGS_FILE = "scaling-settings.json"
"""In the sweep directory: the settings of the last :func:`summarize`, which :func:`score_sweep` scores with again."""

TRIAL_COLUMNS = ("experiment", "algorithm", "N", "seed", "steps_per_agent", "n_economies", "timesteps",
                 "wall_clock_seconds", "best_return", "critic_explained_variance", "status")
"""Columns taken from the sweep's own summary (rl.sweep.collect_rows)."""

SCORE_COLUMNS = (
    "pi_K", "pi_gini_wealth", "pi_chat_bias", "pi_welfare_gain_percent", "pi_economy_gain_percent",
    "continuum_K", "continuum_gini_wealth", "continuum_chat_bias", "continuum_welfare_gain_percent",
    "benchmarks_K", "benchmarks_K_solvers", "benchmarks_gini_wealth", "benchmarks_chat_gap",
    "pi_L", "pi_r", "pi_euler_residual", "pi_intratemporal_residual", "continuum_L", "continuum_r",
    "benchmarks_L", "benchmarks_r", "fixed_point_converged",
)
"""Score columns; a cell that does not apply to the experiment family (or a trial that did not finish) is empty."""

SCALING_COLUMNS = TRIAL_COLUMNS + SCORE_COLUMNS + ("run",)
"""Every column of ``scaling.csv``, the same for every sweep."""

FAMILY_COLUMNS = {
    "KS variants": ("pi_K", "pi_gini_wealth", "pi_chat_bias", "pi_welfare_gain_percent", "pi_economy_gain_percent",
                    "pi_euler_residual", "continuum_K",
                    "continuum_gini_wealth", "continuum_chat_bias", "continuum_welfare_gain_percent", "benchmarks_K",
                    "benchmarks_K_solvers", "benchmarks_gini_wealth", "benchmarks_chat_gap"),
    "general": ("pi_K", "pi_L", "pi_r", "pi_euler_residual", "pi_intratemporal_residual", "pi_economy_gain_percent",
                "continuum_K", "continuum_L", "continuum_r", "benchmarks_K", "benchmarks_L", "benchmarks_r",
                "fixed_point_converged"),
}
"""The score columns of each experiment family in ``scaling.md`` (one pair of tables per family present)."""


def _family(experiment: str) -> str:
    return "KS variants" if experiment in KS_EXPERIMENTS else "general"


class ScalingSettings(NamedTuple):
    """How a trial is scored: the simulations of the policy and the benchmark rules, the solves, the welfare runs."""

    n_periods: int = DEFAULT_SIMULATION["ks"]["n_periods"]
    burn_in: int = DEFAULT_SIMULATION["ks"]["burn_in"]
    n_economies: int = DEFAULT_SIMULATION["ks"]["n_economies"]
    seed: int = 0
    """Seed of the shocks every panel sees (the same for RL and the benchmark rules)."""
    solver_households: int = 10_000
    solver_periods: int = 1_100
    """The KS solver's panel (``num_households`` x ``num_periods``); its defaults."""
    welfare_economies: int = 8
    welfare_burn_in: int = 500
    welfare_horizon: Optional[int] = None
    """None: beta^T < 1e-8 (:func:`validation.welfare.default_horizon`)."""

    def check(self) -> "ScalingSettings":
        for name in ("n_periods", "burn_in", "n_economies", "solver_households", "solver_periods",
                     "welfare_economies", "welfare_burn_in"):
            checks.positive_int(name, getattr(self, name), 0 if "burn_in" in name else 1)
        checks.positive_int("seed", self.seed, 0)
        if self.welfare_horizon is not None:
            checks.positive_int("welfare_horizon", self.welfare_horizon)
        return self

    @property
    def simulation(self) -> dict:
        return {"n_periods": self.n_periods, "burn_in": self.burn_in, "n_economies": self.n_economies,
                "seed": self.seed}

    @property
    def solver(self) -> dict:
        defaults = ScalingSettings()
        if (self.solver_households, self.solver_periods) == (defaults.solver_households, defaults.solver_periods):
            return {}  # the solver's own defaults: shares the cache with validation.compare
        return {"num_households": self.solver_households, "num_periods": self.solver_periods}

    @property
    def welfare(self) -> Scenario:
        return Scenario(self.welfare_economies, self.welfare_burn_in, self.welfare_horizon, self.seed)


# ----------------------------------------------------------------------------- one trial
def _experiment_key(row: dict) -> tuple:
    return row["experiment"], row["N"], row["overrides"]


def _experiment(row: dict):
    overrides = json.loads(row["overrides"]) if row["overrides"] else {}
    return make_experiment(row["experiment"], row["N"], **overrides)


def _ks_references(experiment, settings: ScalingSettings) -> dict:
    """The benchmark rules at N in the same economy and the numbers every trial of this (experiment, N) shares."""
    refs = same_economy_references(experiment, **settings.simulation, **settings.solver)
    pi, cont, pisol = refs.price_impact_scores, refs.continuum, refs.price_impact
    taking = refs.price_taking_panel
    gaps = []
    for t in range(0, taking.n_periods, 5):  # the PI rule's chat against the PT rule's, on the PT panel's states
        args = (taking.capital[t], taking.employed[t], taking.aggregate_state[t])
        gaps.append(refs.price_impact_actor.consumption_fraction(*args)
                    - refs.price_taking_actor.consumption_fraction(*args))
    gaps, employed = np.array(gaps), taking.employed[::5]
    types = np.broadcast_to(_household_types(experiment), gaps.shape)
    group_means = [abs(float(gaps[(types == t) & (employed == e)].mean()))
                   for t in np.unique(types) for e in (True, False) if ((types == t) & (employed == e)).any()]
    shared = {"benchmarks_K": relative_distance(pi.mean_capital, cont.mean_capital),
              "benchmarks_K_solvers": relative_distance(pisol.mean_capital, cont.mean_capital),
              "benchmarks_gini_wealth": abs(pi.gini_wealth - cont.gini_wealth),
              "benchmarks_chat_gap": max(group_means)}
    return {"references": refs, "shared": shared}


def _ks_scores(model, experiment, cached: dict, settings: ScalingSettings) -> dict:
    refs = cached["references"]
    panel = simulate_agents(model, experiment, **settings.simulation)
    scores = same_economy_scores(panel, model, refs, welfare=settings.welfare)
    rl, pi, cont = scores.rl, refs.price_impact_scores, refs.continuum
    welfare = scores.welfare
    return {**cached["shared"],
            "pi_K": relative_distance(rl.mean_capital, pi.mean_capital),
            "pi_gini_wealth": abs(rl.gini_wealth - pi.gini_wealth),
            "pi_chat_bias": max(abs(v) for v in scores.chat_bias.values() if not math.isnan(v)),
            "pi_welfare_gain_percent": max(g.mean for g in welfare["price-impact"]["unilateral"]),
            "pi_economy_gain_percent": _population_mean(welfare["price-impact"]["economy"], experiment),
            "pi_euler_residual": max(abs(mean) for mean, _ in scores.realised_euler.values()),
            "continuum_K": relative_distance(rl.mean_capital, cont.mean_capital),
            "continuum_gini_wealth": abs(rl.gini_wealth - cont.gini_wealth),
            "continuum_chat_bias": max(abs(v) for v in scores.chat_bias_price_taking.values() if not math.isnan(v)),
            "continuum_welfare_gain_percent": max(g.mean for g in welfare["price-taking"]["unilateral"])}


def _population_mean(gains, experiment) -> float:
    """The mean over households of per-type gains (types in increasing kappa, as :func:`switching_gains` gives
    them): the RL economy's return normalised by the benchmark rule's, in percent of consumption per period."""
    kappa = np.asarray(experiment.capital_productivity)
    counts = np.array([np.sum(kappa == v) for v in np.unique(kappa)], dtype=float)
    return float(np.dot(counts, [g.mean for g in gains]) / counts.sum())


def _general_references(experiment) -> dict:
    pi, cont = general_benchmark(experiment), continuum_benchmark(experiment)
    return {"shared": {"benchmarks_K": relative_distance(pi.capital, cont.capital),
                       "benchmarks_L": relative_distance(pi.labour, cont.labour),
                       "benchmarks_r": relative_distance(pi.interest_rate, cont.interest_rate)}}


def _general_scores(model, experiment, cached: dict, settings: ScalingSettings) -> dict:
    scores = general_scores(model, experiment)
    distance = {row.metric: row.distance for row in scores.rows()}
    economy = economy_gain(model, steady_state_actor(experiment), experiment, settings.welfare)
    return {**cached["shared"],
            "pi_economy_gain_percent": economy.mean,
            "pi_K": distance["aggregate_capital"], "pi_L": distance["aggregate_labour"],
            "pi_r": distance["interest_rate"],
            "pi_euler_residual": max(v for k, v in distance.items() if k.startswith("euler_residual_")),
            "pi_intratemporal_residual": max(v for k, v in distance.items()
                                             if k.startswith("intratemporal_residual_")),
            "continuum_K": distance["continuum_aggregate_capital"],
            "continuum_L": distance["continuum_aggregate_labour"],
            "continuum_r": distance["continuum_interest_rate"],
            "fixed_point_converged": bool(scores.fixed_point.converged)}


def _settings_record(settings: ScalingSettings) -> dict:
    return {"version": SCORES_VERSION, **settings._asdict()}


def score_trials(sweep_dir, settings: ScalingSettings = ScalingSettings(), *, recompute: bool = False,
                 quiet: bool = True) -> list:
    """One dict per trial of the sweep (columns :data:`SCALING_COLUMNS`), scores computed or read back.

    Completed trials are scored in order of (experiment, N) so that each
    pair's benchmarks are solved and simulated once; a trial's scores are
    stored in its run directory and reused unless the settings changed or
    ``recompute``.  A stored record that lacks a column of its family (scored
    before the column existed) is scored again when its model is in the run
    directory; an archived record (no model) keeps its scores and those cells
    stay empty, with a note.  Trials that did not finish get empty score cells.
    """
    settings = settings.check()
    record = _settings_record(settings)
    rows = collect_rows(sweep_dir)
    out = {row["run"]: {**{c: row.get(c) for c in TRIAL_COLUMNS}, **{c: None for c in SCORE_COLUMNS},
                        "run": row["run"]} for row in rows}
    todo, older = [], []
    has_model = {row["run"]: Path(sweep_dir, "runs", row["run"], "model.zip").is_file() for row in rows}
    for row in sorted((r for r in rows if r["status"] == "ok"), key=lambda r: (_experiment_key(r), r["run"])):
        stored = read_json(Path(sweep_dir, "runs", row["run"], SCORES_FILE))
        if stored is not None and stored.get("settings") == record and not recompute:
            missing = [c for c in FAMILY_COLUMNS[_family(row["experiment"])] if c not in stored["scores"]]
            if not missing or not has_model[row["run"]]:  # scored before a column existed: recomputed if the model is there
                out[row["run"]].update(stored["scores"])
                if missing:
                    older.append((row["run"], missing))
                continue
        todo.append((row, stored))
    if older:
        columns = sorted({c for _, missing in older for c in missing})
        print(f"[scaling] note: {len(older)} archived record(s) were scored before column(s) {', '.join(columns)} "
              f"existed and have no model to score them with; those cells stay empty (first: {older[0][0]})",
              file=sys.stderr, flush=True)
    unscored = [row["run"] for row, stored in todo if stored is None and not has_model[row["run"]]]
    for row, stored in todo:  # before any scoring: an archived record has no model to score
        if stored is not None and not has_model[row["run"]]:
            raise ValueError(f"run {row['run']} has no model.zip (an archived record): its scores are of other "
                             f"settings and cannot be recomputed; summarize with the settings it was scored with "
                             f"({SETTINGS_FILE}) or train the trial again")
    for name in unscored:
        print(f"[scaling] warning: run {name} is an archived record without stored scores (archived before its "
              f"sweep was summarized): its score cells stay empty; archive it again after a summary of its sweep",
              file=sys.stderr, flush=True)
    todo = [(row, stored) for row, stored in todo if row["run"] not in unscored]
    key, cached = None, None
    for row, _ in todo:
        run_dir = Path(sweep_dir, "runs", row["run"])
        experiment = _experiment(row)
        if _experiment_key(row) != key:  # one (experiment, N) at a time: its panels are dropped when it is done
            key = _experiment_key(row)
            cached = (_ks_references(experiment, settings) if row["experiment"] in KS_EXPERIMENTS
                      else _general_references(experiment))
        if not quiet:
            print(f"[scaling] scoring {row['run']}", flush=True)
        model = load_model(run_dir, experiment)
        with one_torch_thread():
            scores = (_ks_scores(model, experiment, cached, settings) if row["experiment"] in KS_EXPERIMENTS
                      else _general_scores(model, experiment, cached, settings))
        scores = {k: float(v) if isinstance(v, (float, np.floating)) else v for k, v in scores.items()}
        write_json_atomic(run_dir / SCORES_FILE, {"settings": record, "scores": scores})
        out[row["run"]].update(scores)
    return [out[row["run"]] for row in rows]


# ----------------------------------------------------------------------------- tables
def _mean_band(values) -> tuple:
    values = np.asarray(values, dtype=float)
    return float(values.mean()), (2.0 * float(np.std(values, ddof=1)) if values.size > 1 else 0.0)


AGGREGATED = tuple(c for c in SCORE_COLUMNS if c != "fixed_point_converged") + ("wall_clock_seconds",
                                                                                 "best_return")
"""Columns averaged over seeds (mean and 2 sd) in the second table and the figures."""


def aggregate(rows: list) -> list:
    """Completed trials grouped over seeds by (experiment, budget, algorithm, N): seeds, mean and 2 sd."""
    groups: dict = {}
    for row in rows:
        if row["status"] == "ok":
            key = (row["experiment"], row["steps_per_agent"], row["algorithm"], row["N"])
            groups.setdefault(key, []).append(row)
    order = {algo: i for i, algo in enumerate(ALGORITHMS)}
    out = []
    for (experiment, budget, algo, n), members in sorted(
            groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0, order[kv[0][2]], kv[0][3])):
        group = {"experiment": experiment, "steps_per_agent": budget, "algorithm": algo, "N": n,
                 "seeds": len(members)}
        for column in AGGREGATED:
            values = [m[column] for m in members if m[column] is not None]
            if len(values) == len(members):
                group[column], group[f"{column}_2sd"] = _mean_band(values)
        out.append(group)
    return out


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def write_tables(sweep_dir, rows: list, groups: list, settings: ScalingSettings) -> None:
    """``scaling.csv`` (every trial, :data:`SCALING_COLUMNS`) and ``scaling.md`` (both tables, the settings, the
    total training time); trials in order of experiment, budget, algorithm, N and seed."""
    sweep_dir = Path(sweep_dir)
    order = {algo: i for i, algo in enumerate(ALGORITHMS)}
    rows = sorted(rows, key=lambda r: (r["experiment"], r["steps_per_agent"] or 0, order[r["algorithm"]], r["N"],
                                       r["seed"]))
    write_csv_atomic(sweep_dir / "scaling.csv", rows, SCALING_COLUMNS)
    seconds = sum(r["wall_clock_seconds"] for r in rows if r["status"] == "ok" and r["wall_clock_seconds"])

    lines = [f"# Scaling study: {sweep_dir.name}\n",
             f"{len(rows)} trials, {sum(r['status'] == 'ok' for r in rows)} complete; their training took "
             f"{seconds / 3600:.2f} core-hours (one core per trial, `model.learn`). Scored with "
             f"{json.dumps(settings._asdict())}. Distances: `*_K`, `*_L`, `*_r` relative; Ginis, chat bias "
             "absolute; welfare gains in percent of consumption per period; residuals per period. "
             "`pi_*`: RL against the price-impact benchmark at N; `continuum_*`: against the continuum; "
             "`benchmarks_*`: the price-impact benchmark at N against the continuum. Every column: scaling.csv.\n"]
    trial_columns = [c for c in TRIAL_COLUMNS if c not in ("steps_per_agent", "n_economies")]
    for family, score_columns in FAMILY_COLUMNS.items():
        members = [r for r in rows if _family(r["experiment"]) == family]
        if not members:
            continue
        shown = trial_columns + list(score_columns)
        lines += [f"## {family}: trials\n", "| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
        lines += ["| " + " | ".join(_cell(r[c]) for c in shown) + " |" for r in members]
        family_groups = [g for g in groups if _family(g["experiment"]) == family]
        if family_groups:
            columns = [c for c in score_columns + ("wall_clock_seconds",) if c in AGGREGATED]
            lines += ["", f"## {family}: mean ± 2 sd over seeds\n",
                      "| experiment | steps_per_agent | algorithm | N | seeds | " + " | ".join(columns) + " |",
                      "|" + "---|" * (5 + len(columns))]
            for g in family_groups:
                cells = [f"{g[c]:.4g} ± {g[c + '_2sd']:.2g}" if c in g else "" for c in columns]
                lines.append(f"| {g['experiment']} | {_cell(g['steps_per_agent'])} | {g['algorithm']} | {g['N']} | "
                             f"{g['seeds']} | " + " | ".join(cells) + " |")
        lines.append("")
    write_text_atomic(sweep_dir / "scaling.md", "\n".join(lines) + "\n")


def _learning_curve(sweep_dir: Path, row: dict) -> Optional[tuple]:
    """(algorithm, N, seed, updates per agent, mean returns) of a completed trial's ``returns.csv``, or None."""
    path = sweep_dir / "runs" / row["run"] / "returns.csv"
    if row["status"] != "ok" or not path.is_file():
        return None
    with open(path) as handle:
        points = [(float(r["timesteps"]), float(r["mean_return"])) for r in csv.DictReader(handle)]
    if not points:
        return None
    x, y = np.array(points).T
    return row["algorithm"], row["N"], row["seed"], x / (row["N"] * row["n_economies"]), y


def summarize(sweep_dir, settings: ScalingSettings = ScalingSettings(), *, figures: bool = True,
              recompute: bool = False, quiet: bool = True) -> list:
    """Rebuild the sweep's summary, ``scaling.csv``, ``scaling.md`` and four figures per experiment.

    Returns the rows of :func:`score_trials`.  Figures go to ``SWEEP_DIR/figures/``.
    """
    sweep_dir = Path(sweep_dir)
    if not (sweep_dir / "runs").is_dir():
        raise ValueError(f"sweep_dir: {sweep_dir} has no runs/ folder (is it a sweep directory?)")
    write_summary(sweep_dir, figures=figures)
    rows = score_trials(sweep_dir, settings, recompute=recompute, quiet=quiet)
    write_json_atomic(sweep_dir / SETTINGS_FILE, settings._asdict())
    groups = aggregate(rows)
    write_tables(sweep_dir, rows, groups, settings)
    if figures:
        by_experiment: dict = {}
        for g in groups:
            by_experiment.setdefault(g["experiment"], []).append(g)
        for experiment, members in by_experiment.items():
            plot_continuum(members, sweep_dir / "figures" / f"continuum-{experiment}.png", experiment)
            plot_finite_n(members, sweep_dir / "figures" / f"finite-n-{experiment}.png", experiment)
            plot_wall_clock(members, sweep_dir / "figures" / f"wall-clock-{experiment}.png", experiment)
            curves = [curve for row in rows if row["experiment"] == experiment
                      and (curve := _learning_curve(sweep_dir, row)) is not None]
            if curves:
                plot_learning_curves(curves, sweep_dir / "figures" / f"learning-{experiment}.png", experiment)
    return rows


def score_sweep(sweep_dir, *, figures: bool = True, quiet: bool = False) -> list:
    """:func:`summarize` with the settings the sweep was last scored with (:data:`SETTINGS_FILE`; the defaults
    the first time), printing where it wrote: the scorer that ``python -m rl.sweep summarize`` runs (entry
    point ``marl_bc.sweep_scorers``)."""
    stored = read_json(Path(sweep_dir) / SETTINGS_FILE)
    settings = ScalingSettings() if stored is None else ScalingSettings(**stored)
    rows = summarize(sweep_dir, settings, figures=figures, quiet=quiet)
    _report(rows, settings, Path(sweep_dir))
    return rows


def _report(rows: list, settings: ScalingSettings, sweep_dir: Path) -> None:
    print(f"scored {sum(r['status'] == 'ok' and r['pi_K'] is not None for r in rows)} of {len(rows)} trials (settings "
          f"{settings_digest(settings)}); wrote {sweep_dir / 'scaling.csv'}, {sweep_dir / 'scaling.md'}")


def settings_digest(settings: ScalingSettings) -> str:
    """Short SHA-256 of the scoring settings (printed, so that two summaries can be told apart)."""
    return hashlib.sha256(json.dumps(_settings_record(settings), sort_keys=True).encode()).hexdigest()[:8]


# ----------------------------------------------------------------------------- command line
SETTING_HELP = {
    "n_periods": "kept periods of every simulated panel (RL and the benchmark rules)",
    "burn_in": "periods simulated before the kept ones",
    "n_economies": "independent economies of N households per panel",
    "seed": "seed of the shocks every panel sees",
    "solver_households": "households of the KS solver's panel",
    "solver_periods": "periods of the KS solver's panel",
    "welfare_economies": "economies of the welfare comparison",
    "welfare_burn_in": "periods of the RL rule before the welfare comparison starts",
}
"""Help of the command-line options that set :class:`ScalingSettings` (the default is the field's)."""

def build_parser() -> argparse.ArgumentParser:
    defaults = ScalingSettings()
    parser = argparse.ArgumentParser(
        prog="python -m validation.scaling", formatter_class=HelpFormatter,
        description="Score every trial of a sweep against the finite-N and continuum benchmarks at its N.")
    commands = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    text = ("rebuild the sweep's summary, scaling.csv, scaling.md and the figures of a sweep directory from its "
            "runs/")
    summarize_ = commands.add_parser("summarize", help=text, description=text + ".", formatter_class=HelpFormatter)
    summarize_.add_argument("directory", type=Path, help="sweep directory (the --out of python -m rl.sweep run)")
    summarize_.add_argument("--no-figures", action="store_true", help="write the tables only")
    summarize_.add_argument("--recompute", action="store_true",
                            help="score every trial again even where its run directory holds scores")
    for field, text in SETTING_HELP.items():
        summarize_.add_argument(f"--{field.replace('_', '-')}", type=int, default=getattr(defaults, field),
                                metavar="N", help=text)
    summarize_.add_argument("--welfare-horizon", type=int, default=None, metavar="N",
                            help="periods of the welfare comparison (default: beta^T < 1e-8)")
    summarize_.add_argument("--quiet", action="store_true", help="do not print each trial as it is scored")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = ScalingSettings(**{f: getattr(args, f) for f in ScalingSettings._fields})
    try:
        rows = summarize(args.directory, settings, figures=not args.no_figures, recompute=args.recompute,
                         quiet=args.quiet)
    except ValueError as err:
        parser.error(str(err))
    _report(rows, settings, args.directory)
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
