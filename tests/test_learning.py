"""Learning tests (slow tier): households learn the benchmark policies from scratch, with fixed seeds.

Run with ``python -m pytest -m slow tests/test_learning.py``.  Each test trains
with a recipe of ``rl.recipes.TRAIN_RECIPES`` (SAC: the ``tuned``
preset over 16 economies, 4 gradient steps per VecEnv step; PPO: the recipes
of the shipped ``rbc`` policy and of the earlier ``rbc-full-depreciation``
one) and scores with ``econ.rbc.accuracy``; docs/performance.md gives the
measured time to these targets (5 to 25 minutes each on the 2-core machine)
and how other seeds fare.

- ``rbc-full-depreciation``, SAC (issue 4): consumption fraction and labour
  within 0.02 of Brock-Mirman at every state of the benchmark's ergodic
  sample (the shipped SAC policy, seed 1, meets 0.01:
  tests/test_shipped_policies.py).  PPO: mean errors within 0.01 (its max
  labour error is about 0.1, docs/results.md).
- ``rbc``, both algorithms (issues 4 and 5): consumption-equivalent welfare
  loss below 0.05 percent, consumption-IRF relative RMSE at most 0.15 and
  labour at most 0.25.  The negative control (steady-state fractions whatever
  the state) fails the same checks in tests/test_validation_rbc.py.
"""

from __future__ import annotations

import pytest

from econ.rbc import accuracy
from rl.rollout import model_policy
from rl.config import TrainConfig
from rl.loading import load_model
from rl.recipes import TRAIN_RECIPES
from rl.train import train
from validation.compare import scoring_experiment

pytestmark = pytest.mark.slow

BROCK_MIRMAN_SAC_MAX_ERROR = 0.02
"""Issue 4: SAC's consumption fraction and labour within 0.02 of the closed form (in the max over states)."""


def _train(name, algo, tmp_path, seed=0):
    run = tmp_path / f"{name}-{algo}"
    train(TrainConfig(name, algo, seed=seed, **TRAIN_RECIPES[name][algo]), run)
    experiment = scoring_experiment(name, [str(run)])
    return model_policy(load_model(run, experiment), experiment), experiment


def test_sac_learns_brock_mirman(tmp_path):
    policy, experiment = _train("rbc-full-depreciation", "sac", tmp_path)
    bm = accuracy.benchmark_policy(experiment)
    error = accuracy.policy_error(policy, bm, experiment)
    assert error.chat_max <= BROCK_MIRMAN_SAC_MAX_ERROR and error.labour_max <= BROCK_MIRMAN_SAC_MAX_ERROR, error
    assert accuracy.welfare_loss(policy, bm, experiment).loss_percent < 0.05


def test_ppo_learns_brock_mirman_on_average(tmp_path):
    policy, experiment = _train("rbc-full-depreciation", "ppo", tmp_path)
    bm = accuracy.benchmark_policy(experiment)
    error = accuracy.policy_error(policy, bm, experiment)
    assert error.chat_mean < 0.01 and error.labour_mean < 0.01, error
    assert accuracy.welfare_loss(policy, bm, experiment).loss_percent < 0.05


@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_learns_rbc_welfare_and_impulse_responses(algo, tmp_path):
    policy, experiment = _train("rbc", algo, tmp_path)
    vfi = accuracy.benchmark_policy(experiment)
    welfare = accuracy.welfare_loss(policy, vfi, experiment)
    irf = accuracy.irf_agreement(policy, experiment)
    assert welfare.loss_percent < 0.05, welfare
    assert irf.relative_rmse["consumption"] <= 0.15, irf.relative_rmse
    assert irf.relative_rmse["labour"] <= 0.25, irf.relative_rmse
