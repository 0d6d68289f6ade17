"""Policies with a changed critic: PPO's actor-critic with the critic's own hidden units
(:class:`CriticActivationPolicy`), and SAC with one critic network per household type (:class:`TypeCriticSACPolicy`).

SB3's ``MlpPolicy`` gives the actor and the critic the same activation.  With
``tanh`` in both, the critic of ``ks`` at N = 10 saturates: every unit of its
second layer sits at +-1 and the value is one constant, so the advantages
carry nothing but noise (docs/training.md, "PPO's critic at N = 10").
Non-saturating units in both networks let the critic fit but change what the
actor learns.  :class:`CriticActivationPolicy` changes the critic alone.

SAC's twin critics are each one network for every household, and in the
economies with kappa types the actor follows its critics' optimum, which is
what misses the types' best responses (docs/training.md, "SAC on
ks-het-mild").  :class:`TypeCriticSACPolicy` gives every type its own critic
networks (the actor stays shared): each sample's Q is read from the networks
of its type, so one type's fit cannot smooth another's.  Measured there: it
brings the middle type to its best response, not the high type.
:class:`TypeNetworksPolicy` does the same for PPO's value network, its actor,
or both: each type's value or action is read from its own hidden layers (the
output layers stay shared).

PPO's Gaussian noise has one standard deviation for every household, in the
action box, which the environment maps affinely onto the consumption
fraction.  A household that consumes 8 percent of its wealth and one that
consumes 55 percent are then explored by the same absolute amount: the first
is biased by the noise (its optimal mean moves by about sigma^2 / fraction),
the second barely sees its own advantages through it (the policy gradient's
signal-to-noise ratio is proportional to sigma).  :class:`RelativeNoisePolicy`
makes the noise proportional to the fraction at the mean action.

PPO's value network fits the level of the returns with its hidden units: under
Adam every weight moves by about the learning rate per step, so the output
layer's bias alone would take tens of thousands of steps to reach a level some
ten units from its start (value loss about 300 on the first rollouts), and the
tanh units saturate on the way (``ks`` at N = 10).
:class:`NormalisedValuePolicy` gives the value an affine output, mean + std x
the network's, whose two numbers follow the returns (PopArt, van Hasselt et
al. 2016) and are moved without changing any value the critic predicts.
"""

from __future__ import annotations

import copy
from typing import Sequence, Union

import numpy as np
import torch as th
from stable_baselines3.common.policies import ActorCriticPolicy, ContinuousCritic
from stable_baselines3.common.torch_layers import FlattenExtractor, create_mlp
from stable_baselines3.sac.policies import SACPolicy
from stable_baselines3.common.distributions import DiagGaussianDistribution
from torch import nn

from econ import checks
from econ.economy import ACTION_EPS


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


def type_key(type_column: Union[int, Sequence[int]]) -> Union[int, list[int]]:
    """The observation column (an int) or columns (a list of ints, two or more) whose values make a household's
    type; a ValueError for an empty or repeated list."""
    if isinstance(type_column, (int, np.integer)):
        return int(type_column)
    columns = [int(c) for c in type_column]
    if len(columns) < 2 or len(set(columns)) != len(columns):
        raise ValueError(f"type_column must be one column or two or more distinct ones, got {type_column!r}")
    return columns


def distinct_type_values(type_values: Sequence, type_column: Union[int, Sequence[int]] = 0) -> list:
    """``type_values`` as floats (one ``type_column``) or as rows of one float per column (several); a ValueError
    unless they are distinct, of the columns' length, and there is at least one."""
    key = type_key(type_column)
    if isinstance(key, int):
        values = [float(v) for v in type_values]
        rows = [(v,) for v in values]
    else:
        values = [[float(x) for x in v] for v in type_values]
        rows = [tuple(v) for v in values if len(v) == len(key)]
    if not rows or len(rows) != len(values) or len(set(rows)) != len(rows):
        raise ValueError(f"type_values must be distinct observed values, one per type, got {type_values!r}")
    return values


def nearest_type(obs: th.Tensor, type_column: Union[int, Sequence[int]], type_values: th.Tensor) -> th.Tensor:
    """Type index (B,) of each observation: the nearest of ``type_values`` to its column ``type_column`` (with
    several columns, the row of ``type_values`` nearest to the observation's values in them, by absolute
    distance)."""
    if isinstance(type_column, int):
        return (obs[:, type_column:type_column + 1] - type_values).abs().argmin(dim=1)
    return (obs[:, type_column].unsqueeze(1) - type_values).abs().sum(dim=2).argmin(dim=1)


def by_type(networks: Sequence[nn.Module], x: th.Tensor, types: th.Tensor, width: int) -> th.Tensor:
    """(B, width): row b of ``x`` through ``networks[types[b]]``."""
    out = th.empty(x.shape[0], width, dtype=x.dtype, device=x.device)
    for j, net in enumerate(networks):
        rows = (types == j).nonzero(as_tuple=True)[0]
        if rows.numel():
            out = out.index_put((rows,), net(x[rows]))
    return out


class TypeCritic(ContinuousCritic):
    """SB3's ``ContinuousCritic`` with one set of ``n_critics`` networks per household type.

    The type of a sample is the nearest of ``type_values`` to its observation column ``type_column`` (the observed
    kappa of each type).  Every type's networks have SB3's layout (``create_mlp``); the set SB3 builds is the first
    type's, so with one type the critic computes what ``ContinuousCritic`` does.
    """

    def __init__(self, *args, type_column: Union[int, Sequence[int]], type_values: Sequence, **kwargs):
        super().__init__(*args, **kwargs)
        values = distinct_type_values(type_values, type_column)
        self.type_column = type_key(type_column)
        self.register_buffer("type_values", th.tensor(values, dtype=th.float32), persistent=False)
        features_dim = self.q_networks[0][0].in_features
        layers = [m.out_features for m in self.q_networks[0] if isinstance(m, nn.Linear)][:-1]
        activation = next((type(m) for m in self.q_networks[0] if not isinstance(m, nn.Linear)), nn.ReLU)
        heads = []
        for idx, first in enumerate(self.q_networks):
            others = [nn.Sequential(*create_mlp(features_dim, 1, layers, activation)) for _ in values[1:]]
            for j, net in enumerate(others, start=1):
                self.add_module(f"qf{idx}_type{j}", net)
            heads.append([first, *others])
        self.type_networks = heads

    def types_of(self, obs: th.Tensor) -> th.Tensor:
        """Type index (B,) of each observation (the nearest observed kappa)."""
        return nearest_type(obs, self.type_column, self.type_values)

    def _q(self, networks, x: th.Tensor, types: th.Tensor) -> th.Tensor:
        return by_type(networks, x, types, 1)

    def forward(self, obs: th.Tensor, actions: th.Tensor) -> tuple[th.Tensor, ...]:
        with th.set_grad_enabled(not self.share_features_extractor):
            features = self.extract_features(obs, self.features_extractor)
        x, types = th.cat([features, actions], dim=1), self.types_of(obs)
        return tuple(self._q(networks, x, types) for networks in self.type_networks)

    def q1_forward(self, obs: th.Tensor, actions: th.Tensor) -> th.Tensor:
        with th.no_grad():
            features = self.extract_features(obs, self.features_extractor)
        return self._q(self.type_networks[0], th.cat([features, actions], dim=1), self.types_of(obs))


class TypeCriticSACPolicy(SACPolicy):
    """SAC's ``MlpPolicy`` whose critics (and target critics) are :class:`TypeCritic`: one set of networks per
    household type; the actor is SB3's, shared by every household."""

    def __init__(self, *args, type_column: Union[int, Sequence[int]], type_values: Sequence, **kwargs):
        # read by make_critic, which SACPolicy.__init__ calls
        self._type_column = type_key(type_column)
        self._type_values = distinct_type_values(type_values, type_column)
        super().__init__(*args, **kwargs)

    def make_critic(self, features_extractor=None) -> TypeCritic:
        critic_kwargs = self._update_features_extractor(self.critic_kwargs, features_extractor)
        return TypeCritic(**critic_kwargs, type_column=self._type_column,
                          type_values=self._type_values).to(self.device)

    def _get_constructor_parameters(self) -> dict:
        return {**super()._get_constructor_parameters(), "type_column": self._type_column,
                "type_values": self._type_values}


class TypeHiddenNet(nn.Module):
    """Hidden layers of PPO's actor or value network, one copy per household type: row b of the features goes through
    the copy of its type (the nearest of ``type_values`` to its column ``type_column``).  The first copy is the
    network it is given, so with one type it computes what that network does."""

    def __init__(self, network: nn.Sequential, width: int, type_column: Union[int, Sequence[int]],
                 type_values: Sequence):
        super().__init__()
        values = distinct_type_values(type_values, type_column)
        self.type_column, self.width = type_key(type_column), int(width)
        self.register_buffer("type_values", th.tensor(values, dtype=th.float32), persistent=False)
        copies = [copy.deepcopy(network) for _ in values[1:]]
        for net in copies:
            for layer in net:
                if isinstance(layer, nn.Linear):
                    layer.reset_parameters()
        self.networks = nn.ModuleList([network, *copies])

    def types_of(self, features: th.Tensor) -> th.Tensor:
        """Type index (B,) of each row of the features (the observations, flattened)."""
        return nearest_type(features, self.type_column, self.type_values)

    def forward(self, features: th.Tensor) -> th.Tensor:
        return by_type(self.networks, features, self.types_of(features), self.width)


TYPE_NETWORKS = ("actor", "value")
"""What :class:`TypeNetworksPolicy` can give every type its own hidden layers: the actor's, the value network's."""


class TypeNetworksPolicy(ActorCriticPolicy):
    """PPO's ``MlpPolicy`` whose actor or value network (``per_type``, a subset of :data:`TYPE_NETWORKS`) has one set
    of hidden layers per household type (:class:`TypeHiddenNet`); the output layers (the action mean, its log-std,
    the value) and whatever is not named stay shared by every household.

    A shared network fits every type at once, so one type's misfit can be another's price; with a network per type,
    each type's rule or advantages depend only on its own.  Every copy has SB3's layout and orthogonal
    initialisation (applied by SB3 after the networks are built).  The features must be the observations
    themselves (SB3's ``FlattenExtractor``, the ``MlpPolicy`` default): the type is read from them.
    """

    def __init__(self, *args, type_column: Union[int, Sequence[int]], type_values: Sequence,
                 per_type: Sequence[str] = ("value",), **kwargs):
        per_type = tuple(per_type)
        if not per_type or not set(per_type) <= set(TYPE_NETWORKS) or len(set(per_type)) != len(per_type):
            raise ValueError(f"per_type must name some of {TYPE_NETWORKS} once each, got {per_type!r}")
        # read by _build_mlp_extractor, which ActorCriticPolicy.__init__ calls
        self._type_column = type_key(type_column)
        self._type_values = distinct_type_values(type_values, type_column)
        self._per_type = per_type
        super().__init__(*args, **kwargs)
        if not isinstance(self.features_extractor, FlattenExtractor):
            raise ValueError(f"TypeNetworksPolicy reads the type from the observations and needs SB3's "
                             f"FlattenExtractor, got {type(self.features_extractor).__name__}")

    def _build_mlp_extractor(self) -> None:
        super()._build_mlp_extractor()
        extractor = self.mlp_extractor
        if "actor" in self._per_type:
            extractor.policy_net = TypeHiddenNet(extractor.policy_net, extractor.latent_dim_pi, self._type_column,
                                                 self._type_values).to(self.device)
        if "value" in self._per_type:
            extractor.value_net = TypeHiddenNet(extractor.value_net, extractor.latent_dim_vf, self._type_column,
                                                self._type_values).to(self.device)

    def _get_constructor_parameters(self) -> dict:
        return {**super()._get_constructor_parameters(), "type_column": self._type_column,
                "type_values": self._type_values, "per_type": self._per_type}


def relative_noise_scale(mean_actions: th.Tensor, floor: float = 0.0) -> th.Tensor:
    """The factor :class:`RelativeNoisePolicy` multiplies exp(log_std) by: 2 (f(a) + ``floor``) / (1 - 2 ACTION_EPS)
    at the mean action a, for the fraction f(a) = ACTION_EPS + (1 - 2 ACTION_EPS) (a + 1) / 2 the environment maps
    a to (a clipped to the box [-1, 1]).  The standard deviation of the fraction's noise is then
    exp(log_std) (f(a) + floor), never below exp(log_std) (ACTION_EPS + floor)."""
    return 1.0 + mean_actions.clamp(-1.0, 1.0) + 2.0 * (ACTION_EPS + floor) / (1.0 - 2.0 * ACTION_EPS)


class RelativeNoisePolicy(ActorCriticPolicy):
    """PPO's ``MlpPolicy`` whose Gaussian noise grows with each action's fraction at its mean: the action's
    standard deviation is exp(log_std) * :func:`relative_noise_scale` (mean, ``noise_floor``), so the fraction's is
    exp(log_std) (f + ``noise_floor``).  With a floor of 0 the noise is relative, the same share of the fraction for
    a household consuming 8 percent of its wealth and one consuming 55 percent; but a rule near the box's lower end
    (the hoarding corner, f near ACTION_EPS) is then hardly explored and stays there, which a floor prevents.

    ``log_std`` is the log of the noise per unit of f + floor; SB3's log-std schedule and the recipes' cap
    (:class:`rl.callbacks.ExplorationAnnealing`) act on it unchanged.  The scale is computed from the mean with
    the gradient stopped: the noise is an exploration choice, and letting the policy gradient move the mean to
    shrink its own noise would bias the mean downwards (the same order as the bias it removes).  The
    deterministic action, the mean, is that of ``MlpPolicy``; so are the parameters, so a state dict moves
    between the two.  Only for Box actions (Gaussian noise) on the environment's [-1, 1] box.
    """

    def __init__(self, *args, noise_floor: float = 0.0, **kwargs):
        if isinstance(noise_floor, bool) or not isinstance(noise_floor, (int, float)) or not 0.0 <= noise_floor <= 1.0:
            raise ValueError(f"noise_floor must be a number in [0, 1], got {noise_floor!r}")
        self._noise_floor = float(noise_floor)
        super().__init__(*args, **kwargs)

    @property
    def noise_floor(self) -> float:
        return self._noise_floor

    def _get_constructor_parameters(self) -> dict:
        return {**super()._get_constructor_parameters(), "noise_floor": self._noise_floor}

    def _get_action_dist_from_latent(self, latent_pi: th.Tensor):
        if not isinstance(self.action_dist, DiagGaussianDistribution):
            raise ValueError(f"RelativeNoisePolicy needs Gaussian actions, got {type(self.action_dist).__name__}")
        mean_actions = self.action_net(latent_pi)
        log_std = self.log_std + th.log(relative_noise_scale(mean_actions.detach(), self._noise_floor))
        return self.action_dist.proba_distribution(mean_actions, log_std)


class NormalisedValueHead(nn.Module):
    """The value ``mean + std * linear(latent)`` (PopArt's output layer): ``linear`` is SB3's value layer, ``mean``
    and ``std`` buffers (saved with the weights), 0 and 1 until the first :meth:`update`, which sets them to the
    returns' own; ``updates`` counts the updates."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        if not isinstance(linear, nn.Linear) or linear.out_features != 1:
            raise ValueError(f"NormalisedValueHead wraps a linear layer with one output, got {linear!r}")
        self.linear = linear
        self.register_buffer("mean", th.zeros(1))
        self.register_buffer("second_moment", th.ones(1))  # E[R^2]: std^2 = second_moment - mean^2
        self.register_buffer("updates", th.zeros(1, dtype=th.long))

    @property
    def std(self) -> th.Tensor:
        return (self.second_moment - self.mean ** 2).clamp_min(VALUE_STD_FLOOR ** 2).sqrt()

    def forward(self, latent: th.Tensor) -> th.Tensor:
        return self.mean + self.std * self.linear(latent)

    @th.no_grad()
    def update(self, returns: th.Tensor, rate: float) -> None:
        """Move ``mean`` and ``std`` towards the moments of ``returns`` (all of them the first time, then the share
        ``rate`` in (0, 1]) and rescale ``linear`` so that every value it predicts stays what it was ("preserving
        the outputs": w' = w std / std', b' = (std b + mean - mean') / std')."""
        rate = checks.half_open("rate", rate, 0.0, 1.0)
        returns = th.as_tensor(returns, dtype=self.mean.dtype).reshape(-1)
        if returns.numel() == 0 or not bool(th.isfinite(returns).all()):
            raise ValueError("NormalisedValueHead.update needs finite returns, at least one")
        share = 1.0 if int(self.updates) == 0 else rate
        old_mean, old_std = self.mean.clone(), self.std
        self.mean.mul_(1.0 - share).add_(share * returns.mean())
        self.second_moment.mul_(1.0 - share).add_(share * (returns ** 2).mean())
        new_std = self.std
        self.linear.weight.mul_(old_std / new_std)
        self.linear.bias.mul_(old_std).add_(old_mean - self.mean).div_(new_std)
        self.updates.add_(1)


VALUE_STD_FLOOR = 1e-3
"""The smallest standard deviation :class:`NormalisedValueHead` divides by (returns of one constant value)."""


class NormalisedValuePolicy(ActorCriticPolicy):
    """PPO's ``MlpPolicy`` whose value layer is a :class:`NormalisedValueHead` (the actor, the hidden layers and
    their initialisation are ``MlpPolicy``'s with the same seed; until the first update the two compute the same).
    The head's statistics are moved once per rollout by :class:`rl.callbacks.ValueNormalisation`.  The loss stays
    SB3's, on the values themselves: under Adam the normalisation's effect is that the level is the head's mean
    (no weight has to carry it) and the value's scale moves std times faster through the output layer."""

    def _build(self, lr_schedule) -> None:
        super()._build(lr_schedule)  # builds value_net, initialises it and gives its parameters to the optimizer
        self.value_net = NormalisedValueHead(self.value_net).to(self.device)
