"""``python -m econ ks``: the Krusell-Smith economy solved for its law of motion.

Prints the law of motion, R^2, den Haan's errors, Ginis, per-type capital and
consumption fractions and timings; writes ``ks_law_of_motion.png``,
``ks_lorenz.png``, ``ks_consumption_fraction.png`` and ``summary.json`` to ``--out``.
With ``--law two-moment`` (households also forecast the variance of capital,
:mod:`econ.krusell_smith.two_moment`) it prints both laws and writes ``summary.json`` only.
"""

from __future__ import annotations

import numpy as np

import argparse

from econ.cli_help import ArgumentParser, HelpFormatter, calibration_defaults
from econ.fixed_point import ConvergenceError
from econ.io import write_json_atomic
from econ.rbc.cli import check_output_folder
from econ.krusell_smith.law_of_motion import LAWS
from econ.krusell_smith.solver import solve_krusell_smith
from econ.krusell_smith.params import CALIBRATIONS, KrusellSmithParams
from econ.krusell_smith.two_moment import solve_two_moment
from econ.krusell_smith.plots import plot_consumption_fraction, plot_law_of_motion, plot_lorenz

OVERRIDABLE = {
    "alpha": "capital share, in (0, 1)",
    "beta": "discount factor, in (0, 1)",
    "delta": "depreciation rate, in (0, 1]",
    "labour_endowment": "labour endowment lbar of an employed household, > 0",
}
DEFAULT_CALIBRATION = "ks-1998"
TWO_MOMENT = "two-moment"
"""``--law`` value of the two-moment law (:mod:`econ.krusell_smith.two_moment`)."""
EXPERIMENT_CALIBRATIONS = ("ks", "ks-het-mild", "ks-het-marked")
"""The calibrations of the experiments that ``python -m validation.compare`` scores, by the same names."""


def _calibration_list() -> str:
    lines = []
    for name, constructor in CALIBRATIONS.items():
        summary = getattr(KrusellSmithParams, constructor).__doc__.strip().splitlines()[0].replace("``", "")
        notes = [note for flag, note in ((name == DEFAULT_CALIBRATION, "default"),
                                         (name in EXPERIMENT_CALIBRATIONS, "experiment scored by validation.compare"))
                 if flag]
        lines.append(f"  {name:<14s}{summary}" + (f" [{'; '.join(notes)}]" if notes else ""))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    makers = {name: (lambda name=name: KrusellSmithParams.calibration(name)) for name in CALIBRATIONS}
    parser = ArgumentParser(
        prog="python -m econ ks",
        description=(
            "The Krusell-Smith economy solved for its law of motion.\n\n"
            f"By default it solves {DEFAULT_CALIBRATION}, the published Krusell-Smith (1998) calibration; "
            f"the experiments scored by\n`python -m validation.compare` are {', '.join(EXPERIMENT_CALIBRATIONS)} "
            "(beta 0.95), e.g. --calibration ks.\n\ncalibrations:\n" + _calibration_list()
        ),
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--calibration", choices=list(CALIBRATIONS), default=DEFAULT_CALIBRATION,
                        help="named calibration (listed above)")
    for name, text in OVERRIDABLE.items():
        parser.add_argument(f"--{name.replace('_', '-')}", dest=name, type=float, default=None,
                            help=f"{text} {calibration_defaults(name, makers)}")
    parser.add_argument("--n-agents", dest="n_agents", type=int, default=None,
                        help="households that move prices (private return in the Euler equation) "
                             "(default: None, a continuum of price takers)")
    parser.add_argument("--conjecture", choices=("consistent", "open-loop"), default="consistent",
                        help="with --n-agents: the own price impact net of the other households' measured "
                             "reactions (consistent) or not (open-loop); docs/finite_n.md")
    parser.add_argument("--calibration-employment", action="store_true",
                        help="with --n-agents: the calibration's employment transition instead of the one an "
                             "N-household economy with exact unemployment counts has")
    parser.add_argument("--method", choices=("histogram", "panel"), default="histogram",
                        help="distribution method: Young's histogram (a continuum) or a panel of households")
    parser.add_argument("--households", type=int, default=10_000, help="households in the panel (panel method)")
    parser.add_argument("--periods", type=int, default=1_100, help="periods simulated, burn-in included")
    parser.add_argument("--burn-in", type=int, default=100, help="first periods dropped from the regression")
    parser.add_argument("--seed", type=int, default=0, help="seed of every shock")
    parser.add_argument("--damping", type=float, default=0.5, help="weight on the old law of motion in each update")
    parser.add_argument("--tol", type=float, default=1e-6, help="tolerance on the predicted log K'")
    parser.add_argument("--law", choices=tuple(LAWS) + (TWO_MOMENT,), default="loglinear",
                        help="form of the law of motion: log K' = a + b log K, or with c (log K)^2 added, or "
                             "two-moment: households also forecast the variance V of capital, log K' = a + b log K "
                             "+ c log V (continuum, histogram; no figures)")
    parser.add_argument("--verbose", action="store_true", help="print every law-of-motion iteration")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    parser.add_argument("--out", default="output/ks", help="folder for the PNG figures and summary.json")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    overrides = {name: getattr(args, name) for name in OVERRIDABLE if getattr(args, name) is not None}
    try:
        params = KrusellSmithParams.calibration(args.calibration, **overrides)
    except ValueError as error:
        parser.error(str(error))
    check_output_folder(parser, "--out", args.out)
    default = " (the default)" if args.calibration == DEFAULT_CALIBRATION else ""
    print(f"Krusell-Smith calibration {args.calibration}{default}: beta {params.beta}, lbar {params.labour_endowment:.6g}, "
          f"kappa {params.capital_productivity} with shares {params.type_shares}; "
          + ("a continuum of price-taking households" if args.n_agents is None
             else f"{args.n_agents} households that move prices"))
    if args.law == TWO_MOMENT:
        return _two_moment(parser, args, params)
    try:
        sol = solve_krusell_smith(params, args.n_agents, num_households=args.households, num_periods=args.periods,
                                  burn_in=args.burn_in, seed=args.seed, damping=args.damping, tol=args.tol,
                                  method=args.method, law=args.law, conjecture=args.conjecture,
                                  exact_unemployment=not args.calibration_employment, verbose=args.verbose)
    except ConvergenceError as error:
        print(f"error: {error}")
        return 1
    except ValueError as error:
        parser.error(str(error))

    economy = "histogram (continuum)" if args.method == "histogram" else f"{args.households} households"
    quadratic = sol.law == "quadratic"
    print(f"\nLaw of motion of effective capital, log K' = a + b log K{' + c (log K)^2' if quadratic else ''}  "
          f"({economy} x {sol.z_path.size} periods, first {args.burn_in} dropped, seed {args.seed})")
    names = "".join(f"{name:>10s}" for name in ("a", "b", "c")[:len(sol.alm["good"])])
    print(f"  {'state':<6s}{names}{'R^2':>12s}")
    for state in ("good", "bad"):
        coefficients = "".join(f"{x:>10.5f}" for x in sol.alm[state])
        print(f"  {state:<6s}{coefficients}{sol.r_squared[state]:>12.8f}")
    print(f"Den Haan dynamic forecast error: max {sol.den_haan_max:.4f}%, mean {sol.den_haan_mean:.4f}%")
    print(f"Mean effective capital K: {sol.mean_capital:.4f}")
    print(f"Gini: wealth {sol.gini_wealth:.4f}, capital {sol.gini_capital:.4f}")
    if params.num_types > 1:
        print(f"  {'kappa':>6s}{'share':>8s}{'mean k':>12s}{'mean c/a':>10s}")
        for kappa, share, k, f in zip(params.capital_productivity, params.type_shares, sol.capital_by_type,
                                      sol.consumption_fraction_by_type):
            print(f"  {kappa:>6g}{share:>8.2f}{k:>12.4f}{f:>10.4f}")
    else:
        print(f"Mean consumption fraction c/a: {sol.consumption_fraction_by_type[0]:.4f}")
    if sol.phi is not None:
        print(f"Price impact: {sol.conjecture}, phi by type {np.round(sol.phi, 4).tolist()}; unemployment rates "
              f"{np.round(sol.household_params.unemployment_rates, 4).tolist()} (bad, good)")
    t = sol.timings
    print(f"Converged in {sol.num_iter} law-of-motion iterations; seconds: total {t['total']:.2f} "
          f"(household EGM {t['household']:.2f}, simulation {t['simulation']:.2f})")

    summary = {
        "calibration": args.calibration,
        "n_agents": args.n_agents,
        "conjecture": sol.conjecture,
        "phi": None if sol.phi is None else list(sol.phi),
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params._asdict().items()},
        "alm": {k: list(v) for k, v in sol.alm.items()},
        "r_squared": dict(sol.r_squared),
        "den_haan_max": sol.den_haan_max,
        "den_haan_mean": sol.den_haan_mean,
        "mean_capital": sol.mean_capital,
        "gini_wealth": sol.gini_wealth,
        "gini_capital": sol.gini_capital,
        "capital_by_type": list(sol.capital_by_type),
        "consumption_fraction_by_type": list(sol.consumption_fraction_by_type),
        "num_iter": sol.num_iter,
        "timings": dict(sol.timings),
        "seed": args.seed,
        "method": args.method,
    }
    write_json_atomic(f"{args.out}/summary.json", summary)
    if not args.no_plots:
        label = f"Krusell-Smith, {args.calibration}"
        plot_law_of_motion(sol, f"{args.out}/ks_law_of_motion.png", f"{label}: law of motion")
        plot_lorenz(sol, f"{args.out}/ks_lorenz.png", f"{label}: Lorenz curves")
        plot_consumption_fraction(sol, f"{args.out}/ks_consumption_fraction.png",
                                  f"{label}: consumption fraction at mean K = {sol.mean_capital:.2f}")
    print(f"Wrote summary.json{'' if args.no_plots else ' and three PNG figures'} to {args.out}/")
    return 0


def _two_moment(parser, args, params) -> int:
    """``--law two-moment``: :func:`econ.krusell_smith.two_moment.solve_two_moment`, printed and summary.json."""
    if args.method != "histogram" or args.n_agents is not None:
        parser.error("--law two-moment: the two-moment law is solved for the continuum with the histogram "
                     "(no --method panel, no --n-agents)")
    try:
        sol = solve_two_moment(params, seed=args.seed, num_periods=args.periods, burn_in=args.burn_in,
                               damping=args.damping, tol=args.tol, verbose=args.verbose)
    except ConvergenceError as error:
        print(f"error: {error}")
        return 1
    except ValueError as error:
        parser.error(str(error))
    print(f"\nTwo-moment law: log K' = a + b log K + c log V, log V' = d + e log K + f log V, V the variance of "
          f"capital (histogram (continuum) x {sol.z_path.size} periods, first {args.burn_in} dropped, seed {args.seed})")
    print(f"  {'state':<6s}{'a':>10s}{'b':>10s}{'c':>10s}{'R^2':>12s}{'d':>10s}{'e':>10s}{'f':>10s}{'R^2':>12s}")
    for state in ("good", "bad"):
        k_law = "".join(f"{x:>10.5f}" for x in sol.alm[state])
        v_law = "".join(f"{x:>10.5f}" for x in sol.variance_law[state])
        r2_k, r2_v = sol.r_squared[state]
        print(f"  {state:<6s}{k_law}{r2_k:>12.8f}{v_law}{r2_v:>12.8f}")
    print(f"Den Haan dynamic forecast error of K: max {sol.den_haan_max:.4f}%, mean {sol.den_haan_mean:.4f}%")
    print(f"Mean effective capital K: {sol.mean_capital:.4f}")
    t = sol.timings
    print(f"Converged in {sol.num_iter} two-moment iterations; seconds: total {t['total']:.2f} (log-linear start "
          f"{t['start']:.2f}, household EGM {t['household']:.2f}, simulation {t['simulation']:.2f})")
    summary = {
        "calibration": args.calibration,
        "law": TWO_MOMENT,
        "params": {k: (list(v) if isinstance(v, tuple) else v) for k, v in params._asdict().items()},
        "alm": {k: list(v) for k, v in sol.alm.items()},
        "variance_law": {k: list(v) for k, v in sol.variance_law.items()},
        "r_squared": {k: list(v) for k, v in sol.r_squared.items()},
        "den_haan_max": sol.den_haan_max,
        "den_haan_mean": sol.den_haan_mean,
        "mean_capital": sol.mean_capital,
        "num_iter": sol.num_iter,
        "timings": dict(sol.timings),
        "seed": args.seed,
        "method": "histogram",
    }
    write_json_atomic(f"{args.out}/summary.json", summary)
    print(f"Wrote summary.json to {args.out}/ (the figures are drawn for the log-linear and quadratic laws)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
