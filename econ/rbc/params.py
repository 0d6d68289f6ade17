"""Immutable, validated parameter records for the representative-agent RBC.

``RBCParams`` is a ``typing.NamedTuple`` (so its numeric fields pass straight
into Numba kernels) whose constructor validates every field and raises
``ValueError`` naming the field and its allowed range (docs/model.md).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

from econ import checks

UTILITIES = ("linear", "log_leisure")
"""Period utility forms (docs/model.md):

- ``linear``:      u(c, l) = log c - chi * l          (the paper's Eq. 10)
- ``log_leisure``: u(c, l) = log c + chi * log(1 - l) (the authors' code)
"""

DEFAULT_CHI = {"linear": 1.0, "log_leisure": 5.0}
"""Disutility weight of labour for each utility form (docs/model.md)."""


class _RBCFields(NamedTuple):
    alpha: float = 0.36
    beta: float = 0.95
    delta: float = 0.025
    rho: float = 0.9
    sigma: float = 0.01
    chi: Optional[float] = None
    utility: str = "linear"


class RBCParams(_RBCFields):
    """Calibration of the stochastic growth model with labour.

    Defaults are the ``rbc`` experiment (docs/model.md): alpha 0.36, beta 0.95,
    delta 0.025, log TFP AR(1) with rho 0.9 and sigma 0.01, linear utility with
    chi 1.  ``chi=None`` (the default) takes the standard value for the chosen
    utility: 1 for ``linear``, 5 for ``log_leisure``.

    Parameters
    ----------
    alpha : float in (0, 1)
        Capital share in Y = A K^alpha L^(1-alpha).
    beta : float in (0, 1)
        Discount factor (and the RL discount factor gamma).
    delta : float in (0, 1]
        Depreciation rate; delta = 1 is the Brock-Mirman case.
    rho : float in (-1, 1)
        Persistence of log TFP: log A' = rho log A + sigma eps.
    sigma : float >= 0
        Standard deviation of the TFP innovation.
    chi : float > 0 or None
        Weight of the disutility of labour.
    utility : {"linear", "log_leisure"}
        Period utility form, see ``UTILITIES``.
    """

    __slots__ = ()

    def __new__(cls, alpha=0.36, beta=0.95, delta=0.025, rho=0.9, sigma=0.01, chi=None, utility="linear"):
        utility = checks.one_of("utility", utility, UTILITIES)
        alpha = checks.open_interval("alpha", alpha, 0.0, 1.0)
        beta = checks.open_interval("beta", beta, 0.0, 1.0)
        delta = checks.half_open("delta", delta, 0.0, 1.0)
        rho = checks.open_interval("rho", rho, -1.0, 1.0)
        sigma = checks.non_negative("sigma", sigma)
        chi = DEFAULT_CHI[utility] if chi is None else checks.positive("chi", chi)
        return super().__new__(cls, alpha, beta, delta, rho, sigma, chi, utility)

    @classmethod
    def _make(cls, iterable) -> "RBCParams":
        """From a sequence of the fields in order, validated like the constructor (NamedTuple's own skips it)."""
        return cls(*iterable)

    def _replace(self, **changes) -> "RBCParams":
        """Return a copy with some fields changed, validated like the constructor."""
        fields = self._asdict()
        if "utility" in changes and "chi" not in changes:
            fields["chi"] = None  # take the new utility's default chi
        fields.update(changes)
        return RBCParams(**fields)

    @classmethod
    def rbc(cls, utility: str = "linear", **overrides) -> "RBCParams":
        """The ``rbc`` experiment (delta 0.025)."""
        return cls(utility=utility, **overrides)

    @classmethod
    def rbc_full_depreciation(cls, utility: str = "linear", **overrides) -> "RBCParams":
        """The ``rbc-full-depreciation`` experiment (delta 1, Brock-Mirman)."""
        return cls(**{"delta": 1.0, "utility": utility, **overrides})

    @property
    def utility_code(self) -> int:
        """Integer code of the utility form for compiled kernels (0 linear, 1 log-leisure)."""
        return UTILITIES.index(self.utility)
