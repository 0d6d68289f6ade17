"""One generic fixed-point loop for every iterative solver in ``econ``.

Value-function iteration and the Krusell-Smith outer loop are both
x_{n+1} = (1 - damping) T(x_n) + damping x_n, stopped when the sup-norm step ||T(x_n) - x_n|| falls below ``tol``.  Failure to converge is
loud: :class:`ConvergenceError` carries the diagnostics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np


class ConvergenceError(RuntimeError):
    """A solver did not converge; ``result`` holds its diagnostics."""

    def __init__(self, message: str, result: "FixedPointResult"):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class FixedPointResult:
    """Outcome of :func:`fixed_point`."""

    x: np.ndarray
    converged: bool
    num_iter: int
    distance: float
    """Sup-norm of the last undamped step ||T(x) - x||."""
    history: tuple = field(repr=False)
    """The distance at every iteration."""
    seconds: float


def sup_distance(new, old) -> float:
    """Sup-norm distance between two arrays."""
    return float(np.max(np.abs(np.asarray(new) - np.asarray(old))))


def fixed_point(
    operator: Callable[[np.ndarray], np.ndarray],
    x0,
    *,
    tol: float = 1e-8,
    max_iter: int = 10_000,
    damping: float = 0.0,
    distance: Callable[[np.ndarray, np.ndarray], float] = sup_distance,
    name: str = "fixed point",
    raise_on_failure: bool = True,
    callback: Optional[Callable[[int, np.ndarray, float], None]] = None,
) -> FixedPointResult:
    """Iterate x <- (1 - damping) T(x) + damping x until ||T(x) - x|| < tol.

    Parameters
    ----------
    operator : callable
        T, mapping an array to an array of the same shape.
    x0 : array
        Starting guess.
    tol : float > 0
        Stopping rule on ``distance(T(x), x)``.
    max_iter : int >= 1
        Iteration cap; reaching it raises :class:`ConvergenceError` (or, with
        ``raise_on_failure=False``, returns a result with ``converged=False``).
    damping : float in [0, 1)
        Weight on the old iterate.
    distance : callable
        Norm of a step; sup-norm by default.
    name : str
        Used in the error message.
    callback : callable, optional
        Called as ``callback(iteration, x_new, distance)`` after each step
        (progress reporting).
    """
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol}")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must lie in [0, 1), got {damping}")
    start = time.perf_counter()
    x = np.asarray(x0, dtype=float)
    history = []
    dist = np.inf
    for iteration in range(1, max_iter + 1):
        tx = np.asarray(operator(x), dtype=float)
        dist = float(distance(tx, x))
        history.append(dist)
        if not np.isfinite(dist):
            result = FixedPointResult(x, False, iteration, dist, tuple(history), time.perf_counter() - start)
            raise ConvergenceError(f"{name}: the iteration produced non-finite values at step {iteration}", result)
        x = tx if damping == 0.0 else (1.0 - damping) * tx + damping * x
        if callback is not None:
            callback(iteration, x, dist)
        if dist < tol:
            return FixedPointResult(x, True, iteration, dist, tuple(history), time.perf_counter() - start)
    result = FixedPointResult(x, False, max_iter, dist, tuple(history), time.perf_counter() - start)
    if raise_on_failure:
        raise ConvergenceError(
            f"{name} did not converge in {max_iter} iterations: last step {dist:.3e} > tol {tol:.1e} "
            f"(last five steps: {', '.join(f'{d:.2e}' for d in history[-5:])})",
            result,
        )
    return result
