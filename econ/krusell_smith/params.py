"""Immutable, validated calibrations of the Krusell-Smith (1998) economy.

The aggregate state z in {bad, good} and each household's employment e in
{0, 1} follow one 4-state Markov chain, states ordered (docs/model.md)

    0 = (bad, unemployed), 1 = (bad, employed), 2 = (good, unemployed), 3 = (good, employed)

so that ``state = 2 * z_index + employed`` with ``z_index`` 0 = bad, 1 = good.
The chain is built from mean durations, as in Krusell and Smith (1998,
section 4) and den Haan (2010):

    pi(z'|z)       = 1 - 1/d_z  if z' = z, else 1/d_z         d_z: mean duration of z
    pi(u'|u, z, z) = 1 - 1/s_z                                s_z: mean unemployment spell in z
    pi(u'|u, b, g) = 0.75 pi(u'|u, g, g)                      (``persistence_bad_to_good``)
    pi(u'|u, g, b) = 1.25 pi(u'|u, b, b)                      (``persistence_good_to_bad``)
    pi(u'|e, z, z') = (u_z' - u_z pi(u'|u, z, z')) / (1 - u_z)

The last line makes the unemployment rate a function of z alone: a mass u_z of
unemployed today becomes exactly u_z' tomorrow.  Arithmetic is done in exact
fractions (``fractions.Fraction`` of the decimal parameters) and rounded to
float once, so the matrix is not the rounded digits of docs/model.md.

Permanent capital-productivity types (docs/model.md): household i earns
r_i = kappa_i * r on its capital and contributes kappa_i k_i to effective capital.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import NamedTuple, Optional

import numpy as np

from econ import checks

STATE_NAMES = ("bad, unemployed", "bad, employed", "good, unemployed", "good, employed")
"""Order of the 4 (aggregate, employment) states, rows of the transition matrix."""

AGGREGATE_STATES = ("bad", "good")
"""z_index 0 and 1."""


def _exact(x: float) -> Fraction:
    """The decimal a parameter was written as (0.04 -> 1/25), as an exact fraction."""
    return Fraction(repr(float(x)))


def transition_from_durations(
    unemployment_bad: float,
    unemployment_good: float,
    duration_bad: float,
    duration_good: float,
    spell_bad: float,
    spell_good: float,
    persistence_good_to_bad: float = 1.25,
    persistence_bad_to_good: float = 0.75,
) -> np.ndarray:
    """The 4x4 Krusell-Smith transition matrix (rows = today) built from durations.

    See the module docstring for the formulas.  Returns a float array; entries
    may come out negative for inconsistent inputs (the caller validates).
    """
    u = {0: _exact(unemployment_bad), 1: _exact(unemployment_good)}
    d = {0: _exact(duration_bad), 1: _exact(duration_good)}
    s = {0: _exact(spell_bad), 1: _exact(spell_good)}
    stay_unemployed = {
        (0, 0): 1 - 1 / s[0],
        (1, 1): 1 - 1 / s[1],
    }
    stay_unemployed[(0, 1)] = _exact(persistence_bad_to_good) * stay_unemployed[(1, 1)]
    stay_unemployed[(1, 0)] = _exact(persistence_good_to_bad) * stay_unemployed[(0, 0)]
    matrix = np.empty((4, 4))
    for z in (0, 1):
        for z_next in (0, 1):
            p_z = 1 - 1 / d[z] if z_next == z else 1 / d[z]
            p_uu = stay_unemployed[(z, z_next)]
            p_eu = (u[z_next] - u[z] * p_uu) / (1 - u[z])
            for e in (0, 1):
                p_unemployed = p_uu if e == 0 else p_eu
                matrix[2 * z + e, 2 * z_next + 0] = float(p_z * p_unemployed)
                matrix[2 * z + e, 2 * z_next + 1] = float(p_z * (1 - p_unemployed))
    return matrix


def _unit_interval_closed_open(name: str, value) -> float:
    x = checks.non_negative(name, value)
    if not x < 1.0:
        raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
    return x


def _at_least_one(name: str, value) -> float:
    x = checks.positive(name, value)
    if not x >= 1.0:
        raise ValueError(f"{name} is a mean duration in periods and must be >= 1, got {value!r}")
    return x


_DURATION_FIELDS = (
    "unemployment_good",
    "unemployment_bad",
    "duration_good",
    "duration_bad",
    "spell_good",
    "spell_bad",
    "persistence_good_to_bad",
    "persistence_bad_to_good",
)


class _KSFields(NamedTuple):
    alpha: float = 0.36
    beta: float = 0.95
    delta: float = 0.025
    labour_endowment: float = 1.0 / 0.9
    z_good: float = 1.01
    z_bad: float = 0.99
    unemployment_good: float = 0.04
    unemployment_bad: float = 0.10
    duration_good: float = 8.0
    duration_bad: float = 8.0
    spell_good: float = 1.5
    spell_bad: float = 2.5
    persistence_good_to_bad: float = 1.25
    persistence_bad_to_good: float = 0.75
    capital_productivity: tuple = (1.0,)
    type_shares: tuple = (1.0,)
    transition_matrix: Optional[tuple] = None


class KrusellSmithParams(_KSFields):
    """Calibration of the Krusell-Smith economy with permanent capital-productivity types.

    Defaults are the ``ks`` experiment (beta 0.95, labour endowment 1/0.9);
    the named constructors give the other calibrations of docs/model.md.
    Households have log utility and supply ``labour_endowment * e`` inelastically;
    there is no unemployment benefit.

    Parameters
    ----------
    alpha : float in (0, 1)
        Capital share.
    beta : float in (0, 1)
        Discount factor.
    delta : float in (0, 1]
        Depreciation rate.
    labour_endowment : float > 0
        lbar: hours of an employed household (0.3271 in KS 1998, 1/0.9 in the
        QuantEcon replication and the experiments).
    z_good, z_bad : float > 0
        Technology in the two aggregate states.
    unemployment_good, unemployment_bad : float in [0, 1)
        Unemployment rates u_g, u_b.
    duration_good, duration_bad : float >= 1
        Mean duration (periods) of each aggregate state.
    spell_good, spell_bad : float >= 1
        Mean unemployment spell (periods) within each aggregate state.
    persistence_good_to_bad, persistence_bad_to_good : float > 0
        Ratios of the probability of staying unemployed when z switches to that
        when z stays (1.25 and 0.75 in KS 1998).
    capital_productivity : tuple of float > 0
        kappa of each permanent type.
    type_shares : tuple of float > 0 summing to 1
        Population share of each type (same length as ``capital_productivity``).
    transition_matrix : 4x4 nested tuple or None
        Overrides the chain built from the durations; rows must sum to one and
        keep the unemployment rate a function of z alone (u_g, u_b above).
        ``None`` (default) builds it from the durations.
    """

    __slots__ = ()

    def __new__(
        cls,
        alpha=0.36,
        beta=0.95,
        delta=0.025,
        labour_endowment=1.0 / 0.9,
        z_good=1.01,
        z_bad=0.99,
        unemployment_good=0.04,
        unemployment_bad=0.10,
        duration_good=8.0,
        duration_bad=8.0,
        spell_good=1.5,
        spell_bad=2.5,
        persistence_good_to_bad=1.25,
        persistence_bad_to_good=0.75,
        capital_productivity=(1.0,),
        type_shares=(1.0,),
        transition_matrix=None,
    ):
        alpha = checks.open_interval("alpha", alpha, 0.0, 1.0)
        beta = checks.open_interval("beta", beta, 0.0, 1.0)
        delta = checks.half_open("delta", delta, 0.0, 1.0)
        labour_endowment = checks.positive("labour_endowment", labour_endowment)
        z_good = checks.positive("z_good", z_good)
        z_bad = checks.positive("z_bad", z_bad)
        unemployment_good = _unit_interval_closed_open("unemployment_good", unemployment_good)
        unemployment_bad = _unit_interval_closed_open("unemployment_bad", unemployment_bad)
        duration_good = _at_least_one("duration_good", duration_good)
        duration_bad = _at_least_one("duration_bad", duration_bad)
        spell_good = _at_least_one("spell_good", spell_good)
        spell_bad = _at_least_one("spell_bad", spell_bad)
        persistence_good_to_bad = checks.positive("persistence_good_to_bad", persistence_good_to_bad)
        persistence_bad_to_good = checks.positive("persistence_bad_to_good", persistence_bad_to_good)

        kappa = checks.positive_array("capital_productivity", np.atleast_1d(capital_productivity))
        shares = checks.positive_array("type_shares", np.atleast_1d(type_shares), length=kappa.shape[0])
        if not math.isclose(float(shares.sum()), 1.0, rel_tol=0.0, abs_tol=1e-9):
            raise ValueError(f"type_shares must sum to 1, got {tuple(float(x) for x in shares)} (sum {float(shares.sum())})")

        if transition_matrix is None:
            built = transition_from_durations(
                unemployment_bad, unemployment_good, duration_bad, duration_good,
                spell_bad, spell_good, persistence_good_to_bad, persistence_bad_to_good,
            )
            try:
                matrix = checks.stochastic_matrix("transition_matrix", built, size=4)
            except ValueError as err:
                raise ValueError(
                    f"transition_matrix built from {', '.join(_DURATION_FIELDS)} is not a valid Markov matrix "
                    f"({err}); change those fields"
                ) from None
        else:
            matrix = checks.stochastic_matrix("transition_matrix", transition_matrix, size=4)
            implied = _implied_unemployment(matrix, (unemployment_bad, unemployment_good))
            if not np.allclose(implied, 1.0, atol=1e-8):
                raise ValueError(
                    "transition_matrix must keep the unemployment rate a function of z alone: from "
                    f"(u_bad, u_good) = ({unemployment_bad}, {unemployment_good}) it gives next-period rates "
                    "off by factors " + str(np.round(implied, 6))
                )
        return super().__new__(
            cls, alpha, beta, delta, labour_endowment, z_good, z_bad, unemployment_good, unemployment_bad,
            duration_good, duration_bad, spell_good, spell_bad, persistence_good_to_bad,
            persistence_bad_to_good, tuple(float(x) for x in kappa), tuple(float(x) for x in shares),
            tuple(tuple(float(x) for x in row) for row in matrix),
        )

    @classmethod
    def _make(cls, iterable) -> "KrusellSmithParams":
        """From a sequence of the fields in order, validated like the constructor (NamedTuple's own skips it)."""
        return cls(*iterable)

    def _replace(self, **changes) -> "KrusellSmithParams":
        """Return a copy with some fields changed, validated like the constructor.

        Changing a duration or unemployment rate rebuilds the transition matrix
        unless a ``transition_matrix`` is passed too.
        """
        fields = self._asdict()
        if any(name in changes for name in _DURATION_FIELDS) and "transition_matrix" not in changes:
            fields["transition_matrix"] = None
        fields.update(changes)
        return KrusellSmithParams(**fields)

    # ------------------------------------------------------------------ calibrations
    @classmethod
    def ks_1998(cls, **overrides) -> "KrusellSmithParams":
        """Krusell and Smith (1998): beta 0.99, labour endowment 0.3271."""
        return cls(**{"beta": 0.99, "labour_endowment": 0.3271, **overrides})

    @classmethod
    def ks_standard(cls, **overrides) -> "KrusellSmithParams":
        """QuantEcon's replication: beta 0.99, labour endowment 1/0.9 (mean capital about 40)."""
        return cls(**{"beta": 0.99, "labour_endowment": 1.0 / 0.9, **overrides})

    @classmethod
    def ks(cls, **overrides) -> "KrusellSmithParams":
        """The ``ks`` experiment: beta 0.95 (the paper), labour endowment 1/0.9."""
        return cls(**overrides)

    @classmethod
    def ks_het_mild(cls, **overrides) -> "KrusellSmithParams":
        """The ``ks-het-mild`` experiment: kappa 0.75 / 1.0 / 1.25 with shares 15% / 70% / 15%, beta 0.95."""
        return cls(**{"capital_productivity": (0.75, 1.0, 1.25), "type_shares": (0.15, 0.70, 0.15), **overrides})

    @classmethod
    def ks_het_marked(cls, **overrides) -> "KrusellSmithParams":
        """The ``ks-het-marked`` experiment: kappa 0.25 / 1.0 / 1.5 with shares 15% / 70% / 15%, beta 0.95."""
        return cls(**{"capital_productivity": (0.25, 1.0, 1.5), "type_shares": (0.15, 0.70, 0.15), **overrides})

    @classmethod
    def calibration(cls, name: str, **overrides) -> "KrusellSmithParams":
        """A calibration by its name (``ks-1998``, ``ks-standard``, ``ks``, ``ks-het-mild``, ``ks-het-marked``)."""
        if not isinstance(name, str):
            raise ValueError(f"calibration must be one of {tuple(CALIBRATIONS)}, got {name!r}")
        key = name.replace("_", "-")
        if key not in CALIBRATIONS:
            raise ValueError(f"calibration must be one of {tuple(CALIBRATIONS)}, got {name!r}")
        return getattr(cls, CALIBRATIONS[key])(**overrides)

    # ------------------------------------------------------------------ derived arrays
    @property
    def transition(self) -> np.ndarray:
        """The 4x4 transition matrix (rows today, columns tomorrow; order ``STATE_NAMES``)."""
        return np.array(self.transition_matrix)

    @property
    def aggregate_transition(self) -> np.ndarray:
        """2x2 transition matrix of z (order bad, good), the marginal of :attr:`transition`."""
        P = self.transition
        return np.array([[P[2 * z, 2 * zn] + P[2 * z, 2 * zn + 1] for zn in (0, 1)] for z in (0, 1)])

    @property
    def technology(self) -> np.ndarray:
        """z values, order (bad, good)."""
        return np.array([self.z_bad, self.z_good])

    @property
    def unemployment_rates(self) -> np.ndarray:
        """u_z, order (bad, good)."""
        return np.array([self.unemployment_bad, self.unemployment_good])

    @property
    def aggregate_labour(self) -> np.ndarray:
        """Effective labour L_z = (1 - u_z) lbar in a continuum economy, order (bad, good)."""
        return (1.0 - self.unemployment_rates) * self.labour_endowment

    @property
    def num_types(self) -> int:
        return len(self.capital_productivity)

    @property
    def mean_capital_productivity(self) -> float:
        return float(np.dot(self.capital_productivity, self.type_shares))

    def type_counts(self, num_households: int) -> np.ndarray:
        """Households of each type in an economy of ``num_households`` (docs/model.md).

        Every type but the most common gets round(share * N) households (at
        least one, halves rounded up); the most common type gets the rest.
        N = 20 with shares 15/70/15 gives 3 / 14 / 3.
        """
        n = checks.positive_int("num_households", num_households)
        shares = np.asarray(self.type_shares)
        largest = int(np.argmax(shares))
        counts = np.array([max(1, math.floor(s * n + 0.5)) for s in shares])
        counts[largest] = n - (counts.sum() - counts[largest])
        if self.num_types > 1 and counts[largest] < 1:
            raise ValueError(
                f"num_households = {n} is too small for {self.num_types} capital-productivity types "
                f"with shares {self.type_shares}: every type needs at least one household"
            )
        return counts

    def household_types(self, num_households: int) -> np.ndarray:
        """Type index of each of ``num_households`` households (sorted: type 0 first)."""
        return np.repeat(np.arange(self.num_types), self.type_counts(num_households))

    def household_capital_productivity(self, num_households: int) -> np.ndarray:
        """kappa_i of each of ``num_households`` households (e.g. N = 20: 3 x 0.25, 14 x 1.0, 3 x 1.5)."""
        return np.asarray(self.capital_productivity)[self.household_types(num_households)]


def _implied_unemployment(matrix: np.ndarray, rates) -> np.ndarray:
    """Next-period unemployment implied by ``matrix`` from rates u_z, relative to u_z' (one per z, z')."""
    out = np.ones((2, 2))
    for z in (0, 1):
        for zn in (0, 1):
            mass = rates[z] * matrix[2 * z, 2 * zn] + (1 - rates[z]) * matrix[2 * z + 1, 2 * zn]
            total = mass + rates[z] * matrix[2 * z, 2 * zn + 1] + (1 - rates[z]) * matrix[2 * z + 1, 2 * zn + 1]
            if total > 0 and rates[zn] > 0:
                out[z, zn] = (mass / total) / rates[zn]
    return out


CALIBRATIONS = {
    "ks-1998": "ks_1998",
    "ks-standard": "ks_standard",
    "ks": "ks",
    "ks-het-mild": "ks_het_mild",
    "ks-het-marked": "ks_het_marked",
}
"""Spec name -> constructor of :class:`KrusellSmithParams`."""

__all__ = [
    "AGGREGATE_STATES",
    "CALIBRATIONS",
    "KrusellSmithParams",
    "STATE_NAMES",
    "transition_from_durations",
]
