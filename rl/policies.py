"""PPO's actor-critic with the critic's own hidden units.

SB3's ``MlpPolicy`` gives the actor and the critic the same activation.  With
``tanh`` in both, the critic of ``ks`` at N = 10 saturates: every unit of its
second layer sits at +-1 and the value is one constant, so the advantages
carry nothing but noise (docs/training.md, "PPO's critic at N = 10").
Non-saturating units in both networks let the critic fit but change what the
actor learns.  :class:`CriticActivationPolicy` changes the critic alone.
"""

from __future__ import annotations

from stable_baselines3.common.policies import ActorCriticPolicy
from torch import nn


class CriticActivationPolicy(ActorCriticPolicy):
    """``MlpPolicy`` whose value network uses ``critic_activation_fn`` (a torch.nn class); the actor keeps
    ``activation_fn``.

    Only activations are swapped, after SB3 has built both networks, so the
    layers, their names and their orthogonal initialisation are those of
    ``MlpPolicy`` with the same seed: the two policies' weights are
    interchangeable, and with ``critic_activation_fn`` equal to
    ``activation_fn`` the two compute the same.
    """

    def __init__(self, *args, critic_activation_fn: type[nn.Module], **kwargs):
        if not (isinstance(critic_activation_fn, type) and issubclass(critic_activation_fn, nn.Module)):
            raise ValueError(f"critic_activation_fn must be a torch.nn module class, got {critic_activation_fn!r}")
        # read by _build_mlp_extractor, which ActorCriticPolicy.__init__ calls
        self._critic_activation_fn = critic_activation_fn
        super().__init__(*args, **kwargs)

    @property
    def critic_activation_fn(self) -> type[nn.Module]:
        return self._critic_activation_fn

    def _build_mlp_extractor(self) -> None:
        super()._build_mlp_extractor()
        layers = [layer if isinstance(layer, nn.Linear) else self._critic_activation_fn()
                  for layer in self.mlp_extractor.value_net]
        self.mlp_extractor.value_net = nn.Sequential(*layers).to(self.device)

    def _get_constructor_parameters(self) -> dict:
        return {**super()._get_constructor_parameters(), "critic_activation_fn": self._critic_activation_fn}
