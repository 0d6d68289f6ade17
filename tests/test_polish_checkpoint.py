"""A polishing keeps its state after each complete round and resumes from it (rl.polish_checkpoint).

- polish() stopped after two rounds and resumed to three ends with the weights, the records and the draws of the
  whole three-round polishing, bit for bit: with the deterministic economy's states (a second generator) and with
  carried economies (an economy state).
- A checkpoint of other settings or of another model is refused in one line; rounds may grow.
- python -m rl.polish: an interrupted polishing is refused until --resume continues it; the finished directory is
  the uninterrupted one's, and the checkpoint is removed.
- A resumed polishing's seconds (in rl.polish and in rl.train) include the kept rounds', kept in the checkpoint.
"""

import json

import numpy as np
import pytest
import torch as th

from econ.experiments import make_experiment
from rl.config import TrainConfig
from rl.loading import build_model, load_model
from rl.polish import main as polish_main
from rl.polish_rounds import polish
from rl import polish_checkpoint
from rl.polish_checkpoint import FILE
from rl.recipes import hyperparameters
from rl.train import train

QUIET = dict(steps=20, learning_rate=1e-3, n_economies=2, periods=10, burn_in=5, seed=3, log=lambda message: None)

CASES = {"fixed point": ("general", "ppo", dict(fixed_point=0.5)),
         "carried economies": ("ks-het-marked", "sac", dict(margin="euler", price_impact=1.0, carry=True)),
         "spread capital": ("ks-het-marked", "sac", dict(margin="euler", price_impact=[0.6, 0.6, 0.7], spread=0.2)),
         "robust loss": ("general", "sac", dict(margin="euler", fixed_point=0.5, robust=0.001)),
         # the untrained rule's capital moves faster than the guard allows: rounds 2 and 3 undo their predecessors
         "guarded rounds": ("ks-het-marked", "sac", dict(margin="euler", price_impact=1.0, guard=0.1)),
         "one household far richer": ("ks-het-marked", "sac", dict(margin="euler", price_impact=1.0, reach=3.0)),
         # the learning rate falling from round 2 on, so the resumed rounds take their own rates
         "settling steps": ("ks-het-marked", "sac", dict(margin="euler", price_impact=1.0, settle=1))}


def _model(name, algo):
    exp = make_experiment(name, **({"tfp_scale": 0.0229, "productivity_scale": 0.02} if name == "general" else {}))
    extra = {"n_steps": 32} if algo == "ppo" else {}
    return exp, build_model(algo, hyperparameters(algo, "tuned", exp.beta, **extra), exp, seed=0)


def _kept_seconds(directory, seconds):
    """Set the seconds kept in ``directory``'s checkpoint (as if its rounds had taken that long)."""
    state = th.load(directory / FILE, weights_only=True)
    th.save({**state, "seconds": seconds}, directory / FILE)


def _weights(model):
    return [p.detach().clone() for p in model.policy.parameters()]


@pytest.mark.parametrize("case", CASES)
def test_a_polishing_resumed_after_a_round_is_the_whole_polishing(case, tmp_path):
    name, algo, settings = CASES[case]
    exp, whole = _model(name, algo)
    whole_messages = []
    records = polish(whole, exp, rounds=3, **{**QUIET, "log": whole_messages.append}, **settings)
    _, part = _model(name, algo)
    polish(part, exp, rounds=2, checkpoint=tmp_path, **QUIET, **settings)
    assert (tmp_path / FILE).is_file()
    _, resumed = _model(name, algo)  # a new process: the trained model as it was, the checkpoint beside it
    messages = []
    again = polish(resumed, exp, rounds=3, checkpoint=tmp_path, **{**QUIET, "log": messages.append}, **settings)
    assert messages[0].startswith("polishing resumed after round 2")
    assert messages[1:] == whole_messages[len(whole_messages) + 1 - len(messages):]  # as the whole one went on
    assert len(messages) == 2 or (case == "guarded rounds" and "round 2 undone" in messages[1])  # its backup used
    assert again == records
    assert all(th.equal(a, b) for a, b in zip(_weights(resumed), _weights(whole)))
    with pytest.raises(ValueError, match="other settings \\(steps: 20 there, 21 now\\); only rounds may"):
        polish(_model(name, algo)[1], exp, rounds=3, checkpoint=tmp_path, **{**QUIET, "steps": 21}, **settings)
    with pytest.raises(ValueError, match="other settings \\(another model's weights\\)"):  # polished now
        polish(resumed, exp, rounds=3, checkpoint=tmp_path, **QUIET, **settings)


def test_an_interrupted_command_is_refused_until_resumed(tmp_path, monkeypatch):
    hyper = {"n_steps": 32}
    train(TrainConfig("general", "ppo", timesteps=2 * 32 * 9, seed=0, preset="tuned", hyper_overrides=hyper),
          tmp_path / "run")
    command = [str(tmp_path / "run"), "--rounds", "3", "--steps", "2", "--periods", "5", "--fixed-point", "0.5"]
    assert polish_main(command + ["--out", str(tmp_path / "whole")]) == 0

    class Stop(Exception):
        pass

    keep = polish_checkpoint.save

    def stop_in_round_three(directory, **state):  # killed in round 3, before its state is kept
        if len(state["records"]) == 3:
            raise Stop
        return keep(directory, **state)

    monkeypatch.setattr(polish_checkpoint, "save", stop_in_round_three)
    with pytest.raises(Stop):
        polish_main(command + ["--out", str(tmp_path / "cut")])
    monkeypatch.undo()
    progress = tmp_path / ".cut.polishing"
    assert (progress / FILE).is_file() and not (tmp_path / "cut").exists()
    assert 0 < polish_checkpoint.elapsed(progress) < 600
    _kept_seconds(progress, 1e6)  # the two kept rounds' time counts in the polishing's
    assert polish_main(command + ["--out", str(tmp_path / "cut")]) == 2  # refused: --resume or delete it
    assert polish_main(command + ["--out", str(tmp_path / "cut"), "--resume"]) == 0
    assert 1e6 < json.loads((tmp_path / "cut" / "summary.json").read_text())["polish_seconds"] < 1e6 + 600
    assert not progress.exists() and not list(tmp_path.glob(".*"))
    exp = make_experiment("general", tfp_scale=0.0229, productivity_scale=0.02)
    whole, cut = load_model(tmp_path / "whole", exp), load_model(tmp_path / "cut", exp)
    assert all(th.equal(a, b) for a, b in zip(whole.policy.parameters(), cut.policy.parameters()))
    records = [json.loads((tmp_path / d / "summary.json").read_text())["polish"] for d in ("whole", "cut")]
    assert records[0] == records[1] and np.isfinite([r["objective_after"] for r in records[1]]).all()


def test_a_run_killed_while_polishing_resumes_its_polishing_not_its_training(tmp_path, monkeypatch):
    """rl.train with a polish setting: killed in the polishing's third round, --resume polishes on from the second
    round's state, from model-unpolished.zip, and ends with the uninterrupted run's weights and records."""
    hyper = {"n_steps": 32, "polish": {"rounds": 3, "steps": 2, "learning_rate": 1e-5, "anchor": 100.0,
                                       "periods": 5, "fixed_point": 0.5}}
    config = TrainConfig("general", "ppo", timesteps=2 * 32 * 9, seed=0, preset="tuned", hyper_overrides=hyper)
    whole = train(config, tmp_path / "whole")

    class Stop(Exception):
        pass

    keep = polish_checkpoint.save

    def stop_in_round_three(directory, **state):
        if len(state["records"]) == 3:
            raise Stop
        return keep(directory, **state)

    monkeypatch.setattr(polish_checkpoint, "save", stop_in_round_three)
    with pytest.raises(Stop):
        train(config, tmp_path / "cut")
    monkeypatch.undo()
    cut = tmp_path / "cut"
    assert (cut / "trained.json").is_file() and (cut / "polishing" / FILE).is_file()
    assert not (cut / "model.zip").exists() and not (cut / "summary.json").exists()
    _kept_seconds(cut / "polishing", 1e6)  # the kept rounds' time counts in the run's polishing and wall-clock

    def no_training(*args, **kwargs):
        raise AssertionError("the resumed run trained again")

    monkeypatch.setattr("rl.train.EconomyVecEnv", no_training)
    resumed = train(config, cut, resume=True)
    monkeypatch.undo()
    assert not (cut / "trained.json").exists() and not (cut / "polishing").exists()
    exp = make_experiment("general", tfp_scale=0.0229, productivity_scale=0.02)
    a, b = load_model(tmp_path / "whole", exp), load_model(cut, exp)
    assert all(th.equal(x, y) for x, y in zip(a.policy.parameters(), b.policy.parameters()))
    assert resumed["polish"] == whole["polish"] and [r["round"] for r in resumed["polish"]] == [0, 1, 2]
    for key in ("timesteps", "best_return", "final_return", "evaluations", "critic_explained_variance"):
        assert resumed[key] == whole[key]
    assert 1e6 < resumed["polish_seconds"] < 1e6 + 600 and resumed["wall_clock_seconds"] > resumed["polish_seconds"]
    assert json.loads((cut / "summary.json").read_text()) == resumed
    sittings = json.loads((cut / "config.json").read_text())["sittings"]
    assert [s["from_step"] for s in sittings] == [0, 2 * 32 * 9]
    # a run that ends its training anew (from the beginning) drops the polishing's state first
    (cut / "polishing").mkdir()
    train(config, cut, overwrite=True)
    assert not (cut / "polishing").exists() and not (cut / "trained.json").exists()
