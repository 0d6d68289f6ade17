"""Compiled kernels of the environment's shocks and observations (see :mod:`rl.core`).

Small ``@njit(cache=True)`` functions with no I/O and no randomness: every
uniform draw is made by the caller with its ``numpy.random.Generator`` and
passed in; results are written into arrays the caller gives, or returned as
new arrays.  Arrays hold E economies on axis 0 and N households on axis 1.
The period equations are not here: they live in :mod:`econ.economy`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from econ.economy import CAPITAL_FLOOR

OBSERVATION_CODES = {
    "capital": 0,
    "aggregate_capital": 1,
    "log_tfp": 2,
    "aggregate_state": 3,
    "employed": 4,
    "capital_productivity": 5,
    "labour_productivity": 6,
    "log_capital": 7,
}
"""Integer code of each name in ``econ.experiments.OBSERVATIONS`` (what :func:`observe_into` reads)."""


@njit(cache=True, error_model="numpy")
def set_unemployment_count(employed, target, keys):
    """Re-assign employment in place so that exactly ``target[e]`` households of economy e are unemployed.

    Only households on the side with too many are switched: with ``excess`` =
    unemployed - target, the |excess| candidates (unemployed ones if excess > 0,
    employed ones if excess < 0) with the smallest ``keys`` switch.  With
    i.i.d. uniform keys this is a uniformly random subset of the candidates.
    The |excess|-th smallest key is found by a partial selection
    (``np.partition``, O(candidates)); ties at it (probability ~1e-13 per
    draw) are broken in household order, so the count is exact in any case.
    """
    n_economies, n_households = employed.shape
    candidate_keys = np.empty(n_households)
    for e in range(n_economies):
        unemployed = 0
        for i in range(n_households):
            if not employed[e, i]:
                unemployed += 1
        excess = unemployed - target[e]
        if excess == 0:
            continue
        side = excess < 0  # the candidates' current employment: fire employed ones when too few are unemployed
        count = abs(excess)
        n_candidates = 0
        for i in range(n_households):
            if employed[e, i] == side:
                candidate_keys[n_candidates] = keys[e, i]
                n_candidates += 1
        if count < n_candidates:
            threshold = np.partition(candidate_keys[:n_candidates], count - 1)[count - 1]
        else:
            threshold = np.inf  # every candidate switches
        switched = 0
        for i in range(n_households):
            if employed[e, i] == side and keys[e, i] < threshold:
                employed[e, i] = not side
                switched += 1
        for i in range(n_households):
            if switched == count:
                break
            if employed[e, i] == side and keys[e, i] == threshold:
                employed[e, i] = not side
                switched += 1


def employment_probabilities(transition: np.ndarray) -> np.ndarray:
    """P(e' = 1 | z, e, z') as a (2, 2, 2) table indexed [z, e, z'], from the 4-state KS matrix (states 2 z + e).

    P(e' = 1 | z, e, z') = P[(z,e),(z',1)] / (P[(z,e),(z',0)] + P[(z,e),(z',1)]).
    """
    to_employed = transition[:, 1::2]  # [2 z + e, z']
    table = to_employed / (transition[:, 0::2] + to_employed)
    return np.ascontiguousarray(table.reshape(2, 2, 2))


@njit(cache=True, error_model="numpy")
def ks_next_shocks(aggregate_state, employed, probability_good, probability_employed, log_technology,
                   target_unemployed, exact, uniforms):
    """Draw (log z', z', e') of the Krusell-Smith chain from uniforms on [0, 1); returns new arrays.

    ``uniforms`` holds, in this order, one draw per economy, one per
    household, and (with ``exact``) one key per household.  z'_e = good (1) iff
    its draw is below ``probability_good[z_e]`` = P(good | z_e); then
    e'_{e,i} = 1 iff its draw is below ``probability_employed[z, e_i, z']``
    (:func:`employment_probabilities`).  With ``exact``,
    :func:`set_unemployment_count` then makes the number of unemployed exactly
    ``target_unemployed[z'_e]`` using the keys.
    """
    n_economies, n_households = employed.shape
    size = n_economies * n_households
    aggregate_state_next = np.empty(n_economies, dtype=np.int64)
    log_tfp_next = np.empty(n_economies)
    employed_next = np.empty((n_economies, n_households), dtype=np.bool_)
    for e in range(n_economies):
        z = aggregate_state[e]
        z_next = 1 if uniforms[e] < probability_good[z] else 0
        aggregate_state_next[e] = z_next
        log_tfp_next[e] = log_technology[z_next]
        stay_employed = probability_employed[z, 1, z_next]
        find_job = probability_employed[z, 0, z_next]
        first = n_economies + e * n_households
        for i in range(n_households):
            employed_next[e, i] = uniforms[first + i] < (stay_employed if employed[e, i] else find_job)
    if exact:
        keys = uniforms[n_economies + size:].reshape((n_economies, n_households))
        set_unemployment_count(employed_next, target_unemployed[aggregate_state_next], keys)
    return log_tfp_next, aggregate_state_next, employed_next


@njit(cache=True, error_model="numpy")
def observe_into(codes, capital, log_tfp, aggregate_state, employed, kappa, lam, capital_scale, tfp_scale,
                 productivity_scale, out):
    """Write the observations ``codes`` (see ``OBSERVATION_CODES``) of E economies into ``out`` (E, N, len(codes)).

    capital k_i / capital_scale; aggregate effective capital
    K = (1/N) sum_i kappa_i k_i (as ``econ.economy.markets`` defines it) / capital_scale;
    log A / tfp_scale; z and e_i as 0/1; kappa_i and lambda_i as 1 + (x - 1) / productivity_scale;
    log(max(k_i, CAPITAL_FLOOR) / capital_scale).
    """
    n_economies, n_households = capital.shape
    for e in range(n_economies):
        for j in range(codes.shape[0]):
            code = codes[j]
            if code == 0:
                for i in range(n_households):
                    out[e, i, j] = capital[e, i] / capital_scale
            elif code == 1:
                total = 0.0
                for i in range(n_households):
                    total += kappa[i] * capital[e, i]
                value = total / n_households / capital_scale
                for i in range(n_households):
                    out[e, i, j] = value
            elif code == 2:
                value = log_tfp[e] / tfp_scale
                for i in range(n_households):
                    out[e, i, j] = value
            elif code == 3:
                for i in range(n_households):
                    out[e, i, j] = aggregate_state[e]
            elif code == 4:
                for i in range(n_households):
                    out[e, i, j] = 1.0 if employed[e, i] else 0.0
            elif code == 5:
                for i in range(n_households):
                    out[e, i, j] = 1.0 + (kappa[i] - 1.0) / productivity_scale
            elif code == 6:
                for i in range(n_households):
                    out[e, i, j] = 1.0 + (lam[i] - 1.0) / productivity_scale
            else:
                for i in range(n_households):
                    out[e, i, j] = np.log(max(capital[e, i], CAPITAL_FLOOR) / capital_scale)
