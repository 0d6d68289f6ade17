"""Training-time evaluation of the multi-agent scorecards (rl.evaluation, validation.training_eval, compare).

What is checked: an evaluation is deterministic and is the scorecard's own
verdict (an untrained network fails the rows the scorecard fails); training
with an injected evaluator writes one row per evaluation to
``evaluations.csv`` with the documented columns; with ``stop_at_target`` it
stops at the first evaluation that passes, and runs the whole budget when
none does (the default targets against an untrained-for-long network) or
when stopping is not asked for; evaluating does not change the training
(same seed, same model with or without evaluations); bad settings are refused
before training.

Default-suite cost (about 30 s): both KS solves on a reduced panel (2,000
households x 600 periods, as tests/test_same_economy.py), panels of 2
economies x 300 kept periods, welfare over 2 economies and 120 periods; PPO
runs of at most 5,120 agent-steps on one 20-household economy.
"""

from __future__ import annotations

import csv
import json
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from stable_baselines3.common.logger import configure as configure_logger

from econ.experiments import make_experiment
from rl.checkpoints import list_checkpoints
from rl.config import TrainConfig
from rl.evaluation import LEADING_COLUMNS, Evaluation, ScorecardEvalCallback
from rl.loading import load_model
from rl.train import train
from validation import compare
from validation.controls import control_model
from validation.same_economy import SAME_ECONOMY_TOLERANCES
from validation.scorecard import Row
from validation.general import GENERAL_TOLERANCES, general_scores, steady_state_actor
from validation.training_eval import (DIVERGENCE_FACTOR, GeneralEvaluator, SameEconomyEvaluator, _evaluation,
                                      divergence_notes, training_evaluator)
from validation.welfare import Scenario

SMALL_SOLVE = dict(num_households=2000, num_periods=600)
SMALL_SIMULATION = dict(n_periods=300, burn_in=200, n_economies=2)
SMALL_WELFARE = Scenario(n_economies=2, burn_in=100, horizon=120, seed=0)

NEVER_BINDING = 1e9
"""A tolerance no finite distance reaches: every judged row passes (the case where stopping must trigger)."""

BUDGET = 5_120
"""Two PPO rollouts of the tuned preset (128 steps x 20 households) on one economy."""

EVAL_EVERY = 1_000
"""Evaluations at 1,000, 2,000, ..., 5,000 agent-steps (the VecEnv advances 20 agent-steps at a time)."""


def _config(**changes) -> TrainConfig:
    settings = dict(seed=3, preset="tuned", eval_every=EVAL_EVERY, checkpoint_every=BUDGET // 2,
                    hyper_overrides={"batch_size": 1_280})  # a divisor of the 2,560-step rollout
    return TrainConfig("ks", "ppo", BUDGET, **{**settings, **changes})


@pytest.fixture(scope="module")
def ks_exp():
    return make_experiment("ks")


@pytest.fixture(scope="module")
def strict(ks_exp):
    """The scorecard's default targets."""
    return SameEconomyEvaluator(ks_exp, simulation=SMALL_SIMULATION, welfare=SMALL_WELFARE, **SMALL_SOLVE)


@pytest.fixture(scope="module")
def lenient(ks_exp, strict):
    """Every judged family with a tolerance no distance reaches (the solves are cached: cheap)."""
    families = {name: NEVER_BINDING for name, tol in SAME_ECONOMY_TOLERANCES["ks"].items() if tol is not None}
    return SameEconomyEvaluator(ks_exp, simulation=SMALL_SIMULATION, welfare=SMALL_WELFARE, tolerances=families,
                                **SMALL_SOLVE)


def test_an_untrained_network_fails_and_the_evaluation_is_deterministic(ks_exp, strict, lenient):
    model = control_model("untrained", ks_exp)
    first, second = strict(model), strict(model)
    assert isinstance(first, Evaluation) and first == second
    assert not first.passed and {"mean_capital", "chat_bias_employed", "policy_error_mean"} <= set(first.failed)
    assert first.values["mean_capital_distance"] > SAME_ECONOMY_TOLERANCES["ks"]["mean_capital"]
    assert tuple(first.values) == strict.columns
    assert lenient(model).passed and lenient(model).values == first.values


def test_training_stops_at_the_first_evaluation_that_passes(tmp_path, lenient):
    summary = train(_config(), tmp_path, evaluator=lenient, stop_at_target=True)
    assert summary["timesteps"] == EVAL_EVERY and summary["target_reached"]["timesteps"] == EVAL_EVERY
    rows = list(csv.DictReader(open(tmp_path / "evaluations.csv")))
    assert len(rows) == 1 and rows[0]["passed"] == "True" and rows[0]["failed"] == ""
    assert (tmp_path / "model.zip").is_file()
    recorded = json.loads((tmp_path / "config.json").read_text())["evaluation"]
    assert recorded["stop_at_target"] is True and recorded["eval_every"] == EVAL_EVERY
    assert recorded["tolerances"]["mean_capital"] == NEVER_BINDING


@pytest.fixture(scope="module")
def strict_run(tmp_path_factory, strict):
    """A run with the default targets, which an untrained-for-long network does not meet: the whole budget."""
    run = tmp_path_factory.mktemp("strict")
    return run, train(_config(), run, evaluator=strict, stop_at_target=True)


def _rows(run):
    return list(csv.DictReader(open(run / "evaluations.csv")))


def test_unmet_targets_train_the_whole_budget_and_log_every_evaluation(strict_run, strict):
    run, summary = strict_run
    assert summary["timesteps"] == BUDGET and summary["target_reached"] is None
    rows = _rows(run)
    assert [int(r["timesteps"]) for r in rows] == [1_000, 2_000, 3_000, 4_000, 5_000]
    assert list(rows[0]) == list(LEADING_COLUMNS) + list(strict.columns)
    assert all(r["passed"] == "False" and "mean_capital" in r["failed"].split(";") for r in rows)
    seconds = [float(r["seconds"]) for r in rows]
    assert seconds == sorted(seconds) and all(0 < float(r["eval_seconds"]) < s for r, s in zip(rows, seconds))
    assert [r["timesteps"] for r in summary["evaluations"]] == [1_000, 2_000, 3_000, 4_000, 5_000]


def test_a_resumed_run_continues_the_evaluations(tmp_path, strict_run, strict, capsys):
    whole, _ = strict_run
    resumed = tmp_path / "resumed"
    shutil.copytree(whole, resumed)
    for folder in list_checkpoints(resumed / "checkpoints")[:-1]:  # keep the oldest (newest first): a kill then
        shutil.rmtree(folder)
    (kept,) = list_checkpoints(resumed / "checkpoints")
    assert 0 < int(kept.name.split("_")[1]) < BUDGET
    for name in ("model.zip", "summary.json"):
        (resumed / name).unlink()
    capsys.readouterr()
    summary = train(_config(), resumed, evaluator=strict, stop_at_target=True, resume=True)
    assert f"resuming from {kept} " in capsys.readouterr().out
    timing = ("seconds", "eval_seconds")
    strip = [{k: v for k, v in r.items() if k not in timing} for r in _rows(resumed)]
    assert strip == [{k: v for k, v in r.items() if k not in timing} for r in _rows(whole)]
    assert len(summary["evaluations"]) == 5


def test_without_stop_at_target_a_passing_evaluation_does_not_stop(tmp_path):
    recorder = _WeightRecorder(passes_from=1)  # every evaluation passes (what it scores does not matter here)
    summary = train(_config(), tmp_path, evaluator=recorder)
    assert summary["timesteps"] == BUDGET and summary["target_reached"] is None
    assert all(r["passed"] for r in summary["evaluations"]) and len(summary["evaluations"]) == 5
    assert len(recorder.seen) == 5


def test_evaluating_does_not_change_the_training(tmp_path, strict_run, ks_exp):
    train(_config(eval_every=None), tmp_path / "without")
    with_eval, without = (load_model(run, ks_exp).policy.state_dict() for run in (strict_run[0], tmp_path / "without"))
    assert all(torch.equal(with_eval[k], without[k]) for k in without)
    assert not (tmp_path / "without" / "evaluations.csv").exists()


def test_bad_evaluation_settings_are_refused_before_training(tmp_path, strict):
    with pytest.raises(ValueError, match="eval_every"):
        train(_config(eval_every=None), tmp_path / "a", evaluator=strict)
    with pytest.raises(ValueError, match="own targets"):
        train(_config(target_welfare_loss=0.05), tmp_path / "b", evaluator=strict)
    with pytest.raises(ValueError, match="needs an evaluator"):
        train(_config(eval_every=None), tmp_path / "c", stop_at_target=True)
    with pytest.raises(ValueError, match="N = 4"):
        train(_config(n_agents=4), tmp_path / "d", evaluator=strict)
    with pytest.raises(TypeError, match="Evaluator"):
        train(_config(), tmp_path / "e", evaluator=lambda model: None)
    with pytest.raises(ValueError, match="unknown metric"):
        SameEconomyEvaluator(make_experiment("ks"), simulation=SMALL_SIMULATION, welfare=SMALL_WELFARE,
                             tolerances={"no_such_row": 1.0}, **SMALL_SOLVE)
    with pytest.raises(ValueError, match="technology"):
        SameEconomyEvaluator(make_experiment("rbc"))
    with pytest.raises(ValueError, match="eval_every"):
        ScorecardEvalCallback(strict, 0)
    assert not any((tmp_path / name).exists() for name in "abcde")


@pytest.mark.parametrize("argv, message", [
    (["ks", "--eval-every", "1000"], "during --train"),
    (["rbc", "--train", "--eval-every", "1000"], "rl.train --eval-every"),
    (["rbc-full-depreciation", "--train", "--eval-every", "1000"], "not rbc-full-depreciation"),
    (["ks", "--train", "--stop-at-targets"], "give --eval-every"),
    (["ks", "--train", "--eval-every", "0"], ">= 1"),
    (["ks", "--hyper", "gradient_steps=4"], "--hyper changes the recipe of --train"),
    (["ks-het-mild", "--recipe-of", "ks"], "--recipe-of changes the recipe of --train"),
    (["rbc", "--train", "--algo", "ddpg"], "or another experiment's with --recipe-of"),
    (["ks-het-mild", "--train", "--recipe-of", "ks", "--algo", "a2c"], "no 'a2c' recipe for ks;"),
    (["ks-het-mild", "--train", "--recipe-of", "general"], "its ppo recipe sets overrides of general's economy"),
    (["ks-het-mild", "--train", "--recipe-of", "ks", "--algo", "sac", "--hyper", "critic_pessimism=2"],
     "critic_pessimism"),
    (["ks", "--train", "--hyper", "lerning_rate=1e-3"], "lerning_rate"),
    (["ks-het-mild", "--set", "productivity_scale=0.25"], "--set changes the recipe of --train"),
    (["ks-het-mild", "--train", "--set", "productivity_scale=0"], "productivity_scale must be > 0"),
    (["ks-het-mild", "--train", "--set", "kapa=1"], "unknown field 'kapa'"),
    (["ks", "--resume"], "--resume applies to the runs of --train"),
    (["ks", "--overwrite"], "--overwrite applies to the runs of --train"),
    (["ks", "--train", "--resume", "--overwrite"], "exclude each other"),
    (["general", "--welfare-economies", "16"], "--welfare-economies: the welfare rows' simulations are those of ks"),
    (["rbc", "--welfare-economies", "16"], "not rbc"),
    (["ks", "--welfare-economies", "1"], "--welfare-economies must be an integer >= 2, got 1"),
])
def test_compare_refuses_evaluation_flags_that_do_not_apply(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        compare.main(argv)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_compare_simulates_the_welfare_rows_over_the_economies_asked_for(tmp_path, monkeypatch):
    """--welfare-economies E reaches the ks scorecard, which hands the welfare rows a Scenario of E economies on
    the panel's seed (the default: Scenario's 8)."""
    from validation.welfare import Scenario

    class Stop(Exception):
        pass

    given = []

    def record_score(experiment, models, labels, tolerances, out, welfare_economies=None):
        given.append(welfare_economies)
        raise Stop

    monkeypatch.setattr(compare, "score_ks", record_score)
    with pytest.raises(Stop):
        compare.main(["ks", "--welfare-economies", "32", "--out", str(tmp_path)])
    with pytest.raises(Stop):
        compare.main(["ks-het-marked", "--out", str(tmp_path)])
    assert given == [32, None]
    monkeypatch.undo()

    scenarios = []

    def record_scores(panel, model, references, *, welfare=None):
        scenarios.append(welfare)
        raise Stop

    class Panel:
        seed = 7

    monkeypatch.setattr(compare, "same_economy_references", lambda experiment, **settings: None)
    monkeypatch.setattr(compare, "simulate_agents", lambda model, experiment, **settings: Panel())
    monkeypatch.setattr(compare, "same_economy_scores", record_scores)
    for economies in (32, None):
        with pytest.raises(Stop):
            compare.score_ks(make_experiment("ks"), [None], ["run"], {}, tmp_path, economies)
    assert scenarios == [Scenario(n_economies=32, seed=7), Scenario(n_economies=8, seed=7)]


def test_welfare_economies_reach_the_training_time_evaluations(tmp_path, monkeypatch):
    """--welfare-economies E with --eval-every: every evaluation simulates the welfare rows over E economies on the
    evaluations' seed; general's scorecard has no welfare rows and refuses it, and so do fewer than 2 economies."""
    from validation import training_eval
    from validation.welfare import Scenario

    class Stop(Exception):
        pass

    built = []

    def record(experiment, *, tolerances=None, welfare=None):
        built.append((experiment.name, welfare))
        raise Stop

    monkeypatch.setattr(training_eval, "SameEconomyEvaluator", record)
    with pytest.raises(Stop):
        compare.main(["ks-het-mild", "--train", "--eval-every", "1000", "--welfare-economies", "16",
                      "--out", str(tmp_path)])
    with pytest.raises(Stop):
        training_eval.training_evaluator(make_experiment("ks"))
    assert built == [("ks-het-mild", Scenario(n_economies=16, seed=training_eval.EVALUATION_SEED)), ("ks", None)]
    with pytest.raises(ValueError, match="welfare_economies: general's scorecard has no welfare rows"):
        training_eval.training_evaluator(make_experiment("general"), welfare_economies=16)
    with pytest.raises(ValueError, match="welfare_economies"):
        training_eval.training_evaluator(make_experiment("ks"), welfare_economies=1)


def test_compare_names_the_rows_whose_estimate_is_wider_than_their_tolerance():
    """A judged welfare row whose 2-sd band over the economies exceeds its tolerance is named, passed or failed
    (its verdict rests on too few economies); a narrow band, an unjudged row or a row without the band is not."""
    from validation.same_economy import WELFARE_BAND

    rows = [Row("welfare_unilateral_kappa1", 0.0, 0.116, 0.116, 0.05, references={WELFARE_BAND: 0.225}),
            Row("welfare_unilateral_kappa2", 0.0, 0.010, 0.010, 0.05, references={WELFARE_BAND: 0.06}),
            Row("welfare_unilateral_kappa3", 0.0, 0.010, 0.010, 0.05, references={WELFARE_BAND: 0.04}),
            Row("welfare_economy_kappa1", 0.0, 0.3, 0.3, None, references={WELFARE_BAND: 0.9}),
            Row("mean_capital", 11.5, 11.6, 0.01, 0.03, references={"price-taking": 11.5})]
    assert compare.imprecise_rows(rows) == [
        {"metric": "welfare_unilateral_kappa1", "band": 0.225, "tolerance": 0.05, "passed": False},
        {"metric": "welfare_unilateral_kappa2", "band": 0.06, "tolerance": 0.05, "passed": True}]


def test_compare_trains_with_another_experiments_recipe_and_changed_hyperparameters(tmp_path, monkeypatch):
    """--recipe-of ks --algo sac --hyper ...: ks-het-mild is trained with the ks SAC recipe's settings and budget,
    the changed hyperparameter added to them, and the recipe table is left as it was."""
    from rl.recipes import TRAIN_RECIPES

    before = json.dumps(TRAIN_RECIPES, sort_keys=True)
    given = []

    class Stop(Exception):
        pass

    def record(config, run, **kwargs):
        given.append((config, run, kwargs["resume"], kwargs["overwrite"]))
        raise Stop

    monkeypatch.setattr(compare, "train", record)
    with pytest.raises(Stop):
        compare.main(["ks-het-mild", "--train", "--recipe-of", "ks", "--algo", "sac", "--hyper",
                      "critic_pessimism=0.0", "--hyper", "gradient_steps=4", "--seeds", "3", "--out", str(tmp_path)])
    ((config, run, resume, overwrite),) = given
    assert resume is False and overwrite is False
    ks_sac = TRAIN_RECIPES["ks"]["sac"]
    assert (config.experiment, config.algo, config.seed, run) == ("ks-het-mild", "sac", 3, tmp_path / "train-sac-seed3")
    assert (config.timesteps, config.n_economies, config.preset) == (ks_sac["timesteps"], 8, "tuned")
    assert config.hyper_overrides == {**ks_sac["hyper_overrides"], "critic_pessimism": 0.0, "gradient_steps": 4}
    assert json.dumps(TRAIN_RECIPES, sort_keys=True) == before
    with pytest.raises(Stop):
        compare.main(["ks", "--train", "--resume", "--out", str(tmp_path)])
    assert given[-1][2:] == (True, False)
    with pytest.raises(Stop):  # --set: an experiment field merged into the recipe's overrides (general's kept)
        compare.main(["general", "--train", "--set", "chi=2.0", "--out", str(tmp_path)])
    assert given[-1][0].overrides == {**TRAIN_RECIPES["general"]["ppo"]["overrides"], "chi": 2.0}
    with pytest.raises(Stop):
        compare.main(["ks", "--train", "--overwrite", "--out", str(tmp_path)])
    assert given[-1][2:] == (False, True)


def test_runaway_capital_is_noted_in_the_training_log(capsys):
    """Capital beyond twice the benchmark's (or below half of it) gives a note, printed in the [eval] line; a miss of
    the tolerance's size does not."""
    assert DIVERGENCE_FACTOR == 2.0
    hoard = [Row("gini_wealth", 0.547, 0.66, 0.11, 0.03), Row("mean_capital", 13.82, 83.4, 5.03, 0.05)]
    assert divergence_notes(hoard) == ("hoarding: mean_capital 83.4 is 6.03 times the benchmark's 13.82",)
    assert divergence_notes([Row("aggregate_capital", 7.95, 3.5, 0.56, 0.02)]) == (
        "collapse: aggregate_capital 3.5 is 0.44 times the benchmark's 7.95",)
    assert divergence_notes([Row("mean_capital", 13.82, 20.0, 0.45, 0.05), Row("mean_capital", 13.82, 7.0, 0.49,
                                                                               0.05)]) == ()
    assert _evaluation(hoard).notes == divergence_notes(hoard)

    class Hoarding:
        def __call__(self, model):
            return Evaluation({"mean_capital": 83.4}, ("mean_capital",), ("hoarding: it is",))

        def describe(self):
            return {}

    callback = ScorecardEvalCallback(Hoarding(), 10, verbose=1)
    callback.model = SimpleNamespace(logger=configure_logger(None, []), num_timesteps=10)
    callback.num_timesteps = 10
    callback._record(callback.evaluate())
    line = capsys.readouterr().out
    assert "[hoarding: it is]  failed: mean_capital" in line
    assert callback.history[0]["failed"] == "mean_capital" and "hoarding" not in str(callback.history[0])


def test_a_resumed_history_takes_columns_a_newer_evaluator_adds(tmp_path):
    """A run resumed under a newer evaluator that reports more rows keeps going: the earlier rows of
    evaluations.csv leave the new columns empty; a column that disappears is still refused."""

    class Fixed:
        def __init__(self, values):
            self.values = values

        def __call__(self, model):
            return Evaluation(dict(self.values), ())

        def describe(self):
            return {}

    path = tmp_path / "evaluations.csv"
    callback = ScorecardEvalCallback(Fixed({"a": 1.0, "new": 2.0, "b": 3.0}), 10, log_path=path, verbose=0)
    callback.model = SimpleNamespace(logger=configure_logger(None, []))  # what SB3 gives a callback in training
    old = {"timesteps": 10, "seconds": 1.0, "eval_seconds": 0.1, "passed": True, "failed": "", "a": 0.5, "b": 0.7}
    callback.history = [old]
    callback._columns = list(old)
    callback._record({**{k: old[k] for k in LEADING_COLUMNS}, "timesteps": 20, "a": 1.0, "new": 2.0, "b": 3.0})
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == list(LEADING_COLUMNS) + ["a", "new", "b"]
    assert rows[0]["new"] == "" and rows[1]["new"] == "2.0" and rows[0]["a"] == "0.5"
    with pytest.raises(ValueError, match="changed its columns"):
        callback._record({**{k: old[k] for k in LEADING_COLUMNS}, "a": 1.0, "new": 2.0})


def test_evaluation_rows_hold_numbers(strict, ks_exp):
    values = strict(control_model("untrained", ks_exp)).values
    assert all(isinstance(v, float) and np.isfinite(v) for v in values.values())


@pytest.mark.slow
def test_compare_stops_at_the_first_passing_evaluation_whose_values_are_the_scorecards(tmp_path, capsys):
    """The command line end to end (full-size solves, about 1 min): with tolerances no distance reaches, the first
    evaluation passes and training stops there, without the update that would follow it, so the final
    scorecard scores the very policy that was evaluated: same RL values on every row, exit 0."""
    tolerances = [f"{name}={NEVER_BINDING}" for name, tol in SAME_ECONOMY_TOLERANCES["ks"].items() if tol is not None]
    code = compare.main(["ks", "--train", "--timesteps", "81920", "--eval-every", "20480", "--stop-at-targets",
                         "--out", str(tmp_path)] + [arg for tol in tolerances for arg in ("--tol", tol)])
    out = capsys.readouterr().out
    assert code == 0 and "seed 0: every judged row first passed after 20480 agent-steps" in out
    (row,) = list(csv.DictReader(open(tmp_path / "train-ppo-seed0" / "evaluations.csv")))
    report = json.loads((tmp_path / "report.json").read_text())
    scored = {r["metric"]: r["rl"] for r in report["rows"]}
    assert scored and all(float(row[name]) == pytest.approx(value, rel=1e-12, abs=1e-15)
                          for name, value in scored.items() if not isinstance(value, str))


def test_the_general_evaluation_is_the_general_scorecards_verdict():
    """general: the benchmark's own rule passes every judged row, an untrained network fails, and each value is
    the scorecard's (deterministic: the fixed point of the deterministic policy)."""
    experiment = make_experiment("general")
    evaluator = training_evaluator(experiment)
    assert isinstance(evaluator, GeneralEvaluator)
    with pytest.raises(ValueError, match="'general'"):
        GeneralEvaluator(make_experiment("ks"))
    assert evaluator(steady_state_actor(experiment)).passed
    assert not evaluator(control_model("steady-state", experiment)).passed  # the representative fractions
    untrained = control_model("untrained", experiment)
    first, again = evaluator(untrained), evaluator(untrained)
    assert first == again and "aggregate_capital" in first.failed
    assert list(first.values) == list(evaluator.columns)
    rows = {row.metric: row for row in general_scores(untrained, experiment).rows()}
    assert all(first.values[name] == rows[name].rl for name in rows if not isinstance(rows[name].rl, str))
    assert set(first.failed) == {name for name, row in rows.items() if row.passed is False}


def test_compare_trains_general_with_evaluations_and_stops_at_the_first_pass(tmp_path, capsys):
    """general end to end (about 20 s): with tolerances no distance reaches, the first evaluation passes and the
    training stops there; evaluations.csv holds that row.  The recipe's polishing stage runs after the stop, cut
    to one round of two steps (the recipe's ten rounds of 200 steps take minutes and are tested in
    tests/test_polish.py)."""
    tolerances = [f"{name}={NEVER_BINDING}" for name, tol in GENERAL_TOLERANCES.items() if tol is not None]
    short_polish = "polish={'rounds': 1, 'steps': 2, 'learning_rate': 1e-5, 'anchor': 100.0}"
    code = compare.main(["general", "--train", "--timesteps", "27648", "--eval-every", "9216", "--stop-at-targets",
                         "--hyper", short_polish, "--out", str(tmp_path)]
                        + [arg for tol in tolerances for arg in ("--tol", tol)])
    out = capsys.readouterr().out
    assert code == 0 and "seed 0: every judged row first passed after 9216 agent-steps" in out
    (row,) = list(csv.DictReader(open(tmp_path / "train-ppo-seed0" / "evaluations.csv")))
    assert row["passed"] == "True" and int(row["timesteps"]) == 9216
    summary = json.loads((tmp_path / "train-ppo-seed0" / "summary.json").read_text())
    assert [record["round"] for record in summary["polish"]] == [0]


class _WeightRecorder:
    """An evaluator that records the policy's weights at every call and passes from its ``passes_from``-th call on."""

    def __init__(self, passes_from=None):
        self.seen, self.passes_from = [], passes_from

    def __call__(self, model):
        self.seen.append({name: v.detach().clone() for name, v in model.policy.state_dict().items()})
        passed = self.passes_from is not None and len(self.seen) >= self.passes_from
        return Evaluation({"calls": float(len(self.seen))}, () if passed else ("calls",))

    def describe(self):
        return {}


def test_evaluations_in_the_averaging_window_score_the_average_and_leave_training_alone():
    """Inside a policy_averaging window the evaluator sees the average so far, the live weights come back bit for
    bit after it, and an evaluation that stops training leaves the average in the policy (the judged weights)."""
    from rl.callbacks import PolicyAveraging

    net = torch.nn.Linear(2, 1)
    averaging = PolicyAveraging(0.5, total=100)
    averaging.model = SimpleNamespace(policy=net, num_timesteps=0)
    for step, level in ((60, 1.0), (80, 2.0)):  # two rollouts end inside the window
        with torch.no_grad():
            net.weight.fill_(level)
            net.bias.fill_(-level)
        averaging.num_timesteps = step
        averaging.on_rollout_end()
    with torch.no_grad():
        net.weight.fill_(5.0)  # the live weights, moved on since
    live = {name: v.detach().clone() for name, v in net.state_dict().items()}
    for passes_from, stop in ((None, False), (1, True)):
        recorder = _WeightRecorder(passes_from)
        callback = ScorecardEvalCallback(recorder, 10, stop_at_target=True, verbose=0, averaging=averaging)
        callback.model = SimpleNamespace(policy=net, logger=configure_logger(None, []), num_timesteps=90)
        callback.num_timesteps, callback._next = 90, 90
        assert callback.on_step() is not stop
        assert torch.equal(recorder.seen[0]["weight"], torch.full((1, 2), 1.5))
        assert torch.equal(recorder.seen[0]["bias"], torch.full((1,), -1.5))
        expected = recorder.seen[0] if stop else live
        assert all(torch.equal(v, expected[name]) for name, v in net.state_dict().items())
        with torch.no_grad():
            net.load_state_dict(live)
    # before the window's first rollout the live policy is scored
    early = ScorecardEvalCallback(_WeightRecorder(), 10, verbose=0, averaging=PolicyAveraging(0.5, total=100))
    early.model = SimpleNamespace(policy=net, logger=configure_logger(None, []), num_timesteps=10)
    early.num_timesteps, early._next = 10, 10
    early.on_step()
    assert torch.equal(early.evaluator.seen[0]["weight"], live["weight"])


def test_a_run_stopped_at_a_target_in_the_averaging_window_saves_the_average_it_was_judged_on(tmp_path):
    """With the evaluator and without it the run trains alike (the evaluations swap weights in and out); stopped at
    an evaluation inside the window, model.zip holds the weights that evaluation saw."""
    from rl.loading import load_model

    # rollouts of 32 steps x 20 households = 640 agent-steps; the window holds those ending at 2,560 to 5,120
    settings = dict(n_steps=32, hyper_overrides={"batch_size": 640, "policy_averaging": 0.5})
    config = _config(eval_every=1_280, **settings)
    plain = train(_config(eval_every=None, **settings), tmp_path / "plain")
    watched = train(config, tmp_path / "watched", evaluator=_WeightRecorder())
    assert watched["final_return"] == plain["final_return"] and watched["averaged_rollouts"] == 5
    weights = [load_model(tmp_path / name, make_experiment("ks")).policy.state_dict() for name in ("plain", "watched")]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    # evaluations at 1,280 and 2,560 (the live policy: the window's first rollout has not ended) and 3,840 (the
    # average of the rollouts that ended at 2,560 and 3,200), which passes and stops the run
    recorder = _WeightRecorder(passes_from=3)
    stopped = train(config, tmp_path / "stopped", evaluator=recorder, stop_at_target=True)
    assert stopped["timesteps"] == 3_840 and stopped["averaged_rollouts"] == 2
    saved = load_model(tmp_path / "stopped", make_experiment("ks")).policy.state_dict()
    assert all(torch.equal(saved[k], recorder.seen[2][k]) for k in saved)
    assert not all(torch.equal(saved[k], recorder.seen[1][k]) for k in saved)
