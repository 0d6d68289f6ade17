"""SAC with next period's shocks integrated out of the critic's targets.

SB3's SAC regresses Q(o_t, a_t) on the sampled target
y = r_t + gamma (min_j Q'_j(o_{t+1}, a') - alpha log pi(a' | o_{t+1})), a' ~ pi(. | o_{t+1}).
In the KS economies o_{t+1} holds next period's aggregate state z' and the
household's own employment e', drawn after the action; for a household with
little wealth the value of finding a job or not differs by several units, so
most of the target's variance is that draw, which carries no information about
the action.  In the AR(1) economies it holds next period's log TFP, whose
innovation moves the value far more than the labour choice does.
:class:`ExpectedNextValueSAC` replaces the bootstrap term by its expectation
over those shocks given (o_t, a_t) -- the same expectation as
:func:`rl.core.next_state_values` (own and aggregate capital at t+1 are set at
t; the shocks' law is the environment's, :func:`rl.core.shock_scenarios`) -- so
the target keeps its conditional mean and loses that variance (expected SARSA
over the exogenous shocks; Sutton and Barto 2018, section 6.6).  Everything
else is SB3's SAC (version 2.x: actor, twin critics, automatic temperature,
Polyak-averaged target critics).

:meth:`ExpectedNextValueSAC.weigh_actor_by_groups` (the ``actor_groups`` setting, :class:`WeighsActorByGroups`,
which TD3 and DDPG share) also rescales each group's share of the actor's loss (groups of households such as kappa
type x employment) so that every group's action-gradient of Q has the same size in each batch: the off-policy
counterpart of PPO's :class:`rl.advantages.GroupAdvantageNormalisation`.
:meth:`ExpectedNextValueSAC.weigh_critic_by_groups` (the ``critic_groups`` setting) does the same for the critics'
regression: each group's temporal-difference errors are scaled by their root mean square in the batch, so a group
with large values (and large errors) does not set the critics' gradient alone.

:meth:`ExpectedNextValueSAC.set_critic_pessimism` (the ``critic_pessimism`` setting, p in [0, 1]) replaces the
minimum over the critics, in the target and in the actor's objective alike, by :func:`combine_critics`,
p min_j Q_j + (1 - p) mean_j Q_j: p = 1 is SB3's clipped double Q (Fujimoto et al. 2018), p = 0 the critics'
mean; in between, the weighted double Q of Zhang et al. (2017).  With two critics it is mean - p |Q_1 - Q_2| / 2.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch as th
from stable_baselines3 import SAC
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F

from econ.experiments import Experiment
from rl.behaviour import SnapshotBehaviour
from rl.core import check_shock_expectation, shock_law, shock_scenarios


class ShockExpectation:
    """E[f(o_{t+1}) | o_t] over next period's shocks for SAC's targets, in torch (:func:`rl.core.shock_scenarios`).

    :meth:`expand` returns the next observations of a batch under each of the S
    scenarios of next period's shocks (Krusell-Smith: the four (z', e') in
    {bad, good} x {unemployed, employed}; AR(1): log A' at the Gauss-Hermite
    nodes), stacked (S B, d), and their probabilities (S, B, 1) given today's
    observations.  The scenarios are :func:`rl.core.shock_scenarios`, the same
    ones PPO's advantages use (:func:`rl.core.next_state_values`).
    """

    def __init__(self, experiment: Experiment):
        check_shock_expectation(experiment)
        self.experiment = experiment
        self.law = shock_law(experiment) if experiment.technology == "ks" else None  # computed once, not per batch

    def expand(self, observations: th.Tensor, next_observations: th.Tensor):
        scenarios = shock_scenarios(self.experiment, observations.detach().cpu().numpy(), self.law)
        count = len(scenarios.values)
        values = th.as_tensor(scenarios.values.reshape(-1, len(scenarios.columns)), device=next_observations.device)
        stacked = next_observations.repeat(count, 1)  # scenario-major, as the weights
        for j, column in enumerate(scenarios.columns):
            stacked[:, column] = values[:, j]
        weights = th.as_tensor(scenarios.weights, dtype=th.float32, device=next_observations.device)
        return stacked, weights.unsqueeze(-1)


class ExpectsOverShocks:
    """Mixin of the off-policy algorithms whose critic targets integrate next period's shocks out.

    Call :meth:`expect_over_shocks` with the experiment after building or
    loading the model; until then it trains exactly as SB3's algorithm (the
    same code path with the sampled next observation).  The expectation is not
    saved with the model.
    """

    shock_expectation: Optional[ShockExpectation] = None

    def expect_over_shocks(self, experiment: Experiment):
        self.shock_expectation = ShockExpectation(experiment)
        return self

    def _excluded_save_params(self) -> list:
        return super()._excluded_save_params() + ["shock_expectation"]

    def _next_observations(self, observations: th.Tensor, next_observations: th.Tensor):
        """The next observations to evaluate the target networks on, and the weights of their mean (or None)."""
        if self.shock_expectation is None:
            return next_observations, None
        return self.shock_expectation.expand(observations, next_observations)

    @staticmethod
    def _weighted_mean(values: th.Tensor, weights) -> th.Tensor:
        """(S B, 1) values of the scenarios, averaged with their (S, B, 1) weights; as they are without weights."""
        return values if weights is None else (values.reshape(weights.shape) * weights).sum(dim=0)


def combine_critics(values: th.Tensor, pessimism: float = 1.0) -> th.Tensor:
    """The critics' values (B, n) combined into one (B, 1): ``pessimism`` * their minimum + (1 - ``pessimism``) *
    their mean (module docstring); exactly the minimum at 1."""
    smallest = th.min(values, dim=1, keepdim=True).values
    if pessimism == 1.0:
        return smallest
    return pessimism * smallest + (1.0 - pessimism) * values.mean(dim=1, keepdim=True)


def group_weights(groups: th.Tensor, sizes: th.Tensor) -> th.Tensor:
    """Per-sample weights (B, 1) that give every group the same root-mean-square size.

    ``groups`` (B,) are group indices, ``sizes`` (B,) what each sample's gradient scales with (the norm of
    dQ/da for the actor, the absolute temporal-difference error for a critic).  Sample i of group g gets
    1 / rms_g, the weights scaled to mean 1 over the batch; a group whose sizes are all zero keeps weight 1
    before that scaling.
    """
    counts = th.bincount(groups).to(sizes.dtype)
    squares = th.zeros_like(counts).index_add_(0, groups, sizes ** 2)
    rms = th.sqrt(squares / counts.clamp(min=1))  # groups absent from the batch: 0, and never indexed
    weights = th.where(rms > 0, 1.0 / rms.clamp(min=th.finfo(rms.dtype).tiny), th.ones_like(rms))[groups]
    return (weights / weights.mean()).reshape(-1, 1)


class WeighsActorByGroups:
    """Mixin of the off-policy algorithms whose actor's loss can be weighted by groups of households
    (:meth:`weigh_actor_by_groups`, the ``actor_groups`` setting): SAC here, TD3 and DDPG in :mod:`rl.td3`."""

    actor_group_columns: Optional[list] = None

    def weigh_actor_by_groups(self, columns: Optional[list]):
        """Weight each group's share of the actor loss (groups: the distinct values of the observation
        ``columns``, see :func:`rl.advantages.group_columns`) by :func:`group_weights`; None: SB3's plain mean.
        Not saved with the model (set it again after loading, as the expectation)."""
        self.actor_group_columns = None if columns is None else list(columns)
        return self

    def _excluded_save_params(self) -> list:
        return super()._excluded_save_params() + ["actor_group_columns"]

    @staticmethod
    def _groups(observations: th.Tensor, columns: list) -> th.Tensor:
        _, groups = th.unique(observations[:, columns], dim=0, return_inverse=True)
        return groups

    def _actor_weights(self, observations: th.Tensor, actions_pi: th.Tensor, qf_pi: th.Tensor):
        """Per-sample weights (B, 1) of the actor's loss from the norms of dQ/da; None without groups."""
        if self.actor_group_columns is None:
            return None
        gradient, = th.autograd.grad(qf_pi.sum(), actions_pi, retain_graph=True)
        return group_weights(self._groups(observations, self.actor_group_columns), gradient.norm(dim=1)).detach()


class ExpectedNextValueSAC(SnapshotBehaviour, WeighsActorByGroups, ExpectsOverShocks, SAC):
    """SB3's SAC whose critic target integrates next period's shocks out (module docstring;
    :class:`ExpectsOverShocks`), optionally with the actor's and the critics' losses weighted by groups
    (:meth:`weigh_actor_by_groups`, :meth:`weigh_critic_by_groups`)."""

    critic_group_columns: Optional[list] = None
    critic_pessimism: float = 1.0

    def set_critic_pessimism(self, pessimism: float):
        """Combine the critics by :func:`combine_critics` with this weight on their minimum (in [0, 1]; 1, the
        default, is SB3's).  Not saved with the model (set it again after loading, as the expectation)."""
        pessimism = float(pessimism)
        if not 0.0 <= pessimism <= 1.0:
            raise ValueError(f"critic_pessimism must be in [0, 1], got {pessimism}")
        self.critic_pessimism = pessimism
        return self

    def weigh_critic_by_groups(self, columns: Optional[list]):
        """Weight each critic's squared errors by :func:`group_weights` of its absolute errors (groups as in
        :meth:`weigh_actor_by_groups`), so every group's errors move the critics equally; None: SB3's plain
        mean squared error.  Not saved with the model."""
        self.critic_group_columns = None if columns is None else list(columns)
        return self

    def _excluded_save_params(self) -> list:
        return super()._excluded_save_params() + ["critic_group_columns", "critic_pessimism"]

    def _critic_loss(self, observations: th.Tensor, current_q_values, target_q_values: th.Tensor) -> th.Tensor:
        if self.critic_group_columns is None:
            return 0.5 * sum(F.mse_loss(current_q, target_q_values) for current_q in current_q_values)
        groups = self._groups(observations, self.critic_group_columns)
        loss = 0.0
        for current_q in current_q_values:
            errors = current_q - target_q_values
            weights = group_weights(groups, errors.detach().abs().flatten())
            loss = loss + 0.5 * (weights * errors ** 2).mean()
        return loss

    def _next_q_values(self, observations: th.Tensor, next_observations: th.Tensor, ent_coef) -> th.Tensor:
        """min_j Q'_j(o', a') - alpha log pi(a' | o'), a' ~ pi(. | o') (the minimum: :func:`combine_critics`); with
        the expectation, its mean over the shocks."""
        stacked, weights = self._next_observations(observations, next_observations)
        next_actions, next_log_prob = self.actor.action_log_prob(stacked)
        next_q = combine_critics(th.cat(self.critic_target(stacked, next_actions), dim=1), self.critic_pessimism)
        next_q = next_q - ent_coef * next_log_prob.reshape(-1, 1)
        return self._weighted_mean(next_q, weights)

    def train(self, gradient_steps: int, batch_size: int = 64) -> None:
        # SB3 2.x SAC.train, with the target's bootstrap term from _next_q_values
        self.policy.set_training_mode(True)
        optimizers = [self.actor.optimizer, self.critic.optimizer]
        if self.ent_coef_optimizer is not None:
            optimizers += [self.ent_coef_optimizer]
        self._update_learning_rate(optimizers)

        ent_coef_losses, ent_coefs = [], []
        actor_losses, critic_losses = [], []
        for gradient_step in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            discounts = getattr(replay_data, "discounts", None)
            discounts = self.gamma if discounts is None else discounts
            if self.use_sde:
                self.actor.reset_noise()
            actions_pi, log_prob = self.actor.action_log_prob(replay_data.observations)
            log_prob = log_prob.reshape(-1, 1)

            ent_coef_loss = None
            if self.ent_coef_optimizer is not None and self.log_ent_coef is not None:
                ent_coef = th.exp(self.log_ent_coef.detach())
                ent_coef_loss = -(self.log_ent_coef * (log_prob + self.target_entropy).detach()).mean()
                ent_coef_losses.append(ent_coef_loss.item())
            else:
                ent_coef = self.ent_coef_tensor
            ent_coefs.append(ent_coef.item())
            if ent_coef_loss is not None and self.ent_coef_optimizer is not None:
                self.ent_coef_optimizer.zero_grad()
                ent_coef_loss.backward()
                self.ent_coef_optimizer.step()

            with th.no_grad():
                next_q_values = self._next_q_values(replay_data.observations, replay_data.next_observations, ent_coef)
                target_q_values = replay_data.rewards + (1 - replay_data.dones) * discounts * next_q_values

            current_q_values = self.critic(replay_data.observations, replay_data.actions)
            critic_loss = self._critic_loss(replay_data.observations, current_q_values, target_q_values)
            critic_losses.append(critic_loss.item())
            self.critic.optimizer.zero_grad()
            critic_loss.backward()
            self.critic.optimizer.step()

            q_values_pi = th.cat(self.critic(replay_data.observations, actions_pi), dim=1)
            qf_pi = combine_critics(q_values_pi, self.critic_pessimism)
            weights = self._actor_weights(replay_data.observations, actions_pi, qf_pi)
            actor_loss = ent_coef * log_prob - qf_pi
            actor_loss = actor_loss.mean() if weights is None else (weights * actor_loss).mean()
            actor_losses.append(actor_loss.item())
            self.actor.optimizer.zero_grad()
            actor_loss.backward()
            self.actor.optimizer.step()

            if gradient_step % self.target_update_interval == 0:
                polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
                polyak_update(self.batch_norm_stats, self.batch_norm_stats_target, 1.0)

        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/ent_coef", np.mean(ent_coefs))
        self.logger.record("train/actor_loss", np.mean(actor_losses))
        self.logger.record("train/critic_loss", np.mean(critic_losses))
        if len(ent_coef_losses) > 0:
            self.logger.record("train/ent_coef_loss", np.mean(ent_coef_losses))
