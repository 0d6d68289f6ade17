"""Compiled kernels of the value-function iteration in :mod:`econ.rbc.vfi`.

Small ``@njit(cache=True)`` functions with no I/O and no randomness; each
writes into arrays it is given.  Arrays on the (TFP, capital) grid have shape
``(n_tfp, n_capital)``: row ``j`` belongs to log TFP node ``j``.

Utility codes follow ``RBCParams.utility_code``: 0 is ``linear``
(u = log c - chi l), 1 is ``log_leisure`` (u = log c + chi log(1 - l)).
"""

from __future__ import annotations

import numpy as np
from numba import njit

LABOUR_TOL = 1e-14
"""Bracket width at which the intratemporal root is accepted (labour is O(1))."""

GOLDEN = 0.3819660112501051
"""(3 - sqrt 5) / 2, the golden-section fraction of Brent's method."""

SQRT_EPS = 1.4901161193847656e-08
"""sqrt of double-precision machine epsilon: the relative resolution of a maximiser."""


# ---------------------------------------------------------------------------
# Cubic splines in capital
# ---------------------------------------------------------------------------


@njit(cache=True)
def _end_slope(x0, x1, x2, x3, y0, y1, y2, y3):
    """Slope at x0 of the cubic through four points (Lagrange form).

    Used as the clamped end condition of the spline, so the spline keeps
    fourth-order accuracy up to the ends of the grid (a natural spline's
    zero-curvature end condition would not).
    """
    d0 = 1.0 / (x0 - x1) + 1.0 / (x0 - x2) + 1.0 / (x0 - x3)
    d1 = (x0 - x2) * (x0 - x3) / ((x1 - x0) * (x1 - x2) * (x1 - x3))
    d2 = (x0 - x1) * (x0 - x3) / ((x2 - x0) * (x2 - x1) * (x2 - x3))
    d3 = (x0 - x1) * (x0 - x2) / ((x3 - x0) * (x3 - x1) * (x3 - x2))
    return d0 * y0 + d1 * y1 + d2 * y2 + d3 * y3


@njit(cache=True)
def spline_second_derivatives(x, y, m, work):
    """Second derivatives ``m`` of the clamped cubic spline through (x, y).

    The end slopes are those of the cubics through the four end points.  The
    tridiagonal system is solved by the Thomas algorithm; ``work`` is scratch
    space of the same length as ``x``.
    """
    n = x.shape[0]
    s_left = _end_slope(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3])
    s_right = _end_slope(x[n - 1], x[n - 2], x[n - 3], x[n - 4], y[n - 1], y[n - 2], y[n - 3], y[n - 4])
    # Row i: a_i m_{i-1} + b_i m_i + c_i m_{i+1} = d_i.  Forward sweep stores c'_i in work, d'_i in m.
    h0 = x[1] - x[0]
    b = 2.0 * h0
    c = h0
    d = 6.0 * ((y[1] - y[0]) / h0 - s_left)
    work[0] = c / b
    m[0] = d / b
    for i in range(1, n):
        h_left = x[i] - x[i - 1]
        a = h_left
        if i < n - 1:
            h_right = x[i + 1] - x[i]
            b = 2.0 * (h_left + h_right)
            c = h_right
            d = 6.0 * ((y[i + 1] - y[i]) / h_right - (y[i] - y[i - 1]) / h_left)
        else:
            b = 2.0 * h_left
            c = 0.0
            d = 6.0 * (s_right - (y[i] - y[i - 1]) / h_left)
        denom = b - a * work[i - 1]
        work[i] = c / denom
        m[i] = (d - a * m[i - 1]) / denom
    for i in range(n - 2, -1, -1):
        m[i] -= work[i] * m[i + 1]


@njit(cache=True)
def _interval(x, xq):
    """Index i with x[i] <= xq < x[i+1], clipped to [0, n-2] (end cubics extrapolate)."""
    n = x.shape[0]
    if xq <= x[1]:
        return 0
    if xq >= x[n - 2]:
        return n - 2
    lo, hi = 1, n - 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if x[mid] <= xq:
            lo = mid
        else:
            hi = mid
    return lo


@njit(cache=True)
def spline_eval(x, y, m, xq):
    """Value at xq of the cubic spline with knots x, values y and second derivatives m."""
    i = _interval(x, xq)
    h = x[i + 1] - x[i]
    right = x[i + 1] - xq
    left = xq - x[i]
    return (
        m[i] * right**3 / (6.0 * h)
        + m[i + 1] * left**3 / (6.0 * h)
        + (y[i] / h - m[i] * h / 6.0) * right
        + (y[i + 1] / h - m[i + 1] * h / 6.0) * left
    )


@njit(cache=True)
def spline_rows(x, values, m, work):
    """Second derivatives of one spline per row of ``values``."""
    for j in range(values.shape[0]):
        spline_second_derivatives(x, values[j], m[j], work)


# ---------------------------------------------------------------------------
# Economics of one state
# ---------------------------------------------------------------------------


@njit(cache=True)
def _intratemporal_gap(l, B, R, alpha, chi, utility_code):
    """g(l) = MPL * u_c + u_l, decreasing in l, and its derivative.

    With B = A k^alpha and R = (1 - delta) k - k', consumption is
    c(l) = R + B l^(1-alpha); the condition g = 0 is
    (1-alpha) B l^(-alpha) / c = chi (linear) or chi / (1 - l) (log-leisure),
    written multiplied through by c (and by 1 - l) to stay finite.
    """
    mpl = (1.0 - alpha) * B * l ** (-alpha)
    c = R + B * l ** (1.0 - alpha)
    dmpl = -alpha * mpl / l
    if utility_code == 0:
        g = mpl - chi * c
        dg = dmpl - chi * mpl
    else:
        g = mpl * (1.0 - l) - chi * c
        dg = dmpl * (1.0 - l) - mpl - chi * mpl
    return g, dg


@njit(cache=True)
def labour_given_next_capital(k, A, k_next, alpha, delta, chi, utility_code, guess):
    """Labour l in (0, 1] solving the intratemporal condition for given (k, A, k').

    Safeguarded Newton iteration inside a shrinking bracket.  The bracket's
    lower end is where consumption c = (1-delta) k + A k^alpha l^(1-alpha) - k'
    reaches zero (0 if k' <= (1-delta) k), the upper end is 1.  With linear
    utility the condition can ask for l > 1; labour is then capped at 1 (the
    time endowment).  Returns -1 if no labour makes consumption positive.
    """
    B = A * k**alpha
    R = (1.0 - delta) * k - k_next
    lo = 0.0
    if R <= 0.0:
        if B + R <= 0.0:
            return -1.0
        lo = (-R / B) ** (1.0 / (1.0 - alpha))
    hi = 1.0
    if utility_code == 0:
        g_hi, _ = _intratemporal_gap(1.0, B, R, alpha, chi, utility_code)
        if g_hi >= 0.0:
            return 1.0
    l = guess
    if not (lo < l < hi):
        l = 0.5 * (lo + hi)
    for _ in range(200):
        g, dg = _intratemporal_gap(l, B, R, alpha, chi, utility_code)
        if g > 0.0:
            lo = l
        else:
            hi = l
        if g == 0.0 or hi - lo < LABOUR_TOL:
            return l
        step = g / dg
        l_new = l - step
        if not (lo < l_new < hi):
            l_new = 0.5 * (lo + hi)
        if abs(l_new - l) < LABOUR_TOL * (1.0 + l):
            return l_new
        l = l_new
    return l


@njit(cache=True)
def period_utility(c, l, chi, utility_code):
    """u(c, l): log c - chi l (code 0) or log c + chi log(1 - l) (code 1)."""
    if utility_code == 0:
        return np.log(c) - chi * l
    return np.log(c) + chi * np.log1p(-l)


@njit(cache=True)
def _objective(k_next, k, A, alpha, beta, delta, chi, utility_code, labour_guess, grid, w_row, m_row):
    """u(c, l) + beta E[V(k', A') | A] for a candidate k', labour from the intratemporal condition."""
    l = labour_given_next_capital(k, A, k_next, alpha, delta, chi, utility_code, labour_guess)
    if l <= 0.0:
        return -1e300
    c = (1.0 - delta) * k + A * k**alpha * l ** (1.0 - alpha) - k_next
    if c <= 0.0 or (utility_code == 1 and l >= 1.0):
        return -1e300
    return period_utility(c, l, chi, utility_code) + beta * spline_eval(grid, w_row, m_row, k_next)


@njit(cache=True)
def _maximise_next_capital(lo, hi, xtol, k, A, alpha, beta, delta, chi, utility_code, labour_guess, grid, w_row, m_row):
    """Maximise :func:`_objective` over k' in [lo, hi] by Brent's method.

    Golden-section steps safeguard parabolic interpolation (Brent 1973,
    "Algorithms for Minimization without Derivatives", ch. 5); the search stops
    when the bracket is within 2 (SQRT_EPS |k'| + xtol / 3) of the maximiser.
    Returns (k', value).
    """
    x = w = v = lo + GOLDEN * (hi - lo)
    fx = fw = fv = -_objective(x, k, A, alpha, beta, delta, chi, utility_code, labour_guess, grid, w_row, m_row)
    d = e = 0.0
    a, b = lo, hi
    for _ in range(500):
        xm = 0.5 * (a + b)
        tol1 = SQRT_EPS * abs(x) + xtol / 3.0
        tol2 = 2.0 * tol1
        if abs(x - xm) <= tol2 - 0.5 * (b - a):
            break
        golden = True
        if abs(e) > tol1:
            # parabola through (x, fx), (w, fw), (v, fv)
            r = (x - w) * (fx - fv)
            q = (x - v) * (fx - fw)
            p = (x - v) * q - (x - w) * r
            q = 2.0 * (q - r)
            if q > 0.0:
                p = -p
            q = abs(q)
            e_old = e
            e = d
            if abs(p) < abs(0.5 * q * e_old) and q * (a - x) < p < q * (b - x):
                d = p / q
                u = x + d
                if u - a < tol2 or b - u < tol2:
                    d = tol1 if xm >= x else -tol1
                golden = False
        if golden:
            e = (a - x) if x >= xm else (b - x)
            d = GOLDEN * e
        if abs(d) >= tol1:
            u = x + d
        else:
            u = x + (tol1 if d > 0.0 else -tol1)
        fu = -_objective(u, k, A, alpha, beta, delta, chi, utility_code, labour_guess, grid, w_row, m_row)
        if fu <= fx:
            if u >= x:
                a = x
            else:
                b = x
            v, fv = w, fw
            w, fw = x, fx
            x, fx = u, fu
        else:
            if u < x:
                a = u
            else:
                b = u
            if fu <= fw or w == x:
                v, fv = w, fw
                w, fw = u, fu
            elif fu <= fv or v == x or v == w:
                v, fv = u, fu
    # the end points are candidates too (a corner maximum at the grid's edge)
    f_hi = -_objective(hi, k, A, alpha, beta, delta, chi, utility_code, labour_guess, grid, w_row, m_row)
    if f_hi < fx:
        x, fx = hi, f_hi
    f_lo = -_objective(lo, k, A, alpha, beta, delta, chi, utility_code, labour_guess, grid, w_row, m_row)
    if f_lo < fx:
        x, fx = lo, f_lo
    return x, -fx


# ---------------------------------------------------------------------------
# Bellman operator and policy evaluation
# ---------------------------------------------------------------------------


@njit(cache=True)
def expected_values(transition, values, out):
    """out[i, :] = sum_j P[i, j] values[j, :]  (the conditional expectation of V(k, A'))."""
    n_z, n_k = values.shape
    for i in range(n_z):
        for ik in range(n_k):
            s = 0.0
            for j in range(n_z):
                s += transition[i, j] * values[j, ik]
            out[i, ik] = s


@njit(cache=True)
def bellman_maximise(
    grid, tfp, transition, values, alpha, beta, delta, chi, utility_code, labour_guess, xtol,
    expect, curvature, work, new_values, next_capital, labour, reward,
):
    """One application of the Bellman operator with a continuous choice of k'.

    For every node (A_i, k_m) maximise u(c, l) + beta W_i(k') over
    k' in [k_min, min(k_max, a_max)] by Brent's method, where W_i is the cubic
    spline in k' of E[V(k', A') | A_i] and labour solves the intratemporal
    condition.  Writes the maximised value, the maximiser, its labour and the
    period utility there.  Returns the number of nodes where no feasible k'
    exists (0 on a sound grid).
    """
    n_z, n_k = values.shape
    expected_values(transition, values, expect)
    spline_rows(grid, expect, curvature, work)
    k_lo = grid[0]
    k_hi = grid[n_k - 1]
    infeasible = 0
    for i in range(n_z):
        A = tfp[i]
        w_row = expect[i]
        m_row = curvature[i]
        for ik in range(n_k):
            k = grid[ik]
            wealth_max = (1.0 - delta) * k + A * k**alpha  # wealth at l = 1
            hi = min(k_hi, wealth_max * (1.0 - 1e-9))
            if hi <= k_lo:
                infeasible += 1
                new_values[i, ik] = -1e300
                next_capital[i, ik] = k_lo
                labour[i, ik] = 1.0
                reward[i, ik] = -1e300
                continue
            kp, v = _maximise_next_capital(
                k_lo, hi, xtol, k, A, alpha, beta, delta, chi, utility_code, labour_guess, grid, w_row, m_row
            )
            l = labour_given_next_capital(k, A, kp, alpha, delta, chi, utility_code, labour_guess)
            c = (1.0 - delta) * k + A * k**alpha * l ** (1.0 - alpha) - kp
            new_values[i, ik] = v
            next_capital[i, ik] = kp
            labour[i, ik] = l
            reward[i, ik] = period_utility(c, l, chi, utility_code)
    return infeasible


@njit(cache=True)
def evaluate_policy(grid, transition, next_capital, reward, beta, n_steps, values, expect, curvature, work):
    """Howard policy-evaluation steps: V <- u_pi + beta E[V(k'_pi, A') | A], ``n_steps`` times, in place."""
    n_z, n_k = values.shape
    for _ in range(n_steps):
        expected_values(transition, values, expect)
        spline_rows(grid, expect, curvature, work)
        for i in range(n_z):
            for ik in range(n_k):
                values[i, ik] = reward[i, ik] + beta * spline_eval(grid, expect[i], curvature[i], next_capital[i, ik])


# ---------------------------------------------------------------------------
# Off-grid policy: cubic spline in k, four-point Lagrange cubic in log A
# ---------------------------------------------------------------------------


@njit(cache=True)
def interpolate_on_grid(grid, log_tfp_grid, values, curvature, k_query, z_query, out):
    """Interpolate a function tabulated on (log A, k) at scattered points.

    In capital: the cubic spline of each row (second derivatives ``curvature``).
    In log A: the Lagrange cubic through the four nodes around the query (the
    end four beyond the grid), so the slope in A is accurate to third order.
    """
    n_z = log_tfp_grid.shape[0]
    for q in range(k_query.shape[0]):
        z = z_query[q]
        j = _interval(log_tfp_grid, z)  # z_j <= z < z_{j+1}
        first = min(max(j - 1, 0), n_z - 4)
        total = 0.0
        for a in range(first, first + 4):
            weight = 1.0
            for b in range(first, first + 4):
                if b != a:
                    weight *= (z - log_tfp_grid[b]) / (log_tfp_grid[a] - log_tfp_grid[b])
            total += weight * spline_eval(grid, values[a], curvature[a], k_query[q])
        out[q] = total


@njit(cache=True)
def discrete_rewards(grid, tfp, alpha, delta, chi, utility_code, labour_guess, rewards):
    """Period utility of every (A_i, k_m, k'_n) with k' on the capital grid (for a discrete DP).

    Labour is optimised from the intratemporal condition for each triple;
    infeasible triples (no positive consumption) get ``-inf``.
    ``rewards`` has shape (n_tfp, n_capital, n_capital).
    """
    n_z = tfp.shape[0]
    n_k = grid.shape[0]
    for i in range(n_z):
        for ik in range(n_k):
            for jn in range(n_k):
                k = grid[ik]
                kp = grid[jn]
                l = labour_given_next_capital(k, tfp[i], kp, alpha, delta, chi, utility_code, labour_guess)
                if l <= 0.0 or (utility_code == 1 and l >= 1.0):
                    rewards[i, ik, jn] = -np.inf
                    continue
                c = (1.0 - delta) * k + tfp[i] * k**alpha * l ** (1.0 - alpha) - kp
                if c <= 0.0:
                    rewards[i, ik, jn] = -np.inf
                else:
                    rewards[i, ik, jn] = period_utility(c, l, chi, utility_code)
