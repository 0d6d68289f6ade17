"""Krusell-Smith: our solver against HARK's ``KrusellSmithEconomy``, side by side in one run.

    python -m benchmarks.bench_krusell_smith [--skip-hark] [--hark-damping 0.5] [--json PATH]

Both solve the KS (1998) calibration (beta 0.99, lbar 0.3271, alpha 0.36,
delta 0.025, z 1.01/0.99, u 0.04/0.10, durations 8 / 1.5 / 2.5) with 10,000
households simulated for 1,100 periods, the first 100 dropped, to a converged
law of motion; we time each to convergence (after a warm-up that loads our
compiled kernels) and measure the accuracy of each equilibrium by den Haan's
dynamic forecast error of log K on the solver's own simulated path.

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

import numpy as np

from econ.krusell_smith.solver import den_haan_errors, estimate_alm, solve_krusell_smith
from econ.krusell_smith.params import KrusellSmithParams

NUM_HOUSEHOLDS = 10_000
NUM_PERIODS = 1_100
BURN_IN = 100


def machine() -> str:
    try:
        model = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                               capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        model = "unknown CPU"
    import os

    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def run_ours(params: KrusellSmithParams, tol: float) -> dict:
    # warm-up: load (or compile) the cached Numba kernels outside the timing
    solve_krusell_smith(params, num_households=200, num_periods=120, burn_in=20, passes=1, tol=1e-3)
    start = time.perf_counter()
    sol = solve_krusell_smith(params, num_households=NUM_HOUSEHOLDS, num_periods=NUM_PERIODS, burn_in=BURN_IN,
                              seed=0, tol=tol)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "iterations": sol.num_iter,
        "den_haan_max": sol.den_haan_max,
        "den_haan_mean": sol.den_haan_mean,
        "alm_K": {k: list(v) for k, v in sol.alm.items()},
        "r_squared": dict(sol.r_squared),
        "mean_capital": sol.mean_capital,
        "stopping rule": f"predicted log K' moves < {tol:g} on the K grid (damping 0.5)",
    }


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
    M = np.asarray(economy.history["Mnow"], dtype=float)
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
        "version": HARK.__version__,
        "seconds": seconds,
        "iterations": loops["n"],
        "converged": converged,
        "den_haan_max": float(errors.max()),
        "den_haan_mean": float(errors.mean()),
        "alm_A_on_M": {"bad": [float(intercept[0]), float(slope[0])], "good": [float(intercept[1]), float(slope[1])]},
        "alm_K_refit": {"bad": list(alm_K[0]), "good": list(alm_K[1])},
        "r_squared_K_refit": {"bad": float(r2_K[0]), "good": float(r2_K[1])},
        "mean_capital": float(np.mean(K[BURN_IN:])),
        "stopping rule": f"HARK distance of (slope, intercept) < {tolerance} (damping {damping})",
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-hark", action="store_true")
    parser.add_argument("--hark-damping", type=float, default=0.5, help="HARK DampingFac (weight on the old rule)")
    parser.add_argument("--hark-tolerance", type=float, default=1e-4, help="HARK's default tolerance")
    parser.add_argument("--hark-max-loops", type=int, default=60)
    parser.add_argument("--json", default=None, help="also write the numbers here")
    args = parser.parse_args(argv)

    print(f"Machine: {machine()}")
    params = KrusellSmithParams.ks_1998()
    ours = run_ours(params, 1e-6)
    loose = run_ours(params, args.hark_tolerance)
    for name, r in (("ours (default tol 1e-6)", ours), (f"ours (tol {args.hark_tolerance:g}, HARK's)", loose)):
        print(f"{name}: {r['seconds']:.1f} s, {r['iterations']} iterations, den Haan max {r['den_haan_max']:.3f}% "
              f"mean {r['den_haan_mean']:.3f}%", flush=True)
    results = {"machine": machine(), "ours": ours, "ours_hark_tolerance": loose}
    if not args.skip_hark:
        hark = run_hark(args.hark_damping, args.hark_tolerance, args.hark_max_loops)
        results["hark"] = hark
        status = "converged" if hark["converged"] else f"NOT converged in {hark['iterations']} loops"
        print(f"HARK {hark['version']}: {hark['seconds']:.1f} s, {hark['iterations']} iterations ({status}), "
              f"den Haan max {hark['den_haan_max']:.3f}% mean {hark['den_haan_mean']:.3f}%")
        ratio = hark["seconds"] / ours["seconds"]
        ratio_loose = hark["seconds"] / loose["seconds"]
        results["speed_ratio"] = ratio
        results["speed_ratio_same_tolerance"] = ratio_loose
        print("\n| solver | stopping rule | time to equilibrium (s) | iterations | den Haan max (%) | den Haan mean (%) |")
        print("|---|---|---:|---:|---:|---:|")
        for name, r in (("ours (EGM + panel, Numba)", ours), ("ours (EGM + panel, Numba)", loose),
                        (f"HARK {hark['version']} KrusellSmithEconomy", hark)):
            print(f"| {name} | {r['stopping rule']} | {r['seconds']:.1f} | {r['iterations']} | "
                  f"{r['den_haan_max']:.3f} | {r['den_haan_mean']:.3f} |")
        print(f"\nspeed ratio (HARK / ours): {ratio:.1f}x at our default tolerance, "
              f"{ratio_loose:.1f}x at HARK's tolerance")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(results, handle, indent=2, default=float)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
