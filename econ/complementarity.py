"""Mixed complementarity problems as equations: the Fischer-Burmeister function, a semismooth Newton method, and a
solve on a fixed active set (used by the finite-N steady state of :mod:`econ.heterogeneous`).

References: Fischer (1992), Optimization 24; Kanzow (1996), SIAM J. Matrix Anal. Appl. 17(4); De Luca,
Facchinei and Kanzow (1996), Math. Program. 75.
"""

from __future__ import annotations

import numpy as np
import scipy.optimize


def fischer_burmeister(a, b, smoothing: float = 0.0):
    """phi(a, b) = a + b - sqrt(a^2 + b^2 + 2 mu): with mu = 0 zero exactly when a >= 0, b >= 0 and a b = 0.

    With ``smoothing`` mu > 0 it is smooth everywhere and zero where a > 0, b > 0, a b = mu (the
    smoothing method of Chen, Harker, Kanzow and Smale, Kanzow 1996, SIAM J. Matrix Anal. Appl. 17).
    """
    if smoothing == 0.0:
        return a + b - np.hypot(a, b)
    return a + b - np.sqrt(a * a + b * b + 2.0 * smoothing)


def fischer_burmeister_derivatives(a, b, smoothing: float = 0.0):
    """phi(a, b) of :func:`fischer_burmeister` and its partial derivatives (phi, d phi/d a, d phi/d b).

    d phi/d a = 1 - a / sqrt(a^2 + b^2 + 2 mu), likewise in b.  With mu = 0 phi is not differentiable at
    (0, 0); there the element (1 - 1/sqrt 2, 1 - 1/sqrt 2) of its generalised Jacobian (the limit along
    a = b, every element being (1 - xi, 1 - eta) with xi^2 + eta^2 <= 1) is returned, the usual choice of
    semismooth Newton methods (De Luca, Facchinei and Kanzow 1996, Math. Program. 75).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    root = np.hypot(a, b) if smoothing == 0.0 else np.sqrt(a * a + b * b + 2.0 * smoothing)
    kink = root == 0.0
    safe = np.where(kink, 1.0, root)
    da = np.where(kink, 1.0 - np.sqrt(0.5), 1.0 - a / safe)
    db = np.where(kink, 1.0 - np.sqrt(0.5), 1.0 - b / safe)
    return a + b - root, da, db


def semismooth_newton(system, x, tol: float, max_iter: int):
    """Semismooth Newton on phi(x) = 0 with the merit function |phi|^2 / 2 (De Luca, Facchinei and Kanzow 1996).

    ``system(x, jacobian)`` returns phi (None where undefined) or (phi, J) with J an element of phi's generalised
    Jacobian.  The step solves J d = -phi; where J is singular or d is not a descent direction of the merit
    function, the step is its steepest descent -J' phi.  Armijo backtracking (sufficient decrease 1e-4, halving).
    Stops when max |phi| < tol, after max_iter steps or when no step decreases the merit function (rounding).
    Returns (x, max |phi|, residual evaluations).
    """
    out = system(x, True)
    if out is None:  # K or L not positive at the start: leave it to the caller's fallback
        return x, np.inf, 1
    phi, jac = out
    evaluations = 1
    for _ in range(max_iter):
        distance = float(np.max(np.abs(phi)))
        if distance < tol:
            break
        merit = 0.5 * float(phi @ phi)
        gradient = jac.T @ phi
        try:
            step = np.linalg.solve(jac, -phi)
        except np.linalg.LinAlgError:
            step = -gradient
        if not np.all(np.isfinite(step)) or gradient @ step > -1e-12 * float(step @ step):
            step = -gradient
        slope = float(gradient @ step)
        t = 1.0
        while True:
            trial = system(x + t * step, False)
            evaluations += 1
            if trial is not None and 0.5 * float(trial @ trial) <= merit + 1e-4 * t * slope:
                break
            t *= 0.5
            if t < 1e-12:
                return x, distance, evaluations
        x = x + t * step
        phi, jac = system(x, True)
        evaluations += 1
    return x, float(np.max(np.abs(phi))), evaluations


def solve_on_active_set(gaps, x, n: int, n_agents: int):
    """Solve the steady state with the corners of x fixed (k_i = 0, l_i = 0 or 1) and equalities elsewhere."""
    out = gaps(x, n_agents)
    if out is None:
        return None
    euler_gap, labour_gap = out
    capital, labour = x[:n], x[n:]
    holds = capital > euler_gap
    at_zero = labour < labour_gap
    at_one = 1.0 - labour < -labour_gap
    works = ~(at_zero | at_one)
    fixed = np.concatenate([np.zeros(n), np.where(at_one, 1.0, 0.0)])
    free = np.concatenate([holds, works])

    def equations(y):
        z = fixed.copy()
        z[free] = y
        g = gaps(z, n_agents)
        if g is None:
            return np.full(y.size, 1e3)
        return np.concatenate([g[0][holds], g[1][works]])

    sol = scipy.optimize.root(equations, x[free], method="hybr", options={"xtol": 1e-14})
    z = fixed.copy()
    z[free] = sol.x
    return z


__all__ = ["fischer_burmeister", "fischer_burmeister_derivatives", "semismooth_newton", "solve_on_active_set"]
