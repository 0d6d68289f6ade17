"""The command line ``python -m rl.sweep run|summarize|archive`` and sweep configuration files (TOML or JSON)."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import sys
from pathlib import Path
from typing import Optional, Sequence

from econ.cli_help import HelpFormatter
from econ.experiments import EXPERIMENTS
from rl.config import parse_assignment
from rl.recipes import ALGORITHMS, PRESETS
from rl.sweep.archive import archive_sweep
from rl.sweep.plan import DEFAULT_GRID, GRID_AXES, TRIAL_SETTINGS, plan_sweep
from rl.sweep.rundir import trial_status
from rl.sweep.run import resume_step, run_sweep
from rl.sweep.summary import markdown_table, write_summary

try:  # tomllib is in the standard library from Python 3.11; the project supports 3.10 for JSON config files
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    tomllib = None

EXECUTION_DEFAULTS = {"out": None, "workers": 1, "retries": 1, "ray_address": None, "cpus_per_trial": 1.0}
"""Keys of a config file that say how, not what, to run, and their values when neither file nor command line
gives them (``out`` has none: it is required)."""

EXECUTION_SETTINGS = tuple(EXECUTION_DEFAULTS)

SCORER_GROUP = "marl_bc.sweep_scorers"
"""Entry-point group of the scorers ``summarize`` runs after the sweep's own summary: callables
``scorer(sweep_dir, *, figures, quiet)`` that rebuild the sweep's summary and add their own tables and figures
(this package declares ``validation.scaling``'s, so that ``rl`` need not import ``validation``)."""

COMMANDS = {
    "run": "run (or resume) a sweep: plan the grid, train every incomplete trial, write the summary",
    "summarize": "rebuild summary.csv, summary.md and the figures of a sweep directory from its runs/",
    "archive": "copy the completed trials' records (JSON and CSV files, no models) to another sweep directory",
}


def load_config(path) -> tuple:
    """Read a TOML or JSON sweep file: returns (grid blocks, execution settings).

    Top-level keys are :data:`~rl.sweep.plan.GRID_AXES`,
    :data:`~rl.sweep.plan.TRIAL_SETTINGS`, :data:`EXECUTION_SETTINGS` and
    ``grid``, a list of blocks (tables) each holding grid axes and trial
    settings; a block's values replace the top-level ones (``overrides``,
    ``vary`` and ``hyper`` are merged, the block winning).  Without ``grid``
    the top level is the one block.
    """
    path = Path(path)
    if path.suffix == ".toml":
        if tomllib is None:
            raise ValueError(f"config {path}: TOML files need Python 3.11 or later (tomllib); use JSON")
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    elif path.suffix == ".json":
        data = json.loads(path.read_text())
    else:
        raise ValueError(f"config {path}: the file must end in .toml or .json")
    allowed = GRID_AXES + TRIAL_SETTINGS + EXECUTION_SETTINGS + ("grid",)
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValueError(f"config {path}: unknown key(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(allowed)}")
    execution = {k: data[k] for k in EXECUTION_SETTINGS if k in data}
    top = {k: v for k, v in data.items() if k in GRID_AXES + TRIAL_SETTINGS}
    blocks = data.get("grid", [{}])
    if not isinstance(blocks, list) or not blocks:
        raise ValueError(f"config {path}: 'grid' must be a non-empty list of tables")
    return [_merge(top, block) for block in blocks], execution


def _merge(base: dict, block: dict) -> dict:
    merged = {**base, **block}
    for key in ("overrides", "vary", "hyper"):
        if key in base and key in block:
            merged[key] = {**base[key], **block[key]}
    return merged


def _parse_hyper(text: str):
    key, value = parse_assignment(text)
    if ":" in key:
        algo, name = key.split(":", 1)
        return algo.strip(), name.strip(), value
    return None, key, value


def _none_or_int(text: str):
    return None if text.lower() == "default" else int(text)


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m rl.sweep``; run options default to None so that a config file's values show."""
    parser = argparse.ArgumentParser(
        prog="python -m rl.sweep", formatter_class=HelpFormatter,
        description="Sweeps of training runs (experiments x algorithms x N x seeds), locally or on Ray Tune.",
        epilog="`run` may be omitted: python -m rl.sweep --out DIR ... is python -m rl.sweep run --out DIR ...")
    commands = parser.add_subparsers(dest="command", required=True, title="commands", metavar="COMMAND")
    run = commands.add_parser("run", help=COMMANDS["run"], description=COMMANDS["run"] + ".",
                              formatter_class=HelpFormatter)
    grid = DEFAULT_GRID
    run.add_argument("--config", type=Path, metavar="FILE", help="TOML or JSON sweep file; command-line values win (default: none)")
    run.add_argument("--out", type=Path, metavar="DIR", help="sweep directory, run directories go to OUT/runs (no default: "
                                              "required here or as 'out' in the config file)")
    run.add_argument("--experiments", nargs="+", metavar="NAME",
                     help=f"experiments, from {', '.join(EXPERIMENTS)} (no default: required)")
    run.add_argument("--algorithms", "--algos", nargs="+", metavar="ALGO",
                     help=f"algorithms, from {', '.join(ALGORITHMS)} (no default: required)")
    run.add_argument("--n-agents", nargs="+", type=_none_or_int, metavar="N",
                     help="numbers of households; 'default' is the experiment's own N (default: default)")
    run.add_argument("--seeds", nargs="+", type=int, metavar="SEED",
                     help=f"seeds (default: {' '.join(map(str, grid['seeds']))})")
    run.add_argument("--presets", nargs="+", metavar="PRESET",
                     help=f"hyperparameter presets, from {', '.join(PRESETS)} (default: {' '.join(grid['presets'])})")
    budget = run.add_mutually_exclusive_group()
    budget.add_argument("--timesteps", nargs="+", type=int, metavar="T",
                        help="budget in total agent-steps per trial (no default: give this or --steps-per-agent)")
    budget.add_argument("--steps-per-agent", nargs="+", type=int, metavar="S",
                        help="budget in vec-steps per trial, agent-steps = S * N * n_economies (no default: give "
                             "this or --timesteps)")
    run.add_argument("--set", dest="overrides", type=parse_assignment, action="append", default=[],
                     metavar="FIELD=VALUE", help="override an experiment field in every trial, repeatable "
                                                 "(default: the experiment's values)")
    run.add_argument("--vary", type=parse_assignment, action="append", default=[], metavar="FIELD=[V1, V2]",
                     help="sweep an experiment field over a list of values, repeatable (default: none)")
    run.add_argument("--hyper", type=_parse_hyper, action="append", default=[], metavar="[ALGO:]NAME=VALUE",
                     help="SB3 hyperparameter over the preset, for every algorithm or only ALGO, repeatable "
                          "(default: the preset's)")
    run.add_argument("--recipe", action="store_true", default=None,
                     help="start every trial from its experiment's training recipe for its algorithm "
                          "(rl/hyperparams/ALGO.yml: preset, economies, hyperparameters; the budget stays the "
                          "sweep's) (default: off, the presets)")
    run.add_argument("--n-steps", type=int, help="rollout length per slot of the PPO trials (default: the preset's)")
    run.add_argument("--n-economies", type=int,
                     help=f"economies per VecEnv (default: {grid['n_economies']})")
    run.add_argument("--workers", type=int, help="local worker processes, or CPUs of a --ray-address local "
                                                 f"instance (default: {EXECUTION_DEFAULTS['workers']})")
    run.add_argument("--retries", type=int,
                     help=f"extra attempts of a failed trial (default: {EXECUTION_DEFAULTS['retries']})")
    run.add_argument("--ray-address", help="run on Ray Tune: 'auto', 'local' or an address, needs the ray extra "
                                           "(default: none, local processes)")
    run.add_argument("--cpus-per-trial", type=float,
                     help=f"CPUs Ray reserves per trial (default: {EXECUTION_DEFAULTS['cpus_per_trial']:g})")
    run.add_argument("--dry-run", action="store_true", help="list the trials and their status, run nothing")
    run.add_argument("--quiet", action="store_true", help="do not print the trial log (it is still written)")
    summarize = commands.add_parser("summarize", help=COMMANDS["summarize"], description=COMMANDS["summarize"] + ".",
                                    formatter_class=HelpFormatter)
    summarize.add_argument("directory", type=Path, help="sweep directory (the --out of the run)")
    summarize.add_argument("--no-figures", action="store_true", help="write the tables only")
    summarize.add_argument("--no-scores", action="store_true",
                           help="the sweep's own summary only (returns, wall-clock), not the installed scorers' "
                                "(default: both; the scaling study's scores against the benchmarks)")
    summarize.add_argument("--quiet", action="store_true", help="do not print each trial as it is scored")
    archive = commands.add_parser(
        "archive", help=COMMANDS["archive"], formatter_class=HelpFormatter,
        description=COMMANDS["archive"] + ": a few kB per trial, to keep in version control. `summarize DEST` "
                    "rebuilds the tables and figures from them (stored scores are read back) and `run --out DEST` "
                    "skips the archived trials; archiving the records back into a fresh directory continues a "
                    "study on another machine.")
    archive.add_argument("source", type=Path, help="sweep directory to copy from")
    archive.add_argument("dest", type=Path, help="sweep directory to copy to (created if missing)")
    archive.add_argument("--require", action="append", default=[], metavar="FILE",
                         help="archive only the trials whose run directory holds FILE, repeatable (scaling.json: "
                              "only the scored ones) (default: every completed trial)")
    return parser


def scorers() -> list:
    """The installed scorers of :data:`SCORER_GROUP`, as (name, callable), sorted by name."""
    return [(point.name, point.load())
            for point in sorted(importlib.metadata.entry_points(group=SCORER_GROUP), key=lambda p: p.name)]


def _blocks_and_settings(args) -> tuple:
    """Grid blocks and execution settings: the config file's, then the command line's on top."""
    blocks, execution = load_config(args.config) if args.config else ([{}], {})
    cli = {key: getattr(args, key) for key in ("experiments", "algorithms", "n_agents", "seeds", "presets",
                                                "timesteps", "steps_per_agent", "n_steps", "n_economies", "recipe")
           if getattr(args, key) is not None}
    if "timesteps" in cli or "steps_per_agent" in cli:
        blocks = [{k: v for k, v in b.items() if k not in ("timesteps", "steps_per_agent")} for b in blocks]
    hyper: dict = {}
    for algo, name, value in args.hyper:
        if algo is None:
            hyper[name] = value
        else:
            hyper.setdefault(algo, {})[name] = value
    dicts = {"overrides": dict(args.overrides), "vary": dict(args.vary), "hyper": hyper}
    merged = []
    for block in blocks:
        block = {**block, **cli}
        for key, values in dicts.items():
            if values:
                block[key] = {**block.get(key, {}), **values}
        merged.append(block)
    settings = {**EXECUTION_DEFAULTS, **execution}
    settings.update({key: getattr(args, key) for key in settings if getattr(args, key, None) is not None})
    if settings["out"] is None:
        raise ValueError("the sweep directory is missing: give --out DIR (or 'out' in the config file)")
    return merged, settings


def _summarize(parser: argparse.ArgumentParser, args) -> int:
    if not (args.directory / "runs").is_dir():
        parser.error(f"directory: {args.directory} has no runs/ folder (is it a sweep directory?)")
    rows = write_summary(args.directory, figures=not args.no_figures)
    print(markdown_table(rows), end="")
    print(f"wrote {args.directory / 'summary.csv'}, {args.directory / 'summary.md'}")
    ok = all(r["status"] == "ok" for r in rows)
    for name, scorer in ([] if args.no_scores else scorers()):
        try:
            scored = scorer(args.directory, figures=not args.no_figures, quiet=args.quiet)
        except ValueError as err:
            parser.error(f"scorer {name}: {err}")
        ok = ok and all(r["status"] == "ok" for r in scored)
    return 0 if ok else 1


def _archive(parser: argparse.ArgumentParser, args) -> int:
    try:
        result = archive_sweep(args.source, args.dest, args.require)
    except (ValueError, OSError) as err:
        parser.error(str(err))
    without = f", {len(result.missing)} without {', '.join(args.require)}" if args.require else ""
    print(f"archived {args.source} into {args.dest}: {len(result.copied)} trials copied, {len(result.updated)} "
          f"updated, {len(result.unchanged)} unchanged; {len(result.incomplete)} incomplete{without} left out")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in (*COMMANDS, "-h", "--help"):
        argv.insert(0, "run")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "summarize":
        return _summarize(parser, args)
    if args.command == "archive":
        return _archive(parser, args)
    try:
        blocks, settings = _blocks_and_settings(args)
        trials = plan_sweep(blocks)
    except (ValueError, OSError) as err:
        parser.error(str(err))
    sweep_dir = Path(settings["out"])
    if args.dry_run:
        for trial in trials:
            run_dir = sweep_dir / "runs" / trial.name
            status = trial_status(run_dir)
            step = resume_step(run_dir) if status == "incomplete" else None
            resumes = "" if step is None else f" resumes_at={step}"
            print(f"{status:10s} {trial.name} timesteps={trial.config.timesteps}{resumes}")
        return 0
    try:
        result = run_sweep(trials, sweep_dir, workers=settings["workers"], retries=settings["retries"],
                           ray_address=settings["ray_address"], cpus_per_trial=settings["cpus_per_trial"],
                           quiet=args.quiet)
    except (ValueError, RuntimeError, ConnectionError) as err:
        parser.error(str(err))
    print(f"{len(result.completed)} trained, {len(result.skipped)} already complete, {len(result.failed)} failed; "
          f"summary in {sweep_dir / 'summary.md'}")
    for name in result.failed:
        print(f"FAILED {name}: see {sweep_dir / 'runs' / name / 'error.json'}", file=sys.stderr)
    return 0 if result.ok else 1
