"""``python -m rl.polish``: a finished run's policy polished into a new directory.

The polishing itself, its margins and what each is for: :mod:`rl.polish_rounds`
(:func:`~rl.polish_rounds.polish`).  This module reads the run, checks every
setting before any work, polishes (resuming an interrupted polishing from its
last complete round with ``--resume``) and writes the polished run, whole or
not at all (:func:`polish_run`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Optional

import torch as th

from econ import checks
from econ.cli_help import ArgumentParser
from econ.experiments import make_experiment
from econ.io import exclusive_lock, write_json_atomic
from rl import polish_checkpoint
from rl.loading import load_model, run_config
from rl.polish_rounds import check_polishable, polish
from rl.polish_settings import BURN_IN, MARGINS, MEASURED, check_algorithm, check_price_impact
from rl.provenance import code_version, machine


POLISH_SETTINGS = ("rounds", "steps", "learning_rate", "anchor", "margin", "periods", "burn_in", "seed",
                   "fixed_point", "price_impact", "balanced", "carry", "spread", "robust", "trust", "guard", "reach",
                   "settle")
"""The settings :func:`polish_run` records under ``polished_from`` (each an option of the command line, ``_`` as
``-``; ``fixed_point``, ``carry``, ``settle`` and the euler margin's ``spread`` to ``reach`` only when used,
``burn_in`` only when not :data:`BURN_IN`, ``anchor`` with the intratemporal margin only, ``price_impact`` with the
euler margin only)."""

TRAINING_RECORDS = ("returns.csv", "evaluations.csv")
"""The run's learning curve and training-time evaluations, copied into a polished directory as they are."""


def polish_run(run, out, *, rounds: int = 10, steps: int = 200, learning_rate: float = 1e-5,
               anchor: Optional[float] = None, margin: str = "intratemporal", periods: int = 200,
               burn_in: int = BURN_IN, seed: Optional[int] = None, unpolished: bool = False,
               fixed_point: float = 0.0, price_impact=None, balanced: bool = False, carry: bool = False,
               spread: float = 0.0, robust: float = 0.0, trust: float = 0.0, guard: float = 0.0, reach: float = 0.0,
               settle: int = 0, resume: bool = False, log=print) -> list:
    """Polish the finished run ``run`` (PPO; SAC, TD3 or DDPG on the euler or intratemporal margin) into the new
    directory ``out`` (``python -m rl.polish``).

    It polishes the run's ``model.zip``, or with ``unpolished`` the
    ``model-unpolished.zip`` that a run polished in training keeps (the
    policy before its polishing: the same settings and seed then give the
    run's own ``model.zip`` again).  ``out`` gets the run's ``config.json``
    (with the settings, the code's git commit and the machine under
    ``polished_from``; a polished directory's own earlier ones move to
    ``earlier_polishings``), the polished ``model.zip``, a ``summary.json``
    holding the run's summary with this polishing's records after any the
    polished model already had, and the run's :data:`TRAINING_RECORDS`;
    everything is checked before anything is written, an existing ``out``
    is refused (one writer per directory), and the files are written into a
    hidden sibling directory that is renamed to ``out`` at the end.  Each
    complete round's state is kept in another hidden sibling, ``.OUT.polishing``
    (:mod:`rl.polish_checkpoint`), removed at the end: an interrupted polishing
    is refused until ``resume`` continues it from there (the same settings,
    ``rounds`` may grow) or the directory is deleted; ``resume`` with none
    starts afresh.
    ``seed`` defaults to the run's own; ``anchor`` (the intratemporal
    margin's, 100 when None) is refused with another margin unless 0 or None
    (no anchor), and recorded only with its own.  Returns the records.
    """
    if margin == "intratemporal":  # the one margin that has an anchor (the others would ignore it)
        anchor = 100.0 if anchor is None else checks.non_negative("anchor", anchor)
    elif anchor:  # 0 is no anchor, as the recipes' polish settings write it for these margins
        raise ValueError(f"anchor applies to the intratemporal margin only (0 or none with margin {margin!r}), "
                         f"got {anchor!r}")
    burn_in = checks.positive_int("burn_in", burn_in, minimum=0)
    run, out = Path(run), Path(out)
    config = run_config(run)
    try:
        check_algorithm(config.get("algorithm"), margin)
    except ValueError as err:
        raise ValueError(f"{run}: {err}") from None
    if not (run / "summary.json").is_file():
        raise ValueError(f"{run}: no summary.json, the run has not finished")
    if out.exists():
        raise FileExistsError(f"{out} exists; polishing writes a new directory (one writer per directory)")
    progress = out.parent / f".{out.name}.polishing"
    if (progress / polish_checkpoint.FILE).exists() and not resume:  # a round was kept: an interrupted one
        raise FileExistsError(f"{progress} holds an interrupted polishing of {out}: --resume continues it, or "
                              f"delete it to start afresh")
    experiment = make_experiment(config["experiment_name"], config.get("n_agents"), **config.get("overrides", {}))
    check_polishable(experiment, margin)
    source = run / ("model-unpolished.zip" if unpolished else "model.zip")
    if not source.is_file():
        raise FileNotFoundError(f"no {source.name} in {run}" + (" (only runs polished in training keep one)"
                                                                 if unpolished else ""))
    model = load_model(source, experiment)
    seed = int(config.get("seed", 0)) if seed is None else seed
    settings = {"rounds": rounds, "steps": steps, "learning_rate": learning_rate, "margin": margin,
                "periods": periods, "seed": seed}
    if margin == "intratemporal":  # recorded for the one margin it belongs to
        settings["anchor"] = anchor
    if burn_in != BURN_IN:  # recorded when not the default: a directory polished with it reads as before
        settings["burn_in"] = burn_in
    for name, value in (("fixed_point", fixed_point), ("spread", spread)):  # recorded when used: a directory
        if value:  # polished without them reads as before
            settings[name] = checks.closed(name, value, 0.0, 1.0)
    for name, value in (("robust", robust), ("trust", trust), ("guard", guard), ("reach", reach)):  # likewise
        if value:
            settings[name] = checks.non_negative(name, value)
    if carry:  # likewise
        settings["carry"] = True
    if settle:  # likewise
        settings["settle"] = checks.positive_int("settle", settle, minimum=0)
        if guard:
            raise ValueError(f"settle and guard both set the learning rate: give one, got settle {settle} and "
                             f"guard {guard}")
    if margin == "euler":  # recorded for the margin it belongs to
        settings["price_impact"] = check_price_impact(price_impact, margin, experiment.technology,
                                                      len(set(experiment.capital_productivity)))
        if balanced:
            settings["balanced"] = True
    else:
        check_price_impact(price_impact, margin)
    began = time.perf_counter()
    progress.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(progress, ".lock", "a polishing", "wait for it to finish"):
        kept = polish_checkpoint.elapsed(progress)  # the seconds of an interrupted polishing's kept rounds
        records = polish(model, experiment, log=log, checkpoint=progress, **settings)
    seconds = kept + time.perf_counter() - began
    summary = json.loads((run / "summary.json").read_text())
    earlier = [] if unpolished else summary.get("polish") or []  # a run polished in training keeps those first
    if unpolished and summary.get("polish_seconds"):  # the run's own polishing is replaced, and its time with it
        summary = {**summary, "wall_clock_seconds": summary["wall_clock_seconds"] - summary["polish_seconds"]}
    tmp = out.parent / f".{out.name}.tmp"
    if tmp.exists():
        shutil.rmtree(tmp)  # a polishing killed before its rename
    tmp.mkdir(parents=True)
    model.save(tmp / "model.zip")
    for name in TRAINING_RECORDS:  # the training the polished policy came from (its evaluations scored it unpolished)
        if (run / name).is_file():
            shutil.copyfile(run / name, tmp / name)
    write_json_atomic(tmp / "summary.json", {**summary, "polish": earlier + [r._asdict() for r in records],
                                             "polish_seconds": seconds})  # this polishing's, every sitting's
    if config.get("polished_from"):  # a polished directory polished again: its lineage, oldest first
        config = {**config, "earlier_polishings": [*(config.get("earlier_polishings") or []),
                                                   config["polished_from"]]}
    write_json_atomic(tmp / "config.json", {**config, "polished_from": {"run": str(run), "model": source.name,
                                                                         **settings, "code": code_version(),
                                                                         "machine": machine()}})
    os.rename(tmp, out)  # the directory appears whole, or not at all
    shutil.rmtree(progress)
    log(f"polished in {seconds:.1f} s; saved {out / 'model.zip'}")
    return records


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m rl.polish", description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="finished run directory (model.zip, config.json, summary.json): "
                                               "PPO, or SAC, TD3 or DDPG with the euler or intratemporal margin")
    parser.add_argument("--out", type=Path, required=True, help="new directory for the polished run (required)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of fresh states (default: 10)")
    parser.add_argument("--steps", type=int, default=200, help="full-batch Adam steps per round (default: 200)")
    parser.add_argument("--learning-rate", type=float, default=1e-5, help="Adam's step size (default: 1e-5)")
    parser.add_argument("--anchor", type=float, default=None,
                        help="weight of the saving rule's anchor, intratemporal margin only; 0 with the others "
                             "(default: 100 with the intratemporal margin)")
    parser.add_argument("--margin", choices=MARGINS, default="intratemporal",
                        help="what to climb (default: intratemporal)")
    parser.add_argument("--periods", type=int, default=200, help="periods kept per economy and round (default: 200)")
    parser.add_argument("--burn-in", type=int, default=BURN_IN,
                        help=f"periods simulated before those kept, each round (with --carry the first only), "
                             f"from the environment's initial states (default: {BURN_IN})")
    parser.add_argument("--seed", type=int, default=None, help="seed of the simulated states (default: the run's)")
    parser.add_argument("--fixed-point", type=float, default=0.0,
                        help="weight in [0, 1] of the deterministic economy's states (sigma = 0, the neighbourhood "
                             "of the policy's fixed point) in the loss, the AR(1) economies' intratemporal and euler "
                             "margins (default: 0)")
    parser.add_argument("--price-impact", default=None,
                        help="euler margin: phi, the weight of the household's own effect on next period's prices "
                             "in its private return, 'measured' each round under the rule (default), a number in "
                             "[0, 1] (1 the open-loop household; the AR(1) economies' default, never measured), or "
                             "in the Krusell-Smith economies one per kappa type, low to high, separated by commas")
    parser.add_argument("--balanced", action="store_true",
                        help="euler margin: each kappa type x employment group's mean squared error, averaged over "
                             "the groups (default: off, the mean over every household)")
    parser.add_argument("--spread", type=float, default=0.0,
                        help="euler margin: W in [0, 1]; half of each round's states get every household's capital "
                             "scaled by one factor exp(u), u ~ U(-W, W), aggregate capital off the rule's own path "
                             "(default: 0, the states as simulated)")
    parser.add_argument("--robust", type=float, default=0.0,
                        help="euler margin: b >= 0; each log error beyond b enters the loss linearly (2 b |e| - b^2) "
                             "instead of squared (default: 0, squared throughout)")
    parser.add_argument("--trust", type=float, default=0.0,
                        help="euler margin: d >= 0; each round's steps stop once a mean action on its states has "
                             "moved by d (default: 0, every step)")
    parser.add_argument("--guard", type=float, default=0.0,
                        help="euler margin: g >= 0; a round whose states' mean capital leaves the earlier rounds' "
                             "range widened by 1 + g undoes the round before it and halves the learning rate "
                             "(default: 0, no check)")
    parser.add_argument("--reach", type=float, default=0.0,
                        help="euler margin: R >= 0; a quarter of each round's states get one household's capital "
                             "scaled by exp(u), u ~ U(0, R) (default: 0, the states as simulated)")
    parser.add_argument("--settle", type=int, default=0,
                        help="S >= 0: rounds after the S-th take the learning rate times S / round, falling so that "
                             "the rule settles (default: 0, the same rate in every round)")
    parser.add_argument("--carry", action="store_true",
                        help="continue each round's economies from where the previous round's ended, the burn-in "
                             "before the first round only (default: off, afresh from the initial states)")
    parser.add_argument("--unpolished", action="store_true",
                        help="start from the run's model-unpolished.zip, the policy before the polishing in "
                             "training (default: its model.zip)")
    parser.add_argument("--resume", action="store_true",
                        help="continue an interrupted polishing of --out from its last complete round (the same "
                             "settings; --rounds may grow) (default: off, an interrupted one is refused)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.price_impact not in (None, MEASURED):
        try:
            values = [float(part) for part in args.price_impact.split(",")]
        except ValueError:
            print(f"python -m rl.polish: error: --price-impact must be {MEASURED!r}, a number in [0, 1] or one per "
                  f"kappa type separated by commas, got {args.price_impact!r}")
            return 2
        args.price_impact = values[0] if len(values) == 1 else values
    th.set_num_threads(1)
    try:
        polish_run(args.run, args.out, rounds=args.rounds, steps=args.steps, learning_rate=args.learning_rate,
                   anchor=args.anchor, margin=args.margin, periods=args.periods, burn_in=args.burn_in,
                   seed=args.seed, unpolished=args.unpolished, fixed_point=args.fixed_point,
                   price_impact=args.price_impact, balanced=args.balanced, carry=args.carry, spread=args.spread,
                   robust=args.robust, trust=args.trust, guard=args.guard, reach=args.reach, settle=args.settle,
                   resume=args.resume)
    except (ValueError, FileExistsError, FileNotFoundError, RuntimeError) as err:
        print(f"python -m rl.polish: error: {err}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
