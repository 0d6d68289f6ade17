"""PPO's advantages, recomputed by SB3 callbacks at the end of each rollout, before the gradient steps.

- :class:`ExpectedNextValue`: next period's shocks integrated out of every TD error (and the critic's targets at
  their own lambda, ``value_lambda``).
- :class:`AdvantageLambdaAnnealing`: the advantages' lambda lowered over the last part of the run.
- :func:`per_action_advantages`: one advantage per action, each without the other actions' own effect on today's
  lookahead (for :class:`rl.ppo.PerActionPPO`; ``ExpectedNextValue(..., per_action=True)`` sets them).
- :class:`GroupAdvantageNormalisation`: the advantages standardised within groups of households (kappa type x
  employment), and optionally the groups' weights evened out.
- :func:`group_columns`: the observation columns of such groups (shared with SAC's group weights, :mod:`rl.sac`).
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback

from econ import checks
from econ.economy import CAPITAL_FLOOR, action_to_fraction, fraction_to_action, period
from econ.experiments import Experiment
from rl.core import (EconomyState, actions_to_choices, check_shock_expectation, next_state_values, observe,
                     observed_capital_and_log_tfp)


class ExpectedNextValue(BaseCallback):
    """PPO: advantages with next period's shocks integrated out of each TD error.

    SB3's GAE advantage sums TD errors delta_t = r_t + gamma V(o_{t+1}) - V(o_t).
    In the KS economies o_{t+1} contains next period's aggregate state z' and
    the household's own employment e', drawn after the action: for a poor or
    unemployed household the value jump between finding and not finding a job
    dominates delta_t, and it is noise that no baseline of o_t can remove
    (measured on a trained ``ks-het-mild`` policy: the advantage of an
    unemployed middle household has 8 times the variance of an employed one's,
    and lowering GAE's lambda removes little of it).  This callback replaces
    V(o_{t+1}) by its expectation over (z', e') given o_t and the action,
    :func:`rl.core.next_state_values` (exact: capital and aggregate capital at
    t+1 are set at t, and the shock law is the environment's own,
    :func:`rl.core.shock_law`), and recomputes the advantages and value
    targets of the rollout before PPO's gradient steps.  The difference
    gamma (V(o_{t+1}) - E[V(o_{t+1}) | o_t, a_t]) has mean zero given the
    history up to t and the action, so every advantage keeps its expectation
    given (o_t, a_t) (an expected-SARSA style control variate) and loses that
    variance.  A truncated episode's last step keeps SB3's bootstrap from its
    terminal observation.

    In an AR(1) economy (``general``, ``rbc``) the shock is next period's TFP
    innovation, integrated by Gauss-Hermite quadrature: there it is the only
    shock, so every TD error keeps the effect of the action and of the
    critic's error and loses all of the technology's noise.

    ``value_lambda`` (optional, in [0, 1]): the critic's targets are the
    lambda-returns of these TD errors with this lambda instead of GAE's (the
    advantages keep GAE's).  At 0 each target is r + gamma E[V(o') | o, a]:
    one Bellman backup with the shocks integrated out, which carries none of
    the later periods' shocks and exploration (measured on ``ks-het-mild``:
    the advantage of an unemployed low-kappa household has a standard
    deviation of 2.96 at GAE's 0.95 and 0.93 at 0), at the price of
    bootstrapping from the critic itself.

    ``value_lambda_schedule`` (optional): a function of the run's timesteps that sets ``value_lambda`` at the start
    of every rollout (``value_lambda_final``: the critic's lambda lowered with the advantages', on
    :class:`AdvantageLambdaAnnealing`'s schedule).

    ``per_action`` (optional; an AR(1) economy with two or more actions): also one advantage per action, in
    ``rollout_buffer.action_advantages`` (steps, envs, actions), for :class:`rl.ppo.PerActionPPO`.  Action d's is
    the advantage with the other actions' own effect on today's lookahead removed: A_d = A - [L(a) - L(a_d, mu_-d)],
    L the one-step lookahead u + gamma E[V(o') | o, .] of the household's whole economy re-run with its actions
    changed (:func:`counterfactual_lookahead_baseline`; the others' actions as realised), a its sampled actions and
    (a_d, mu_-d) its sampled action d with its mean action in the other places.  A step whose next observation is
    another episode's first keeps A.  Given the observation the actions are drawn independently, so removing a term
    that depends on the other actions' noise alone leaves each action's expected gradient as it was; what it removes
    is that noise: in ``general`` the consumption fraction's moves the lookahead more than labour's own noise does,
    and far more than labour's signal (docs/training.md).  ``antithetic`` (with ``per_action``): each action's
    advantage also loses the even part of its own lookahead term; ``fixed_saving_labour``: labour's is the
    lookahead's change along labour at unchanged saving (both: :func:`per_action_advantages`).

    ``mean_action_baseline`` (optional): each advantage's baseline V(o_t) is replaced by the one-step lookahead
    at the policy's mean action, u(c(mu)) + gamma E[V(o'(mu)) | o, mu] (:func:`lookahead_baseline`).  It depends
    on the state alone, so the advantages keep their expectation; what it removes is the critic's own error at o_t
    (its Bellman residual), which V(o_t) leaves in every advantage as noise of the size of the action's whole
    effect or larger (measured on ``ks-het-marked``: docs/training.md).  With a small lambda (late in a run with
    :class:`AdvantageLambdaAnnealing`) the advantage is then nearly the lookahead's slope times the action's noise.
    In the Krusell-Smith economies (one action, log utility) the household's wealth is read back from its choice
    (:func:`lookahead_baseline`); in an AR(1) economy, where today's prices move with its labour, its whole
    economy's period is re-run with its action replaced (:func:`counterfactual_lookahead_baseline`).
    """

    def __init__(self, experiment: Experiment, value_lambda: Optional[float] = None,
                 mean_action_baseline: bool = False, value_lambda_schedule=None, per_action: bool = False,
                 antithetic: bool = False, fixed_saving_labour: bool = False):
        super().__init__(0)
        check_shock_expectation(experiment)  # refuses an experiment it cannot integrate, before training starts
        if value_lambda is not None:
            checks.closed("value_lambda", value_lambda, 0.0, 1.0)
        if mean_action_baseline:
            check_lookahead(experiment)
        if per_action:
            check_per_action(experiment)
        if antithetic and not per_action:
            raise ValueError("antithetic_advantages needs per_action_advantages: true")
        if fixed_saving_labour and not per_action:
            raise ValueError("fixed_saving_labour needs per_action_advantages: true")
        self.experiment = experiment
        self.value_lambda = None if value_lambda is None else float(value_lambda)
        self.mean_action_baseline = bool(mean_action_baseline)
        self.per_action = bool(per_action)
        self.antithetic = bool(antithetic)
        self.fixed_saving_labour = bool(fixed_saving_labour)
        if value_lambda_schedule is not None and value_lambda is None:
            raise ValueError("value_lambda_schedule needs value_lambda (the critic's lambda before the schedule)")
        self.value_lambda_schedule = value_lambda_schedule

    def _on_rollout_start(self) -> None:
        if self.value_lambda_schedule is not None:  # at the rollout's start, as AdvantageLambdaAnnealing's
            self.value_lambda = float(self.value_lambda_schedule(self.num_timesteps))

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        buffer = self.model.rollout_buffer
        observations = buffer.observations
        new_obs = np.asarray(self.locals["new_obs"], dtype=np.float32)
        next_observations = np.concatenate([observations[1:], new_obs[None]], axis=0)
        policy = self.model.policy

        def value(obs):
            with torch.no_grad():
                return policy.predict_values(torch.as_tensor(obs, device=policy.device)).cpu().numpy()

        expected = next_state_values(self.experiment, observations, next_observations, value)
        dones = np.asarray(self.locals["dones"], dtype=np.float32)
        next_non_terminal = 1.0 - np.concatenate([buffer.episode_starts[1:], dones[None]], axis=0)
        deltas = buffer.rewards + buffer.gamma * expected * next_non_terminal - buffer.values  # float64, as before
        buffer.advantages = _lambda_sums(deltas, next_non_terminal, buffer.gamma * buffer.gae_lambda)
        if self.value_lambda is None:
            buffer.returns = buffer.advantages + buffer.values
        else:
            buffer.returns = _lambda_sums(deltas, next_non_terminal, buffer.gamma * self.value_lambda) + buffer.values
        mean = _mean_actions(policy, observations) if self.mean_action_baseline or self.per_action else None
        if self.mean_action_baseline:
            if self.experiment.technology == "ar1":
                baseline = counterfactual_lookahead_baseline(self.experiment, observations, buffer.actions, mean,
                                                             buffer.rewards, buffer.gamma, value)
            else:
                baseline = lookahead_baseline(self.experiment, observations, next_observations, buffer.actions,
                                              mean, buffer.rewards, buffer.gamma, value)
            # V(o_t) out, the lookahead at the mean action in; a step whose next observation is another episode's
            # first keeps V(o_t)
            shift = np.where(next_non_terminal > 0.0, buffer.values - baseline, 0.0)
            buffer.advantages = (buffer.advantages + shift).astype(np.float32)
        if self.per_action:
            buffer.action_advantages = per_action_advantages(self.experiment, observations, buffer.actions, mean,
                                                             buffer.rewards, buffer.gamma, value, buffer.advantages,
                                                             next_non_terminal, self.antithetic,
                                                             self.fixed_saving_labour)


def check_lookahead(experiment: Experiment) -> None:
    """Refuse, with a one-line error, an experiment the mean-action baseline cannot evaluate: a Krusell-Smith
    economy needs one action, log utility and own and aggregate capital among the observations
    (:func:`lookahead_baseline`); an AR(1) economy own capital and log A (:func:`counterfactual_lookahead_baseline`)."""
    names = experiment.observations
    if experiment.technology == "ar1":
        needed = ("capital", "log_tfp")
    elif experiment.action_size != 1 or experiment.utility != "log":
        raise ValueError(f"mean_action_baseline needs one action and log utility in a Krusell-Smith economy; "
                         f"{experiment.name!r} has {experiment.action_size} actions, {experiment.utility!r} utility")
    else:
        needed = ("capital", "aggregate_capital")
    for name in needed:
        if name not in names:
            raise ValueError(f"mean_action_baseline needs the observation {name!r}; {experiment.name!r} observes "
                             f"{names}")


def check_per_action(experiment: Experiment) -> None:
    """Refuse, with a one-line error, an experiment whose actions :func:`per_action_advantages` cannot separate: it
    needs an AR(1) economy (its counterfactual period) with two or more actions."""
    if experiment.technology != "ar1" or experiment.action_size < 2:
        raise ValueError(f"per_action_advantages needs an AR(1) economy with two or more actions; "
                         f"{experiment.name!r} has {experiment.technology} technology and {experiment.action_size} "
                         f"action(s)")
    check_lookahead(experiment)


def per_action_advantages(experiment: Experiment, observations, actions, mean_actions, rewards, gamma: float, value,
                          advantages, next_non_terminal, antithetic: bool = False,
                          fixed_saving_labour: bool = False) -> np.ndarray:
    """A_d = A - [L(a) - L(a_d, mu_-d)] for every action d (:class:`ExpectedNextValue`, ``per_action``): float32,
    shape (steps, envs, actions).  L is :func:`counterfactual_lookahead_baseline` with the household's actions
    replaced (by the sampled ones for L(a), so that both lookaheads come from the same computation); steps whose
    ``next_non_terminal`` is 0 keep A.

    ``antithetic``: each A_d also loses the even part of its own lookahead term,
    (L(a_d, mu_-d) + L(2 mu_d - a_d, mu_-d)) / 2 - L(mu), the mirrored action's lookahead against the sampled one's:
    the action's own term becomes (L(a_d, mu_-d) - L(2 mu_d - a_d, mu_-d)) / 2, odd in the action's noise.  The
    removed part is even in that noise, so the expected gradient of the action's mean is unchanged; what goes is the
    curvature's contribution (sigma^2 (eps^2 - 1) / 2 times the second derivative), which is noise for the mean.  It
    is also what tells the policy's log-std how the noise costs, so with it the log-std learns nothing from the
    returns (its bound, ``log_std_final``, sets it).

    ``fixed_saving_labour`` (action 1 is labour): labour's advantage is the one-step lookahead's odd part along
    labour at unchanged own saving, (L(chat'_+, l_+) - L(chat'_-, l_-)) / 2 with l_+ the sampled labour, l_- its
    mirror 2 mu_l - l_+ and chat'_+- the fractions at which the household saves what it saves at its mean action
    (:func:`fixed_saving_fractions`).  Along that direction the lookahead moves by u_c a'(l) - chi, whatever the
    critic and wherever the fraction is, so labour's mean follows the intratemporal condition alone (the critic
    enters only through the others' saving, which today's prices move); by Stein's lemma the advantage's product
    with labour's noise estimates that directional derivative.  It has no later temporal-difference errors: the
    condition is static.  The fraction's advantage is the per-action one above.  Measured on ``general`` it does
    not train: the direction needs the fraction's mean to move with labour's, and the policy moves labour's alone
    (docs/training.md).  Under ``action_interface`` ``saving`` the first action is the saving share, and labour's
    direction at its mean share is the policy's own: there labour's advantage is (L(mu_s, l_+) - L(mu_s, l_-)) / 2,
    next period's own capital moving only as today's prices move the full-time wealth the share is taken of."""
    sampled = np.asarray(actions, dtype=float)
    mean = np.asarray(mean_actions, dtype=float).reshape(sampled.shape)
    advantages = np.asarray(advantages, dtype=float)

    def lookahead(played):
        return counterfactual_lookahead_baseline(experiment, observations, sampled, played, rewards, gamma, value)

    realised = lookahead(sampled)
    at_mean = lookahead(mean) if antithetic else None
    out = np.empty(sampled.shape, dtype=np.float32)
    # labour's own terms are replaced below when it is measured at fixed saving: not computed for nothing
    for action in range(1 if fixed_saving_labour else sampled.shape[-1]):
        alone = mean.copy()
        alone[..., action] = sampled[..., action]
        own = lookahead(alone)
        shift = realised - own
        if antithetic:
            mirrored = mean.copy()
            mirrored[..., action] = 2.0 * mean[..., action] - sampled[..., action]
            shift = shift + 0.5 * (own + lookahead(mirrored)) - at_mean
        out[..., action] = advantages - np.where(next_non_terminal > 0.0, shift, 0.0)
    if fixed_saving_labour:
        labours = (sampled[..., 1], 2.0 * mean[..., 1] - sampled[..., 1])
        if experiment.action_interface == "saving":  # the share at its mean: the policy's own labour direction
            fractions = (mean[..., 0], mean[..., 0])
        else:
            fractions = fixed_saving_fractions(experiment, observations, sampled, mean, labours)
        ends = [lookahead(np.stack([fraction, labour], axis=-1)) for fraction, labour in zip(fractions, labours)]
        out[..., 1] = 0.5 * (ends[0] - ends[1])
    return out


def _mean_actions(policy, observations: np.ndarray) -> np.ndarray:
    """The policy's mean (deterministic) actions for a rollout's observations (steps, envs, d): (steps, envs, 1)."""
    flat = observations.reshape(-1, observations.shape[-1])
    with torch.no_grad():
        mean = policy.get_distribution(torch.as_tensor(flat, device=policy.device)).mode()
    return mean.cpu().numpy().reshape(observations.shape[:-1] + (-1,))


def lookahead_baseline(experiment: Experiment, observations, next_observations, actions, mean_actions, rewards,
                       gamma: float, value) -> np.ndarray:
    """u(c(mu)) + gamma E[V(o'(mu)) | o, mu] for every step of a rollout, in the rewards' units (any constant
    ``center_rewards`` subtracts included).

    The household's wealth is read back from its choice: a = k' / (1 - chat) with k' its next capital (observed
    in ``next_observations``) and chat the fraction its sampled action gave.  At the mean action's fraction
    chat_mu its consumption is chat_mu a, its next capital (1 - chat_mu) a, and aggregate capital moves by its kappa
    times the change over N (the others' choices as realised); next period's shocks are integrated out by
    :func:`rl.core.next_state_values`.  With log utility u(c(mu)) = r - log chat + log chat_mu, where r is the
    sampled step's reward.  Arrays of shape (steps, envs) (observations with a trailing d, actions with a trailing
    1); ``value`` maps (M, d) float32 observations to M values.
    """
    names = experiment.observations
    shape = np.asarray(rewards).shape
    chat = action_to_fraction(np.asarray(actions, dtype=float).reshape(shape))
    chat_mu = action_to_fraction(np.asarray(mean_actions, dtype=float).reshape(shape))
    capital_next = np.asarray(next_observations)[..., names.index("capital")].astype(float) * experiment.capital_scale
    wealth = capital_next / (1.0 - chat)
    if "capital_productivity" in names:
        observed = np.asarray(next_observations)[..., names.index("capital_productivity")].astype(float)
        kappa = 1.0 + (observed - 1.0) * experiment.productivity_scale
    else:
        kappa = np.ones(shape)
    nxt = with_own_next_capital(experiment, next_observations, (1.0 - chat_mu) * wealth, capital_next, kappa)
    expected_mu = next_state_values(experiment, observations, nxt, value)
    return np.asarray(rewards) - np.log(chat) + np.log(chat_mu) + gamma * expected_mu


def counterfactual_lookahead_baseline(experiment: Experiment, observations, actions, mean_actions, rewards,
                                      gamma: float, value) -> np.ndarray:
    """AR(1) economies (``general``): u(c_i(mu), l_i(mu)) + gamma E[V(o_i'(mu)) | o, mu] for every household i and
    step of a rollout, in the rewards' units.

    Here today's prices move with every household's labour, so the household's own choice is replaced in a
    counterfactual period of its whole economy: the economy's capital and log A are read from its N households'
    observations at t, household i plays its mean action and the others their sampled ones, and
    :func:`econ.economy.period` gives i's consumption, labour and reward and everyone's next capital (own and
    aggregate next-period capital, through the prices, as the environment would have them);
    :func:`rl.core.observe` of that next state and :func:`rl.core.next_state_values` (next period's innovation
    integrated out) give the continuation.  The reward is r - u(c_i(a), l_i(a)) + u(c_i(mu), l_i(mu)), the first
    two from the same counterfactual machinery at the sampled actions, so any offset ``center_rewards`` subtracts
    is kept.  Nothing in it depends on household i's sampled action.  Arrays of shape (steps, envs), envs = E x N
    economy-major (observations with a trailing d, actions with a trailing action size); ``value`` maps (M, d)
    float32 observations to M values.
    """
    obs = np.asarray(observations)
    steps, envs, d = obs.shape
    period_of = _counterfactual_periods(experiment, obs, actions, mean_actions)
    realised, counterfactual, rows = period_of.realised, period_of.counterfactual, period_of.rows
    log_tfp = period_of.log_tfp
    economies, n = realised.reward.shape
    reward_mu = (np.asarray(rewards, dtype=float).reshape(economies, n) - realised.reward
                 + counterfactual.reward[rows].reshape(economies, n))
    # log A's column is replaced by next period's quadrature nodes in next_state_values
    next_mu = observe(experiment, _state_of(counterfactual.next_capital, np.repeat(log_tfp, n)))[rows]
    expected_mu = next_state_values(experiment, obs, next_mu.reshape(steps, envs, d), value)
    return reward_mu.reshape(steps, envs) + gamma * expected_mu


def _state_of(capital, log_tfp) -> EconomyState:
    count = capital.shape[0]
    return EconomyState(capital, log_tfp, np.zeros(count, dtype=np.int64), np.ones(capital.shape, dtype=bool),
                        np.zeros(count, dtype=np.int64))


class _Periods(NamedTuple):
    realised: object
    """The period of every economy at its sampled actions (:class:`econ.economy.PeriodOutcome`, (economies, N))."""
    counterfactual: object
    """One period per economy and household i, i playing its ``played`` action (economies x N economies of N)."""
    rows: tuple
    """Index of household i in its own counterfactual economy: ``counterfactual.x[rows]`` is i's."""
    log_tfp: np.ndarray
    """log A of each economy."""


def _counterfactual_periods(experiment: Experiment, observations, actions, played) -> _Periods:
    """The periods behind :func:`counterfactual_lookahead_baseline`: each economy's capital and log A read from its
    households' observations (steps, envs, d), its period at the sampled ``actions``, and for every household i
    the period in which i alone plays ``played`` (both (steps, envs, action size))."""
    obs = np.asarray(observations)
    steps, envs, d = obs.shape
    n = experiment.num_agents
    if envs % n:
        raise ValueError(f"observations must hold whole economies of {n} households, got {envs} households")
    economies = steps * (envs // n)
    size = experiment.action_size
    capital, log_tfp = observed_capital_and_log_tfp(experiment, obs)
    sampled = np.asarray(actions, dtype=float).reshape(economies, n, size)
    own_actions = np.asarray(played, dtype=float).reshape(economies, n, size)
    kappa = np.asarray(experiment.capital_productivity, dtype=float)
    lam = np.asarray(experiment.labour_productivity, dtype=float)

    def outcome(capital, actions, log_tfp):
        chat, labour = actions_to_choices(experiment, _state_of(capital, log_tfp), actions)  # the environment's map
        return period(capital, chat, labour, np.exp(log_tfp), alpha=experiment.alpha, delta=experiment.delta,
                      chi=experiment.chi, utility_form=experiment.utility, capital_productivity=kappa,
                      labour_productivity=lam)

    realised = outcome(capital, sampled, log_tfp)
    # economy m, household i: the economy's sampled actions with i's replaced by its played one
    changed = np.repeat(sampled[:, None], n, axis=1)
    own = np.arange(n)
    changed[:, own, own] = own_actions
    flat = economies * n
    counterfactual = outcome(np.repeat(capital, n, axis=0), changed.reshape(flat, n, size), np.repeat(log_tfp, n))
    return _Periods(realised, counterfactual, (np.arange(flat), np.tile(own, economies)), log_tfp)


def fixed_saving_fractions(experiment: Experiment, observations, actions, mean_actions, labour_actions) -> list:
    """For each array of labour actions in ``labour_actions`` (a sequence, each (steps, envs)), the
    consumption-fraction actions at which each household, working that labour instead of its mean labour, saves
    what it saves at its mean action (the others as sampled): chat' = 1 - k'(mu) / a(l'), with a(l') its wealth
    at that labour (today's prices move with labour, not with the fraction), clipped to the action box.  The
    direction labour -> (chat', labour) keeps next period's own capital, so the one-step lookahead changes along
    it by u_c a'(l) - chi per unit of labour: the intratemporal condition, whatever the critic.  The period at the
    mean action is run once for all of them."""
    mean = np.asarray(mean_actions, dtype=float)
    shape = mean.shape[:-1]
    at_mean = _counterfactual_periods(experiment, observations, actions, mean)
    saving = at_mean.counterfactual.next_capital[at_mean.rows].reshape(shape)
    fractions = []
    for labour in labour_actions:
        played = mean.copy()
        played[..., 1] = np.asarray(labour, dtype=float)
        at_labour = _counterfactual_periods(experiment, observations, actions, played)
        wealth = at_labour.counterfactual.wealth[at_labour.rows].reshape(shape)
        fractions.append(fraction_to_action(1.0 - saving / wealth))
    return fractions


def with_own_next_capital(experiment: Experiment, next_observations, capital, realised, kappa) -> np.ndarray:
    """Next observations (..., d) as they would be had each household chosen the next capital ``capital`` (...)
    instead of ``realised`` (...), everyone else as realised: its own capital (and ``log_capital``, if observed)
    replaced, aggregate effective capital moved by its ``kappa`` times the change over N.  A float32 copy; the
    shock components are left for :func:`rl.core.next_state_values` to replace."""
    names = experiment.observations
    capital = np.maximum(np.asarray(capital, dtype=float), CAPITAL_FLOOR)
    out = np.array(next_observations, dtype=np.float32)
    out[..., names.index("capital")] = capital / experiment.capital_scale
    if "log_capital" in names:
        out[..., names.index("log_capital")] = np.log(capital / experiment.capital_scale)
    out[..., names.index("aggregate_capital")] += (np.asarray(kappa) * (capital - np.asarray(realised))
                                                   / experiment.num_agents / experiment.capital_scale)
    return out


def _lambda_sums(deltas: np.ndarray, next_non_terminal: np.ndarray, decay: float) -> np.ndarray:
    """sum_k decay^k delta_{t+k} within each episode, for every step t of a (steps, envs) rollout: GAE's
    recursion (``decay`` = gamma lambda), summed in the precision of ``deltas`` and stored as float32 (the rollout
    buffer's)."""
    sums = np.empty(deltas.shape, dtype=np.float32)
    last = np.zeros(deltas.shape[1], dtype=np.float32)
    for step in reversed(range(deltas.shape[0])):
        last = deltas[step] + decay * next_non_terminal[step] * last
        sums[step] = last
    return sums


ADVANTAGE_GROUP_OBSERVATIONS = ("capital_productivity", "labour_productivity", "employed", "aggregate_state")
"""Observation components that take a few discrete values and may define the groups of :class:`GroupAdvantageNormalisation`."""


def group_columns(experiment: Experiment, observations, setting: str) -> list:
    """The observation columns of the components named in ``observations`` (the groups of a setting such as
    ``advantage_groups``), or a ValueError naming ``setting``."""
    names = tuple(observations)
    if not names:
        raise ValueError(f"{setting} must name at least one observation component")
    for name in names:
        if name not in ADVANTAGE_GROUP_OBSERVATIONS:
            raise ValueError(f"{setting} entry must be one of {ADVANTAGE_GROUP_OBSERVATIONS} (components "
                             f"with a few discrete values), got {name!r}")
        if name not in experiment.observations:
            raise ValueError(f"{setting} entry {name!r} is not observed in {experiment.name!r} "
                             f"(observations {experiment.observations})")
    return [experiment.observations.index(name) for name in names]


class GroupAdvantageNormalisation(BaseCallback):
    """PPO: standardise the rollout's advantages within groups of households (e.g. kappa type x employment).

    SB3 standardises the advantages of each minibatch as a whole.  With one
    network shared by households whose advantages differ in scale by an order
    of magnitude (measured on ``ks-het-mild``: sd 0.05 for an employed
    high-kappa household, 0.1 for an employed middle one, 3 for an unemployed
    low-kappa one, with :class:`ExpectedNextValue`), the largest-scale group
    dominates every gradient step, mostly with its noise, and the common
    scale makes the steps of the others small.  This callback rescales each
    group's advantages to mean 0 and standard deviation 1 (groups: the
    distinct values of the observation components ``observations`` in the
    rollout), after the advantages and value targets are computed (the
    critic's targets are unchanged), so every group's gradient has the same
    scale; within a group the ordering of the advantages is unchanged, so the
    direction each group's policy moves in is the same.

    ``until`` (agent-steps, optional): standardise only the rollouts that end
    before it; later rollouts keep SB3's standardisation of each minibatch.
    Standardising a group whose policy has converged scales its remaining
    noise up to unit size (docs/training.md: ``ks-het-marked``).

    ``balance`` (in [0, 1], default 0): standardised, each group still moves
    the shared policy in proportion to its number of samples, so a group with
    1 percent of them (the unemployed low-kappa households of ``ks-het-marked``)
    gets 1 percent of every step.  With ``balance`` b the standardised advantages of group g
    are multiplied by (n / (G n_g))^b (n samples in G groups, n_g in g):
    b = 1 gives every group the same total weight in the policy's loss, b =
    0.5 the same noise; 0 leaves the groups' shares as the samples make them.
    """

    def __init__(self, experiment: Experiment, observations, until: Optional[int] = None, balance: float = 0.0):
        super().__init__(0)
        if until is not None and until < 0:
            raise ValueError(f"advantage_groups_until must be >= 0 agent-steps, got {until}")
        self.until = until
        self.balance = checks.closed("advantage_groups_balance", balance, 0.0, 1.0)
        self.columns = group_columns(experiment, observations, "advantage_groups")

    def _on_step(self) -> bool:
        return True

    def _on_rollout_end(self) -> None:
        if self.until is not None and self.num_timesteps > self.until:
            return
        buffer = self.model.rollout_buffer
        keys = buffer.observations[..., self.columns].reshape(-1, len(self.columns))
        _, group = np.unique(keys, axis=0, return_inverse=True)
        group = group.reshape(-1)
        advantages = buffer.advantages.reshape(-1)
        counts = np.bincount(group)
        standardised = counts > 1  # a lone sample has no spread to standardise: left as it is, unweighted
        weight = np.ones(counts.size)
        if self.balance > 0.0:
            n, g_count = counts[standardised].sum(), standardised.sum()
            weight[standardised] = (n / (g_count * counts[standardised])) ** self.balance
        for g in np.flatnonzero(standardised):
            mine = group == g
            values = advantages[mine]
            advantages[mine] = weight[g] * (values - values.mean()) / (values.std() + 1e-8)
        buffer.advantages = advantages.reshape(buffer.advantages.shape)


class AdvantageLambdaAnnealing(BaseCallback):
    """PPO: GAE's lambda for the advantages moved linearly from ``initial`` to ``final`` over the last part of
    the run (from the fraction ``start`` of its timesteps on), set before every rollout.

    With next period's shocks integrated out (:class:`ExpectedNextValue`, which this needs and which keeps the
    critic's targets at their own lambda), a small lambda leaves in each advantage the action's effect through
    r + gamma E[V(o') | o, a] and little of the later periods' shocks and exploration: the estimator of a rare
    group's gradient is then far less noisy, at the price of resting on the critic.  From the start that price is
    a collapse (an untrained critic makes every household consume everything); late, once the critic holds the
    right trade-off, it is what the lambda-sum's noise hid.  A function of the run's timesteps alone, so a
    resumed run continues it.
    """

    def __init__(self, initial: float, final: float, total: int, start: float = 0.0):
        super().__init__(0)
        checks.closed("gae_lambda", initial, 0.0, 1.0)
        checks.closed("gae_lambda_final", final, 0.0, 1.0)
        if not 0.0 <= start < 1.0:
            raise ValueError(f"gae_lambda_anneal_start must be in [0, 1), got {start}")
        self.initial, self.final, self.total, self.start = float(initial), float(final), int(total), float(start)

    def value_at(self, timesteps: int) -> float:
        progress = (timesteps / self.total - self.start) / (1.0 - self.start)
        return self.initial + (self.final - self.initial) * min(1.0, max(0.0, progress))

    def _on_rollout_start(self) -> None:
        value = self.value_at(self.num_timesteps)
        self.model.gae_lambda = value
        self.model.rollout_buffer.gae_lambda = value

    def _on_step(self) -> bool:
        return True
