"""Argument checks shared by every parameter record and public entry point.

Each check raises ``ValueError`` naming the parameter and the allowed range at
the boundary where a value enters, so that nothing downstream silently turns a
bad input into NaN.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np


def _finite(name: str, value) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return x


def open_interval(name: str, value, low: float, high: float) -> float:
    """Require ``low < value < high``."""
    x = _finite(name, value)
    if not low < x < high:
        raise ValueError(f"{name} must lie in ({low}, {high}), got {value!r}")
    return x


def closed(name: str, value, low: float, high: float) -> float:
    """Require ``low <= value <= high``."""
    x = _finite(name, value)
    if not low <= x <= high:
        raise ValueError(f"{name} must lie in [{low}, {high}], got {value!r}")
    return x


def half_open(name: str, value, low: float, high: float) -> float:
    """Require ``low < value <= high``."""
    x = _finite(name, value)
    if not low < x <= high:
        raise ValueError(f"{name} must lie in ({low}, {high}], got {value!r}")
    return x


def positive(name: str, value) -> float:
    x = _finite(name, value)
    if not x > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def non_negative(name: str, value) -> float:
    x = _finite(name, value)
    if not x >= 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return x


def one_of(name: str, value, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def positive_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def n_agents_or_continuum(name: str, value):
    """``None`` (a continuum of price-taking households) or an integer N >= 1 (households that move prices)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be None (the continuum) or an integer >= 1, got {value!r}")
    return int(value)


def positive_array(name: str, values, length: int | None = None) -> np.ndarray:
    """A finite, strictly positive 1-d float array (optionally of a given length)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be real numbers > 0, got {values!r}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} must have length {length}, got {arr.shape[0]}")
    if not np.all(np.isfinite(arr)) or not np.all(arr > 0):
        raise ValueError(f"{name} must be finite and > 0 everywhere, got {arr}")
    return arr


def stochastic_matrix(name: str, matrix, size: int | None = None, atol: float = 1e-10) -> np.ndarray:
    """A square matrix with non-negative entries whose rows sum to one."""
    arr = np.asarray(matrix, dtype=float)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {arr.shape}")
    if size is not None and arr.shape[0] != size:
        raise ValueError(f"{name} must be {size}x{size}, got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} entries must be finite and in [0, 1]")
    sums = arr.sum(axis=1)
    if not np.allclose(sums, 1.0, rtol=0.0, atol=atol):
        raise ValueError(f"{name} rows must sum to 1 (within {atol}), got row sums {sums}")
    return arr
