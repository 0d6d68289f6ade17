"""CI regression on the policies shipped in validation/policies/ (issue 5).

- The shipped ``rbc`` policy's consumption, labour and output IRFs against
  the linear benchmark (relative RMSE at most 0.15, 0.25, 0.25) and its
  welfare loss (below 0.05 percent); the same IRFs scored directly against
  the values stored from Dynare (tests/dynare/reference.json, case ``rbc_linear``);
  the linear IRF itself against Dynare is tests/test_linear_vs_dynare.py.
- Negative controls: the shipped policy with its labour response to TFP
  removed, or with its consumption fraction raised by 0.01, fails.
- The shipped ``rbc-full-depreciation`` policy: consumption fraction and
  labour within 0.01 of Brock-Mirman at every state of the benchmark's
  ergodic sample (and so on average).
- Every shipped policy records the ``python -m rl.train`` command, seed and
  versions that produced it (and any ``python -m rl.polish`` command after it,
  whose arguments pass that command's checks), and ``python -m
  validation.compare`` scores it.
"""

from __future__ import annotations

import json
import shlex

import numpy as np
import pytest

from econ.rbc import accuracy
from rl.polish import build_parser as polish_parser, polish_run
from rl.rollout import model_policy
from rl.loading import load_model
from validation.compare import POLICY_DIR, main as compare, scoring_experiment

SHIPPED = ("rbc-full-depreciation", "rbc", "ks", "ks-het-mild", "ks-het-marked", "general")
REQUIRED = ("rbc-full-depreciation", "rbc", "ks")


def _shipped(name):
    run = POLICY_DIR / name
    experiment = scoring_experiment(name, [str(run)])
    return model_policy(load_model(run, experiment), experiment), experiment


@pytest.fixture(scope="module")
def rbc():
    return _shipped("rbc")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_policy_records_how_it_was_made(name, tmp_path):
    run = POLICY_DIR / name
    if name not in REQUIRED and not run.exists():
        pytest.skip(f"no policy shipped for {name}")
    config = json.loads((run / "config.json").read_text())
    assert config["experiment_name"] == name and isinstance(config["seed"], int)
    assert {"torch", "stable_baselines3", "numpy"} <= set(config["versions"])
    assert config["hyperparameters"]["gamma"] == config["experiment"]["beta"]
    note = (run / "TRAINED.md").read_text()
    assert ("    python -m rl.train " in note or "    python -m validation.compare " in note)  # the project's commands
    assert f"- seed: {config['seed']}" in note
    assert "--out /" not in note and "--out=/" not in note  # no path of the machine that trained it
    assert (run / "model.zip").stat().st_size < 1_000_000  # small enough to ship
    for line in note.splitlines():  # each polishing command passes rl.polish's checks of its arguments
        if line.startswith("    python -m rl.polish "):
            words = shlex.split(line)[3:]
            args = polish_parser().parse_args(words)
            with pytest.raises(FileNotFoundError, match="no model at"):  # the checks pass; only the run is absent
                polish_run(tmp_path / "absent", tmp_path / "out", rounds=args.rounds, steps=args.steps,
                           learning_rate=args.learning_rate, anchor=args.anchor, margin=args.margin,
                           periods=args.periods, seed=args.seed, fixed_point=args.fixed_point,
                           price_impact=args.price_impact, balanced=args.balanced)


def test_shipped_rbc_policy_meets_the_tolerances(rbc):
    policy, experiment = rbc
    irf = accuracy.irf_agreement(policy, experiment)
    assert irf.converged
    assert irf.relative_rmse["consumption"] <= 0.15, irf.relative_rmse
    assert irf.relative_rmse["labour"] <= 0.25, irf.relative_rmse
    assert irf.relative_rmse["output"] <= 0.25, irf.relative_rmse
    welfare = accuracy.welfare_loss(policy, accuracy.benchmark_policy(experiment), experiment)
    assert welfare.loss_percent < 0.05, welfare


def test_shipped_rbc_irfs_against_stored_dynare_values(rbc):
    from tests.dynare import make_reference

    reference = json.loads(make_reference.REFERENCE_PATH.read_text())
    case = next(c for c in reference["cases"] if c["name"] == "rbc_linear")
    policy, experiment = rbc
    assert case["params"]["delta"] == experiment.delta and case["params"]["utility"] == experiment.utility
    irf = accuracy.irf_agreement(policy, experiment, horizon=reference["horizon"])
    for name, tolerance in (("consumption", 0.15), ("labour", 0.25), ("output", 0.25)):
        dynare = np.asarray(case["irf"][name])
        error = np.linalg.norm(irf.policy_irf[name] - dynare) / np.linalg.norm(dynare)
        assert error <= tolerance, (name, error)


def test_perturbed_shipped_policies_fail(rbc):
    policy, experiment = rbc

    def no_labour_response(capital, technology):
        chat, _ = policy(capital, technology)
        _, labour = policy(capital, np.ones_like(np.asarray(technology, dtype=float)))
        return chat, labour

    assert accuracy.irf_agreement(no_labour_response, experiment).relative_rmse["labour"] > 0.25

    def eats_more(capital, technology):
        chat, labour = policy(capital, technology)
        return chat + 0.01, labour

    welfare = accuracy.welfare_loss(eats_more, accuracy.benchmark_policy(experiment), experiment)
    assert welfare.loss_percent > 0.05, welfare


def test_shipped_brock_mirman_policy_mean_errors_within_001():
    policy, experiment = _shipped("rbc-full-depreciation")
    bm = accuracy.benchmark_policy(experiment)
    error = accuracy.policy_error(policy, bm, experiment)
    assert error.chat_mean <= 0.01 and error.labour_mean <= 0.01, error
    assert accuracy.welfare_loss(policy, bm, experiment).loss_percent < 0.05


def test_shipped_brock_mirman_policy_max_errors_within_001():
    policy, experiment = _shipped("rbc-full-depreciation")
    error = accuracy.policy_error(policy, accuracy.benchmark_policy(experiment), experiment)
    assert error.chat_max <= 0.01 and error.labour_max <= 0.01, error


@pytest.mark.parametrize("name", ["rbc", "rbc-full-depreciation"])
def test_compare_passes_out_of_the_box(name, tmp_path):
    assert compare([name, "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] and all((tmp_path / f).exists() for f in ("policy.png", "irf.png", "learning_curve.png"))


def test_compare_ks_passes_out_of_the_box_and_prints_a_scorecard(tmp_path, capsys):
    """The shipped ks policy meets every same-economy row against the price-impact benchmark at N = 20."""
    status = compare(["ks", "--out", str(tmp_path)])
    report = json.loads((tmp_path / "report.json").read_text())
    assert status == 0 and report["passed"]
    out = capsys.readouterr().out
    assert "lom_slope_good" in out and "gini_wealth" in out
    (phi,) = report["benchmark_phi"]  # the benchmark's price impact, for rl.polish --price-impact
    assert 0.0 < phi < 1.0 and f"phi = {phi:.4f} of a household's own price impact" in out
    assert (tmp_path / "law_of_motion.png").exists() and (tmp_path / "lorenz.png").exists()


def test_compare_general_passes_out_of_the_box(tmp_path):
    """The shipped general policy (trained, then polished along labour at unchanged saving) meets every judged row
    of the price-impact steady state at N = 9 at its deterministic fixed point."""
    assert compare(["general", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] and not report["failed"]
    assert (tmp_path / "steady_state.png").exists()
