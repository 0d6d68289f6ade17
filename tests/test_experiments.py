"""The spec's experiments (section 2) as validated records: defaults, N rules, refusals."""

import math

import numpy as np
import pytest

from econ.experiments import EXPERIMENTS, Experiment, ks_steady_state_capital, make_experiment
from econ.krusell_smith.params import KrusellSmithParams
from econ.rbc.params import RBCParams
from econ.rbc.steady_state import steady_state


def test_every_experiment_builds_with_spec_defaults():
    expected_n = {"rbc-full-depreciation": 1, "rbc": 1, "ks": 20, "ks-het-mild": 20, "ks-het-marked": 20, "general": 9}
    for name in EXPERIMENTS:
        exp = make_experiment(name)
        assert exp.num_agents == expected_n[name]
        assert (exp.alpha, exp.beta, exp.episode_length) == (0.36, 0.95, 500)
        assert len(exp.capital_productivity) == len(exp.labour_productivity) == exp.num_agents
    assert make_experiment("rbc-full-depreciation").delta == 1.0
    assert make_experiment("rbc").delta == 0.025


def test_rbc_capital_scale_is_the_representative_steady_state():
    exp = make_experiment("rbc", utility="log_leisure")
    assert exp.chi == 5.0
    assert exp.capital_scale == pytest.approx(steady_state(RBCParams(utility="log_leisure")).capital, rel=1e-14)


def test_ks_variants_have_endowment_labour_log_utility_and_the_ks_scale():
    exp = make_experiment("ks")
    assert not exp.chooses_labour and exp.action_size == 1 and exp.utility == "log"
    assert (exp.initial_capital_low, exp.initial_capital_high) == (0.25, 1.75)
    # r = 1/beta - 1 + delta, K/L = (alpha/r)^(1/(1-alpha)), L = mean employment * lbar; mean z = 1 here
    ks = KrusellSmithParams.ks()
    r = 1 / 0.95 - 1 + 0.025
    labour = (1 - 0.5 * (0.04 + 0.10)) / 0.9
    assert exp.capital_scale == pytest.approx((0.36 / r) ** (1 / 0.64) * labour, rel=1e-12)
    assert ks_steady_state_capital(ks) == pytest.approx(exp.capital_scale, rel=1e-14)
    # beta 0.99 gives the QuantEcon replication's mean capital "about 40"
    assert 35 < make_experiment("ks", beta=0.99).capital_scale < 45


def test_ks_het_groups_and_general_grid():
    kappa = np.array(make_experiment("ks-het-marked").capital_productivity)
    assert [int(np.sum(kappa == v)) for v in (0.25, 1.0, 1.5)] == [3, 14, 3]
    kappa = np.array(make_experiment("ks-het-mild", n_agents=100).capital_productivity)
    assert [int(np.sum(kappa == v)) for v in (0.75, 1.0, 1.25)] == [15, 70, 15]
    exp = make_experiment("general", n_agents=16)
    pairs = set(zip(exp.capital_productivity, exp.labour_productivity))
    assert len(pairs) == 16 and min(exp.capital_productivity) == 0.98 and max(exp.labour_productivity) == 1.02
    for n in (4, 529):
        assert make_experiment("general", n_agents=n).num_agents == n


@pytest.mark.parametrize("n", [3, 10, 576, 1])
def test_general_refuses_non_square_or_out_of_range(n):
    with pytest.raises(ValueError, match="perfect square"):
        make_experiment("general", n_agents=n)


def test_unknown_experiment_lists_the_known_ones():
    with pytest.raises(ValueError, match="known experiments: rbc-full-depreciation, rbc, ks"):
        make_experiment("rbcc")


def test_unknown_override_is_named_and_fields_listed():
    with pytest.raises(ValueError, match="unknown field 'gamma'.*alpha, beta"):
        make_experiment("rbc", gamma=0.9)
    with pytest.raises(ValueError, match="unknown field 'z_good'"):
        make_experiment("rbc", z_good=1.1)  # a KS field is unknown to an AR(1) experiment
    assert make_experiment("ks", z_good=1.02).ks.z_good == 1.02


@pytest.mark.parametrize(
    "name, overrides, field",
    [
        ("rbc", {"alpha": 1.0}, "alpha"),
        ("rbc", {"alpha": 0.0}, "alpha"),
        ("rbc", {"beta": 1.0}, "beta"),
        ("rbc", {"delta": 0.0}, "delta"),
        ("rbc", {"delta": 1.5}, "delta"),
        ("rbc", {"sigma": -0.01}, "sigma"),
        ("rbc", {"rho": -1.0}, "rho"),
        ("rbc", {"rho": float("nan")}, "rho"),
        ("rbc", {"chi": 0.0}, "chi"),
        ("rbc", {"capital_productivity": (0.0,)}, "capital_productivity"),
        ("general", {"labour_productivity": (1.0, -1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)}, "labour_productivity"),
        ("general", {"capital_productivity": (1.0, 1.0)}, "capital_productivity"),
        ("ks", {"alpha": 1.5}, "alpha"),
        ("ks", {"unemployment_bad": 1.0}, "unemployment_bad"),
        ("ks", {"transition_matrix": ((0.5, 0.5, 0.0, 0.1),) * 4}, "transition_matrix"),
        ("ks", {"sigma": 0.02}, "sigma"),
        ("ks", {"utility": "log_leisure"}, "log_leisure"),
        ("rbc", {"utility": "log"}, "log"),
        ("rbc", {"episode_length": 0}, "episode_length"),
        ("rbc", {"observations": ("employed",)}, "employed"),
        ("rbc", {"observations": ("wealth",)}, "observations"),
        ("rbc", {"initial_capital_low": 2.0}, "initial_capital_high"),
    ],
)
def test_bad_values_are_refused_naming_the_field(name, overrides, field):
    with pytest.raises(ValueError, match=field):
        make_experiment(name, **overrides)


def test_n_agents_must_be_a_positive_integer():
    for bad in (0, -3, 2.5):
        with pytest.raises(ValueError, match="n_agents"):
            make_experiment("ks", n_agents=bad)


def test_records_are_immutable_and_replace_validates():
    exp = make_experiment("rbc")
    with pytest.raises(AttributeError):
        exp.alpha = 0.3
    assert exp._replace(beta=0.99).capital_scale > exp.capital_scale
    with pytest.raises(ValueError, match="beta"):
        exp._replace(beta=1.2)
    assert isinstance(exp, tuple) and isinstance(exp, Experiment)
    assert math.isclose(make_experiment("ks", delta=0.05).ks.delta, 0.05)
