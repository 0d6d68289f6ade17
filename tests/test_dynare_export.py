"""``econ.to_dynare`` and ``python -m econ --dynare``: the exported .mod file.

1. Without Dynare: the file declares what a Dynare user needs, its parameter
   values are the calibration's exactly, and its model block, parsed back with
   sympy and re-dated by the timing table below (written here, independently of
   the exporter), is the set of conditions econ's linearisation differentiates.
   It is also equivalent, equation by equation, to the hand-written model block
   of the Dynare reference files in tests/dynare/, which Dynare has run.
2. Live (marker ``dynare``, skipped without Octave + Dynare): the generated file
   for calibrations the reference files do not contain runs in Dynare, whose
   first-order IRFs must equal ``econ.impulse_response``.
"""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import sympy as sp

import econ
from econ import RBCParams
from econ.rbc.linear import symbolic_conditions
from tests.dynare import make_reference

IRF_REL_TOL = 1e-8
"""First-order agreement with Dynare "to rounding": both sides solve the same linear model by QZ in
double precision (observed ~1e-13 on the reference cases); relative to each IRF's largest value."""

STEADY_STATE_REL_TOL = 1e-10
"""Dynare's ``steady`` starts from econ's analytic values, which solve the conditions to rounding;
any change Dynare makes is of the order of its solver's tolerance on an already-zero residual."""

NEW_CALIBRATIONS = {
    # Every field moved away from the reference cases of tests/dynare/make_reference.py.
    "export_linear": RBCParams(alpha=0.31, beta=0.965, delta=0.07, rho=0.75, sigma=0.013, chi=1.7, utility="linear"),
    "export_log_leisure": RBCParams(
        alpha=0.38, beta=0.94, delta=0.04, rho=-0.45, sigma=0.009, chi=4.2, utility="log_leisure"
    ),
    "export_full_depreciation": RBCParams(
        alpha=0.28, beta=0.92, delta=1.0, rho=0.6, sigma=0.017, chi=3.3, utility="log_leisure"
    ),
}

needs_dynare = pytest.mark.skipif(
    shutil.which("octave") is None or not make_reference.DYNARE_MATLAB.is_dir(),
    reason=f"needs GNU Octave and Dynare's MATLAB files in {make_reference.DYNARE_MATLAB}",
)

# Timing table, econ <- Dynare: econ's k_t is the capital used in production at t, Dynare's k the
# stock chosen at t; every other variable keeps its date; the innovation eps_{t+1} is e(+1).
ECON_NAME = {"k": "capital", "loga": "log_tfp", "c": "consumption", "l": "labour", "y": "output",
             "chat": "consumption_fraction"}
DATE_SHIFT = {"k": 1}


def _econ_symbols(utility):
    model = symbolic_conditions(utility)
    names = econ.rbc.linear.STATE_NAMES + econ.rbc.linear.CONTROL_NAMES
    table = {}
    for dynare_name, econ_name in ECON_NAME.items():
        i = names.index(econ_name)
        shift = DATE_SHIFT.get(dynare_name, 0)
        table[(dynare_name, 0 - shift)] = model.current[i]
        table[(dynare_name, 1 - shift)] = model.lead[i]
    table[("e", 1)] = model.innovation
    return model, table


def _blocks(mod_text):
    """Statements of the .mod file (comments dropped), and the model block's equations."""
    text = re.sub(r"//[^\n]*", "", mod_text)
    model = re.search(r"\bmodel\s*;(.*?)\bend\s*;", text, re.S).group(1)
    model = re.sub(r"\[[^\]]*\]", "", model)  # equation tags
    equations = [e.strip() for e in model.split(";") if e.strip()]
    return text, equations


def _parse_equation(text, parameters):
    """A Dynare equation as sympy: returns (residual lhs - rhs, {symbol: (name, offset)})."""
    dated = {}

    def dated_symbol(match):
        name, offset = match.group(1), int(match.group(2))
        key = f"{name}__{'m' if offset < 0 else 'p'}{abs(offset)}"
        dated[key] = (name, offset)
        return key

    text = re.sub(r"\b([A-Za-z_]\w*)\(\s*([+-]?\d+)\s*\)", dated_symbol, text).replace("^", "**")
    lhs, rhs = text.split("=")
    namespace = {p.name: p for p in parameters}
    namespace["exp"] = sp.exp
    namespace["log"] = sp.log
    expr = sp.sympify(lhs, locals=namespace) - sp.sympify(rhs, locals=namespace)
    positions = {}
    for symbol in expr.free_symbols - set(parameters):
        positions[symbol] = dated.get(symbol.name, (symbol.name, 0))
    return expr, positions


def _to_econ(expr, positions, table):
    """Re-date a parsed Dynare equation to econ's symbols: shift it by 0 or +1 period so that every
    dated variable is in the timing table (the TFP equation is written one period earlier)."""
    for shift in (0, 1):
        keys = {symbol: (name, offset + shift) for symbol, (name, offset) in positions.items()}
        if all(key in table for key in keys.values()):
            return expr.xreplace({symbol: table[key] for symbol, key in keys.items()})
    raise AssertionError(f"equation {expr} has dates outside the timing table: {positions}")


@pytest.mark.parametrize("params", [RBCParams(), RBCParams(utility="log_leisure"), *NEW_CALIBRATIONS.values()])
def test_mod_file_declares_what_dynare_needs_with_exact_parameters(params):
    text, equations = _blocks(econ.to_dynare(params))
    assert re.search(r"^var c l y chat k loga;$", text, re.M)
    assert re.search(r"^varexo e;$", text, re.M)
    assert re.search(r"^parameters alpha beta delta rho sigma chi;$", text, re.M)
    values = dict(re.findall(r"^(alpha|beta|delta|rho|sigma|chi) = ([^;]+);$", text, re.M))
    assert {name: float(v) for name, v in values.items()} == {
        name: getattr(params, name) for name in ("alpha", "beta", "delta", "rho", "sigma", "chi")
    }
    assert len(equations) == 6
    assert re.search(r"\binitval\s*;.*?\bend\s*;", text, re.S)
    assert re.search(r"shocks\s*;\s*var e\s*;\s*stderr 1\s*;\s*end\s*;", text)
    assert re.search(r"stoch_simul\(order = 1, irf = 40\b", text)
    initval = dict(re.findall(r"^(c|l|y|chat|k|loga) = ([^;]+);$", re.search(r"initval;(.*?)end;", text, re.S).group(1), re.M))
    ss = econ.steady_state(params)
    for dynare_name, econ_name in ECON_NAME.items():
        expected = 0.0 if econ_name == "log_tfp" else getattr(ss, econ_name)
        assert float(initval[dynare_name]) == expected


@pytest.mark.parametrize("utility", ["linear", "log_leisure"])
def test_model_block_is_the_linearisations_conditions(utility):
    model, table = _econ_symbols(utility)
    _, equations = _blocks(econ.to_dynare(RBCParams(utility=utility)))
    parsed = [_to_econ(*_parse_equation(e, model.parameters), table) for e in equations]
    conditions = list(model.residuals())
    assert len(parsed) == len(conditions)
    for condition in conditions:
        matches = [p for p in parsed if sp.simplify(p - condition) == 0]
        assert len(matches) == 1, f"condition {condition} = 0 is not in the .mod file"


def _solve_for_one_symbol(expr, symbols):
    """Solve expr = 0 for the first symbol in which it is linear (a substitution rule with one solution)."""
    for symbol in symbols:
        if sp.diff(expr, symbol) != 0 and sp.simplify(sp.diff(expr, symbol, 2)) == 0:
            (solution,) = sp.solve(expr, symbol)
            return symbol, solution
    raise AssertionError(f"{expr} = 0 is linear in none of its symbols")


@pytest.mark.parametrize("case_name", ["rbc_linear", "rbc_log_leisure"])
def test_model_block_is_equivalent_to_the_reference_mod_file(case_name):
    """Independent of econ's symbols: each equation of the hand-written reference file (run by Dynare,
    see docs/dynare.md) has the same zero set as exactly one generated equation, with Dynare's own dating."""
    params = dict(make_reference.CASES)[case_name]
    parameters = sp.symbols("alpha beta delta rho sigma chi", positive=True)
    _, reference = _blocks((make_reference.HERE / f"{case_name}.mod").read_text())
    _, generated = _blocks(econ.to_dynare(RBCParams(**params)))
    reference = [_parse_equation(e, parameters)[0] for e in reference]
    generated = [_parse_equation(e, parameters)[0] for e in generated]
    assert len(reference) == len(generated) == 6
    unmatched = list(generated)
    for equation in reference:
        ordered = sorted(equation.free_symbols, key=lambda s: s.name)
        symbol, solution = _solve_for_one_symbol(equation, ordered)
        matches = [g for g in unmatched if sp.simplify(g.subs(symbol, solution)) == 0]
        assert len(matches) == 1, f"reference equation {equation} = 0 has no generated counterpart"
        unmatched.remove(matches[0])


def test_to_dynare_refuses_bad_input():
    with pytest.raises(TypeError, match="RBCParams"):
        econ.to_dynare({"alpha": 0.36})
    with pytest.raises(ValueError, match="horizon"):
        econ.to_dynare(RBCParams(), horizon=0)


def test_command_line_writes_the_mod_file(tmp_path):
    from econ.__main__ import main

    path = tmp_path / "sub" / "rbc_ll.mod"
    assert main(["--dynare", str(path), "--utility", "log_leisure", "--alpha", "0.33"]) == 0
    assert path.read_text() == econ.to_dynare(RBCParams(utility="log_leisure", alpha=0.33))
    assert [p.name for p in path.parent.iterdir()] == ["rbc_ll.mod"]  # no temporary file left


def _irf_scale(irf, ss, params, key):
    """Largest absolute value of an IRF, floored at sigma times the steady-state level (sigma for log TFP),
    as in tests/test_linear_vs_dynare.py: IRFs that are zero in theory (labour and the consumption
    fraction at delta = 1) are compared on the scale of a one-for-one response to TFP."""
    level = 1.0 if key == "log_tfp" else abs(ss[key])
    return max(np.max(np.abs(irf[key])), params.sigma * level)


@pytest.mark.dynare
@needs_dynare
@pytest.mark.parametrize("name", sorted(NEW_CALIBRATIONS))
def test_live_dynare_runs_the_exported_file_and_matches_impulse_response(name):
    """Run the generated .mod in Octave + Dynare (about a second) and compare its IRFs with econ's."""
    params = NEW_CALIBRATIONS[name]
    assert params._asdict() not in [p for _, p in make_reference.CASES]
    fresh = make_reference.reference_case(name, params._asdict(), make_reference.run_dynare(name, econ.to_dynare(params),
                                                                                             timeout=120))
    assert fresh["dynare_raw"]["dynare_version"].startswith(("5.", "6."))
    ours = econ.impulse_response(params, horizon=make_reference.HORIZON)
    ss = econ.steady_state(params)
    for key in make_reference.STEADY_STATE_KEYS:
        assert fresh["steady_state"][key] == pytest.approx(getattr(ss, key), rel=STEADY_STATE_REL_TOL), key
    for key in make_reference.IRF_KEYS:
        theirs = np.asarray(fresh["irf"][key])
        error = np.max(np.abs(ours[key] - theirs)) / _irf_scale(fresh["irf"], fresh["steady_state"], params, key)
        assert error <= IRF_REL_TOL, f"{name}: IRF of {key} differs from Dynare by {error:.3e}"
