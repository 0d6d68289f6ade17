"""rl.replay.RecentReplayBuffer and the ``recent_replay`` setting: a share of every batch from the newest transitions."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gymnasium import spaces

from econ.experiments import make_experiment
from rl.config import TrainConfig
from rl.recipes import hyperparameters
from rl.replay import RecentReplayBuffer
from rl.train import train


def _filled(rows, buffer_rows=50, n_envs=2, recent=20, share=0.5):
    """A buffer of ``buffer_rows`` rows x ``n_envs`` slots whose row i stores observation i (every slot)."""
    space = spaces.Box(-1e6, 1e6, (1,), np.float32)
    buffer = RecentReplayBuffer(buffer_rows * n_envs, space, space, device="cpu", n_envs=n_envs, recent=recent,
                                recent_share=share)
    for i in range(rows):
        obs = np.full((n_envs, 1), i, np.float32)
        buffer.add(obs, obs + 1, np.zeros((n_envs, 1), np.float32), np.zeros(n_envs), np.zeros(n_envs),
                   [{} for _ in range(n_envs)])
    return buffer


def _sampled(buffer, batch=2000, seed=0):
    np.random.seed(seed)
    return buffer.sample(batch).observations.numpy().ravel()


def test_the_recent_share_comes_from_the_newest_rows_and_the_rest_from_all():
    """20 recent transitions over 2 slots are the newest 10 rows: the first half of every batch lies there, the
    second half covers the whole buffer (its mean is that of a uniform draw, within 4 standard errors)."""
    buffer = _filled(30)
    obs = _sampled(buffer)
    recent, rest = obs[:1000], obs[1000:]
    assert set(recent) == set(range(20, 30))
    assert set(rest) == set(range(30))
    assert abs(rest.mean() - 14.5) < 4 * np.sqrt((30 ** 2 - 1) / 12 / 1000)


def test_the_newest_rows_wrap_around_a_full_buffer():
    """Rows 0-59 written into 50: rows 50-59 overwrote 0-9, and the newest 10 rows hold observations 50-59."""
    buffer = _filled(60)
    obs = _sampled(buffer)
    assert buffer.full and set(obs[:1000]) == set(range(50, 60))
    assert set(obs[1000:]) == set(range(10, 60))


def test_fewer_stored_than_recent_draws_from_all_stored():
    assert set(_sampled(_filled(4), batch=400)[:200]) == {0, 1, 2, 3}


def test_a_share_of_one_samples_only_recent_transitions():
    assert set(_sampled(_filled(30, share=1.0))) == set(range(20, 30))


@pytest.mark.parametrize("extra, message", [
    ({"recent_replay": {"transitions": 100, "share": 0.0}}, r"share must lie in \(0.0, 1.0\]"),
    ({"recent_replay": {"transitions": 100, "share": 1.5}}, r"share must lie in \(0.0, 1.0\]"),
    ({"recent_replay": {"transitions": 0, "share": 0.5}}, "transitions"),
    ({"recent_replay": {"transitions": 100}}, r"must be \{transitions: N, share: f\}"),
    ({"recent_replay": [100, 0.5]}, r"must be \{transitions: N, share: f\}"),
    ({"recent_replay": {"transitions": 2_000_000, "share": 0.5}}, r"at most buffer_size \(1000000\)"),
    ({"buffer_size": 1000, "recent_replay": {"transitions": 1001, "share": 0.5}}, r"at most buffer_size \(1000\)"),
])
def test_bad_recent_replay_settings_are_refused(extra, message):
    with pytest.raises(ValueError, match=message):
        hyperparameters("sac", "tuned", 0.95, extra=extra)


def test_recent_replay_is_off_policy_only():
    with pytest.raises(ValueError, match="not ppo"):
        hyperparameters("ppo", "tuned", 0.95, extra={"recent_replay": {"transitions": 100, "share": 0.5}})
    for algo in ("sac", "td3", "ddpg"):
        hyperparameters(algo, "tuned", 0.95, extra={"recent_replay": {"transitions": 100, "share": 0.5}})
    with pytest.raises(ValueError, match="optimize_memory_usage"):
        RecentReplayBuffer(10, spaces.Box(0, 1, (1,)), spaces.Box(0, 1, (1,)), optimize_memory_usage=True,
                           recent=5, recent_share=0.5)


def test_a_run_with_recent_replay_trains_on_it_and_differs_from_uniform_replay(tmp_path):
    """Through rl.train: the model's buffer is a RecentReplayBuffer with the setting's rows, the run trains
    deterministically, and its weights differ from the same run with SB3's uniform replay."""
    from rl.loading import load_model

    def run(name, extra):
        hyper = {"learning_starts": 320, "batch_size": 32, "gradient_steps": 2, "buffer_size": 4000,
                 "policy_kwargs": {"net_arch": [16, 16]}, **extra}
        config = TrainConfig("ks", "sac", timesteps=1280, n_economies=2, hyper_overrides=hyper,
                             checkpoint_every=640)
        train(config, tmp_path / name, progress=False)
        model = load_model(tmp_path / name, make_experiment("ks"))
        return torch.cat([p.detach().flatten() for p in model.policy.parameters()])

    recent = {"recent_replay": {"transitions": 400, "share": 0.5}}
    first, again, uniform = run("recent", recent), run("again", recent), run("uniform", {})
    assert torch.equal(first, again) and not torch.equal(first, uniform)
    # a resumed run reads its buffer back from the checkpoint (rl.checkpoints.load_checkpoint), as this class
    from rl.checkpoints import list_checkpoints
    from stable_baselines3.common.save_util import load_from_pkl
    folder = list_checkpoints(tmp_path / "recent" / "checkpoints")[0]
    stored = load_from_pkl(folder / "replay_buffer.pkl")  # what SB3's load_replay_buffer reads
    assert isinstance(stored, RecentReplayBuffer) and (stored.recent_share, stored.pos) == (0.5, 640 // 40)
    from rl.loading import build_model
    exp = make_experiment("ks")
    model = build_model("sac", hyperparameters("sac", "tuned", exp.beta, extra=recent), exp, seed=0)
    assert isinstance(model.replay_buffer, RecentReplayBuffer)
    assert (model.replay_buffer.recent_rows, model.replay_buffer.recent_share) == (400 // model.n_envs, 0.5)
