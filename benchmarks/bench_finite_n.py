"""Finite-N (price-impact) Krusell-Smith solve against the continuum solve, side by side in one run.

    python -m benchmarks.bench_finite_n [--experiments ks ks-het-mild ks-het-marked] [--repeats 2] [--json PATH]

For each experiment the continuum solve (``n_agents=None``) and the finite-N
solve at the experiment's N (20) run with the same defaults (10,000
households x 1,100 periods, first 100 dropped, seed 0, tolerance 1e-6) after
a warm-up that loads the compiled kernels; each is timed ``repeats`` times and
the fastest kept (the machine is shared).  The ratio finite / continuum is the
cost of the price-impact benchmark; the finite-N solve is timed with the
default method (a large population's law of motion) and with
``method="economies"`` (500 economies of exactly N households, the law of
motion of the N-household economy), ratio ``economies_ratio``.  The solved numbers (mean effective
capital, Ginis, capital shares and consumption fractions by type) are printed
beside each other, and so is the ``general`` steady state at N = 9.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.bench_krusell_smith import machine
from econ import RBCParams, heterogeneous_steady_state
from econ.experiments import make_experiment
from econ.krusell_smith.solver import solve_krusell_smith
from econ.io import jsonable, write_json_atomic


def _summary(sol, shares) -> dict:
    held = np.asarray(shares) * np.asarray(sol.capital_by_type)
    return {
        "iterations": sol.num_iter,
        "mean_capital": sol.mean_capital,
        "gini_wealth": sol.gini_wealth,
        "gini_capital": sol.gini_capital,
        "capital_share_by_type": list(held / held.sum()),
        "consumption_fraction_by_type": list(sol.consumption_fraction_by_type),
        "alm": {k: list(v) for k, v in sol.alm.items()},
        "r_squared": dict(sol.r_squared),
        "den_haan_max": sol.den_haan_max,
        "den_haan_mean": sol.den_haan_mean,
        "phi": None if sol.phi is None else list(sol.phi),
    }


def run_experiment(name: str, repeats: int) -> dict:
    experiment = make_experiment(name)
    params, n = experiment.ks, experiment.num_agents
    for warm, method in ((None, None), (n, None), (n, "economies")):  # load (or compile) the cached kernels first
        solve_krusell_smith(params, warm, num_households=200, num_periods=120, burn_in=20, passes=1, tol=1e-3,
                            method=method)
    out = {"n_agents": n}
    for label, n_agents, method, conjecture in (("continuum", None, None, "consistent"),
                                                ("finite", n, None, "consistent"),
                                                ("open-loop", n, None, "open-loop"),
                                                ("economies", n, "economies", "consistent")):
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            sol = solve_krusell_smith(params, n_agents, seed=0, method=method, conjecture=conjecture)
            seconds.append(time.perf_counter() - start)
        out[label] = {"seconds": min(seconds), "all_seconds": seconds, **_summary(sol, params.type_shares)}
    out["ratio"] = out["finite"]["seconds"] / out["continuum"]["seconds"]
    out["economies_ratio"] = out["economies"]["seconds"] / out["continuum"]["seconds"]
    out["open_loop_ratio"] = out["open-loop"]["seconds"] / out["continuum"]["seconds"]
    return out


def run_general() -> dict:
    params = RBCParams()
    out = {}
    for label, n_agents in (("continuum", None), ("finite", 9)):
        start = time.perf_counter()
        ss = heterogeneous_steady_state(params, n_agents=n_agents)
        out[label] = {"seconds": time.perf_counter() - start, "capital": ss.capital, "interest_rate": ss.interest_rate,
                      "labour": ss.labour, "holders": int(ss.holds_capital.sum()),
                      "household_capital": [float(x) for x in ss.household_capital]}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", nargs="+", default=["ks", "ks-het-mild", "ks-het-marked"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args(argv)
    print(f"Machine: {machine()}", flush=True)
    results = {"machine": machine(), "experiments": {}}
    print("\n| experiment | solve | time (s) | iterations | mean K | wealth Gini | capital Gini | capital shares by type "
          "| consumption fraction by type |")
    print("|---|---|---:|---:|---:|---:|---:|---|---|")
    for name in args.experiments:
        r = run_experiment(name, args.repeats)
        results["experiments"][name] = r
        for label in ("continuum", "finite", "open-loop", "economies"):
            s = r[label]
            solve = {"continuum": "continuum", "finite": f"N = {r['n_agents']}",
                     "open-loop": f"N = {r['n_agents']}, open loop",
                     "economies": f"N = {r['n_agents']}, economies"}[label]
            shares = " / ".join(f"{100 * x:.0f}%" for x in s["capital_share_by_type"])
            fractions = " / ".join(f"{x:.4f}" for x in s["consumption_fraction_by_type"])
            print(f"| {name} | {solve} | {s['seconds']:.1f} | {s['iterations']} | {s['mean_capital']:.3f} | "
                  f"{s['gini_wealth']:.3f} | {s['gini_capital']:.3f} | {shares} | {fractions} |", flush=True)
    print("\n| experiment | continuum (s) | finite N (s) | ratio | phi by type | open loop (s) | ratio "
          "| finite N, economies (s) | ratio |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|")
    for name, r in results["experiments"].items():
        phi = " / ".join(f"{x:.3f}" for x in r["finite"]["phi"])
        print(f"| {name} | {r['continuum']['seconds']:.1f} | {r['finite']['seconds']:.1f} | {r['ratio']:.2f} | "
              f"{phi} | {r['open-loop']['seconds']:.1f} | {r['open_loop_ratio']:.2f} | "
              f"{r['economies']['seconds']:.1f} | {r['economies_ratio']:.2f} |")
    print("\n| experiment | solve | good: a, b | bad: a, b | R^2 good / bad |")
    print("|---|---|---|---|---|")
    for name, r in results["experiments"].items():
        for label in ("continuum", "finite", "open-loop", "economies"):
            s = r[label]
            print(f"| {name} | {label} | {s['alm']['good'][0]:.4f}, {s['alm']['good'][1]:.4f} | "
                  f"{s['alm']['bad'][0]:.4f}, {s['alm']['bad'][1]:.4f} | "
                  f"{s['r_squared']['good']:.5f} / {s['r_squared']['bad']:.5f} |")
    general = run_general()
    results["general"] = general
    for label in ("continuum", "finite"):
        g = general[label]
        print(f"general 3x3 {label}: K {g['capital']:.4f}, r {g['interest_rate']:.5f}, L {g['labour']:.4f}, "
              f"{g['holders']} of 9 hold capital, {g['seconds'] * 1e3:.1f} ms")
    if args.json:
        write_json_atomic(args.json, jsonable(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
