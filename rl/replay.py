"""A replay buffer whose batches draw a fixed share from the newest transitions (the ``recent_replay`` setting).

SB3's replay buffer samples uniformly from everything it holds.  Its size then
sets two things at once: how far back the data reach (coverage of the states
early policies visited, which keeps the critics from extrapolating there) and
how much of each batch is about the states the current policy visits.  On
``ks-het-mild`` with SAC and the default size (1 M transitions), capital runs
away in some seeds about 0.6 M agent-steps after the buffer began to overwrite
the early, poorer states; 4 M stopped that in the seeds measured but slowed the
learning, the current policy's states then being a small part of each batch
(docs/training.md).
:class:`RecentReplayBuffer` separates the two: a share ``recent_share`` of every
batch is drawn uniformly from the newest ``recent`` transitions, the rest
uniformly from the whole buffer (newest included), so the buffer's size sets
the coverage and the share the emphasis (in the spirit of Wang and Ross 2019,
"Boosting soft actor-critic: emphasizing recent experience").
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.buffers import ReplayBuffer

from econ import checks


class RecentReplayBuffer(ReplayBuffer):
    """SB3's :class:`~stable_baselines3.common.buffers.ReplayBuffer` with part of each batch from the newest
    transitions (module docstring).

    Parameters (besides SB3's)
    --------------------------
    recent : int
        How many of the newest transitions (over all VecEnv slots) the recent share is drawn from (the setting
        keeps it within ``buffer_size``: :func:`rl.recipes.check_recent_replay`).  While fewer are stored, all of
        them.
    recent_share : float
        The share of every batch drawn from them, in (0, 1] (rounded to whole samples).
    """

    def __init__(self, buffer_size: int, observation_space, action_space, device="auto", n_envs: int = 1,
                 optimize_memory_usage: bool = False, handle_timeout_termination: bool = True, *,
                 recent: int, recent_share: float):
        checks.positive_int("recent_replay transitions", recent)
        checks.half_open("recent_replay share", recent_share, 0.0, 1.0)
        if optimize_memory_usage:
            raise ValueError("recent_replay does not support optimize_memory_usage")
        super().__init__(buffer_size, observation_space, action_space, device=device, n_envs=n_envs,
                         optimize_memory_usage=False, handle_timeout_termination=handle_timeout_termination)
        self.recent_rows = max(1, int(recent) // self.n_envs)  # one row holds a transition of every slot
        self.recent_share = float(recent_share)

    def sample(self, batch_size: int, env=None):
        stored = self.buffer_size if self.full else self.pos
        n_recent = int(round(self.recent_share * batch_size))
        back = np.random.randint(0, min(self.recent_rows, stored), size=n_recent)
        recent = (self.pos - 1 - back) % self.buffer_size
        uniform = np.random.randint(0, stored, size=batch_size - n_recent)
        return self._get_samples(np.concatenate([recent, uniform]), env=env)
