"""The Brock-Mirman closed form (docs/closed_forms.md).

With full depreciation (delta = 1), log consumption and Cobb-Douglas output,
the planner's problem

    V(k, A) = max_{c, l} u(c, l) + beta E V(A k^alpha l^(1-alpha) - c, A')

is solved by a constant consumption fraction and constant labour
(Brock and Mirman 1972; with labour, e.g. Ljungqvist and Sargent, ch. 3):

    chat* = 1 - alpha beta
    l*    = (1 - alpha) / (chi (1 - alpha beta))                    linear utility
    l*    = (1 - alpha) / ((1 - alpha) + chi (1 - alpha beta))      log-leisure utility
    k'    = alpha beta A k^alpha l*^(1-alpha)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from econ.rbc.params import RBCParams


@dataclass(frozen=True)
class BrockMirmanPolicy:
    """The closed-form policy of the full-depreciation RBC."""

    params: RBCParams
    consumption_fraction: float
    """chat* = 1 - alpha beta, independent of the state."""
    labour: float
    """l*, independent of the state."""

    def next_capital(self, k, A):
        """k' = alpha beta A k^alpha l*^(1-alpha) (vectorised over k and A)."""
        k = np.asarray(k, dtype=float)
        A = np.asarray(A, dtype=float)
        if np.any(k <= 0) or np.any(A <= 0):
            raise ValueError("next_capital needs capital k > 0 and technology A > 0")
        a = self.params.alpha
        return a * self.params.beta * A * k**a * self.labour ** (1.0 - a)

    def __call__(self, k, A):
        """Consumption fraction and labour at (k, A), broadcast to the state's shape."""
        shape = np.broadcast(np.asarray(k), np.asarray(A)).shape
        return np.full(shape, self.consumption_fraction), np.full(shape, self.labour)


def brock_mirman_policy(params: RBCParams) -> BrockMirmanPolicy:
    """Closed-form policy of the RBC with full depreciation.

    Raises ``ValueError`` unless ``params.delta == 1``: with partial
    depreciation the consumption fraction depends on the state and no closed
    form exists (use :func:`econ.solve_vfi` or :func:`econ.linearize`).
    """
    if not isinstance(params, RBCParams):
        raise TypeError(f"params must be an RBCParams, got {type(params).__name__}")
    if params.delta != 1.0:
        raise ValueError(
            f"the Brock-Mirman closed form needs full depreciation (delta = 1), got delta = {params.delta}; "
            "with delta < 1 the policy depends on the state: use econ.solve_vfi or econ.linearize"
        )
    alpha, beta, chi = params.alpha, params.beta, params.chi
    chat = 1.0 - alpha * beta
    if params.utility == "linear":
        labour = (1.0 - alpha) / (chi * chat)
    else:
        labour = (1.0 - alpha) / ((1.0 - alpha) + chi * chat)
    if params.utility == "linear" and labour >= 1.0:
        raise ValueError(
            f"with linear utility the Brock-Mirman labour (1-alpha)/(chi(1-alpha beta)) = {labour:.4f} "
            f"is not below 1; raise chi above {(1 - alpha) / chat:.4f}"
        )
    return BrockMirmanPolicy(params, chat, labour)
