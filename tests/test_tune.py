"""rl.tune: an Optuna study over a declared space, pruned on the training-time evaluation, resumable."""

from __future__ import annotations

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from rl.config import TrainConfig
from rl.recipes import HYPERPARAMS_DIR
from rl.tune import main, read_space, run_study

SPACE = {"learning_rate": {"kind": "float", "low": 1e-4, "high": 3e-3, "log": True},
         "batch_size": {"kind": "categorical", "choices": [32, 64]}}
TINY = dict(timesteps=400, eval_every=200, seed=0)
"""Brock-Mirman (closed form, no VFI to solve) with a few hundred steps: a trial takes about a second."""


def test_killed_study_resumes_and_finishes_its_trials(tmp_path):
    first = run_study("rbc-full-depreciation", "sac", SPACE, tmp_path, n_trials=3, **TINY)
    assert first["finished"] == 3
    # a study process killed during its fourth trial leaves that trial RUNNING in the database
    study = optuna.load_study(study_name="rbc-full-depreciation-sac", storage=f"sqlite:///{tmp_path / 'study.db'}")
    study.ask()
    summary = run_study("rbc-full-depreciation", "sac", SPACE, tmp_path, n_trials=6, **TINY)
    states = [t.state for t in study.get_trials(deepcopy=False)]
    assert summary["finished"] == 6 and states.count(TrialState.FAIL) == 1
    assert summary["complete"] + summary["pruned"] == 6
    best = yaml.safe_load((tmp_path / "best.yml").read_text())
    config = TrainConfig("rbc-full-depreciation", "sac", **best["rbc-full-depreciation"])
    assert config.hyper_overrides["learning_rate"] == pytest.approx(summary["best"]["params"]["learning_rate"])
    # a finished study runs nothing more
    assert run_study("rbc-full-depreciation", "sac", SPACE, tmp_path, n_trials=6, **TINY)["finished"] == 6


def test_search_spaces_are_checked_and_the_examples_read():
    for name in ("search-sac.yml", "search-ppo.yml"):
        assert read_space(HYPERPARAMS_DIR / name)


def test_bad_space_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "space.yml"
    bad.write_text("learning_rate: {kind: float, low: 1.0, high: 0.1}\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["rbc", "--algo", "sac", "--space", str(bad), "--out", str(tmp_path / "study")])
    assert exit_info.value.code == 2 and "low < high" in capsys.readouterr().err
