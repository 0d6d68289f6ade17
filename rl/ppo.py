"""PPO with one advantage per action (``per_action_advantages``).

SB3's PPO gives every sample one advantage and one probability ratio, the product of the actions' ratios under its
diagonal Gaussian.  When one action's optimum lies in a flat direction and the other's in a steep one (``general``:
labour against the consumption fraction), the steep action's noise is a large part of the advantage, and the flat
action's gradient, estimated from the same scalar, carries it as noise.  :class:`PerActionPPO` takes instead, for
each action d, the advantage that :class:`rl.advantages.ExpectedNextValue` leaves after removing the other
actions' own effect on today's lookahead (``rollout_buffer.action_advantages``, shape (steps, envs, actions):
A_d = A - [L(a) - L(a_d, mu_-d)], L the one-step lookahead u + gamma E V(o'), mu the policy's mean action), and
clips each action's own ratio against it.  The policy's actions are independent given the observation, so each
action's term is a PPO surrogate of its own; their sum is the loss.  Everything else is SB3 2.x's ``PPO.train``:
minibatches of ``batch_size`` over ``n_epochs`` epochs, the advantages standardised per minibatch (here per
action), the value loss against the rollout's returns (optionally clipped), the entropy bonus, ``target_kl``,
gradient clipping and the same log entries.
"""

from __future__ import annotations

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.utils import explained_variance
from torch.nn import functional as F


def _flatten(array: np.ndarray) -> np.ndarray:
    """(steps, envs, ...) -> (envs * steps, ...), env-major, as SB3's rollout buffer flattens its tensors."""
    array = np.asarray(array)
    return array.swapaxes(0, 1).reshape((array.shape[0] * array.shape[1],) + array.shape[2:])


class PerActionPPO(PPO):
    """SB3's PPO whose policy loss is the sum over actions of each action's clipped surrogate with its own advantage
    (module docstring).  The rollout's ``action_advantages`` must have been set after the rollout (by
    :class:`rl.advantages.ExpectedNextValue` with ``per_action``); a rollout without them is refused."""

    def train(self) -> None:
        buffer = self.rollout_buffer
        per_action = getattr(buffer, "action_advantages", None)
        if per_action is None or per_action.shape != buffer.actions.shape:
            raise RuntimeError("PerActionPPO needs the rollout's action_advantages (rl.advantages.ExpectedNextValue "
                               "with per_action), one per action")
        buffer.action_advantages = None  # spent: the next rollout must set its own
        policy = self.policy
        policy.set_training_mode(True)
        self._update_learning_rate(policy.optimizer)
        clip_range = self.clip_range(self._current_progress_remaining)
        clip_range_vf = None if self.clip_range_vf is None else self.clip_range_vf(self._current_progress_remaining)

        observations = th.as_tensor(_flatten(buffer.observations), device=self.device)
        actions = th.as_tensor(_flatten(buffer.actions).astype(np.float32), device=self.device)
        old_values = th.as_tensor(_flatten(buffer.values).astype(np.float32), device=self.device)
        returns = th.as_tensor(_flatten(buffer.returns).astype(np.float32), device=self.device)
        advantages = th.as_tensor(_flatten(per_action).astype(np.float32), device=self.device)
        with th.no_grad():  # the policy that collected the rollout: nothing has updated it since
            old_log_prob = policy.get_distribution(observations).distribution.log_prob(actions)
        count = observations.shape[0]
        batch_size = count if self.batch_size is None else self.batch_size

        entropy_losses, pg_losses, value_losses, clip_fractions = [], [], [], []
        approx_kl_divs = []
        continue_training = True
        for epoch in range(self.n_epochs):
            approx_kl_divs = []
            indices = np.random.permutation(count)
            for start in range(0, count, batch_size):
                batch = th.as_tensor(indices[start:start + batch_size], device=self.device)
                distribution = policy.get_distribution(observations[batch])
                log_prob = distribution.distribution.log_prob(actions[batch])  # (batch, actions)
                values = policy.predict_values(observations[batch]).flatten()
                entropy = distribution.entropy()
                advantage = advantages[batch]
                if self.normalize_advantage and len(advantage) > 1:
                    advantage = (advantage - advantage.mean(dim=0)) / (advantage.std(dim=0) + 1e-8)
                ratio = th.exp(log_prob - old_log_prob[batch])
                surrogate = th.min(advantage * ratio, advantage * th.clamp(ratio, 1 - clip_range, 1 + clip_range))
                policy_loss = -surrogate.sum(dim=1).mean()
                pg_losses.append(policy_loss.item())
                clip_fractions.append(th.mean((th.abs(ratio - 1) > clip_range).float()).item())
                if clip_range_vf is None:
                    values_pred = values
                else:
                    values_pred = old_values[batch] + th.clamp(values - old_values[batch], -clip_range_vf,
                                                               clip_range_vf)
                value_loss = F.mse_loss(returns[batch], values_pred)
                value_losses.append(value_loss.item())
                entropy_loss = -th.mean(-log_prob.sum(dim=1)) if entropy is None else -th.mean(entropy)
                entropy_losses.append(entropy_loss.item())
                loss = policy_loss + self.ent_coef * entropy_loss + self.vf_coef * value_loss
                with th.no_grad():  # the joint policy's KL, as SB3's
                    log_ratio = (log_prob - old_log_prob[batch]).sum(dim=1)
                    approx_kl_div = th.mean((th.exp(log_ratio) - 1) - log_ratio).cpu().numpy()
                    approx_kl_divs.append(approx_kl_div)
                if self.target_kl is not None and approx_kl_div > 1.5 * self.target_kl:
                    continue_training = False
                    break
                policy.optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(policy.parameters(), self.max_grad_norm)
                policy.optimizer.step()
            self._n_updates += 1
            if not continue_training:
                break

        explained_var = explained_variance(buffer.values.flatten(), buffer.returns.flatten())
        self.logger.record("train/entropy_loss", np.mean(entropy_losses))
        self.logger.record("train/policy_gradient_loss", np.mean(pg_losses))
        self.logger.record("train/value_loss", np.mean(value_losses))
        self.logger.record("train/approx_kl", np.mean(approx_kl_divs))
        self.logger.record("train/clip_fraction", np.mean(clip_fractions))
        self.logger.record("train/loss", loss.item())
        self.logger.record("train/explained_variance", explained_var)
        if hasattr(policy, "log_std"):
            self.logger.record("train/std", th.exp(policy.log_std).mean().item())
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/clip_range", clip_range)
        if clip_range_vf is not None:
            self.logger.record("train/clip_range_vf", clip_range_vf)


__all__ = ["PerActionPPO"]
