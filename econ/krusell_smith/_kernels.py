"""Compiled kernels of the Krusell-Smith solver (see :mod:`econ.krusell_smith.solver`).

Small ``@njit(cache=True)`` functions with no I/O and no randomness; they write
into arrays they are given.  Array layout of the household policy:

    consumption[type, state, iK, ik]   state = 2 * z_index + employed (see econ.krusell_smith.params)

is consumption c(k, K; z, e, type) at individual capital ``k_grid[ik]`` and
effective aggregate capital ``K_grid[iK]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from econ.economy import private_return_wedge


@njit(cache=True)
def marginal_products(K, z, L, alpha):
    """(MPK, MPL) of Y = z K^alpha L^(1-alpha); zero for L = 0 (the limit used by econ.economy).

    The compiled twin of :func:`econ.economy.factor_prices` on the solver's
    (K, z) grid; a test checks the two agree.
    """
    if L <= 0.0:
        return 0.0, 0.0
    ratio = K / L
    return alpha * z * ratio ** (alpha - 1.0), (1.0 - alpha) * z * ratio**alpha


@njit(cache=True)
def _bracket(grid, x):
    """Index j and weight w with x ~ (1 - w) grid[j] + w grid[j+1], x clamped to [grid[0], grid[-1]].

    Used for aggregate capital K: beyond the K grid a policy is held at its value
    at the nearest end (never extrapolated), so a law of motion that leaves the
    grid cannot feed back into an explosive extrapolation.
    """
    n = grid.shape[0]
    j = np.searchsorted(grid, x) - 1
    if j < 0:
        j = 0
    elif j > n - 2:
        j = n - 2
    w = (x - grid[j]) / (grid[j + 1] - grid[j])
    if w < 0.0:
        w = 0.0
    elif w > 1.0:
        w = 1.0
    return j, w


@njit(cache=True)
def _walk(grid, x, j):
    """Bracket of x on ``grid`` as :func:`_bracket`, searching from the guess j (cheap when x moves little)."""
    n = grid.shape[0]
    if j > n - 2:
        j = n - 2
    if j < 0:
        j = 0
    while j < n - 2 and x >= grid[j + 1]:
        j += 1
    while j > 0 and x < grid[j]:
        j -= 1
    return j, (x - grid[j]) / (grid[j + 1] - grid[j])


@njit(cache=True)
def next_capital(alm, zi, K):
    """K' = exp(a_z + b_z log K [+ c_z (log K)^2]) by the law of motion ``alm[z_index]`` (2 or 3 coefficients).

    With two coefficients the log-linear law of Krusell and Smith (1998); a third is the
    quadratic term (see :mod:`econ.krusell_smith.law_of_motion`).
    """
    log_K = np.log(K)
    x = alm[zi, 0] + alm[zi, 1] * log_K
    if alm.shape[1] > 2:
        x += alm[zi, 2] * log_K * log_K
    return np.exp(x)


@njit(cache=True)
def egm_step(consumption, k_grid, K_grid, alm, z_values, L_values, labour_endowment, kappa, transition,
             alpha, beta, delta, out, endo_wealth, endo_capital, price_impact):
    """One endogenous-grid-method update of the consumption policy (Carroll 2006).

    For every type, state s = (z, e) and aggregate capital K, tomorrow's
    aggregate capital is K' = exp(alm[z, 0] + alm[z, 1] log K) (plus alm[z, 2] (log K)^2 in the
    exponent if ``alm`` has a third column: :func:`next_capital`).  For each
    end-of-period capital k'_j = k_grid[j] the Euler equation

        1 / c_j = beta sum_{s'} P[s, s'] (1 - delta + kappa r(K', z')) / c(k'_j, K'; s')

    (c(., K'; s') linear in K between grid points) gives c_j, and the
    endogenous wealth a_j = c_j + k'_j.  Today's wealth on the capital grid,
    a_i = (1 - delta + kappa r(K, z)) k_i + w(K, z) lbar e, is then located
    among the a_j and k'(a_i) interpolated linearly (through the origin
    (a, k') = (0, 0), which k_grid[0] = 0 represents: with no unemployment
    benefit, zero capital and unemployment leave nothing to consume).
    ``out`` receives c_i = a_i - k'(a_i).

    ``price_impact[type]`` = phi_type / N for N households that move prices (0
    is the continuum; phi = 1 the open-loop equilibrium, phi < 1 the part of
    the own effect the other households' reactions leave, see
    :mod:`econ.krusell_smith.conjecture`).  Then the return in the Euler
    equation is the household's private gross return

        R' = 1 - delta + kappa r' [1 + (phi/N)(1 - alpha)(lbar e' / L' - kappa k'_j / K')],

    k'_j the end-of-period grid point, K' from the law of motion and
    L' = (1 - u_z') lbar.  Where the private return makes the expected
    marginal value of saving non-positive (only far out on the grid, at
    small N), no consumption satisfies the Euler equation: the endogenous grid
    stops at the last point before, and richer households save that point's k'.
    """
    num_types, num_states, num_K, num_k = consumption.shape
    for t in range(num_types):
        for s in range(num_states):
            zi = s // 2
            employed = s % 2
            for m in range(num_K):
                K_next = next_capital(alm, zi, K_grid[m])
                jK, wK = _bracket(K_grid, K_next)
                returns_next = np.empty(num_states)
                capital_income_next = np.empty(num_states)
                own_labour_share = np.zeros(num_states)
                for sn in range(num_states):
                    mpk, mpl = marginal_products(K_next, z_values[sn // 2], L_values[sn // 2], alpha)
                    returns_next[sn] = 1.0 - delta + kappa[t] * mpk
                    capital_income_next[sn] = kappa[t] * mpk
                    if L_values[sn // 2] > 0.0:
                        own_labour_share[sn] = labour_endowment * (sn % 2) / L_values[sn // 2]
                endo_wealth[0] = 0.0
                endo_capital[0] = 0.0
                num_valid = num_k
                for j in range(1, num_k):
                    expectation = 0.0
                    for sn in range(num_states):
                        p = transition[s, sn]
                        if p > 0.0:
                            c_next = (1.0 - wK) * consumption[t, sn, jK, j] + wK * consumption[t, sn, jK + 1, j]
                            if price_impact[t] > 0.0:
                                wedge = private_return_wedge(price_impact[t], alpha, own_labour_share[sn], kappa[t] * k_grid[j] / K_next)
                                expectation += p * (returns_next[sn] + capital_income_next[sn] * wedge) / c_next
                            else:
                                expectation += p * returns_next[sn] / c_next
                    if expectation <= 0.0:
                        num_valid = j
                        break
                    c = 1.0 / (beta * expectation)
                    endo_wealth[j] = c + k_grid[j]
                    endo_capital[j] = k_grid[j]
                mpk, mpl = marginal_products(K_grid[m], z_values[zi], L_values[zi], alpha)
                gross_return = 1.0 - delta + kappa[t] * mpk
                labour_income = mpl * labour_endowment * employed
                j = 0
                for i in range(num_k):  # today's wealth rises with k_i: walk along the endogenous grid
                    wealth = gross_return * k_grid[i] + labour_income
                    if num_valid < num_k and wealth >= endo_wealth[num_valid - 1]:
                        k_next = endo_capital[num_valid - 1]
                    else:
                        j, w = _walk(endo_wealth[:num_valid], wealth, j)
                        k_next = (1.0 - w) * endo_capital[j] + w * endo_capital[j + 1]
                    if k_next < 0.0:
                        k_next = 0.0
                    out[t, s, m, i] = wealth - k_next


@njit(cache=True)
def wealth_on_grid(k_grid, K_grid, z_values, L_values, labour_endowment, kappa, alpha, delta, out):
    """a(k, K; z, e, type) = (1 - delta + kappa r(K, z)) k + w(K, z) lbar e on the grid (layout as consumption)."""
    num_types, num_states, num_K, num_k = out.shape
    for t in range(num_types):
        for s in range(num_states):
            zi = s // 2
            for m in range(num_K):
                mpk, mpl = marginal_products(K_grid[m], z_values[zi], L_values[zi], alpha)
                for i in range(num_k):
                    out[t, s, m, i] = (1.0 - delta + kappa[t] * mpk) * k_grid[i] + mpl * labour_endowment * (s % 2)


@njit(cache=True)
def consumption_at(capital, aggregate_capital, states, types, k_grid, K_grid, consumption, out, index):
    """Bilinear interpolation of c(k, K; s, type) at each household's (k_i, s_i, type_i) and a common K.

    Linear extrapolation beyond the k grid; K is clamped to the K grid (:func:`_bracket`).  ``index`` holds a guess of each
    household's bracket on ``k_grid`` and is updated in place (in a panel
    simulation capital moves little from one period to the next).
    """
    jK, wK = _bracket(K_grid, aggregate_capital)
    for i in range(capital.shape[0]):
        j, w = _walk(k_grid, capital[i], index[i])
        index[i] = j
        t = types[i]
        s = states[i]
        low = (1.0 - w) * consumption[t, s, jK, j] + w * consumption[t, s, jK, j + 1]
        high = (1.0 - w) * consumption[t, s, jK + 1, j] + w * consumption[t, s, jK + 1, j + 1]
        out[i] = (1.0 - wK) * low + wK * high


@njit(cache=True)
def euler_residuals(capital, aggregate_capital, states, types, k_grid, K_grid, consumption, alm, z_values,
                    L_values, labour_endowment, kappa, transition, alpha, beta, delta, out, price_impact):
    """Unit-free Euler errors 1 - c / c_EE at arbitrary points (Judd 1992).

    c is the policy interpolated at (k_i, K_i; s_i, type_i), k' = a - c, and
    c_EE = 1 / (beta E[R' / c(k', K'; s')]) with K' from the law of motion (:func:`next_capital`) and
    R' = 1 - delta + kappa r' the market return, or, with ``price_impact[type]`` = phi/N > 0,
    the private return R' = 1 - delta + kappa r' [1 + (phi/N)(1 - alpha)(lbar e'/L' - kappa k'/K')]
    (see :func:`egm_step`).
    """
    num_states = consumption.shape[1]
    c_one = np.empty(1)
    k_one = np.empty(1)
    s_one = np.empty(1, dtype=np.int64)
    t_one = np.empty(1, dtype=np.int64)
    j_one = np.zeros(1, dtype=np.int64)
    for i in range(capital.shape[0]):
        t = types[i]
        s = states[i]
        zi = s // 2
        K = aggregate_capital[i]
        mpk, mpl = marginal_products(K, z_values[zi], L_values[zi], alpha)
        wealth = (1.0 - delta + kappa[t] * mpk) * capital[i] + mpl * labour_endowment * (s % 2)
        k_one[0] = capital[i]
        s_one[0] = s
        t_one[0] = t
        consumption_at(k_one, K, s_one, t_one, k_grid, K_grid, consumption, c_one, j_one)
        c = c_one[0]
        k_one[0] = wealth - c
        K_next = next_capital(alm, zi, K)
        expectation = 0.0
        for sn in range(num_states):
            p = transition[s, sn]
            if p > 0.0:
                mpk_n, mpl_n = marginal_products(K_next, z_values[sn // 2], L_values[sn // 2], alpha)
                s_one[0] = sn
                consumption_at(k_one, K_next, s_one, t_one, k_grid, K_grid, consumption, c_one, j_one)
                gross = 1.0 - delta + kappa[t] * mpk_n
                if price_impact[t] > 0.0:
                    own_labour_share = 0.0
                    if L_values[sn // 2] > 0.0:
                        own_labour_share = labour_endowment * (sn % 2) / L_values[sn // 2]
                    wedge = private_return_wedge(price_impact[t], alpha, own_labour_share, kappa[t] * k_one[0] / K_next)
                    gross += kappa[t] * mpk_n * wedge
                expectation += p * gross / c_one[0]
        out[i] = 1.0 - c * beta * expectation
