"""Bad input refused with one line, and every accepted parameter set keeps the environment finite.

Each test reproduces a failure found by trying the code as a hostile or an
unlucky user would, and checks that it is now refused with a message naming
the field or flag (or, for the environment, that nothing overflows).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from econ.experiments import (TFP_STANDARD_DEVIATIONS, log_tfp_sd_within_episode, make_experiment)
from econ.rbc.linear import linearize
from econ.rbc.params import RBCParams
from econ.rbc.steady_state import steady_state
from rl import core

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- finite observations
def _worst_case_run(experiment, periods: int, seed: int) -> list:
    """Everything the environment returns while every household saves and works the most and log A is pinned
    at +TFP_STANDARD_DEVIATIONS within-episode standard deviations (the bound the construction check assumes)."""
    rng = np.random.default_rng(seed)
    state = core.initial_state(experiment, 2, rng)
    save_most = np.tile(np.array([-1.0, 1.0][: experiment.action_size]), (2, experiment.num_agents, 1))
    high = TFP_STANDARD_DEVIATIONS * log_tfp_sd_within_episode(experiment.rho, experiment.sigma,
                                                               experiment.episode_length)
    returned = [core.observe(experiment, state)]
    for t in range(periods):
        actions = save_most if t % 7 else rng.uniform(-1, 1, save_most.shape)
        transition = core.step(experiment, state, actions, rng)
        state = transition.state
        if experiment.technology == "ar1":
            state = state._replace(log_tfp=np.full_like(state.log_tfp, high))
        returned += [core.observe(experiment, state), transition.outcome.reward.astype(np.float32),
                     *core.raw_quantities(transition).values()]
    return returned


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(alpha=st.floats(0.01, 0.99), delta=st.floats(0.005, 1.0), rho=st.floats(-0.999, 0.9999),
       sigma=st.floats(0.0, 20.0), episode_length=st.integers(1, 400), n_agents=st.integers(1, 3),
       high=st.floats(1.0, 1e12), utility=st.sampled_from(["linear", "log_leisure"]), seed=st.integers(0, 2**16))
def test_every_accepted_parameter_set_keeps_the_environment_finite(alpha, delta, rho, sigma, episode_length,
                                                                    n_agents, high, utility, seed):
    try:
        experiment = make_experiment("rbc", n_agents, alpha=alpha, delta=delta, rho=rho, sigma=sigma, utility=utility,
                                     episode_length=episode_length, initial_capital_high=high)
    except ValueError as err:
        assert "\n" not in str(err)
        assert any(name in str(err) for name in ("alpha", "sigma", "initial_capital_high", "chi", "delta"))
        return
    for values in _worst_case_run(experiment, episode_length, seed):
        assert np.all(np.isfinite(values))


@pytest.mark.parametrize("overrides, names", [({"sigma": 10.0}, "sigma = 10.0, rho = 0.9"),
                                              ({"sigma": 1.0, "rho": 0.999}, "sigma = 1.0, rho = 0.999"),
                                              ({"tfp_scale": 1e-40}, "tfp_scale"),
                                              ({"capital_scale": 1e-40}, "capital_scale")])
def test_parameters_that_overflowed_float32_are_refused(overrides, names):
    with pytest.raises(ValueError, match=names):
        make_experiment("rbc", **overrides)


def test_the_bound_is_not_vacuous():
    """Negative control: sigma = 5 is accepted for one-period episodes (log A is reset every period); kept from
    resetting, log A wanders to its stationary sd 35 and capital leaves float32, as sigma = 10 did in 500-period
    episodes before the check."""
    experiment = make_experiment("rbc", sigma=5.0, rho=0.99, episode_length=1)
    rng = np.random.default_rng(0)
    state = core.initial_state(experiment, 1, rng)
    finite = True
    for _ in range(3_000):
        state = core.step(experiment, state, np.full((1, 1, 2), [-1.0, 1.0]), rng).state
        finite = finite and bool(np.all(np.isfinite(core.observe(experiment, state))))
    assert not finite


# ----------------------------------------------------------------------------- alpha near 1
@pytest.mark.parametrize("overrides", [{"alpha": 0.999999}, {"alpha": 0.999999, "delta": 1.0}])
def test_steady_state_refuses_alpha_near_one(overrides):
    with pytest.raises(ValueError, match="alpha = 0.999999 is too close to 1"):
        steady_state(RBCParams(**overrides))


def test_linearize_names_alpha_when_capital_is_too_large():
    with pytest.raises(ValueError, match="alpha = 0.99 .*lower alpha"):
        linearize(RBCParams(alpha=0.99))


# ----------------------------------------------------------------------------- one-line refusals
def _refused(call, match):
    with pytest.raises(ValueError, match=match) as err:
        call()
    assert "\n" not in str(err.value)


def test_bad_arguments_of_the_api_are_refused_naming_them():
    import rl
    from econ.krusell_smith.params import KrusellSmithParams

    _refused(lambda: KrusellSmithParams.calibration(None), "calibration must be one of")
    _refused(lambda: make_experiment("rbc", n_agents=2, capital_productivity=["a", "b"]), "capital_productivity")
    _refused(lambda: rl.make_vec_env("rbc", name="x"), "name cannot be overridden")
    _refused(lambda: make_experiment("ks", chi=3.0), "chi = 3.0 has no effect")
    _refused(lambda: RBCParams._make([2.0, 0.95, 0.025, 0.9, 0.01, 1.0, "linear"]), "alpha must lie in")
    gym = rl.make_gym_env("rbc")
    gym.reset()
    _refused(lambda: gym.step(np.zeros(3)), "action must have 2 entries")
    env = rl.make_vec_env("rbc")
    env.reset()
    for bad in (np.array([["a", "b"]]), np.array([[1 + 1j, 0]]), np.array([[True, False]])):
        _refused(lambda bad=bad: env.step(bad), "actions must be real numbers")
    parallel = rl.make_parallel_env("ks", n_agents=2)
    parallel.reset()
    _refused(lambda: parallel.step({"household_0": [0.0], "household_1": [0.0], "bogus": [0.0]}), "unknown agents")


def test_sac_batch_size_zero_is_refused():
    from rl.recipes import hyperparameters

    _refused(lambda: hyperparameters("sac", "tuned", 0.95, None, {"batch_size": 0}), "batch_size must be an integer >= 1")


@pytest.mark.parametrize("args, flag", [(["--n-capital", "0"], "--n-capital"), (["--horizon", "-1"], "--horizon"),
                                        (["--out", "FILE"], "--out"), (["--alpha", "0.99"], "alpha")])
def test_econ_command_line_refuses_before_any_output(tmp_path, args, flag):
    file = tmp_path / "file"
    file.write_text("")
    args = [str(file) if a == "FILE" else a for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    result = subprocess.run([sys.executable, "-m", "econ", *args], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=300)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "error:" in result.stderr and flag in result.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


def test_train_seed_error_names_the_flag(tmp_path):
    result = subprocess.run([sys.executable, "-m", "rl.train", "rbc", "--algo", "sac", "--timesteps", "10", "--seed",
                             "-1", "--out", str(tmp_path / "run")], capture_output=True, text=True, cwd=ROOT,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""}, timeout=300)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and "argument --seed: must be an integer >= 0" in result.stderr
    assert not (tmp_path / "run").exists()


def test_econ_reports_a_vfi_that_cannot_converge_in_one_line_before_any_output(tmp_path):
    """beta = 0.999999: the value function's scale 1/(1 - beta) = 1e6 puts the absolute tolerance at rounding
    level and the contraction at 1 - 1e-6 per step; the command used to print half its report first.  A coarse
    grid (20 points) fails the same way, in a third less time."""
    result = subprocess.run([sys.executable, "-m", "econ", "--beta", "0.999999", "--n-capital", "20",
                             "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: value-function iteration did not converge")
    assert not (tmp_path / "out" / "summary.json").exists()
