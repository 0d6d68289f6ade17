"""Finite-N ``general`` steady state on g x g grids: analytic Jacobian against finite differences, one run.

    python -m benchmarks.bench_general_finite_n [--grids 10 13 16 20 22] [--utilities linear log_leisure]
                                                [--previous-up-to 16] [--json PATH]

For every grid g (N = g^2 households, ``productivity_grid(g)``, chi = 1) and
utility, the solver is timed twice on the same continuation path (smoothing
1e-3, 1e-5, 1e-7, then N from 4 by doubling):

- ``analytic``: the solver as it is (semismooth Newton on the analytic
  Jacobian, MINPACK with the same Jacobian only where Newton stalls);
- ``previous``: the same code with the Newton stage switched off and MINPACK's
  hybrid method and Levenberg-Marquardt given no Jacobian (so they difference
  the residual, 2N evaluations per Jacobian), which is the solver before the
  analytic Jacobian, active-set polish included.

Each row gives seconds, the holders of capital, max |phi| (the acceptance
test is |phi| < 1e-10) or the failure, and the ratio previous / analytic.
The previous solver takes minutes and fails from g = 20 on, so it runs only
up to ``--previous-up-to`` (pass 22 to measure its failures too).
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np
import scipy.optimize

import econ.heterogeneous as heterogeneous
from benchmarks.bench_krusell_smith import machine
from econ import RBCParams, heterogeneous_steady_state, productivity_grid
from econ.fixed_point import ConvergenceError
from econ.io import jsonable, write_json_atomic


@contextlib.contextmanager
def previous_solver():
    """The solver before the analytic Jacobian: no Newton stage, MINPACK with finite-difference Jacobians."""
    newton, root = heterogeneous.semismooth_newton, scipy.optimize.root

    def no_newton(system, x, tol, max_iter):
        return x, np.inf, 0

    def root_without_jacobian(*args, jac=None, **kwargs):
        return root(*args, **kwargs)

    heterogeneous.semismooth_newton = no_newton
    heterogeneous.scipy.optimize.root = root_without_jacobian
    try:
        yield
    finally:
        heterogeneous.semismooth_newton = newton
        heterogeneous.scipy.optimize.root = root


def solve_timed(g: int, utility: str) -> dict:
    kappa, lam = productivity_grid(g)
    start = time.perf_counter()
    try:
        het = heterogeneous_steady_state(RBCParams(utility=utility), kappa, lam, n_agents=g * g)
    except ConvergenceError as error:
        return {"seconds": time.perf_counter() - start, "solved": False, "residual": float(error.result.distance),
                "evaluations": error.result.num_iter}
    return {"seconds": time.perf_counter() - start, "solved": True, "residual": het.complementarity_residual,
            "evaluations": het.num_iter, "holders": int(het.holds_capital.sum()),
            "workers": int(np.sum(het.household_labour > 0.0))}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, nargs="+", default=[10, 13, 16, 20, 22])
    parser.add_argument("--utilities", nargs="+", default=["linear", "log_leisure"])
    parser.add_argument("--previous-up-to", type=int, default=16)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = []
    for utility in args.utilities:
        for g in args.grids:
            row = {"g": g, "n_agents": g * g, "utility": utility, "analytic": solve_timed(g, utility)}
            if g <= args.previous_up_to:
                with previous_solver():
                    row["previous"] = solve_timed(g, utility)
            rows.append(row)
            analytic, previous = row["analytic"], row.get("previous")
            line = (f"g {g:3d}  N {g * g:4d}  {utility:11s}  analytic {analytic['seconds']:7.1f} s  "
                    f"holders {analytic.get('holders', '-')!s:>4}  max|phi| {analytic['residual']:.1e}"
                    f"{'' if analytic['solved'] else ' FAILED'}")
            if previous is not None:
                ratio = previous["seconds"] / analytic["seconds"]
                line += (f"  | previous {previous['seconds']:7.1f} s  max|phi| {previous['residual']:.1e}"
                         f"{'' if previous['solved'] else ' FAILED'}  ratio {ratio:.1f}")
            print(line, flush=True)
    if args.json:
        write_json_atomic(args.json, jsonable({"machine": machine(), "rows": rows}))


if __name__ == "__main__":
    main()
