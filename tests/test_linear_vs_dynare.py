"""econ's first-order solution against Dynare 5.3 on the same model (docs/linearisation.md).

The reference values in ``tests/dynare/reference.json`` were produced by
``python -m tests.dynare.make_reference`` (see docs/dynare.md).  Three layers:

1. The stored Dynare numbers are checked on their own, independently of econ:
   they satisfy the linearised equilibrium conditions period by period (which
   also audits the one-period shift of capital), and at delta = 1 they equal
   the linearised Brock-Mirman closed form.
2. ``econ.rbc.steady_state`` and ``econ.linearize`` / ``econ.impulse_response``
   agree with the stored numbers for every case.
3. Live (marker ``dynare``, skipped without Octave + Dynare): one case is
   regenerated with Dynare and must equal the stored numbers and econ's output.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

import econ
from econ import RBCParams
from tests.dynare import make_reference

REFERENCE = json.loads(make_reference.REFERENCE_PATH.read_text())
CASES = REFERENCE["cases"]
CASE_IDS = [case["name"] for case in CASES]
HORIZON = REFERENCE["horizon"]
IRF_KEYS = ("consumption", "labour", "output", "capital", "consumption_fraction", "log_tfp")
STEADY_STATE_KEYS = ("consumption", "labour", "output", "capital", "consumption_fraction")

STEADY_STATE_REL_TOL = 1e-8
"""econ's analytic steady state vs Dynare's numerical one (solved to |residual| < 1e-14);
observed agreement is ~1e-14, so 1e-8 leaves room for other solvers/BLAS while
catching any error in a formula."""

IRF_REL_TOL = 1e-8
"""The spec's figure for first-order agreement with Dynare ("to rounding"), relative
to the scale of each IRF (see :func:`irf_scale`).  Both sides solve the same
linear model by QZ in double precision; observed disagreement is below 1e-12."""

IDENTITY_REL_TOL = 1e-10
"""Linear identities evaluated on Dynare's IRFs: they hold to a few ulps of the
largest term, so 1e-10 flags any misreading of timing or ordering."""

REGENERATION_REL_TOL = 1e-12
"""A fresh Dynare run vs the stored numbers: identical on this machine; a different
BLAS may change the last few digits only."""

needs_dynare = pytest.mark.skipif(
    shutil.which("octave") is None or not make_reference.DYNARE_MATLAB.is_dir(),
    reason=f"needs GNU Octave and Dynare's MATLAB files in {make_reference.DYNARE_MATLAB}",
)


def irf_scale(case: dict, key: str) -> float:
    """Comparison scale of one IRF: its largest absolute value, floored at sigma times the
    variable's steady-state level (sigma for log TFP).

    The floor is the size of the response of a variable that moved one-for-one
    with TFP; it matters only for IRFs that are zero in theory (labour and the
    consumption fraction at delta = 1), where Dynare stores exact zeros and a
    purely relative comparison would be 0/0.
    """
    sigma = case["params"]["sigma"]
    level = 1.0 if key == "log_tfp" else abs(case["steady_state"][key])
    return max(np.max(np.abs(case["irf"][key])), sigma * level)


def assert_irf_close(actual, case: dict, key: str, rel_tol: float, what: str) -> None:
    expected = np.asarray(case["irf"][key])
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape, f"{case['name']} {key}: shape {actual.shape} != {expected.shape}"
    error = np.max(np.abs(actual - expected)) / irf_scale(case, key)
    assert error <= rel_tol, (
        f"{case['name']}: {what} IRF of {key} differs from Dynare by {error:.3e} "
        f"(relative to the IRF's scale {irf_scale(case, key):.3e}; tolerance {rel_tol:g})"
    )


# --- 1. The reference data on its own ----------------------------------------------------


def test_reference_covers_the_required_cases():
    params = [case["params"] for case in CASES]
    assert len(CASES) >= 8
    assert len(set(CASE_IDS)) == len(CASE_IDS)
    assert {p["utility"] for p in params} == {"linear", "log_leisure"}
    assert any(p["delta"] == 1.0 and p["utility"] == "linear" for p in params)
    assert any(p["delta"] == 1.0 and p["utility"] == "log_leisure" for p in params)
    assert any(p["rho"] < 0 for p in params)
    assert RBCParams.rbc()._asdict() in params
    assert RBCParams.rbc(utility="log_leisure")._asdict() in params
    assert REFERENCE["dynare_version"].startswith("5.")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_capital_is_dynare_k_shifted_by_one_period(case):
    raw_k = case["dynare_raw"]["irfs"]["k"]
    capital = case["irf"]["capital"]
    assert capital[0] == 0.0
    assert capital[1:] == raw_k[:-1]
    for key in IRF_KEYS:
        assert len(case["irf"][key]) == HORIZON


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_irfs_satisfy_the_linearised_conditions(case):
    """Every equilibrium condition, differentiated by hand, holds along Dynare's IRFs.

    After the impact period no further shocks arrive, so E_t x_{t+1} is the IRF
    at t+1 and the Euler equation can be checked period by period.
    """
    p, ss = case["params"], case["steady_state"]
    alpha, beta, delta, rho, sigma, chi = (p[k] for k in ("alpha", "beta", "delta", "rho", "sigma", "chi"))
    c, l, y, k, chat = (ss[key] for key in STEADY_STATE_KEYS)
    dc, dl, dy, dk, dchat, da = (np.asarray(case["irf"][key]) for key in IRF_KEYS)
    wealth = (1 - delta) * k + y

    def check(name, *terms):
        """The terms of a linear condition sum to zero, up to rounding relative to the largest term."""
        scale = max(max(np.max(np.abs(term)) for term in terms), 1e-300)
        error = np.max(np.abs(sum(terms))) / scale
        assert error <= IDENTITY_REL_TOL, f"{case['name']}: {name} violated by {error:.3e}"

    check("log TFP AR(1)", da, -sigma * rho ** np.arange(HORIZON))
    check("production", dy, -y * da, -alpha * y * dk / k, -(1 - alpha) * y * dl / l)
    check("accumulation", dk[1:], -(1 - delta) * dk[:-1], -dy[:-1], dc[:-1])
    check("consumption fraction", dchat, -dc / wealth, c * (1 - delta) * dk / wealth**2, c * dy / wealth**2)
    labour_terms = (dl / l,) if p["utility"] == "linear" else (dl / l, dl / (1 - l))
    check("intratemporal", *labour_terms, dc / c, -dy / y)
    gross_return = 1 - delta + alpha * y / k  # = 1 / beta at the steady state
    check(
        "Euler",
        -dc[:-1] / c**2,
        beta * gross_return * dc[1:] / c**2,
        -beta * alpha * dy[1:] / (k * c),
        beta * alpha * y * dk[1:] / (k**2 * c),
    )
    assert gross_return == pytest.approx(1 / beta, rel=1e-12)


BROCK_MIRMAN_CASES = [case for case in CASES if case["params"]["delta"] == 1.0]


@pytest.mark.parametrize("case", BROCK_MIRMAN_CASES, ids=[c["name"] for c in BROCK_MIRMAN_CASES])
def test_reference_matches_linearised_brock_mirman(case):
    """delta = 1: chat = 1 - alpha beta and l = l* are constant, and
    log k' = log(alpha beta) + log A + alpha log k + (1 - alpha) log l*, so with
    x_t = log deviation of capital used in production, x_0 = 0 and
    x_{t+1} = a_t + alpha x_t; output y (a_t + alpha x_t), consumption (1 - alpha beta) times that."""
    p, ss = case["params"], case["steady_state"]
    alpha, beta, rho, sigma = p["alpha"], p["beta"], p["rho"], p["sigma"]
    bm = econ.brock_mirman_policy(RBCParams(**p))
    a = sigma * rho ** np.arange(HORIZON)
    x = np.zeros(HORIZON)
    for t in range(HORIZON - 1):
        x[t + 1] = a[t] + alpha * x[t]
    closed_form = {
        "capital": ss["capital"] * x,
        "output": ss["output"] * (a + alpha * x),
        "consumption": (1 - alpha * beta) * ss["output"] * (a + alpha * x),
        "labour": np.zeros(HORIZON),
        "consumption_fraction": np.zeros(HORIZON),
        "log_tfp": a,
    }
    for key, values in closed_form.items():
        assert_irf_close(values, case, key, IDENTITY_REL_TOL, "closed-form Brock-Mirman")
    assert ss["consumption_fraction"] == pytest.approx(1 - alpha * beta, rel=1e-12)
    assert ss["labour"] == pytest.approx(float(np.asarray(bm.labour).ravel()[0]), rel=1e-12)


# --- 2. econ against the reference --------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_steady_state_matches_dynare(case):
    ss = econ.rbc.steady_state(RBCParams(**case["params"]))
    for key in STEADY_STATE_KEYS:
        assert getattr(ss, key) == pytest.approx(case["steady_state"][key], rel=STEADY_STATE_REL_TOL), key


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_impulse_response_matches_dynare(case):
    irf = econ.impulse_response(RBCParams(**case["params"]), horizon=HORIZON)
    assert set(irf) == set(IRF_KEYS)
    for key in IRF_KEYS:
        assert_irf_close(irf[key], case, key, IRF_REL_TOL, "econ.impulse_response")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_decision_rules_match_dynare(case):
    """econ's policy/transition matrices against Dynare's ghx, ghu.

    Dynare's states are (k_{t-1}, loga_{t-1}) in its end-of-period timing, i.e.
    econ's (capital_t, log_tfp_{t-1}), and its shock enters through ghu; with
    econ's x_t = F s_t and s_t = (capital_t, log_tfp_t), log_tfp_t = rho
    log_tfp_{t-1} + sigma e_t:
        ghx[x, k] = F[x, capital]   ghu[x] = sigma F[x, log_tfp]   ghx[x, loga] = rho F[x, log_tfp]
    and Dynare's k (next period's capital) takes the capital row of the transition.
    Entries are compared as elasticities (scaled by steady-state levels) so that
    every entry is O(1).
    """
    p, ss = case["params"], case["steady_state"]
    raw = case["dynare_raw"]
    names = raw["endo_names"]
    row = {names[i - 1]: r for r, i in enumerate(raw["order_var"])}  # ghx rows are in order_var order
    col = {names[i - 1]: j for j, i in enumerate(raw["state_var"])}
    ghx, ghu = np.asarray(raw["ghx"]), np.asarray(raw["ghu"])
    solution = econ.linearize(RBCParams(**p))
    state = {name: i for i, name in enumerate(solution.state_names)}
    control = {name: i for i, name in enumerate(solution.control_names)}

    rules = {}  # Dynare variable -> (d/d capital_t, d/d log_tfp_t) in econ's solution
    for key, var in make_reference.IRF_KEYS.items():
        if key in control:
            rules[var] = solution.policy[control[key]]
        elif key == "capital":
            rules[var] = solution.transition[state["capital"]]
        else:  # Dynare's loga_t is econ's state log_tfp_t itself
            rules[var] = np.eye(len(solution.state_names))[state["log_tfp"]]
    np.testing.assert_allclose(solution.transition[state["log_tfp"]], [0.0, p["rho"]], rtol=0, atol=1e-15)
    k_ss = ss["capital"]
    for key, var in make_reference.IRF_KEYS.items():
        level = 1.0 if key == "log_tfp" else ss[key]
        d_capital, d_tfp = rules[var]
        ours = np.array([d_capital * k_ss, p["rho"] * d_tfp, p["sigma"] * d_tfp]) / level
        theirs = np.array([ghx[row[var], col["k"]] * k_ss, ghx[row[var], col["loga"]], ghu[row[var]]]) / level
        error = np.max(np.abs(ours - theirs)) / max(1.0, np.max(np.abs(theirs)))
        assert error <= IRF_REL_TOL, f"{case['name']}: decision rule of {var} differs from Dynare by {error:.3e}"


# --- 3. Live Dynare -------------------------------------------------------------------------


@pytest.mark.dynare
@needs_dynare
def test_live_dynare_reproduces_the_stored_case():
    """Render and run the spec's rbc case with Octave + Dynare now (about a second)."""
    case = next(c for c in CASES if c["name"] == "rbc_linear")
    name, params = next((n, p) for n, p in make_reference.CASES if n == case["name"])
    assert params == case["params"]
    mod_text = make_reference.render_mod(name, params)
    assert mod_text == (make_reference.HERE / f"{name}.mod").read_text(), "shipped .mod file is stale"
    fresh = make_reference.reference_case(name, params, make_reference.run_dynare(name, mod_text, timeout=120))

    for key in STEADY_STATE_KEYS:
        assert fresh["steady_state"][key] == pytest.approx(case["steady_state"][key], rel=REGENERATION_REL_TOL)
    econ_irf = econ.impulse_response(RBCParams(**params), horizon=HORIZON)
    for key in IRF_KEYS:
        assert_irf_close(fresh["irf"][key], case, key, REGENERATION_REL_TOL, "freshly regenerated Dynare")
        assert_irf_close(econ_irf[key], fresh, key, IRF_REL_TOL, "econ.impulse_response vs fresh Dynare")
