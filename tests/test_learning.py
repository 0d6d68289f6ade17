"""Learning tests (slow tier): households learn the benchmark policies from scratch, with fixed seeds.

Run with ``python -m pytest -m slow tests/test_learning.py``.  Each test trains
with the recipe of ``validation.compare.TRAIN_BUDGETS`` (the same one that
produced the shipped policies: PPO, ``tuned`` preset) and scores with
``validation.scoring``; docs/performance.md gives the measured time to these
targets (10 to 20 minutes each on the 2-core machine).  SAC, which issue 4
names, has not reached the ``rbc`` targets in our budgets (0.3 percent
welfare loss at best; docs/performance.md): these tests use the recipe that
does.

- ``rbc-full-depreciation``: consumption fraction and labour within 0.02 of
  Brock-Mirman on the benchmark's ergodic states (issue 4; the shipped policy
  meets 0.01, checked by tests/test_shipped_policies.py).
- ``rbc``: consumption-equivalent welfare loss below 0.05 percent,
  consumption-IRF relative RMSE at most 0.15 and labour at most 0.25
  (issues 4 and 5).  The negative control (steady-state fractions whatever the
  state) fails the same checks in tests/test_validation_rbc.py.
"""

from __future__ import annotations

import pytest

from validation import scoring
from validation.compare import TRAIN_BUDGETS, load_model, scoring_experiment

pytestmark = pytest.mark.slow


def _train(name, tmp_path, seed=0):
    from rl.train import train

    budget = dict(TRAIN_BUDGETS[name])
    algo, timesteps = budget.pop("algo"), budget.pop("timesteps")
    run = tmp_path / name
    train(name, algo, timesteps, run, seed=seed, **budget)
    experiment = scoring_experiment(name, [str(run)])
    return scoring.model_policy(load_model(run, experiment), experiment), experiment


def test_learns_brock_mirman(tmp_path):
    """Mean errors within 0.01 and the welfare target; the max-error criterion is not met yet
    (labour up to 0.1 off at high TFP: tests/test_shipped_policies.py tracks it as a strict xfail)."""
    policy, experiment = _train("rbc-full-depreciation", tmp_path)
    bm = scoring.benchmark_policy(experiment)
    error = scoring.policy_error(policy, bm, experiment)
    assert error.chat_mean < 0.01 and error.labour_mean < 0.01, error
    assert scoring.welfare_loss(policy, bm, experiment).loss_percent < 0.05


def test_learns_rbc_welfare_and_impulse_responses(tmp_path):
    policy, experiment = _train("rbc", tmp_path)
    vfi = scoring.benchmark_policy(experiment)
    welfare = scoring.welfare_loss(policy, vfi, experiment)
    irf = scoring.irf_agreement(policy, experiment)
    assert welfare.loss_percent < 0.05, welfare
    assert irf.relative_rmse["consumption"] <= 0.15, irf.relative_rmse
    assert irf.relative_rmse["labour"] <= 0.25, irf.relative_rmse
