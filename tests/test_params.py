"""RBCParams: defaults from the spec, validation at construction, immutability."""

import math

import pytest

from econ import RBCParams


def test_defaults_are_the_rbc_experiment():
    p = RBCParams()
    assert (p.alpha, p.beta, p.delta, p.rho, p.sigma, p.chi, p.utility) == (0.36, 0.95, 0.025, 0.9, 0.01, 1.0, "linear")


def test_chi_defaults_follow_the_utility_form():
    assert RBCParams(utility="log_leisure").chi == 5.0
    assert RBCParams(utility="log_leisure", chi=2.0).chi == 2.0
    assert RBCParams.rbc_full_depreciation().delta == 1.0


def test_params_are_immutable():
    p = RBCParams()
    with pytest.raises(AttributeError):
        p.alpha = 0.3


def test_replace_validates_and_switches_default_chi():
    p = RBCParams()
    assert p._replace(utility="log_leisure").chi == 5.0
    with pytest.raises(ValueError, match="beta"):
        p._replace(beta=1.0)


@pytest.mark.parametrize(
    "field, value, fragment",
    [
        ("alpha", 0.0, r"alpha must lie in \(0.0, 1.0\)"),
        ("alpha", 1.2, "alpha"),
        ("beta", 1.0, "beta"),
        ("beta", -0.1, "beta"),
        ("delta", 0.0, r"delta must lie in \(0.0, 1.0\]"),
        ("delta", 1.5, "delta"),
        ("rho", 1.0, "rho"),
        ("rho", -1.0, "rho"),
        ("sigma", -0.01, "sigma must be >= 0"),
        ("chi", 0.0, "chi must be > 0"),
        ("chi", math.nan, "chi must be finite"),
        ("alpha", math.inf, "alpha must be finite"),
        ("alpha", "abc", "alpha must be a real number"),
        ("utility", "crra", "utility must be one of"),
    ],
)
def test_bad_values_are_refused_with_the_field_named(field, value, fragment):
    with pytest.raises(ValueError, match=fragment):
        RBCParams(**{field: value})
