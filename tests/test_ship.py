"""validation.ship: only finished runs of registered experiments that score, and a policy replaced as a whole."""

from __future__ import annotations

import json
import shutil

import pytest

from validation.compare import POLICY_DIR
from validation.ship import main, ship


@pytest.fixture
def shipped(tmp_path):
    """A copy of the shipped policies' folder for rbc-full-depreciation (the fastest scorecard) and a run."""
    destination = tmp_path / "policies"
    shutil.copytree(POLICY_DIR / "rbc-full-depreciation", destination / "rbc-full-depreciation")
    run = tmp_path / "run"
    shutil.copytree(POLICY_DIR / "rbc-full-depreciation", run)
    return destination, run


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_an_unfinished_run_is_refused_and_the_policy_is_untouched(shipped):
    destination, run = shipped
    before = _snapshot(destination / "rbc-full-depreciation")
    (run / "model.zip").unlink()
    with pytest.raises(ValueError, match="model.zip missing"):
        ship(run, destination)
    assert _snapshot(destination / "rbc-full-depreciation") == before


def test_an_experiment_name_is_never_a_path(shipped, capsys):
    destination, run = shipped
    config = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**config, "experiment_name": "../../escape"}))
    with pytest.raises(ValueError, match="not one of"):
        ship(run, destination)
    assert sorted(p.name for p in destination.parent.iterdir()) == ["policies", "run"]
    with pytest.raises(SystemExit):
        main([str(run)])
    assert "not one of" in capsys.readouterr().err


def test_a_scoring_run_replaces_the_policy_directory_as_a_whole(shipped):
    destination, run = shipped
    (destination / "rbc-full-depreciation" / "stale.txt").write_text("from an earlier policy")
    target = ship(run, destination)
    assert target == destination / "rbc-full-depreciation"
    assert not (target / "stale.txt").exists()
    assert (target / "model.zip").read_bytes() == (run / "model.zip").read_bytes()
    assert "scorecard when shipped: passes" in (target / "TRAINED.md").read_text()
    assert [p.name for p in destination.iterdir()] == ["rbc-full-depreciation"]  # no temporary left behind


def test_the_note_of_a_run_trained_by_validation_compare_with_scorecard_evaluations():
    """A run of ``validation.compare EXPERIMENT --train --eval-every`` records its own command line and scorecard
    evaluations (judged rows, not a welfare loss): the note names the command and the verdict."""
    from validation.ship import trained_note

    config = {"experiment_name": "general", "argv": ["/repo/validation/compare.py", "general", "--train"], "seed": 1,
              "algorithm": "ppo", "preset": "tuned", "hyperparameters": {}, "n_agents": 9, "n_economies": 8}
    row = {"timesteps": 8000064, "passed": False, "failed": "euler_residual_5;intratemporal_residual_0"}
    note = trained_note(config, {"timesteps": 8008704, "evaluations": [row]})
    assert "    python -m validation.compare general --train" in note
    assert "last training-time evaluation: 2 judged scorecard rows failing after 8000064 agent-steps" in note
    stopped = trained_note(config, {"timesteps": 4000032, "evaluations": [], "target_reached": {**row, "failed": ""}})
    assert "stopped early: the training-time evaluation reached every judged scorecard row passing after" in stopped


def test_the_note_names_the_run_directory_without_the_training_machine_s_path():
    from validation.ship import trained_note

    config = {"experiment_name": "ks", "seed": 0, "algorithm": "ppo", "preset": "tuned", "hyperparameters": {},
              "n_agents": 20, "n_economies": 8}
    for out, shown in ((["--out", "/home/someone/runs19/ks-s0"], "--out runs/ks-s0"),
                       (["--out=/tmp/x/ks-s0"], "--out=runs/ks-s0")):
        note = trained_note({**config, "argv": ["/repo/rl/train.py", "ks", *out, "--seed", "0"]}, {"timesteps": 1})
        assert f"    python -m rl.train ks {shown} --seed 0" in note and "/home" not in note and "/tmp" not in note


def test_the_note_names_the_machine_a_run_was_trained_on_when_recorded():
    from validation.ship import trained_note

    config = {"experiment_name": "ks", "seed": 0, "algorithm": "ppo", "preset": "tuned", "hyperparameters": {},
              "n_agents": 20, "n_economies": 8, "argv": ["/repo/rl/train.py", "ks"]}
    machine = {"cpu": "AMD EPYC", "architecture": "x86_64", "torch_cpu_capability": "AVX512"}
    assert "- machine: AMD EPYC, torch kernels AVX512" in trained_note({**config, "machine": machine}, {"timesteps": 1})
    assert "- machine:" not in trained_note(config, {"timesteps": 1})  # runs from before the record
    # a resumed run lists its sittings, each with its machine and commit; one sitting needs no list
    sittings = [{"from_step": 0, "code": {"git_commit": "a" * 40}, "machine": machine},
                {"from_step": 800, "code": {"git_commit": "b" * 40}, "machine": {**machine, "cpu": "Intel Xeon"}}]
    note = trained_note({**config, "machine": machine, "sittings": sittings}, {"timesteps": 1})
    assert ("- trained in 2 sittings (resumed from a checkpoint): from agent-step 0, AMD EPYC, commit aaaaaaaaaaaa; "
            "from agent-step 800, Intel Xeon, commit bbbbbbbbbbbb") in note
    assert "sittings" not in trained_note({**config, "sittings": sittings[:1]}, {"timesteps": 1})
    # the command of the last sitting, without --resume: on a fresh machine it trains the same run from the start
    resumed = {**config, "argv": ["/repo/rl/train.py", "ks", "--out", "/x/run", "--resume"], "sittings": sittings}
    assert "    python -m rl.train ks --out runs/run\n" in trained_note(resumed, {"timesteps": 1})
    # a model averaged over the final stretch says so (and a run stopped at a target judged on the average too)
    averaged = {**config, "hyperparameters": {"policy_averaging": 0.1}}
    assert "holds the weights averaged over the run's last 88 rollouts" in trained_note(
        averaged, {"timesteps": 100, "averaged_rollouts": 88})
    assert "averaged" not in trained_note(averaged, {"timesteps": 50, "averaged_rollouts": 0})  # stopped before it
    # a polished model says so, with what polishing did, and that the evaluations came before it
    rounds = [{"objective_before": 4e-4, "objective_after": 3e-4}, {"objective_before": 3e-4, "objective_after": 1e-4}]
    note = trained_note(averaged, {"timesteps": 100, "polish": rounds})
    assert "polished along labour at unchanged saving (`polish`, 2 rounds)" in note and "4.00e-04 -> 1.00e-04" in note
    timed = trained_note(averaged, {"timesteps": 100, "polish": rounds, "polish_seconds": 276.6})
    assert "(`polish`, 2 rounds, 277 s)" in timed
    assert "polished" not in trained_note(averaged, {"timesteps": 100})
    by_command = {**config, "polished_from": {"margin": "lookahead"}}  # python -m rl.polish records it there
    assert "polished through the one-step lookahead" in trained_note(by_command, {"timesteps": 100, "polish": rounds})
    # a run polished in training, then by the command: the command's margin is the latest
    both = {**by_command, "hyperparameters": {"polish": {"rounds": 2}}}
    assert "own action" in trained_note(both, {"timesteps": 100, "polish": rounds})
    # its rounds and slopes are the latest polishing's; the earlier rounds are counted apart
    again = {**both, "polished_from": {"margin": "lookahead", "rounds": 1}}
    note = trained_note(again, {"timesteps": 100, "polish": rounds})
    assert "(`polish`, 1 round, after 1 round of an earlier polishing)" in note and "3.00e-04 -> 1.00e-04" in note
    # the polishing command follows the training command, with the run's path made portable like --out
    in_training = {**config, "hyperparameters": {"polish": {"rounds": 2}}}  # polished by rl.train: no command
    assert "polished by" not in trained_note(in_training, {"timesteps": 100, "polish": rounds})
    compared = {**config, "argv": ["python", "-m", "validation.compare", "general", "--train", "--out", "/x/new-s0"],
                "polished_from": {"run": "/x/new-s0/train-ppo-seed0", "model": "model-unpolished.zip", "rounds": 20,
                                  "steps": 200, "learning_rate": 1e-05, "anchor": 100.0, "margin": "intratemporal",
                                  "periods": 200, "seed": 0}}
    assert ("    python -m rl.polish runs/new-s0/train-ppo-seed0 --unpolished --rounds 20 --steps 200 --learning-rate "
            "1e-05 --anchor 100.0 --margin intratemporal --periods 200 --seed 0 --out runs/polished"
            ) in trained_note(compared, {"timesteps": 100})
    trained = {**compared, "argv": ["python", "-m", "rl.train", "general", "--out", "/x/run"],
               "polished_from": {"run": "/x/run", "model": "model.zip", "rounds": 2}}
    assert "    python -m rl.polish runs/run --rounds 2 --out runs/polished" in trained_note(trained, {"timesteps": 1})
    # polished twice: both commands, the second from the directory the first wrote
    twice = {**trained, "earlier_polishings": [trained["polished_from"]],
             "polished_from": {"run": "/x/polished", "model": "model.zip", "rounds": 1}}
    assert ("    python -m rl.polish runs/run --rounds 2 --out runs/polished-1\n"
            "    python -m rl.polish runs/polished-1 --rounds 1 --out runs/polished-2\n") in trained_note(
        twice, {"timesteps": 1})
    weighted = {**trained, "polished_from": {**trained["polished_from"], "fixed_point": 0.5,
                                             "code": {"git_commit": "abc123", "git_dirty": False},
                                             "machine": {"cpu": "AMD EPYC"}}}
    assert "- polishing code: git commit abc123, on AMD EPYC" in trained_note(weighted, {"timesteps": 1})
    assert "    python -m rl.polish runs/run --rounds 2 --fixed-point 0.5 --out runs/polished" in trained_note(
        weighted, {"timesteps": 1})
    # the euler margin: what it drives to zero, and its price impact in the command
    euler = {**trained, "polished_from": {**trained["polished_from"], "margin": "euler", "price_impact": "measured"}}
    note = trained_note(euler, {"timesteps": 1, "polish": rounds})
    assert "polished on the Euler equation (`polish`, 2 rounds)" in note and "mean |log Euler error|" in note
    assert "    python -m rl.polish runs/run --rounds 2 --margin euler --price-impact measured --out runs/polished" \
        in note
    # an anchor recorded with the euler margin (earlier rl.polish recorded it for every margin) is left out:
    # rl.polish refuses it there
    anchored = {**euler, "polished_from": {**euler["polished_from"], "anchor": 100.0}}
    assert "--anchor" not in trained_note(anchored, {"timesteps": 1})
    longer = {**euler, "polished_from": {**euler["polished_from"], "burn_in": 1000}}
    assert "--rounds 2 --margin euler --burn-in 1000 --price-impact measured" in trained_note(longer, {"timesteps": 1})
    balanced = {**euler, "polished_from": {**euler["polished_from"], "balanced": True}}
    assert "--price-impact measured --balanced --out runs/polished" in trained_note(balanced, {"timesteps": 1})
    given = {**euler, "polished_from": {**euler["polished_from"], "price_impact": [0.63, 0.63, 0.7]}}
    assert "--margin euler --price-impact 0.63,0.63,0.7 --out" in trained_note(given, {"timesteps": 1})
