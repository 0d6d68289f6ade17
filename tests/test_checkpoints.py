"""Checkpoints written as a set, resuming exactly, and one run per directory (rl.checkpoints, rl.train).

- A run stopped after a checkpoint and resumed ends with the same weights,
  optimiser states and learning curve, bit for bit, as the uninterrupted run
  (PPO, SAC, and TD3 acting with a lagged snapshot of its policy; the SAC
  checkpoint lies after ``learning_starts``, so the replay buffer and the
  entropy coefficient are restored too).  What is
  stopped is simulated by removing everything a kill after that checkpoint
  would not have left (later checkpoints, final model); the slow
  fault-injection test kills real processes.
- An incomplete checkpoint (no manifest) or a damaged one (a file that does
  not match its digest) is skipped with a message.
- A resume with other settings, or a fresh run into a directory of a different
  run, is refused before anything is written; ``overwrite`` replaces it.
- A second writer is refused with the lock message.
- An off-policy run keeps its replay buffer in its newest two checkpoints only;
  the older ones keep their models (scored as before) and are not resumed from.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from rl.checkpoints import (KEEP_REPLAY_BUFFERS, MANIFEST, REPLAY_BUFFER, check_checkpoint, latest_checkpoint,
                            list_checkpoints, load_checkpoint)
from rl.config import TrainConfig
from rl.train import RunDirectoryBusy, main as train_main, run_lock, train

ROOT = Path(__file__).resolve().parents[1]

PPO = TrainConfig("rbc", "ppo", 512, seed=3, n_economies=2, preset="tuned", n_steps=16, checkpoint_every=100,
                  overrides={"episode_length": 40},
                  hyper_overrides={"batch_size": 16, "n_epochs": 2, "learning_rate_final": 1e-5, "log_std_final": -3.0})
SAC = TrainConfig("rbc", "sac", 600, seed=3, n_economies=2, preset="tuned", checkpoint_every=200,
                  overrides={"episode_length": 40},
                  hyper_overrides={"learning_starts": 100, "batch_size": 32, "target_entropy_final": -4.0,
                                   "target_entropy_anneal_start": 0.5})

# TD3 whose rollouts act with a lagged snapshot of the policy (rl.behaviour): the snapshot is not saved, so a resumed
# run must rebuild it from the checkpoint's policy, taken at a refresh
TD3_SNAPSHOT = TrainConfig("rbc", "td3", 600, seed=3, n_economies=2, preset="tuned", checkpoint_every=200,
                           overrides={"episode_length": 40},
                           hyper_overrides={"learning_starts": 100, "batch_size": 32, "action_noise_std": 0.1,
                                            "expected_next_value": True, "behaviour_snapshot_every": 100})


def _tensors(zip_path: Path) -> dict:
    """Every tensor file of an SB3 zip (policy, optimisers, entropy coefficient), read without unpickling code."""
    with zipfile.ZipFile(zip_path) as archive:
        return {name: torch.load(io.BytesIO(archive.read(name)), weights_only=True)
                for name in archive.namelist() if name.endswith(".pth")}


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _stop_after(run: Path, checkpoint: Path) -> None:
    """Leave ``run`` as a kill right after ``checkpoint`` would (plus an incomplete later checkpoint)."""
    for folder in list_checkpoints(run / "checkpoints"):
        if folder.name > checkpoint.name:
            shutil.rmtree(folder)
    (run / "model.zip").unlink()
    (run / "summary.json").unlink()
    partial = run / "checkpoints" / "step_999999999999"
    partial.mkdir()
    (partial / "model.zip").write_bytes(b"")  # written, then killed before the manifest


def _curve(run: Path) -> list:
    return (run / "returns.csv").read_text().splitlines()


# PPO whose critic has its own units: the policy class and its critic_activation_fn come back on resume
PPO_CRITIC_SILU = PPO.replace(hyper_overrides={**PPO.hyper_overrides,
                                               "policy_kwargs": {"net_arch": [16, 16], "critic_activation_fn": "silu"}})

# PPO with the normalised value head: its moments (buffers, not parameters) come back on resume
PPO_VALUE_NORMALISED = PPO.replace(hyper_overrides={**PPO.hyper_overrides, "value_normalisation": 0.1})


# PPO whose model.zip holds the weights averaged over the second half: the running sums come back on resume
PPO_AVERAGED = PPO.replace(hyper_overrides={**PPO.hyper_overrides, "policy_averaging": 0.5})

# TD3 averaged over the second half: the sums over its VecEnv steps come back on resume, with the replay buffer
TD3_AVERAGED = TrainConfig("rbc", "td3", 600, seed=3, n_economies=2, preset="tuned", checkpoint_every=200,
                           overrides={"episode_length": 40},
                           hyper_overrides={"learning_starts": 100, "policy_averaging": 0.5})

# PPO with one advantage per action (rl.ppo.PerActionPPO): its own class comes back on resume
PPO_PER_ACTION = PPO.replace(hyper_overrides={**PPO.hyper_overrides, "expected_next_value": True,
                                              "per_action_advantages": True})

# DDPG with the ks-het-mild recipe's training settings at small scale (critic targets over next period's shocks, the
# actor's loss weighted by type x employment group, SiLU, decayed learning rate): the group columns and the shock
# integration are not saved, so a resumed run must set them again
DDPG_GROUPS = TrainConfig("ks-het-mild", "ddpg", 1200, seed=3, n_agents=6, n_economies=2, preset="tuned",
                          checkpoint_every=400, overrides={"episode_length": 40},
                          hyper_overrides={"learning_starts": 100, "batch_size": 32, "gradient_steps": 2,
                                           "learning_rate_final": 1e-4, "tau": 0.01, "action_noise_std": 0.05,
                                           "expected_next_value": True,
                                           "policy_kwargs": {"net_arch": [16, 16], "activation_fn": "silu"},
                                           "actor_groups": ["capital_productivity", "employed"]})


@pytest.mark.parametrize("config", [PPO, SAC, PPO_CRITIC_SILU, TD3_SNAPSHOT, PPO_VALUE_NORMALISED, PPO_AVERAGED,
                                    PPO_PER_ACTION, TD3_AVERAGED, DDPG_GROUPS],
                         ids=["ppo", "sac", "ppo-critic-silu", "td3-snapshot", "ppo-value-normalised",
                              "ppo-averaged", "ppo-per-action", "td3-averaged", "ddpg-groups"])
def test_killed_and_resumed_run_ends_with_the_same_weights(tmp_path, config, capsys):
    whole, resumed = tmp_path / "whole", tmp_path / "resumed"
    train(config, whole)
    train(config, resumed)
    checkpoints = list_checkpoints(resumed / "checkpoints")
    assert len(checkpoints) >= 2
    stop = checkpoints[0]  # the newest complete one; later rows of returns.csv are still in the file
    _stop_after(resumed, stop)
    rows_before = len(_curve(resumed))
    summary = train(config, resumed, resume=True)
    assert "skipping checkpoint step_999999999999: incomplete" in capsys.readouterr().out
    assert _equal(_tensors(whole / "model.zip"), _tensors(resumed / "model.zip"))
    steps = [line.split(",")[0] for line in _curve(resumed)]
    assert len(steps) == len(set(steps)) and len(steps) == rows_before  # every row once, none lost
    assert [line.split(",")[2] for line in _curve(whole)] == [line.split(",")[2] for line in _curve(resumed)]
    assert summary["final_return"] == json.loads((whole / "summary.json").read_text())["final_return"]
    # each sitting (the start, then the resume from the checkpoint's step) keeps its code and machine
    sittings = json.loads((resumed / "config.json").read_text())["sittings"]
    assert [s["from_step"] for s in sittings] == [0, int(stop.name.split("_")[1])]
    assert all(s["machine"]["architecture"] and "git_commit" in s["code"] for s in sittings)


def test_damaged_checkpoint_is_skipped(tmp_path, capsys):
    run = tmp_path / "run"
    train(SAC, run)
    newest, previous = list_checkpoints(run / "checkpoints")[:2]
    buffer = newest / "replay_buffer.pkl"
    buffer.write_bytes(buffer.read_bytes()[:1000])  # truncated, as a kill while SB3 wrote it in place did
    (run / "summary.json").unlink()
    train(SAC, run, resume=True)
    out = capsys.readouterr().out
    assert f"skipping checkpoint {newest.name}: replay_buffer.pkl does not match the digest" in out
    assert f"resuming from {previous}" in out


def test_other_settings_are_refused_before_anything_is_written(tmp_path):
    run = tmp_path / "run"
    train(PPO, run)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for changed, message in [(PPO.replace(overrides={"episode_length": 40, "delta": 0.1}), "delta: 0.1 here"),
                             (PPO.replace(seed=5), "seed: 5 here, 3 in the run"),
                             (PPO.replace(algo="sac", n_steps=None, hyper_overrides={}), "algo"),
                             (PPO.replace(timesteps=256), "below the run's budget")]:
        with pytest.raises(ValueError, match=message):
            train(changed, run, resume=True)
    with pytest.raises(ValueError, match="holds a different run .*--overwrite"):
        train(PPO.replace(seed=5), run)
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    # a larger budget continues the same run
    assert train(PPO.replace(timesteps=640), run, resume=True)["timesteps"] == 640


def test_overwrite_replaces_a_different_run(tmp_path):
    run = tmp_path / "run"
    train(SAC, run)
    train(PPO, run, overwrite=True)
    config = json.loads((run / "config.json").read_text())
    assert config["algorithm"] == "ppo"
    checkpoints = list_checkpoints(run / "checkpoints")
    assert all(json.loads((c / MANIFEST).read_text())["identity"]["algorithm"] == "ppo" for c in checkpoints)
    steps = [int(line.split(",")[0]) for line in _curve(run)[1:]]
    assert steps == sorted(set(steps))  # one learning curve, not SAC's followed by PPO's


def test_second_writer_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    with run_lock(run):
        with pytest.raises(RunDirectoryBusy, match="being written by another process"):
            train(PPO, run)
        with pytest.raises(SystemExit) as exit_:
            train_main(["rbc", "--algo", "ppo", "--timesteps", "64", "--out", str(run), "--no-progress"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "error:" in err and "being written by another process" in err
    assert not (run / "config.json").exists()


def test_unknown_hyperparameter_is_refused_before_the_directory_exists(tmp_path, capsys):
    run = tmp_path / "run"
    with pytest.raises(SystemExit) as exit_:
        train_main(["rbc", "--algo", "sac", "--timesteps", "64", "--hyper", "lerning_rate=1e-3", "--out", str(run)])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "argument --hyper: unknown sac hyperparameter 'lerning_rate' (did you mean 'learning_rate'?)" in err
    assert not run.exists()


def _newest_step(checkpoints: Path) -> int:
    latest = latest_checkpoint(checkpoints, log=lambda message: None)
    return latest[1]["step"] if latest else 0


def _start_up_and_interval(command: list, env: dict, checkpoints: Path) -> tuple:
    """Run ``command`` (a whole training run) to its end: the seconds until its first checkpoint interval starts
    and the median seconds between its checkpoints, both seen from outside as the kills below see them."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    seen = {}
    while process.poll() is None:
        seen.setdefault(_newest_step(checkpoints), time.monotonic() - started)
        time.sleep(0.005)
    assert process.returncode == 0
    times = sorted(t for step, t in seen.items() if step > 0)
    interval = statistics.median(b - a for a, b in zip(times, times[1:]))
    return max(times[0] - interval, 0.0), interval


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ppo", "sac"])
def test_sigkill_at_random_moments_then_resume(tmp_path, algo):
    """Kill ``python -m rl.train`` with SIGKILL at 20 random moments, resume each time: the end equals a whole run.
    The moments are drawn against the run's own pace (start-up and checkpoint interval measured beside the whole
    run), so that they land in start-up and in training (where checkpoints are being written) on a fast machine as
    on a slow one: about half of the processes are killed at a uniform moment of their start-up, the others a
    uniform fraction of an interval after their first new checkpoint. No process gets far past one new checkpoint,
    so the 20 kills leave the run unfinished (about half of it, measured), and it goes on after each. (Moments drawn
    in seconds, 2 to 6, were tuned to slower machines: where a whole run trains in 2 s, one kill finished it.)"""
    timesteps, every = 3000, 100
    args = ["rbc", "--algo", algo, "--timesteps", str(timesteps), "--seed", "1", "--n-economies", "2", "--preset",
            "tuned", "--set", "episode_length=40", "--checkpoint-every", str(every), "--no-progress"]
    args += (["--n-steps", "16", "--hyper", "batch_size=16", "--hyper", "n_epochs=2"] if algo == "ppo"
             else ["--hyper", "learning_starts=100", "--hyper", "batch_size=32"])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-W", "ignore", "-m", "rl.train", *args, "--out"]
    start_up, interval = _start_up_and_interval([*command, str(tmp_path / "whole")], env,
                                                tmp_path / "whole" / "checkpoints")
    run = tmp_path / "killed"
    rng = random.Random(0)
    kills = 0
    first = True
    reached = []  # the newest complete checkpoint's step when each process starts
    while not (run / "summary.json").exists():
        reached.append(_newest_step(run / "checkpoints"))
        process = subprocess.Popen([*command, str(run), *([] if first else ["--resume"])], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if kills < 20:
            moment = rng.uniform(0.0, 2.0)
            if moment < 1.0:  # in start-up
                time.sleep(moment * start_up)
            else:  # in training or in writing a checkpoint
                while process.poll() is None and _newest_step(run / "checkpoints") <= reached[-1]:
                    time.sleep(0.005)
                time.sleep((moment - 1.0) * interval)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                kills += 1
        output = process.communicate()[0].decode()
        assert process.returncode in (0, -signal.SIGKILL), output
        first = first and not (run / "config.json").exists()
    assert kills == 20
    assert reached[20] > 0  # the killed processes got on with the run, not only with their start-up
    assert _equal(_tensors(tmp_path / "whole" / "model.zip"), _tensors(run / "model.zip"))
    steps = [line.split(",")[0] for line in _curve(run)]
    assert steps == [line.split(",")[0] for line in _curve(tmp_path / "whole")]


def test_a_checkpoint_is_scored_with_its_runs_config(tmp_path):
    """A checkpoint folder loads for scoring (validation.compare --model RUN/checkpoints/step_*) with the run's
    config.json, its own weights; a damaged one is refused with the reason."""
    from econ.experiments import make_experiment
    from rl.loading import load_model
    from validation.compare import scoring_experiment

    run = tmp_path / "run"
    train(PPO, run)
    oldest = list_checkpoints(run / "checkpoints")[-1]
    experiment = make_experiment("rbc", episode_length=40)
    # the scorecard's experiment is the run's, overrides included (it was once the default experiment)
    assert scoring_experiment("rbc", [str(oldest)]) == experiment != make_experiment("rbc")
    model = load_model(oldest, experiment)
    saved = _tensors(oldest / "model.zip")["policy.pth"]
    assert _equal(model.policy.state_dict(), saved)
    assert not _equal(saved, _tensors(run / "model.zip")["policy.pth"])  # not the final weights
    zipped = oldest / "model.zip"
    zipped.write_bytes(zipped.read_bytes()[:-10])
    with pytest.raises(ValueError, match="not a usable checkpoint: model.zip does not match the digest"):
        load_model(oldest, experiment)


def test_older_checkpoints_drop_their_replay_buffer(tmp_path):
    """Only the newest KEEP_REPLAY_BUFFERS checkpoints of an SAC run keep the buffer; the older ones are complete
    checkpoints (their manifests match) whose models load for scoring, which a resume skips and load_checkpoint
    refuses to continue from."""
    from econ.experiments import make_experiment
    from rl.loading import load_model
    from rl.recipes import algorithm_class

    run = tmp_path / "run"
    train(SAC.replace(timesteps=1000), run)
    folders = list_checkpoints(run / "checkpoints")
    assert KEEP_REPLAY_BUFFERS == 2 and len(folders) >= 4
    for rank, folder in enumerate(folders):
        manifest = json.loads((folder / MANIFEST).read_text())
        kept = rank < KEEP_REPLAY_BUFFERS
        assert check_checkpoint(folder) is None
        assert (folder / REPLAY_BUFFER).is_file() is kept and (REPLAY_BUFFER in manifest["files"]) is kept
        assert manifest.get("replay_buffer_dropped", False) is not kept
    oldest = folders[-1]
    experiment = make_experiment("rbc", episode_length=40)
    assert _equal(load_model(oldest, experiment).policy.state_dict(), _tensors(oldest / "model.zip")["policy.pth"])
    with pytest.raises(ValueError, match="no replay buffer"):
        load_checkpoint(oldest, algorithm_class("sac"), None, replay_buffer=True)

    messages = []
    assert latest_checkpoint(run / "checkpoints", log=messages.append)[0] == folders[0]
    (folders[0] / MANIFEST).unlink()  # the newest incomplete: the one before still resumes
    assert latest_checkpoint(run / "checkpoints", log=messages.append)[0] == folders[1]
    (folders[1] / MANIFEST).unlink()  # both gone: no checkpoint to continue from, each older one said why
    assert latest_checkpoint(run / "checkpoints", log=messages.append) is None
    assert sum("its replay buffer was dropped" in m for m in messages) == len(folders) - KEEP_REPLAY_BUFFERS
