"""The Krusell-Smith law of motion: its forms, OLS estimation and den Haan's accuracy measure.

Households forecast effective aggregate capital by a law of motion per aggregate state z:

    log K' = a_z + b_z log K                                    law="loglinear" (Krusell and Smith 1998)
    log K' = a_z + b_z log K + c_z (log K)^2                    law="quadratic"

stored as an array ``alm[z_index] = (a, b)`` or ``(a, b, c)`` (z_index 0 bad, 1 good); the
number of columns is the form.  Krusell and Smith (1998, section IV) tried a quadratic
term and a second moment of the wealth distribution.  The quadratic term is a form
of :func:`econ.krusell_smith.solver.solve_krusell_smith`; the second moment adds a
state variable to the household's problem and has its own solver
(:mod:`econ.krusell_smith.two_moment`).  Its law, here fitted and evaluated on a given
path (:func:`fit_two_moment_law`, :func:`two_moment_errors`), is

    log K' = a_z + b_z log K + c_z log V,   log V' = d_z + e_z log K + f_z log V,

V the cross-sectional variance of effective capital.

Accuracy: den Haan's (2010) dynamic forecast error iterates the law alone from the
simulated K at the first kept period along the simulated z path and compares with the
simulated K.  :func:`den_haan_decomposition` splits it, on one path, into the part no
law of the same form avoids (the OLS law fitted on that very path) and the rest (the
solution's own error given the form).

References: Krusell and Smith (1998), JPE 106(5); den Haan (2010), JEDC 34(1).
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Optional

import numpy as np

from econ.krusell_smith.params import AGGREGATE_STATES

LAWS = {"loglinear": 2, "quadratic": 3}
"""Forms of the law of motion and their number of coefficients per aggregate state."""


def law_of(alm) -> str:
    """The form of a coefficient array ``alm`` (2, 2) or (2, 3)."""
    columns = np.shape(alm)[-1]
    for name, size in LAWS.items():
        if size == columns:
            return name
    raise ValueError(f"alm must have {sorted(LAWS.values())} coefficients per aggregate state, got {columns}")


def as_array(alm: Mapping[str, tuple]) -> np.ndarray:
    """A result's ``{"bad": coefficients, "good": coefficients}`` as the array ``alm[z_index]``."""
    return np.array([alm[state] for state in AGGREGATE_STATES], dtype=float)


def as_mapping(alm) -> dict:
    """The array ``alm[z_index]`` as ``{"good": (a, b[, c]), "bad": (a, b[, c])}`` of floats."""
    return {state: tuple(float(x) for x in alm[zi]) for zi, state in reversed(list(enumerate(AGGREGATE_STATES)))}


def initial_law(center: float, initial_alm, law: str) -> np.ndarray:
    """Starting coefficients [z_index] of the form ``law``: ``initial_alm`` (a missing quadratic column is 0) or
    log K' = 0.04 log K_c + 0.96 log K, K_c the grid's centre."""
    start = np.zeros((2, LAWS[law]))
    given = np.array([[0.04 * np.log(center), 0.96]] * 2) if initial_alm is None else np.array(initial_alm, dtype=float)
    if given.size not in (4, 2 * LAWS[law]):
        raise ValueError(f"initial_alm must have shape (2, 2) or (2, {LAWS[law]}) for law {law!r}, got {given.shape}")
    given = given.reshape(2, -1)
    start[:, :given.shape[1]] = given
    return start


def predict(alm, z, log_k):
    """log K' = a_z + b_z log K (+ c_z (log K)^2) for arrays of z indices and log K (same shape)."""
    alm = np.asarray(alm, dtype=float)
    out = alm[z, 0] + alm[z, 1] * log_k
    if alm.shape[1] > 2:
        out = out + alm[z, 2] * log_k * log_k
    return out


def predicted_change(new, old, log_grid) -> float:
    """max over both z and the K grid of |predicted log K' under ``new`` - under ``old``| (the outer stopping rule)."""
    d = np.asarray(new) - np.asarray(old)
    change = d[:, :1] + d[:, 1:2] * log_grid
    if d.shape[1] > 2:
        change = change + d[:, 2:3] * log_grid**2
    return float(np.max(np.abs(change)))


def fit_alm(log_k, log_k_next, z, law: str = "loglinear", num_states: int = 2):
    """OLS of ``log_k_next`` on (1, ``log_k``[, ``log_k``^2]) separately for each aggregate state in ``z``.

    ``z`` indexes ``num_states`` states: 2 (z itself, 0 bad, 1 good), or 4 for a law conditioned also on the
    previous period's z (``z`` from :func:`previous_and_current_state`).
    The pairs may come in any order (several economies pooled).  Returns ``(alm, r2)``:
    ``alm[z_index]`` the coefficients of the form ``law`` and R^2 per state.  The quadratic
    fit is computed on log K centred and scaled by the state's sample (the raw powers of
    log K ~ 2.5 over a range of +-0.1 are nearly collinear) and converted back exactly.
    """
    if law not in LAWS:
        raise ValueError(f"law must be one of {tuple(LAWS)}, got {law!r}")
    alm = np.empty((num_states, LAWS[law]))
    r2 = np.empty(num_states)
    for zi in range(num_states):
        sel = z == zi
        x, y = log_k[sel], log_k_next[sel]
        if x.size < LAWS[law] + 1:
            name = AGGREGATE_STATES[zi] if num_states == 2 else f"{AGGREGATE_STATES[zi // 2]} -> {AGGREGATE_STATES[zi % 2]}"
            raise ValueError(f"too few kept periods in aggregate state {name!r} to estimate "
                             "the law of motion: simulate longer (more periods or economies)")
        if law == "loglinear":
            X = np.column_stack([np.ones_like(x), x])
            coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        else:
            centre, scale = x.mean(), max(x.std(), 1e-12)
            u = (x - centre) / scale
            X = np.column_stack([np.ones_like(u), u, u * u])
            g, *_ = np.linalg.lstsq(X, y, rcond=None)
            # g0 + g1 (x - m)/s + g2 (x - m)^2/s^2 = a + b x + c x^2
            c = g[2] / scale**2
            b = g[1] / scale - 2.0 * c * centre
            a = g[0] - g[1] * centre / scale + c * centre**2
            coef = np.array([a, b, c])
        resid = y - X @ (coef if law == "loglinear" else g)
        alm[zi] = coef
        r2[zi] = 1.0 - resid @ resid / np.sum((y - y.mean()) ** 2)
    return alm, r2


def estimate_alm(K_path, z_path, burn_in: int, law: str = "loglinear", num_states: int = 2):
    """OLS of log K_{t+1} on log K_t (and its square) per z_t over t >= burn_in: ``alm[z_index]`` and R^2.

    Paths of shape (T,) or (T, E) (E economies, pooled: pairs (t, t+1) within each economy).  ``num_states``
    as in :func:`fit_alm` (4: ``z_path`` from :func:`previous_and_current_state`)."""
    logK = np.log(K_path[burn_in:])
    return fit_alm(logK[:-1].ravel(), logK[1:].ravel(), z_path[burn_in:-1].ravel(), law, num_states)


def den_haan_errors(alm, K_path, z_path, burn_in: int):
    """Den Haan's (2010) dynamic forecast errors 100 |log Khat_t - log K_t| (percent), t >= burn_in: (max, mean).

    log Khat starts at the simulated log K_burn_in and follows the law alone along z:
    log Khat_{t+1} = a_{z_t} + b_{z_t} log Khat_t (+ c_{z_t} (log Khat_t)^2).
    """
    alm = np.asarray(alm, dtype=float)
    quadratic = alm.shape[1] > 2
    logK = np.log(K_path[burn_in:])
    z = z_path[burn_in:]
    forecast = np.empty_like(logK)
    forecast[0] = logK[0]
    for t in range(1, logK.size):
        forecast[t] = alm[z[t - 1], 0] + alm[z[t - 1], 1] * forecast[t - 1]
        if quadratic:
            forecast[t] += alm[z[t - 1], 2] * forecast[t - 1] * forecast[t - 1]
    err = 100.0 * np.abs(forecast - logK)
    return float(err.max()), float(err.mean())


class DenHaanDecomposition(NamedTuple):
    """Den Haan's error of a law on one path split into the form's limit and the solution's own part (percent)."""

    law: str
    """Form of the law (and of the best law fitted on the path)."""
    solved: tuple
    """(max, mean) of the solution's law."""
    best_of_form: tuple
    """(max, mean) of the OLS law of the same form fitted on this path itself: what the form leaves."""
    solution_given_form: tuple
    """``solved - best_of_form`` for max and mean: the error due to the solution's coefficients."""
    best_alm: np.ndarray
    """Coefficients of the best law of the form on this path, ``[z_index]``."""


def den_haan_decomposition(alm, K_path, z_path, burn_in: int, law: Optional[str] = None) -> DenHaanDecomposition:
    """Decompose den Haan's error of ``alm`` on the path (K_path, z_path) after ``burn_in``.

    (a) the error of ``alm``; (b) the error of the law of form ``law`` (default: the
    form of ``alm``) fitted by OLS per z on this very path (log K_{t+1} on log K_t,
    t >= burn_in): the error that the form leaves whatever path it is fitted on, as
    far as a one-step OLS fit finds the best such law; (c) = (a) - (b), the part due
    to the solution's coefficients (its finite fitting path, its tolerance).  On a
    path long enough to be representative, (c) is the room a better solution of the
    same form has, and (b) the room only a richer form has.
    """
    law = law_of(alm) if law is None else law
    best_alm, _ = estimate_alm(K_path, z_path, burn_in, law)
    solved = den_haan_errors(alm, K_path, z_path, burn_in)
    best = den_haan_errors(best_alm, K_path, z_path, burn_in)
    return DenHaanDecomposition(law, solved, best, (solved[0] - best[0], solved[1] - best[1]), best_alm)


def previous_and_current_state(z_path) -> np.ndarray:
    """The index 2 z_{t-1} + z_t of the pair (previous, current) aggregate state, t >= 1 (t = 0: 3 z_0, no switch).

    A law per pair, log K' = a_{z_-1, z} + b_{z_-1, z} log K (``fit_alm(..., num_states=4)``, evaluated by
    :func:`den_haan_errors` along this index), lets the forecast depend on whether z has just switched: the
    employment composition of a continuum then jumps (u_z changes at once, the newly employed are poorer).
    """
    z = np.asarray(z_path, dtype=np.int64)
    out = 3 * z
    out[1:] = 2 * z[:-1] + z[1:]
    return out


def fit_two_moment_law(K_path, variance_path, z_path, burn_in: int):
    """OLS per z_t of (log K_{t+1}, log V_{t+1}) on (1, log K_t, log V_t) over t >= burn_in.

    V is the cross-sectional variance of effective capital (for instance
    :attr:`econ.krusell_smith.histogram.SimulatedHistogram.capital_variance`).
    Returns ``coef[z_index, equation]`` (equation 0: log K', 1: log V'), shape (2, 2, 3),
    and R^2 of the same shape without the last axis.
    """
    log_k, log_v = np.log(K_path[burn_in:]), np.log(variance_path[burn_in:])
    z = np.asarray(z_path)[burn_in:-1]
    coef = np.empty((2, 2, 3))
    r2 = np.empty((2, 2))
    for zi in (0, 1):
        sel = z == zi
        if sel.sum() < 4:
            raise ValueError(f"too few kept periods in aggregate state {AGGREGATE_STATES[zi]!r} to estimate "
                             "the two-moment law: simulate longer")
        X = np.column_stack([np.ones(sel.sum()), log_k[:-1][sel], log_v[:-1][sel]])
        for eq, y in enumerate((log_k[1:][sel], log_v[1:][sel])):
            coef[zi, eq], *_ = np.linalg.lstsq(X, y, rcond=None)
            resid = y - X @ coef[zi, eq]
            r2[zi, eq] = 1.0 - resid @ resid / np.sum((y - y.mean()) ** 2)
    return coef, r2


def two_moment_errors(coef, K_path, variance_path, z_path, burn_in: int):
    """Den Haan's (2010) errors of the two-moment law ``coef`` (:func:`fit_two_moment_law`) on K (percent): (max, mean).

    Both log Khat and log Vhat start at the simulated values at ``burn_in`` and then follow the law alone
    along z; the error is 100 |log Khat_t - log K_t|, t >= burn_in, as in :func:`den_haan_errors`.
    """
    coef = np.asarray(coef, dtype=float)
    log_k, log_v = np.log(K_path[burn_in:]), np.log(variance_path[burn_in:])
    z = np.asarray(z_path)[burn_in:]
    k_hat, v_hat = np.empty_like(log_k), np.empty_like(log_v)
    k_hat[0], v_hat[0] = log_k[0], log_v[0]
    for t in range(1, log_k.size):
        x = np.array([1.0, k_hat[t - 1], v_hat[t - 1]])
        k_hat[t], v_hat[t] = coef[z[t - 1], 0] @ x, coef[z[t - 1], 1] @ x
    err = 100.0 * np.abs(k_hat - log_k)
    return float(err.max()), float(err.mean())


__all__ = [
    "LAWS",
    "DenHaanDecomposition",
    "as_array",
    "as_mapping",
    "den_haan_decomposition",
    "den_haan_errors",
    "estimate_alm",
    "fit_alm",
    "fit_two_moment_law",
    "initial_law",
    "law_of",
    "predict",
    "predicted_change",
    "previous_and_current_state",
    "two_moment_errors",
]
