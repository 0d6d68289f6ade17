"""TD3 and DDPG with next period's shocks integrated out of the critic's targets (as :mod:`rl.sac` does for SAC).

SB3's TD3 regresses Q_j(o_t, a_t) on y = r_t + gamma min_j Q'_j(o_{t+1}, mu'(o_{t+1}) + eps), eps clipped Gaussian
target-policy smoothing noise (DDPG: one critic, no smoothing noise).  :class:`ExpectedNextValueTD3` and
:class:`ExpectedNextValueDDPG` replace the bootstrap term by its mean over next period's shocks given (o_t, a_t)
(:func:`rl.core.shock_scenarios`: the four (z', e') of a Krusell-Smith economy, log A' at Gauss-Hermite nodes in an
AR(1) one), the smoothing noise drawn independently for each scenario.  Everything else is SB3's TD3 (version
2.x: twin critics, delayed actor updates, Polyak-averaged target networks); SB3's DDPG is its TD3 with one critic,
no delay and no smoothing noise, so the same training step serves both.
"""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3 import DDPG, TD3
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F

from rl.behaviour import SnapshotBehaviour
from rl.sac import ExpectsOverShocks, WeighsActorByGroups


class _ExpectedTargetsTD3(WeighsActorByGroups, ExpectsOverShocks):
    """SB3 2.x ``TD3.train`` with the target's bootstrap term from :meth:`_next_q_values` and the actor's loss
    optionally weighted by groups (:class:`rl.sac.WeighsActorByGroups`)."""

    def _next_q_values(self, observations: th.Tensor, next_observations: th.Tensor) -> th.Tensor:
        """min_j Q'_j(o', mu'(o') + eps); its mean over the shocks with the expectation."""
        stacked, weights = self._next_observations(observations, next_observations)
        next_actions = self.actor_target(stacked)
        noise = th.randn_like(next_actions) * self.target_policy_noise
        noise = noise.clamp(-self.target_noise_clip, self.target_noise_clip)
        next_actions = (next_actions + noise).clamp(-1, 1)
        next_q = th.cat(self.critic_target(stacked, next_actions), dim=1)
        next_q, _ = th.min(next_q, dim=1, keepdim=True)
        return self._weighted_mean(next_q, weights)

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        actor_losses, critic_losses = [], []
        for _ in range(gradient_steps):
            self._n_updates += 1
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = getattr(replay_data, "discounts", None)
            discounts = self.gamma if discounts is None else discounts
            with th.no_grad():
                next_q_values = self._next_q_values(replay_data.observations, replay_data.next_observations)
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            if self._n_updates % self.policy_delay == 0:
                actions = self.actor(replay_data.observations)
                q_values = self.critic.q1_forward(replay_data.observations, actions)
                weights = self._actor_weights(replay_data.observations, actions, q_values)
                actor_loss = -(q_values.mean() if weights is None else (weights * q_values).mean())
                actor_losses.append(actor_loss.item())
                self.actor.optimizer.zero_grad()
                actor_loss.backward()
                self.actor.optimizer.step()
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.actor.parameters(), self.actor_target.parameters(), self.tau)
                polyak_update(self.critic_batch_norm_stats, self.critic_batch_norm_stats_target, 1.0)
                polyak_update(self.actor_batch_norm_stats, self.actor_batch_norm_stats_target, 1.0)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        if actor_losses:
            self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))


class ExpectedNextValueTD3(SnapshotBehaviour, _ExpectedTargetsTD3, TD3):
    """SB3's TD3 whose critic target integrates next period's shocks out (module docstring)."""


class ExpectedNextValueDDPG(SnapshotBehaviour, _ExpectedTargetsTD3, DDPG):
    """SB3's DDPG whose critic target integrates next period's shocks out (module docstring)."""
