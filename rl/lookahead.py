"""The one-step lookahead of every household, differentiable (torch, double precision): a copy of the period
equations and of the observations that :mod:`rl.polish` climbs or moves along.

:class:`Lookahead` is the AR(1) economies' (``rbc``, ``general``; labour chosen), :class:`ChainLookahead` the
Krusell-Smith economies' (the consumption fraction the one action, next period's shocks weighted by
:func:`rl.core.shock_law`); :func:`lookahead_for` picks one.  ``tests/test_polish.py`` checks each against the
environment's own step and observations.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch as th

from econ.economy import ACTION_EPS, CAPITAL_FLOOR, markets
from econ.experiments import Experiment
from rl import core

OBSERVABLE = {"capital", "aggregate_capital", "log_tfp", "capital_productivity", "labour_productivity",
              "log_capital"}
"""Observations the torch copy of :func:`rl.core.observe` can build."""


def check_ar1(experiment: Experiment) -> None:
    """Refuse, in one line, an AR(1) economy :class:`Lookahead` cannot be written for."""
    if experiment.action_size != 2 or experiment.action_interface != "fraction":
        raise ValueError(f"polishing needs the consumption fraction and labour as actions; {experiment.name!r} has "
                         f"{experiment.action_size} action(s) and interface {experiment.action_interface!r}")
    unknown = [name for name in experiment.observations if name not in OBSERVABLE]
    if unknown:
        raise ValueError(f"polishing can build the observations {sorted(OBSERVABLE)} only; {experiment.name!r} "
                         f"observes {unknown} as well")


def check_chain(experiment: Experiment) -> None:
    """Refuse, in one line, a Krusell-Smith economy :class:`ChainLookahead` cannot be written for."""
    if experiment.action_size != 1 or experiment.action_interface != "fraction":
        raise ValueError(f"polishing a Krusell-Smith economy needs the consumption fraction as its one action; "
                         f"{experiment.name!r} has {experiment.action_size} action(s) and interface "
                         f"{experiment.action_interface!r}")
    core.check_shock_expectation(experiment)


def _fractions(actions: th.Tensor) -> th.Tensor:
    """:func:`econ.economy.action_to_fraction` (actions clipped to [-1, 1]), differentiable."""
    return ACTION_EPS + (1.0 - 2.0 * ACTION_EPS) * (th.clamp(actions, -1.0, 1.0) + 1.0) / 2.0


def _utility(experiment: Experiment, consumption: th.Tensor, labour: th.Tensor) -> th.Tensor:
    """:func:`econ.economy.utility` of the experiment's form, differentiable."""
    if experiment.utility == "linear":
        return th.log(consumption) - experiment.chi * labour
    if experiment.utility == "log_leisure":
        return th.log(consumption) + experiment.chi * th.log1p(-labour)
    return th.log(consumption)


def _with_own_part(own: th.Tensor, fixed: th.Tensor, n: int) -> th.Tensor:
    """(1/N) sum_j x_j as household i sees it: the others' x_j at the values ``fixed``, its own ``own`` live."""
    return fixed.mean(-1, keepdim=True) + (own - fixed) / n


class Lookahead:
    """The one-step lookahead J_i of every household of B economies, in double precision (torch).

    A copy of the period equations of :func:`econ.economy.period` and of the
    observations of :func:`rl.core.observe`, differentiable in the actions;
    ``tests/test_polish.py`` checks both against those functions.
    """

    def __init__(self, experiment: Experiment, value):
        check_ar1(experiment)
        self.exp = experiment
        self.value = value
        self.kappa = th.tensor(experiment.capital_productivity, dtype=th.float64)
        self.lam = th.tensor(experiment.labour_productivity, dtype=th.float64)
        nodes, weights = core._tfp_quadrature()
        self.nodes = th.tensor(nodes, dtype=th.float64)
        self.weights = th.tensor(weights, dtype=th.float64)

    def observe(self, capital: th.Tensor, log_tfp: th.Tensor, aggregate: th.Tensor) -> th.Tensor:
        """Observations (..., N, d) of households with own ``capital`` (..., N), ``aggregate`` effective capital
        (..., N: each household's own view, which may differ in the lookahead) and ``log_tfp`` (...)."""
        exp = self.exp
        columns = []
        for name in exp.observations:
            if name == "capital":
                columns.append(capital / exp.capital_scale)
            elif name == "aggregate_capital":
                columns.append(aggregate / exp.capital_scale)
            elif name == "log_tfp":
                columns.append((log_tfp / exp.tfp_scale).unsqueeze(-1).expand_as(capital))
            elif name == "capital_productivity":
                columns.append((1.0 + (self.kappa - 1.0) / exp.productivity_scale).expand_as(capital))
            elif name == "labour_productivity":
                columns.append((1.0 + (self.lam - 1.0) / exp.productivity_scale).expand_as(capital))
            else:  # log_capital
                columns.append(th.log(th.clamp(capital, min=CAPITAL_FLOOR) / exp.capital_scale))
        return th.stack(columns, dim=-1)

    def fractions(self, actions: th.Tensor) -> th.Tensor:
        return _fractions(actions)

    def utility(self, consumption: th.Tensor, labour: th.Tensor) -> th.Tensor:
        return _utility(self.exp, consumption, labour)

    def period(self, capital: th.Tensor, log_tfp: th.Tensor, actions: th.Tensor) -> tuple:
        """(wealth, u, next capital, next effective capital) of every household, each (B, N), at ``actions``
        (B, N, 2), ``capital`` (B, N) and ``log_tfp`` (B,).  Each household's quantities depend on its own action
        only: the others' enter detached, so today's prices move with its own labour (its price impact) and
        next period's effective capital with its own saving."""
        exp = self.exp
        n = exp.num_agents
        alpha = exp.alpha
        chat_labour = self.fractions(actions)
        chat, labour = chat_labour[..., 0], chat_labour[..., 1]
        effective_capital = (self.kappa * capital).mean(-1, keepdim=True)  # (B, 1), set before today's actions
        own_labour = self.lam * labour
        effective_labour = _with_own_part(own_labour, own_labour.detach(), n)  # (B, N)
        tfp = th.exp(log_tfp).unsqueeze(-1)
        ratio = effective_capital / effective_labour
        mpk = alpha * tfp * ratio ** (alpha - 1.0)
        mpl = (1.0 - alpha) * tfp * ratio ** alpha
        wealth = (1.0 - exp.delta) * capital + self.kappa * mpk * capital + self.lam * mpl * labour
        consumption = chat * wealth
        next_capital = th.clamp(wealth - consumption, min=CAPITAL_FLOOR)
        own_next = self.kappa * next_capital
        next_aggregate = _with_own_part(own_next, own_next.detach(), n)
        return wealth, self.utility(consumption, labour), next_capital, next_aggregate

    def __call__(self, capital: th.Tensor, log_tfp: th.Tensor, actions: th.Tensor) -> tuple:
        """(J (B, N), u (B, N), next capital (B, N)) at ``actions`` (B, N, 2) (:meth:`period`, then the critic at
        next period's observations, averaged over the innovation's nodes)."""
        exp = self.exp
        _, reward, next_capital, next_aggregate = self.period(capital, log_tfp, actions)
        next_log_tfp = exp.rho * log_tfp.unsqueeze(-1) + exp.sigma * self.nodes  # (B, Q)
        expected = 0.0
        for q in range(self.nodes.shape[0]):
            obs = self.observe(next_capital, next_log_tfp[:, q], next_aggregate)
            expected = expected + self.weights[q] * self.value(obs.reshape(-1, obs.shape[-1])).reshape(capital.shape)
        return reward + exp.beta * expected, reward, next_capital

    def observations(self, state: core.EconomyState) -> th.Tensor:
        """The households' observations (S, N, d) at the states ``state`` (S economies), in double precision."""
        capital, log_tfp = th.as_tensor(state.capital), th.as_tensor(state.log_tfp)
        return self.observe(capital, log_tfp, (self.kappa * capital).mean(-1, keepdim=True).expand_as(capital))

    def on(self, state: core.EconomyState):
        """The lookahead at the states ``state`` as a function of the actions (S, N, 2): (J, u, next capital)."""
        capital, log_tfp = th.as_tensor(state.capital), th.as_tensor(state.log_tfp)
        return lambda actions: self(capital, log_tfp, actions)

    def fixed_saving_slope(self, capital: th.Tensor, log_tfp: th.Tensor, actions: th.Tensor) -> tuple:
        """(direction (B, N, 2), slope (B, N)): the action direction that moves labour by one action unit with
        the consumption fraction moved so that next period's own capital stays as it is, and the derivative of
        the period utility along it (u_c a_i'(l) - chi per unit of labour, in action units; a_i'(l) the private
        marginal income from labour, the household's own price impact included).  Along it the critic's term
        of the lookahead is constant, so no critic enters.  No graph is kept.  A mean action outside [-1, 1]
        is clipped as the environment clips it: its slope is zero there, and polishing leaves it."""
        actions = actions.detach().clone().requires_grad_(True)
        chat_labour = self.fractions(actions)
        chat = chat_labour[..., 0]
        wealth, reward, _, _ = self.period(capital, log_tfp, actions)
        reward_gradient, = th.autograd.grad(reward.sum(), actions, retain_graph=True)
        wealth_gradient, = th.autograd.grad(wealth.sum(), actions)  # d a_i / d x_l (own labour action only)
        # k' = (1 - chat) a fixed: dchat = (1 - chat) da / a; per action unit both fractions move (1 - 2 eps) / 2
        chat_per_labour = (1.0 - chat.detach()) * wealth_gradient[..., 1] / wealth.detach()
        direction = th.stack([chat_per_labour / ((1.0 - 2.0 * ACTION_EPS) / 2.0), th.ones_like(chat)], dim=-1)
        return direction, (reward_gradient * direction).sum(-1)


class ChainLookahead:
    """The one-step lookahead J_i of every household of a Krusell-Smith economy, in double precision (torch):

        J_i(chat_i) = u(chat_i a_i, l_i) + beta sum_{z', e'} P(z', e' | z, e_i) V(o'_i(z', e')),
        k'_i = (1 - chat_i) a_i,  K' = (1/N) sum_j kappa_j k'_j.

    l_i the labour endowment, a_i today's wealth (:func:`econ.economy.markets`; it does not depend on the
    consumption fraction), the
    other households' next capital enters K' as a value (open loop), and the observations o'_i are today's
    (:func:`rl.core.observe`) with own capital, aggregate capital (and ``log_capital``) replaced by next period's
    and the shock components by each scenario of :func:`rl.core.shock_scenarios`.  ``tests/test_polish.py``
    checks it against :func:`rl.core.step` and against the numpy lookahead of PPO's advantages.
    """

    def __init__(self, experiment: Experiment, value):
        if experiment.technology == "ar1":
            raise ValueError(f"ChainLookahead is the Krusell-Smith economies' lookahead; {experiment.name!r} has an "
                             f"AR(1) technology (Lookahead)")
        check_chain(experiment)
        self.exp = experiment
        self.value = value
        self.kappa = th.tensor(experiment.capital_productivity, dtype=th.float64)
        self.law = core.shock_law(experiment)

    def observations(self, state: core.EconomyState) -> th.Tensor:
        """The households' observations (S, N, d) at the states ``state`` (S economies), as the environment
        builds them (float32), in double precision."""
        return th.as_tensor(core.observe(self.exp, state), dtype=th.float64)

    def on(self, state: core.EconomyState):
        """The lookahead at the states ``state`` as a function of the actions (S, N, 1): (J, u, next capital),
        each (S, N)."""
        exp = self.exp
        names = exp.observations
        labour = exp.ks.labour_endowment * state.employed
        endowment = th.as_tensor(labour, dtype=th.float64)
        wealth = th.as_tensor(markets(state.capital, labour, core.technology(exp, state), alpha=exp.alpha,
                                      delta=exp.delta, capital_productivity=np.asarray(exp.capital_productivity),
                                      labour_productivity=np.asarray(exp.labour_productivity)).wealth)
        now = core.observe(exp, state)
        scenarios = core.shock_scenarios(exp, now.reshape(-1, now.shape[-1]), self.law)
        base = th.as_tensor(now, dtype=th.float64)
        shock_columns = list(scenarios.columns)
        shocks = [th.as_tensor(values, dtype=th.float64).reshape(now.shape[:-1] + (-1,))
                  for values in scenarios.values]
        weights = [th.as_tensor(w).reshape(now.shape[:-1]) for w in scenarios.weights]
        n = exp.num_agents

        def next_capital_at(actions: th.Tensor) -> tuple:
            consumption = _fractions(actions[..., 0]) * wealth
            return consumption, th.clamp(wealth - consumption, min=CAPITAL_FLOOR)

        def objective(actions: th.Tensor, others: Optional[th.Tensor] = None) -> tuple:
            """(J, u, k') at the households' ``actions``, the other households' next capital held at the value
            it has at ``others`` (default: at ``actions``)."""
            consumption, next_capital = next_capital_at(actions)
            own_next = self.kappa * next_capital
            next_fixed = own_next.detach() if others is None else self.kappa * next_capital_at(others)[1]
            next_aggregate = _with_own_part(own_next, next_fixed, n)
            obs = base.clone()
            obs[..., names.index("capital")] = next_capital / exp.capital_scale
            obs[..., names.index("aggregate_capital")] = next_aggregate / exp.capital_scale
            if "log_capital" in names:
                obs[..., names.index("log_capital")] = th.log(next_capital / exp.capital_scale)
            expected = 0.0
            for values, weight in zip(shocks, weights):
                scenario = obs.clone()
                scenario[..., shock_columns] = values
                expected = expected + weight * self.value(scenario.reshape(-1, obs.shape[-1])).reshape(wealth.shape)
            reward = _utility(exp, consumption, endowment)
            return reward + exp.beta * expected, reward, next_capital

        return objective


def lookahead_for(experiment: Experiment, value):
    """The lookahead of ``experiment``'s households under the state value ``value``: :class:`Lookahead` (AR(1)
    economies) or :class:`ChainLookahead` (Krusell-Smith economies)."""
    return Lookahead(experiment, value) if experiment.technology == "ar1" else ChainLookahead(experiment, value)
