"""The one-period economy (docs/model.md): accounting identities, limits, actions."""

import numpy as np
import pytest

from econ.economy import (
    ACTION_EPS,
    CAPITAL_FLOOR,
    action_to_fraction,
    factor_prices,
    fraction_to_action,
    markets,
    period,
    utility,
)

IDENTITY_RTOL = 1e-12
"""The resource identity is exact algebra; only floating-point rounding separates the two sides."""


def random_economy(rng, n_economies, n_households, heterogeneous=True):
    shape = (n_economies, n_households)
    capital = rng.uniform(0.01, 50.0, shape)
    chat = action_to_fraction(rng.uniform(-1, 1, shape))
    labour = action_to_fraction(rng.uniform(-1, 1, shape))
    technology = np.exp(rng.normal(0.0, 0.1, n_economies))
    kappa = rng.uniform(0.25, 1.5, n_households) if heterogeneous else np.ones(n_households)
    lam = rng.uniform(0.98, 1.02, n_households) if heterogeneous else np.ones(n_households)
    return capital, chat, labour, technology, kappa, lam


@pytest.mark.parametrize("n_households", [1, 3, 20, 500])
@pytest.mark.parametrize("delta", [0.025, 1.0])
def test_resource_identity_holds_in_every_step(n_households, delta):
    rng = np.random.default_rng(n_households)
    k, chat, l, A, kappa, lam = random_economy(rng, 7, n_households)
    for _ in range(25):
        out = period(k, chat, l, A, alpha=0.36, delta=delta, capital_productivity=kappa, labour_productivity=lam)
        income = np.mean(out.interest_rate * k + out.wage * l, axis=-1)
        np.testing.assert_allclose(income, out.output, rtol=IDENTITY_RTOL)
        uses = np.mean(out.consumption + out.next_capital, axis=-1)
        resources = out.output + (1 - delta) * np.mean(k, axis=-1)
        np.testing.assert_allclose(uses, resources, rtol=IDENTITY_RTOL)
        assert np.all(np.isfinite(out.reward))
        k = out.next_capital
        chat = action_to_fraction(rng.uniform(-1, 1, k.shape))
        l = action_to_fraction(rng.uniform(-1, 1, k.shape))


def test_one_household_is_the_planner_economy():
    """With N = 1 household wealth is (1-delta) k + A k^alpha l^(1-alpha)."""
    k, l, A, alpha, delta = 3.0, 0.4, 1.05, 0.36, 0.1
    out = period(np.array([k]), 0.3, np.array([l]), A, alpha=alpha, delta=delta)
    y = A * k**alpha * l ** (1 - alpha)
    np.testing.assert_allclose(out.output, y, rtol=1e-14)
    np.testing.assert_allclose(out.wealth, (1 - delta) * k + y, rtol=1e-14)
    np.testing.assert_allclose(out.next_capital, 0.7 * ((1 - delta) * k + y), rtol=1e-14)


def test_prices_are_marginal_products_scaled_by_productivity():
    kappa = np.array([0.5, 1.0, 1.5])
    lam = np.array([1.1, 1.0, 0.9])
    k = np.array([2.0, 4.0, 6.0])
    l = np.array([0.3, 0.5, 0.7])
    m = markets(k, l, 1.0, alpha=0.36, delta=0.025, capital_productivity=kappa, labour_productivity=lam)
    K, L = np.mean(kappa * k), np.mean(lam * l)
    h = 1e-6
    Y = lambda K, L: K**0.36 * L**0.64  # noqa: E731
    mpk = (Y(K + h, L) - Y(K - h, L)) / (2 * h)
    mpl = (Y(K, L + h) - Y(K, L - h)) / (2 * h)
    np.testing.assert_allclose(m.interest_rate, kappa * mpk, rtol=1e-8)
    np.testing.assert_allclose(m.wage, lam * mpl, rtol=1e-8)


def test_no_effective_labour_uses_the_limit():
    """Everybody unemployed: no output, no wage income, zero return on capital; all finite."""
    k = np.array([[1.0, 2.0, 3.0]])
    out = period(k, 0.5, np.zeros((1, 3)), 1.0, alpha=0.36, delta=0.025, utility_form="log")
    assert out.output[0] == 0.0
    assert np.all(out.interest_rate == 0.0) and np.all(out.wage == 0.0)
    np.testing.assert_allclose(out.wealth, 0.975 * k)
    assert np.all(np.isfinite(out.reward))
    Y, mpk, mpl = factor_prices(np.array([1.0, 2.0]), np.array([0.0, 1.0]), 1.0, 0.36)
    assert Y[0] == 0 and mpk[0] == 0 and mpl[0] == 0 and Y[1] > 0


def test_repeated_extreme_saving_and_consumption_stay_finite():
    """Consuming the most possible for many periods floors capital; log c stays finite."""
    k = np.array([[1.0]])
    for _ in range(3000):
        out = period(k, 1 - ACTION_EPS, ACTION_EPS, 1.0, alpha=0.36, delta=1.0)
        assert np.all(np.isfinite(out.reward))
        k = out.next_capital
    assert k[0, 0] >= CAPITAL_FLOOR


def test_actions_map_affinely_onto_the_admissible_fractions():
    np.testing.assert_allclose(action_to_fraction([-1.0, 0.0, 1.0]), [ACTION_EPS, 0.5, 1 - ACTION_EPS])
    np.testing.assert_allclose(action_to_fraction([-7.0, 7.0]), [ACTION_EPS, 1 - ACTION_EPS])
    x = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(fraction_to_action(action_to_fraction(x)), x, atol=1e-15)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_actions_are_an_error(bad):
    with pytest.raises(ValueError, match="actions must be finite"):
        action_to_fraction([0.0, bad])


def test_utility_forms():
    c, l = np.array([2.0]), np.array([0.25])
    np.testing.assert_allclose(utility(c, l, 1.5, "linear"), np.log(2) - 1.5 * 0.25)
    np.testing.assert_allclose(utility(c, l, 5.0, "log_leisure"), np.log(2) + 5 * np.log(0.75))
    np.testing.assert_allclose(utility(c, l, 5.0, "log"), np.log(2))
    with pytest.raises(ValueError, match="utility form"):
        utility(c, l, 1.0, "crra")
