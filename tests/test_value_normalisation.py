"""PPO's normalised value head (PopArt): its moments follow the returns, moving them changes no value, and the
option is built, trained, saved, loaded and refused where it does not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from econ.experiments import make_experiment
from rl import core
from rl.config import TrainConfig
from rl.loading import build_model, load_model
from rl.policies import VALUE_STD_FLOOR, NormalisedValueHead, NormalisedValuePolicy
from rl.recipes import hyperparameters
from rl.train import train


def test_head_moments_follow_the_returns_and_every_value_is_preserved():
    """First update: mean and std are the returns' own (numpy's, population std); later ones move the moments by
    the share ``rate``; each update leaves every prediction as it was (float32 arithmetic: 1e-5 relative)."""
    torch.manual_seed(0)
    head = NormalisedValueHead(torch.nn.Linear(5, 1))
    latent = torch.randn(64, 5)
    rng = np.random.default_rng(0)
    before = head(latent).detach().clone()
    first = rng.normal(-17.0, 4.0, 500)
    head.update(torch.as_tensor(first), 0.1)
    assert head.mean.item() == pytest.approx(first.mean(), rel=1e-6)
    assert head.std.item() == pytest.approx(first.std(), rel=1e-4)
    torch.testing.assert_close(head(latent).detach(), before, rtol=1e-5, atol=1e-5)
    second = rng.normal(-5.0, 1.0, 300)
    before = head(latent).detach().clone()
    head.update(torch.as_tensor(second), 0.1)
    mean = 0.9 * first.mean() + 0.1 * second.mean()
    square = 0.9 * (first ** 2).mean() + 0.1 * (second ** 2).mean()
    assert head.mean.item() == pytest.approx(mean, rel=1e-6)
    assert head.std.item() == pytest.approx(np.sqrt(square - mean ** 2), rel=1e-4)
    torch.testing.assert_close(head(latent).detach(), before, rtol=1e-5, atol=1e-5)
    assert int(head.updates) == 2
    head.update(torch.full((10,), 3.0), 1.0)  # one constant return: the floor, no division by zero
    assert head.std.item() == pytest.approx(VALUE_STD_FLOOR, rel=1e-2) and torch.isfinite(head(latent)).all()


@pytest.mark.parametrize("returns, rate, message", [
    (torch.tensor([1.0, float("nan")]), 0.1, "finite returns"),
    (torch.tensor([]), 0.1, "at least one"),
    (torch.tensor([1.0]), 0.0, r"rate must lie in \(0.0, 1.0\]"),
    (torch.tensor([1.0]), 1.5, r"rate must lie in \(0.0, 1.0\]"),
])
def test_head_refuses_returns_it_cannot_use(returns, rate, message):
    head = NormalisedValueHead(torch.nn.Linear(3, 1))
    with pytest.raises(ValueError, match=message):
        head.update(returns, rate)
    assert int(head.updates) == 0 and head.mean.item() == 0.0


def test_policy_starts_as_mlp_policy_trains_loads_and_is_refused_where_it_does_not_apply(tmp_path):
    """Before its first update the policy predicts what MlpPolicy with the same seed predicts (same weights); a
    run updates the head once per rollout, and its model loads (every key) with the values it had."""
    exp = make_experiment("ks", 6, episode_length=40)
    obs = core.observe(exp, core.initial_state(exp, 4, np.random.default_rng(1)))
    obs = torch.as_tensor(obs.reshape(-1, obs.shape[-1]))
    normalised = build_model("ppo", hyperparameters("ppo", "tuned", exp.beta, n_steps=32,
                                                    extra={"value_normalisation": 0.1}), exp, seed=0)
    plain = build_model("ppo", hyperparameters("ppo", "tuned", exp.beta, n_steps=32), exp, seed=0)
    assert isinstance(normalised.policy, NormalisedValuePolicy)
    with torch.no_grad():
        torch.testing.assert_close(normalised.policy.predict_values(obs), plain.policy.predict_values(obs))

    run = tmp_path / "run"
    train(TrainConfig("ks", "ppo", timesteps=3 * 32 * 6, n_agents=6, n_steps=32, overrides={"episode_length": 40},
                      hyper_overrides={"value_normalisation": 0.1}), run)
    loaded = load_model(run, exp)
    head = loaded.policy.value_net
    assert isinstance(loaded.policy, NormalisedValuePolicy) and int(head.updates) == 3
    assert head.mean.item() != 0.0 and head.std.item() > VALUE_STD_FLOOR

    for algo, extra, message in [
            ("sac", {"value_normalisation": 0.1}, "value_normalisation applies to PPO only"),
            ("ppo", {"value_normalisation": 0.0}, r"value_normalisation must lie in \(0.0, 1.0\]"),
            ("ppo", {"value_normalisation": "fast"}, "value_normalisation must be a real number"),
            ("ppo", {"value_normalisation": 0.1, "critic_per_type": True},
             "value_normalisation and critic_per_type cannot be combined"),
            ("ppo", {"relative_noise": 0.1, "value_normalisation": 0.1},
             "relative_noise and value_normalisation cannot be combined"),
            ("ppo", {"value_normalisation": 0.1, "policy_kwargs": {"critic_activation_fn": "silu"}},
             "value_normalisation and policy_kwargs critic_activation_fn cannot be combined")]:
        with pytest.raises(ValueError, match=message):
            hyperparameters(algo, "tuned", 0.95, extra=extra)
