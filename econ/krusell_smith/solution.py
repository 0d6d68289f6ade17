"""The records of a Krusell-Smith solution: the household's rule on its grid and the solved equilibrium
(:func:`econ.krusell_smith.solver.solve_krusell_smith` returns them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np

from econ.krusell_smith import _kernels as kernels
from econ.krusell_smith.params import KrusellSmithParams

# ---------------------------------------------------------------------------- policy


@dataclass(frozen=True, eq=False)
class HouseholdPolicy:
    """The household's consumption rule c(k, K; z, e, type) on a grid.

    Arrays have the layout ``[type, state, iK, ik]`` with ``state = 2 z_index + employed``
    (0 bad/unemployed, 1 bad/employed, 2 good/unemployed, 3 good/employed).
    """

    capital_grid: np.ndarray = field(repr=False)
    """Individual capital k (first point 0)."""
    aggregate_capital_grid: np.ndarray = field(repr=False)
    """Effective aggregate capital K."""
    consumption: np.ndarray = field(repr=False)
    """c(k, K; state, type)."""
    wealth: np.ndarray = field(repr=False)
    """a(k, K; state, type) = (1 - delta + kappa r) k + w lbar e."""

    @property
    def consumption_fraction(self) -> np.ndarray:
        """chat = c / a (at a = 0, where c = 0 too, the limit from the next grid point)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = self.consumption / self.wealth
        frac[..., 0] = np.where(self.wealth[..., 0] > 0, frac[..., 0], frac[..., 1])
        return frac

    @property
    def marginal_propensity_to_consume(self) -> np.ndarray:
        """dc/da along the wealth grid (finite differences, same layout)."""
        return np.gradient(self.consumption, axis=-1) / np.gradient(self.wealth, axis=-1)

    def at_aggregate_capital(self, aggregate_capital: float):
        """(wealth, consumption, consumption fraction, MPC), each [type, state, ik], at K (linear in K)."""
        j, w = kernels._bracket(self.aggregate_capital_grid, float(aggregate_capital))
        out = []
        for arr in (self.wealth, self.consumption, self.consumption_fraction, self.marginal_propensity_to_consume):
            out.append((1.0 - w) * arr[:, :, j, :] + w * arr[:, :, j + 1, :])
        return tuple(out)

    def evaluate(self, capital, aggregate_capital: float, states, types) -> np.ndarray:
        """c at households' capital, one common K, their states (0..3) and types (bilinear interpolation)."""
        capital = np.ascontiguousarray(capital, dtype=float).ravel()
        states = np.broadcast_to(np.asarray(states, dtype=np.int64), capital.shape).copy()
        types = np.broadcast_to(np.asarray(types, dtype=np.int64), capital.shape).copy()
        out = np.empty_like(capital)
        guess = np.zeros(capital.shape, dtype=np.int64)
        kernels.consumption_at(capital, float(aggregate_capital), states, types, self.capital_grid,
                               self.aggregate_capital_grid, self.consumption, out, guess)
        return out


# ---------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class KrusellSmithSolution:
    """Immutable outcome of :func:`solve_krusell_smith`."""

    params: KrusellSmithParams
    """The calibration solved."""
    household_params: KrusellSmithParams
    """The calibration of the household's problem: ``params``, or at finite N with exact unemployment counts
    :func:`econ.krusell_smith.panel.exact_count_params` (its unemployment rates and employment transition)."""
    alm: Mapping[str, tuple]
    """``{"good": (a, b), "bad": (a, b)}``: log K' = a + b log K, K effective capital; with the quadratic
    law ``(a, b, c)``: log K' = a + b log K + c (log K)^2."""
    r_squared: Mapping[str, float]
    den_haan_max: float
    """Den Haan's dynamic forecast error, max over the kept periods (percent)."""
    den_haan_mean: float
    gini_wealth: float
    """Gini of wealth a = (1-delta) k + r k + w l, averaged over every 10th kept period."""
    gini_capital: float
    lorenz_wealth: tuple = field(repr=False)
    """(population share, wealth share) in the final period (quantecon.lorenz_curve)."""
    lorenz_capital: tuple = field(repr=False)
    mean_capital: float
    """Mean effective capital K over the kept periods."""
    capital_by_type: tuple
    """Mean individual capital k of each type over the kept periods."""
    consumption_fraction_by_type: tuple
    """Mean consumption fraction c/a of each type over the kept periods."""
    policy: HouseholdPolicy = field(repr=False)
    capital_path: np.ndarray = field(repr=False)
    """K_t of the final simulation, all periods (burn-in included)."""
    z_path: np.ndarray = field(repr=False)
    """z index (0 bad, 1 good) of the final simulation."""
    burn_in: int
    household_capital: np.ndarray = field(repr=False)
    """Final-period cross-section of k (see ``household_weights``)."""
    household_wealth: np.ndarray = field(repr=False)
    household_consumption: np.ndarray = field(repr=False)
    household_types: np.ndarray = field(repr=False)
    household_employed: np.ndarray = field(repr=False)
    household_weights: np.ndarray = field(repr=False)
    """Population weight of each entry of the final cross-section (1/N in the panel; with the histogram
    the entries are its occupied nodes (type, employment, k) and the weights their masses)."""
    method: str
    """Distribution method: ``"histogram"`` or ``"panel"``."""
    converged: bool
    num_iter: int
    """Outer (law-of-motion) iterations, all passes."""
    alm_distance: float
    """Last undamped change in the predicted log K' on the K grid."""
    timings: Mapping[str, float]
    """Seconds: ``household`` (EGM), ``simulation``, ``total``."""
    seed: int
    n_agents: Optional[int] = None
    """Households that move prices (the Euler equation's private return); None = the continuum."""
    law: str = "loglinear"
    """Form of the law of motion: ``"loglinear"`` or ``"quadratic"`` (see ``alm``)."""
    conjecture: Optional[str] = None
    """Finite N: ``"consistent"`` or ``"open-loop"`` (:mod:`econ.krusell_smith.conjecture`); None for the continuum."""
    phi: Optional[np.ndarray] = field(default=None, repr=False)
    """Finite N: the multiplier of the own price impact per type that the rule was solved with."""
    others_response: Optional[object] = field(default=None, repr=False)
    """Consistent conjecture: :class:`econ.krusell_smith.conjecture.OthersResponse` measured under the final
    rule (its ``phi`` equals ``phi`` to the solver's ``PHI_TOL``)."""

    @property
    def price_impact(self) -> np.ndarray:
        """phi / N per type, the weight of one household's saving in the private return (0 for the continuum)."""
        num_types = len(self.params.capital_productivity)
        if self.n_agents is None:
            return np.zeros(num_types)
        return np.asarray(self.phi, dtype=float) / self.n_agents
