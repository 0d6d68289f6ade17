"""The equilibrium check of a Krusell-Smith benchmark rule in the simulated N-household game.

    python -m validation.equilibrium ks-het-marked [--rules consistent open-loop economies price-taking]
                                                   [--factors 0.95 0.98 1.02 1.05] [--seeds 0 1] [--economies 8]

Every household plays the rule; one household scales its consumption fraction
by a factor while the others keep the rule, every household of a kappa type in
turn; the consumption-equivalent gains of a type's households are averaged
within each economy, then over the economies and seeds (each economy an
independent draw), and printed as mean +- 2 sd of the mean, percent of
consumption per period (:func:`validation.welfare.deviation_tables`).
A rule is an equilibrium of the game, to the precision of the check, when no
gain exceeds its band.  Rules: ``consistent`` (the default price-impact
benchmark), ``open-loop`` (phi = 1), ``economies`` (consistent, on the law of
motion of N-household economies), ``price-taking`` (the continuum rule).
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

import numpy as np

from econ.experiments import make_experiment
from validation.krusell_smith import KS_EXPERIMENTS, KSBenchmarkActor, ks_benchmark, price_impact_benchmark
from validation.welfare import Scenario, deviation_tables

RULES = {
    "consistent": lambda exp: price_impact_benchmark(exp),
    "open-loop": lambda exp: price_impact_benchmark(exp, conjecture="open-loop"),
    "economies": lambda exp: price_impact_benchmark(exp, method="economies"),
    "price-taking": lambda exp: ks_benchmark(exp),
}
"""The benchmark rules the check can judge, by name."""


def equilibrium_tables(experiment_name: str, rules: Sequence[str], factors: Sequence[float], seeds: Sequence[int],
                       scenario: Scenario = Scenario(n_economies=8, burn_in=500)) -> dict:
    """``{rule: {(kappa, factor): Gain}}`` for the named rules of a KS experiment."""
    exp = make_experiment(experiment_name)
    return {rule: deviation_tables(KSBenchmarkActor(exp, RULES[rule](exp)), exp, factors, seeds, scenario)
            for rule in rules}


def format_table(experiment_name: str, table: dict, factors: Sequence[float]) -> str:
    """One rule's gains as a markdown table, a row per type; gains beyond their band in bold."""
    exp = make_experiment(experiment_name)
    lines = ["| type (kappa) | " + " | ".join(f"x {f:g}" for f in factors) + " |",
             "|---|" + "---:|" * len(factors)]
    for kappa in np.unique(exp.capital_productivity):
        cells = []
        for f in factors:
            g = table[(float(kappa), f)]
            cell = f"{g.mean:+.3f} +- {g.band:.3f}"
            cells.append(f"**{cell}**" if g.mean > g.band else cell)
        lines.append(f"| {kappa:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m validation.equilibrium", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("experiment", choices=KS_EXPERIMENTS, help="the Krusell-Smith experiment (its N)")
    parser.add_argument("--rules", nargs="+", choices=tuple(RULES), default=list(RULES), help="rules to check")
    parser.add_argument("--factors", nargs="+", type=float, default=[0.95, 0.98, 1.02, 1.05],
                        help="scalings of the deviating household's consumption fraction")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1], help="shock seeds (pooled)")
    parser.add_argument("--economies", type=int, default=8, help="economies per seed")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.economies < 2:
        print("error: --economies must be an integer >= 2 (the band needs a spread)", file=sys.stderr)
        return 2
    if any(not 0.0 < f <= 2.0 or f == 1.0 for f in args.factors):
        print("error: --factors must be in (0, 2] and not 1 (the scaled fraction is clipped to the action range)",
              file=sys.stderr)
        return 2
    tables = equilibrium_tables(args.experiment, args.rules, args.factors, args.seeds,
                                Scenario(n_economies=args.economies, burn_in=500))
    for rule, table in tables.items():
        print(f"\n{args.experiment}, rule {rule}: gain of a household scaling its consumption fraction alone, "
              f"averaged over the households of its type (percent of consumption, mean +- 2 sd over "
              f"{args.economies * len(args.seeds)} economies)\n")
        print(format_table(args.experiment, table, args.factors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
