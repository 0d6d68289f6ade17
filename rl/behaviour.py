"""Off-policy data from a lagged snapshot of the shared policy: one economy per stretch of training.

With parameter sharing every household of an economy acts with the policy being trained, so the economy a
household's critic learns (the others' saving, hence prices) moves with every update, and the replay buffer mixes
stretches in which the household's own action and everybody else's moved together: conditional on today's state,
a household's action and next period's aggregate capital are correlated through the policy's history, not only
through its own effect on prices.  :class:`SnapshotBehaviour` makes the data come from a frozen copy of the policy
(every household, with the algorithm's exploration noise), refreshed by :class:`BehaviourSnapshots` at the first
rollout start at or past each multiple of ``every`` agent-steps.  Between refreshes the critic learns the value of
the current actor against others who play the snapshot (off-policy data, which the algorithms accept), and the
actor moves towards a best response to it: a best-response iteration whose fixed point, snapshot = best response,
is the symmetric equilibrium of the finite-N game (the price-impact benchmark).  A replay buffer of at most
``every`` transitions holds mostly one stretch's economy.

The snapshot is not saved: a run refreshes it at its start, so checkpoints must fall on refreshes
(``checkpoint_every`` a multiple of ``every``, checked by :func:`check_snapshot_every`) for a resumed run to
continue exactly.  ``behaviour_snapshot_every`` in a recipe sets it (:mod:`rl.recipes`).
"""

from __future__ import annotations

import copy

from stable_baselines3.common.callbacks import BaseCallback

from econ import checks


def check_snapshot_every(every, checkpoint_every: int) -> None:
    """``every`` a positive integer dividing ``checkpoint_every`` (a checkpoint is then also a refresh)."""
    checks.positive_int("behaviour_snapshot_every", every)
    if int(checkpoint_every) % int(every):
        raise ValueError(f"behaviour_snapshot_every ({every}) must divide checkpoint_every ({checkpoint_every}): "
                         "the snapshot is not saved, a checkpoint must fall on a refresh")


class SnapshotBehaviour:
    """Mixin of an SB3 off-policy algorithm: once :meth:`refresh_behaviour` has been called, the actions of the
    rollouts come from a frozen copy of the policy taken then (exploration included), not from the policy being
    trained.  Before that, and at evaluation (:meth:`predict`), the live policy acts."""

    _behaviour_policy = None

    def refresh_behaviour(self) -> None:
        """The behaviour policy becomes a copy of the live policy's current weights."""
        if self._behaviour_policy is None:
            self._behaviour_policy = copy.deepcopy(self.policy)
            self._behaviour_policy.set_training_mode(False)
            for parameter in self._behaviour_policy.parameters():
                parameter.requires_grad_(False)
        else:
            self._behaviour_policy.load_state_dict(self.policy.state_dict())

    def _sample_action(self, learning_starts, action_noise=None, n_envs: int = 1):
        if self._behaviour_policy is None:
            return super()._sample_action(learning_starts, action_noise, n_envs)
        live, self.policy = self.policy, self._behaviour_policy
        try:
            return super()._sample_action(learning_starts, action_noise, n_envs)
        finally:
            self.policy = live

    def _excluded_save_params(self) -> list:
        return super()._excluded_save_params() + ["_behaviour_policy"]


class BehaviourSnapshots(BaseCallback):
    """Refresh the model's behaviour snapshot (:class:`SnapshotBehaviour`) at the start of training and at the first
    rollout start at or past each multiple of ``every`` agent-steps (the rule of
    :class:`rl.checkpoints.CheckpointCallback`, so a checkpoint whose interval ``every`` divides is written at a
    refresh, with the snapshot equal to the policy it saves)."""

    def __init__(self, every: int):
        super().__init__(0)
        self.every = int(every)
        self.last = None
        self.refreshes = 0

    def _on_training_start(self) -> None:
        if not isinstance(self.model, SnapshotBehaviour):
            raise TypeError(f"{type(self.model).__name__} cannot act with a behaviour snapshot "
                            "(behaviour_snapshot_every needs expected_next_value: true)")
        self._refresh()

    def _refresh(self) -> None:
        self.model.refresh_behaviour()
        self.last = int(self.num_timesteps)
        self.refreshes += 1

    def _on_rollout_start(self) -> None:
        if self.num_timesteps // self.every > self.last // self.every:
            self._refresh()

    def _on_step(self) -> bool:
        return True
