"""Krusell-Smith: histogram vs panel (vs HARK), side by side in one run, each to a converged equilibrium.

    python -m benchmarks.bench_krusell_smith [--seeds 0 1 2] [--skip-hark] [--skip-quadratic] [--skip-two-moment]
        [--json PATH]

All solve the KS (1998) calibration (beta 0.99, lbar 0.3271, alpha 0.36,
delta 0.025, z 1.01/0.99, u 0.04/0.10, durations 8 / 1.5 / 2.5) to a
converged law of motion, timed after a warm-up that loads our compiled kernels:

- ``histogram``: ``solve_krusell_smith(params)``, the default: Young's
  non-stochastic simulation along one 1,100-period path of z (first 100 dropped);
- ``histogram, quadratic law``: the same with ``law="quadratic"``,
  log K' = a_z + b_z log K + c_z (log K)^2 (Krusell and Smith 1998, section IV);
- ``histogram, two-moment law``: :func:`econ.krusell_smith.two_moment.solve_two_moment`,
  households forecasting K and the cross-sectional variance of capital
  (Krusell and Smith 1998, section IV), started from the log-linear solution
  (whose time it includes), its own 1,100-period path;
- ``panel``: ``method="panel"``, 10,000 households x 1,100 periods;
- ``panel, exact inner solves``: the panel with the household problem solved to
  ``household_tol`` at every outer iteration (``HOUSEHOLD_TOL_CAP`` set to it), as the solver
  did before the inexact warm-started inner solves (one seed);
- HARK's ``KrusellSmithEconomy`` (if ``econ-ark`` is importable), seed 0.

Accuracy, measured the same way for all of ours: den Haan's (2010) dynamic
forecast error of each solution's law of motion on one common path of z
(``--eval-periods`` kept periods after 1,000 dropped, its own seed), the
"true" K being the continuum economy under that solution's policy, simulated by
a histogram of ``--truth-points`` nodes (default ``TRUTH_POINTS``; the 2,000
of earlier runs beside it) (:func:`econ.krusell_smith.histogram.simulate_on_path`).
Also reported: the error on the solver's own simulated path (the number the
solver returns), and the errors of the best law of richer and poorer forms for
that policy on the common path (OLS fitted on that path itself): log-linear,
quadratic, log-linear per pair (z_-1, z), and the two-moment law in log K and
the log cross-sectional variance of capital: the part of the error each form
leaves whatever path the law is fitted on
(:mod:`econ.krusell_smith.law_of_motion`).  Per seed, like for like on the
solvers' own paths: the histogram's and the panel's laws each on both own z
paths (the two draw their z paths differently from the same seed).
HARK's policy lives in HARK's objects; its error is measured on its own
simulated path only (as in earlier runs of this script).

HARK's perceived law is log A_t = a_z + b_z log M_t (end-of-period savings on
market resources); its den Haan forecast iterates that law through the
period's prices: Khat_{t+1} = exp(a + b log Mhat_t), Mhat_t = R(Khat_t, z_t) Khat_t + W(Khat_t, z_t) L_z.

HARK 0.17.2's ``KrusellSmithType.pre_solve`` rebuilds only the terminal
solution, not the transition arrays that carry the perceived law of motion,
so the agents never see an updated law (the regression then "converges" to
the one implied by the initial guess).  The benchmark subclasses it to rebuild
them before each solve, which is what older HARK versions did.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from typing import Optional

import numpy as np

import econ.krusell_smith.solver as ks_solver
from econ.krusell_smith.histogram import aggregate_path, capital_on_path, simulate_on_path
from econ.krusell_smith.law_of_motion import (as_array, den_haan_decomposition, den_haan_errors, estimate_alm,
                                              fit_two_moment_law, previous_and_current_state, two_moment_errors)
from econ.krusell_smith.params import KrusellSmithParams
from econ.krusell_smith.solver import solve_krusell_smith
from econ.krusell_smith import two_moment
from econ.io import jsonable, write_json_atomic

NUM_HOUSEHOLDS = 10_000
NUM_PERIODS = 1_100
BURN_IN = 100
EVAL_BURN_IN = 1_000
EVAL_SEED = 2024
TRUTH_POINTS = 8_000
"""Nodes of the histogram that simulates the continuum on the common path.  Along the 11,000 periods of the common
path under the ks-1998 default policy, log K on 1,000 / 2,000 / 4,000 nodes (up to 4 times the policy's capital
grid) differs from 8,000 nodes by up to 0.073 / 0.021 / 0.004 %, and 8,000 nodes from 8,000 nodes on a grid
four times denser (top = the policy grid's) by 0.0007 %: the 2,000 nodes used before erred by about half a
den Haan mean error."""
COARSE_TRUTH_POINTS = 2_000
"""The common path's continuum as earlier runs of this script simulated it (reported beside, for comparison)."""


def machine() -> str:
    try:
        model = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        model = "unknown CPU"
    import os

    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def run_ours(params: KrusellSmithParams, method: str, seed: int, z_common, exact_inner: bool = False,
             law: str = "loglinear", num_periods: int = NUM_PERIODS, truth_points: int = TRUTH_POINTS) -> dict:
    saved_cap = ks_solver.HOUSEHOLD_TOL_CAP
    if exact_inner:  # the household problem solved to household_tol (1e-9) at every outer iteration
        ks_solver.HOUSEHOLD_TOL_CAP = 1e-9
    try:
        start = time.perf_counter()
        sol = solve_krusell_smith(params, seed=seed, method=method, law=law, num_periods=num_periods)
        seconds = time.perf_counter() - start
    finally:
        ks_solver.HOUSEHOLD_TOL_CAP = saved_cap
    simulated = simulate_on_path(sol, z_common, histogram_points=truth_points)
    K_true, V_true = simulated.capital_path, simulated.capital_variance
    z_kept = z_common[:-1]
    # the solution's law, and the best law of each form for this policy on this path (OLS in-sample): what is
    # left is the form's
    linear = den_haan_decomposition(as_array(sol.alm), K_true, z_kept, EVAL_BURN_IN, "loglinear")
    quadratic = den_haan_decomposition(as_array(sol.alm), K_true, z_kept, EVAL_BURN_IN, "quadratic")
    (common_max, common_mean), (floor_max, floor_mean) = linear.solved, linear.best_of_form
    # richer forms than the solver's, fitted on this path: log-linear per (z_-1, z) pair, and the two-moment law
    # (log K and the log variance of capital, each forecast by OLS on both)
    pair = previous_and_current_state(z_kept)
    pair_floor = den_haan_errors(estimate_alm(K_true, pair, EVAL_BURN_IN, num_states=4)[0], K_true, pair, EVAL_BURN_IN)
    moments = fit_two_moment_law(K_true, V_true, z_kept, EVAL_BURN_IN)[0]
    moment_floor = two_moment_errors(moments, K_true, V_true, z_kept, EVAL_BURN_IN)
    coarse = den_haan_errors(as_array(sol.alm), capital_on_path(sol, z_common, histogram_points=COARSE_TRUTH_POINTS),
                             z_kept, EVAL_BURN_IN)
    return {
        "method": method + (", exact inner solves" if exact_inner else "") + (f", {law} law" if law != "loglinear" else "")
        + (f", {num_periods:,} periods" if num_periods != NUM_PERIODS else ""),
        "seed": seed,
        "seconds": seconds,
        "timings": dict(sol.timings),
        "iterations": sol.num_iter,
        "den_haan_common_max": common_max,
        "den_haan_common_mean": common_mean,
        "den_haan_common_loglinear_floor_max": floor_max,
        "den_haan_common_loglinear_floor_mean": floor_mean,
        "den_haan_common_quadratic_floor_max": quadratic.best_of_form[0],
        "den_haan_common_quadratic_floor_mean": quadratic.best_of_form[1],
        "den_haan_common_previous_state_floor": list(pair_floor),
        "den_haan_common_two_moment_floor": list(moment_floor),
        "den_haan_common_coarse_truth": list(coarse),
        "truth_points": truth_points,
        "den_haan_own_max": sol.den_haan_max,
        "den_haan_own_mean": sol.den_haan_mean,
        "alm_K": {k: list(v) for k, v in sol.alm.items()},
        "r_squared": dict(sol.r_squared),
        "mean_capital": sol.mean_capital,
        "gini_wealth": sol.gini_wealth,
        "stopping rule": "predicted log K' moves < 1e-6 on the K grid (damping 0.5)",
        "_solution": sol,
    }


def run_two_moment(params: KrusellSmithParams, seed: int, z_common, truth_points: int = TRUTH_POINTS) -> dict:
    """``two_moment.solve_two_moment(params, seed=seed)`` (its log-linear start included in the time), measured as
    :func:`run_ours`: den Haan's error of its K forecast (both moments forecast by its law) on the common path."""
    start = time.perf_counter()
    sol = two_moment.solve_two_moment(params, seed=seed)
    seconds = time.perf_counter() - start
    z_kept = z_common[:-1]
    K_true, V_true = two_moment.moments_on_path(sol, z_common, histogram_points=truth_points)
    K_coarse, V_coarse = two_moment.moments_on_path(sol, z_common, histogram_points=COARSE_TRUTH_POINTS)

    def best(law):
        return den_haan_errors(estimate_alm(K_true, z_kept, EVAL_BURN_IN, law)[0], K_true, z_kept, EVAL_BURN_IN)

    pair = previous_and_current_state(z_kept)
    common = two_moment_errors(sol.coefficients, K_true, V_true, z_kept, EVAL_BURN_IN)
    return {
        "method": "histogram, two-moment law",
        "seed": seed,
        "seconds": seconds,
        "timings": dict(sol.timings),
        "iterations": sol.num_iter,
        "den_haan_common_max": common[0],
        "den_haan_common_mean": common[1],
        "den_haan_common_loglinear_floor_max": best("loglinear")[0],
        "den_haan_common_loglinear_floor_mean": best("loglinear")[1],
        "den_haan_common_quadratic_floor_max": best("quadratic")[0],
        "den_haan_common_quadratic_floor_mean": best("quadratic")[1],
        "den_haan_common_previous_state_floor": list(den_haan_errors(
            estimate_alm(K_true, pair, EVAL_BURN_IN, num_states=4)[0], K_true, pair, EVAL_BURN_IN)),
        "den_haan_common_two_moment_floor": list(two_moment_errors(
            fit_two_moment_law(K_true, V_true, z_kept, EVAL_BURN_IN)[0], K_true, V_true, z_kept, EVAL_BURN_IN)),
        "den_haan_common_coarse_truth": list(two_moment_errors(sol.coefficients, K_coarse, V_coarse, z_kept,
                                                               EVAL_BURN_IN)),
        "truth_points": truth_points,
        "den_haan_own_max": sol.den_haan_max,
        "den_haan_own_mean": sol.den_haan_mean,
        "alm_K": {k: list(v) for k, v in sol.alm.items()},
        "variance_law": {k: list(v) for k, v in sol.variance_law.items()},
        "r_squared": {k: list(v) for k, v in sol.r_squared.items()},
        "mean_capital": sol.mean_capital,
        "stopping rule": "predicted log K' and log V' move < 1e-6 on the (K, V) grid (damping 0.5)",
        "_solution": sol,
    }


def cross_own_paths(histogram_row: dict, panel_row: dict, two_moment_row: Optional[dict] = None) -> dict:
    """Each solution's law on the other's own z path (the continuum under its own policy as the truth, the
    first ``BURN_IN`` periods dropped), and the share of periods in which the two own z paths agree."""
    h, p = histogram_row["_solution"], panel_row["_solution"]
    out = {"z_paths_agree": float(np.mean(h.z_path == p.z_path)),
           "z_switches": [int(np.sum(np.diff(s.z_path[BURN_IN:]) != 0)) for s in (h, p)]}
    for name, sol, other in (("histogram", h, p), ("panel", p, h)):
        for path_name, path in (("own", sol.z_path), ("other", other.z_path)):
            K = capital_on_path(sol, path, histogram_points=TRUTH_POINTS)
            out[f"{name} law, {path_name} z path"] = list(den_haan_errors(as_array(sol.alm), K, path[:-1], BURN_IN))
    if two_moment_row is not None:
        sol = two_moment_row["_solution"]
        for name, path in (("histogram", h.z_path), ("panel", p.z_path)):
            out[f"two-moment law, the {name}'s z path"] = list(two_moment.den_haan_on_path(
                sol, path, BURN_IN, histogram_points=TRUTH_POINTS))
    return out


def run_hark(damping: float, tolerance: float, max_loops: int) -> dict:
    import HARK
    from HARK.ConsumptionSaving.ConsAggShockModel import KrusellSmithEconomy, KrusellSmithType

    class KrusellSmithTypeUpdating(KrusellSmithType):
        def pre_solve(self):
            self.construct("transition_arrays", "ProbArray", "mNextArray", "MnextArray", "RnextArray")
            self.construct("solution_terminal")

    start = time.perf_counter()
    agent = KrusellSmithTypeUpdating(seed=0, AgentCount=NUM_HOUSEHOLDS)
    economy = KrusellSmithEconomy(agents=[agent], act_T=NUM_PERIODS, T_discard=BURN_IN, DampingFac=damping,
                                  tolerance=tolerance, verbose=False)
    economy.max_loops = max_loops
    economy.make_Mrkv_history()
    economy.give_agent_params()
    loops = {"n": 0}
    original = economy.update_dynamics

    def counted():
        loops["n"] += 1
        return original()

    economy.update_dynamics = counted
    economy.solve()
    seconds = time.perf_counter() - start

    K = np.asarray(economy.history["Aprev"], dtype=float)
    z = np.asarray(economy.MrkvNow_hist[: K.size], dtype=int)
    intercept, slope = np.asarray(economy.intercept_prev), np.asarray(economy.slope_prev)
    prod = np.array([economy.ProdB, economy.ProdG])
    L = np.array([(1 - economy.UrateB), (1 - economy.UrateG)]) * economy.LbrInd
    alpha, delta = economy.CapShare, economy.DeprRte
    logK_hat = np.empty(K.size - BURN_IN)
    logK_hat[0] = np.log(K[BURN_IN])
    for i in range(1, logK_hat.size):
        t = BURN_IN + i - 1
        k_hat = np.exp(logK_hat[i - 1])
        ratio = k_hat / L[z[t]]
        m_hat = (1 + prod[z[t]] * alpha * ratio ** (alpha - 1) - delta) * k_hat + prod[z[t]] * (1 - alpha) * ratio**alpha * L[z[t]]
        logK_hat[i] = intercept[z[t]] + slope[z[t]] * np.log(m_hat)
    errors = 100 * np.abs(logK_hat - np.log(K[BURN_IN:]))
    alm_K, r2_K = estimate_alm(K, z, BURN_IN)
    converged = loops["n"] < max_loops
    return {
        "method": f"HARK {HARK.__version__} KrusellSmithEconomy",
        "version": HARK.__version__,
        "seconds": seconds,
        "iterations": loops["n"],
        "converged": converged,
        "den_haan_own_max": float(errors.max()),
        "den_haan_own_mean": float(errors.mean()),
        "alm_A_on_M": {"bad": [float(intercept[0]), float(slope[0])], "good": [float(intercept[1]), float(slope[1])]},
        "alm_K_refit": {"bad": list(alm_K[0]), "good": list(alm_K[1])},
        "r_squared_K_refit": {"bad": float(r2_K[0]), "good": float(r2_K[1])},
        "mean_capital": float(np.mean(K[BURN_IN:])),
        "stopping rule": f"HARK distance of (slope, intercept) < {tolerance} (damping {damping})",
    }


def _row(r: dict) -> str:
    common = (f"{r['den_haan_common_max']:.3f} / {r['den_haan_common_mean']:.3f}" if "den_haan_common_max" in r
              else "n/a")
    def pair(key):
        return f"{r[key][0]:.3f} / {r[key][1]:.3f}"

    floor = (f"{r['den_haan_common_loglinear_floor_max']:.3f} / {r['den_haan_common_loglinear_floor_mean']:.3f} | "
             f"{r['den_haan_common_quadratic_floor_max']:.3f} / {r['den_haan_common_quadratic_floor_mean']:.3f} | "
             f"{pair('den_haan_common_previous_state_floor')} | {pair('den_haan_common_two_moment_floor')} | "
             f"{pair('den_haan_common_coarse_truth')}"
             if "den_haan_common_max" in r else "n/a | n/a | n/a | n/a | n/a")
    alm = r.get("alm_K") or r.get("alm_K_refit")

    def law(coefficients):
        a, b, *c = coefficients
        third = (f" + {c[0]:.5f} log V" if "two-moment" in r["method"] else f" + {c[0]:.4f}") if c else ""
        return f"{a:.4f} + {b:.4f}" + third

    return (f"| {r['method']} | {r.get('seed', 0)} | {r['seconds']:.1f} | {r['iterations']} | {common} | {floor} | "
            f"{r['den_haan_own_max']:.3f} / {r['den_haan_own_mean']:.3f} | {law(alm['good'])} | {law(alm['bad'])} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="solver seeds (histogram and panel)")
    parser.add_argument("--eval-periods", type=int, default=10_000, help="kept periods of the common path")
    parser.add_argument("--skip-hark", action="store_true")
    parser.add_argument("--skip-exact", action="store_true", help="skip the panel with exact inner solves")
    parser.add_argument("--skip-quadratic", action="store_true", help="skip the histogram with the quadratic law")
    parser.add_argument("--skip-panel", action="store_true", help="skip the panel rows")
    parser.add_argument("--skip-two-moment", action="store_true", help="skip the histogram with the two-moment law")
    parser.add_argument("--histogram-periods", type=int, default=NUM_PERIODS,
                        help="periods of the histogram's path, burn-in included (the panel keeps 1,100)")
    parser.add_argument("--truth-points", type=int, default=TRUTH_POINTS,
                        help="nodes of the histogram simulating the continuum on the common path")
    parser.add_argument("--hark-damping", type=float, default=0.5, help="HARK DampingFac (weight on the old rule)")
    parser.add_argument("--hark-tolerance", type=float, default=1e-4, help="HARK's default tolerance")
    parser.add_argument("--hark-max-loops", type=int, default=60)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    print(f"Machine: {machine()}", flush=True)
    params = KrusellSmithParams.ks_1998()
    z_common = aggregate_path(params, EVAL_BURN_IN + args.eval_periods + 1, np.random.default_rng(EVAL_SEED))
    for method in ("histogram", "panel"):  # warm-up: load (or compile) the cached Numba kernels outside the timing
        solve_krusell_smith(params, num_households=200, num_periods=150, burn_in=20, passes=1, tol=1e-3, method=method)
    rows, crossed = [], {}
    for seed in args.seeds:
        for method in ("histogram",) + (() if args.skip_panel else ("panel",)):
            rows.append(run_ours(params, method, seed, z_common, truth_points=args.truth_points,
                                 num_periods=args.histogram_periods if method == "histogram" else NUM_PERIODS))
            print(_row(rows[-1]), flush=True)
        moments = None
        if not args.skip_two_moment:
            moments = run_two_moment(params, seed, z_common, truth_points=args.truth_points)
            rows.append(moments)
            print(_row(rows[-1]), flush=True)
        if not args.skip_panel:  # like for like on the solvers' own paths: each law on both own z paths
            pair = [r for r in rows if r.get("seed") == seed and r["method"] in ("histogram", "panel")]
            crossed[seed] = cross_own_paths(pair[0], pair[1], moments)
            print(f"seed {seed}, own paths: {json.dumps(crossed[seed])}", flush=True)
        if not args.skip_quadratic:
            rows.append(run_ours(params, "histogram", seed, z_common, law="quadratic", num_periods=args.histogram_periods,
                                 truth_points=args.truth_points))
            print(_row(rows[-1]), flush=True)
    if not (args.skip_exact or args.skip_panel):
        rows.append(run_ours(params, "panel", args.seeds[0], z_common, exact_inner=True, truth_points=args.truth_points))
        print(_row(rows[-1]), flush=True)
    for r in rows:
        r.pop("_solution")
    results = {"machine": machine(), "eval_seed": EVAL_SEED, "eval_periods": args.eval_periods,
               "truth_points": args.truth_points, "ours": rows, "own_paths_crossed": crossed}
    if not args.skip_hark:
        try:
            hark = run_hark(args.hark_damping, args.hark_tolerance, args.hark_max_loops)
        except ImportError as err:
            print(f"HARK not importable ({err}); skipped")
        else:
            results["hark"] = hark
            rows.append(hark)
            print(_row(hark), ("" if hark["converged"] else f"NOT converged in {hark['iterations']} loops"), flush=True)

    print("\n| solver | seed | time to equilibrium (s) | iterations | den Haan common path max / mean (%) | "
          "best log-linear law on that path | best quadratic law on that path | best log-linear law per (z_-1, z) "
          "on that path | best two-moment law on that path | common path, 2,000-node continuum | "
          "den Haan own path max / mean (%) | good: a + b log K [+ c (log K)^2 or c log V] | bad: idem |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(_row(r))
    summary = {}
    labels = {r["method"] for r in rows}
    histogram = next(m for m in labels if m.startswith("histogram") and "law" not in m)
    quadratic = next((m for m in labels if "quadratic" in m), None)
    moments_label = "histogram, two-moment law"
    for method in (histogram, "panel", quadratic, moments_label):
        mine = [r for r in rows if r["method"] == method]
        if not mine:
            continue
        summary[method] = {key: float(np.mean([r[key] for r in mine])) for key in
                           ("seconds", "den_haan_common_max", "den_haan_common_mean", "den_haan_own_max",
                            "den_haan_own_mean")}
    results["mean_over_seeds"] = summary
    h = summary[histogram]
    print(f"\nmean over seeds {args.seeds}: {histogram} {h['seconds']:.1f} s, common-path den Haan "
          f"{h['den_haan_common_max']:.3f} / {h['den_haan_common_mean']:.3f} %")
    if "panel" in summary:
        p = summary["panel"]
        print(f"panel {p['seconds']:.1f} s, {p['den_haan_common_max']:.3f} / {p['den_haan_common_mean']:.3f} %; "
              f"speed ratio panel / histogram {p['seconds'] / h['seconds']:.1f}x")
    if quadratic in summary:
        q = summary[quadratic]
        print(f"histogram with the quadratic law: {q['seconds']:.1f} s ({q['seconds'] / h['seconds']:.2f}x the "
              f"log-linear law's time), common-path den Haan {q['den_haan_common_max']:.3f} / "
              f"{q['den_haan_common_mean']:.3f} %")
    if moments_label in summary:
        m = summary[moments_label]
        print(f"histogram with the two-moment law: {m['seconds']:.1f} s ({m['seconds'] / h['seconds']:.2f}x the "
              f"log-linear law's time, its log-linear start included), common-path den Haan "
              f"{m['den_haan_common_max']:.3f} / {m['den_haan_common_mean']:.3f} %, own path "
              f"{m['den_haan_own_max']:.3f} / {m['den_haan_own_mean']:.3f} %")
    exact = [r for r in rows if r["method"] == "panel, exact inner solves"]
    if exact:
        ratio = exact[0]["seconds"] / h["seconds"]
        results["speed_ratio_exact_panel_over_histogram"] = ratio
        print(f"speed ratio panel with exact inner solves (the solver before this change) / histogram: {ratio:.1f}x")
    if "hark" in results:
        ratio = results["hark"]["seconds"] / h["seconds"]
        results["speed_ratio_hark_over_histogram"] = ratio
        print(f"speed ratio HARK / histogram: {ratio:.0f}x")
    if args.json:
        write_json_atomic(args.json, jsonable(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
