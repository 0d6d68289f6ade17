"""The one-step lookahead of every household, differentiable (torch, double precision): a copy of the period
equations and of the observations that :mod:`rl.polish_rounds` climbs or moves along.

:class:`Lookahead` is the AR(1) economies' (``rbc``, ``general``; labour chosen), :class:`ChainLookahead` the
Krusell-Smith economies' (the consumption fraction the one action, next period's shocks weighted by
:func:`rl.core.shock_law`); :func:`lookahead_for` picks one.  :class:`ChainEuler` is the Krusell-Smith household's
Euler equation on the same next states, with next period's consumption from a given rule instead of a critic's
value; :class:`LabourEuler` the AR(1) household's Euler equation and intratemporal condition (:func:`euler_for`
picks one).  ``tests/test_polish.py`` checks each against the environment's own step and observations.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch as th

from econ.economy import ACTION_EPS, CAPITAL_FLOOR, markets, private_return_wedge, private_wage_wedge
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


def _marginal_products(ratio, tfp, alpha: float) -> tuple:
    """(r, w) = (alpha A (K/L)^(alpha-1), (1-alpha) A (K/L)^alpha) at ``ratio`` = K/L, on tensors: the torch copy of
    :func:`econ.economy.markets`' prices that both lookaheads and the Euler equation use."""
    return alpha * tfp * ratio ** (alpha - 1.0), (1.0 - alpha) * tfp * ratio ** alpha


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
        chat_labour = self.fractions(actions)
        chat, labour = chat_labour[..., 0], chat_labour[..., 1]
        effective_capital = (self.kappa * capital).mean(-1, keepdim=True)  # (B, 1), set before today's actions
        wealth = self.market(capital, effective_capital, labour, log_tfp)[0]
        consumption = chat * wealth
        next_capital = th.clamp(wealth - consumption, min=CAPITAL_FLOOR)
        own_next = self.kappa * next_capital
        next_aggregate = _with_own_part(own_next, own_next.detach(), self.exp.num_agents)
        return wealth, self.utility(consumption, labour), next_capital, next_aggregate

    def market(self, capital: th.Tensor, effective_capital: th.Tensor, labour: th.Tensor, log_tfp: th.Tensor
               ) -> tuple:
        """(wealth, MPK, MPL, effective labour L) of every household, each (B, N), with own ``capital`` and
        ``labour`` (B, N), ``effective_capital`` K (B, 1) or each household's view of it (B, N), and ``log_tfp``
        (B,): L is the mean of lambda_j l_j with the household's own part live and the others' detached, so the
        prices move with its own labour (its price impact); wealth = (1 - delta) k + kappa MPK k + lambda MPL l."""
        own_labour = self.lam * labour
        effective_labour = _with_own_part(own_labour, own_labour.detach(), self.exp.num_agents)
        mpk, mpl = _marginal_products(effective_capital / effective_labour, th.exp(log_tfp).unsqueeze(-1),
                                      self.exp.alpha)
        wealth = (1.0 - self.exp.delta) * capital + self.kappa * mpk * capital + self.lam * mpl * labour
        return wealth, mpk, mpl, effective_labour

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
        labour = exp.ks.labour_endowment * state.employed
        endowment = th.as_tensor(labour, dtype=th.float64)
        wealth = th.as_tensor(markets(state.capital, labour, core.technology(exp, state), alpha=exp.alpha,
                                      delta=exp.delta, capital_productivity=np.asarray(exp.capital_productivity),
                                      labour_productivity=np.asarray(exp.labour_productivity)).wealth)
        base, shock_columns, shocks, weights = _chain_scenarios(exp, state, self.law)
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
            obs = _next_capital_observations(exp, base, next_capital, _with_own_part(own_next, next_fixed, n))
            expected = 0.0
            for values, weight in zip(shocks, weights):
                scenario = obs.clone()
                scenario[..., shock_columns] = values
                expected = expected + weight * self.value(scenario.reshape(-1, obs.shape[-1])).reshape(wealth.shape)
            reward = _utility(exp, consumption, endowment)
            return reward + exp.beta * expected, reward, next_capital

        return objective


def _chain_scenarios(exp: Experiment, state: core.EconomyState, law: core.ShockLaw) -> tuple:
    """Today's observations (S, N, d) as a double tensor, the shock columns, and per (z', e'_i) scenario of
    :func:`rl.core.shock_scenarios` (in its order: (bad, employed), (bad, unemployed), (good, employed), (good,
    unemployed)) the shock components (S, N, c) and the probabilities (S, N)."""
    now = core.observe(exp, state)
    scenarios = core.shock_scenarios(exp, now.reshape(-1, now.shape[-1]), law)
    shocks = [th.as_tensor(values, dtype=th.float64).reshape(now.shape[:-1] + (-1,)) for values in scenarios.values]
    weights = [th.as_tensor(w).reshape(now.shape[:-1]) for w in scenarios.weights]
    return th.as_tensor(now, dtype=th.float64), list(scenarios.columns), shocks, weights


def _next_capital_observations(exp: Experiment, base: th.Tensor, next_capital: th.Tensor,
                               next_aggregate: th.Tensor) -> th.Tensor:
    """Today's observations ``base`` with own capital, aggregate capital (and ``log_capital``) replaced by next
    period's; the shock components are left to each scenario."""
    names = exp.observations
    obs = base.clone()
    obs[..., names.index("capital")] = next_capital / exp.capital_scale
    obs[..., names.index("aggregate_capital")] = next_aggregate / exp.capital_scale
    if "log_capital" in names:
        obs[..., names.index("log_capital")] = th.log(next_capital / exp.capital_scale)
    return obs


SCENARIO_SHOCKS = ((0, 1), (0, 0), (1, 1), (1, 0))
"""(z', e'_i) of each scenario of :func:`rl.core.shock_scenarios` in a Krusell-Smith economy (z' 0 bad, 1 good)."""


def check_euler(experiment: Experiment) -> None:
    """Refuse, in one line, an economy :class:`ChainEuler` (Krusell-Smith) or :class:`LabourEuler` (AR(1), labour
    chosen) cannot be written for."""
    if experiment.technology == "ar1":
        check_ar1(experiment)  # (an AR(1) economy's chosen labour is in its utility: make_experiment's check)
        return
    check_chain(experiment)
    if not experiment.exact_unemployment:
        raise ValueError(f"the Euler margin needs exact unemployment counts (next period's labour known given z'); "
                         f"{experiment.name!r} has exact_unemployment False")
    if len(set(experiment.labour_productivity)) != 1:
        raise ValueError(f"the Euler margin needs one labour productivity for every household (next period's labour "
                         f"known given z'); {experiment.name!r} has {sorted(set(experiment.labour_productivity))}")


class ChainEuler:
    """The log Euler error of every household of a Krusell-Smith economy, in double precision (torch):

        e_i(chat_i) = log( beta c_i sum_{z', e'} P(z', e' | z, e_i) R'_i / c'_i ),
        c_i = chat_i a_i,  k'_i = (1 - chat_i) a_i,  K' = (1/N) sum_j kappa_j k'_j,
        c'_i = chat'(o'_i) a'_i,  a'_i = (1 - delta) k'_i + r' kappa_i k'_i + w' lambda l' e'_i,
        R'_i = 1 - delta + kappa_i r' [1 + (phi/N) (1 - alpha) (lambda l' e'_i / L' - kappa_i k'_i / K')],

    zero where household i's consumption satisfies its Euler equation u'(c) = beta E[R' u'(c')] (log utility in
    consumption; labour is the endowment).  r', w' are next period's marginal products at K' and L' = lambda l'
    (1 - U_{z'}/N) (exact unemployment counts U_{z'}: labour is known given z'); R'_i is the private return of
    :func:`econ.economy.private_return_wedge` (``price_impact`` phi, a number or one per kappa type in the order
    of ``sorted(set(capital_productivity))``: 1 the open-loop household, which knows its own direct effect on next
    period's prices; 0 the price taker; :func:`measured_price_impact` the consistent conjecture, which can leave
    [0, 1] where the others' reactions amplify the household's impact, or by the measurement's sampling error).
    Next period's fraction chat' is the rule ``tomorrow`` (a function of the observations (M, d) -> actions
    (M, 1)) at o'_i, the observations :class:`ChainLookahead` builds: the household's own part of K' live, the
    others' held at their values at the same actions (open loop).  A zero error at every state for ``tomorrow``
    = the rule itself is the household's first-order condition; holding ``tomorrow`` at a copy of the rule and
    solving today's is time iteration.
    """

    def __init__(self, experiment: Experiment, price_impact=1.0):
        if experiment.technology == "ar1":
            raise ValueError(f"ChainEuler is the Krusell-Smith economies' Euler equation; {experiment.name!r} has "
                             f"an AR(1) technology (LabourEuler)")
        check_euler(experiment)
        self.exp = experiment
        types = sorted(set(experiment.capital_productivity))
        phi = np.broadcast_to(np.asarray(price_impact, dtype=float), (len(types),))
        if not np.all(np.isfinite(phi)):  # a measured phi may leave [0, 1] (the benchmark's is not bounded)
            raise ValueError(f"price_impact must be finite (one number, or one per kappa type {types}), got "
                             f"{price_impact}")
        self.price_impact = th.tensor([phi[types.index(k)] for k in experiment.capital_productivity],
                                      dtype=th.float64)  # per household
        self.kappa = th.tensor(experiment.capital_productivity, dtype=th.float64)
        self.law = core.shock_law(experiment)
        ks = experiment.ks
        n = experiment.num_agents
        unemployed = np.floor(np.asarray(ks.unemployment_rates) * n + 0.5)  # as the environment counts them
        self.labour_supply = experiment.labour_productivity[0] * ks.labour_endowment  # lambda l' of the employed
        self.next_labour = self.labour_supply * (n - unemployed) / n  # L' per z' (bad, good)
        self.technology = np.asarray(ks.technology, dtype=float)

    def on(self, state: core.EconomyState, tomorrow) -> "_EulerAt":
        """The Euler equation at the states ``state`` (S economies): called with the actions (S, N, 1) it gives
        (e, chat), each (S, N); its ``next_period`` gives each scenario's quantities."""
        return _EulerAt(self, state, tomorrow)


class _EulerAt:
    """:class:`ChainEuler` at given states and next period's rule."""

    def __init__(self, euler: ChainEuler, state: core.EconomyState, tomorrow):
        exp = euler.exp
        self.euler, self.tomorrow = euler, tomorrow
        labour = exp.ks.labour_endowment * state.employed
        self.wealth = th.as_tensor(markets(state.capital, labour, core.technology(exp, state), alpha=exp.alpha,
                                           delta=exp.delta, capital_productivity=np.asarray(exp.capital_productivity),
                                           labour_productivity=np.asarray(exp.labour_productivity)).wealth)
        self.base, self.shock_columns, self.shocks, self.weights = _chain_scenarios(exp, state, euler.law)

    def next_period(self, actions: th.Tensor, next_capital: Optional[th.Tensor] = None) -> list:
        """Per (z', e'_i) scenario (:data:`SCENARIO_SHOCKS`' order): next period's wealth a'_i, private return
        R'_i and fraction chat'_i, each (S, N), at the actions (S, N, 1) (or at the given ``next_capital``)."""
        euler, exp = self.euler, self.euler.exp
        alpha, delta, n = exp.alpha, exp.delta, exp.num_agents
        if next_capital is None:
            next_capital = th.clamp(self.wealth * (1.0 - _fractions(actions[..., 0])), min=CAPITAL_FLOOR)
        own_next = euler.kappa * next_capital
        next_aggregate = _with_own_part(own_next, own_next.detach(), n)
        obs = _next_capital_observations(exp, self.base, next_capital, next_aggregate)
        periods = []
        for (z_next, e_next), values in zip(SCENARIO_SHOCKS, self.shocks):
            next_labour = float(euler.next_labour[z_next])
            ratio = next_aggregate / next_labour
            rate, wage = _marginal_products(ratio, euler.technology[z_next], alpha)
            own_labour = euler.labour_supply * e_next
            next_wealth = (1.0 - delta + rate * euler.kappa) * next_capital + wage * own_labour
            scenario = obs.clone()
            scenario[..., self.shock_columns] = values
            next_fraction = _fractions(self.tomorrow(scenario.reshape(-1, obs.shape[-1]))[:, 0]).reshape(
                self.wealth.shape)
            wedge = private_return_wedge.py_func(euler.price_impact / n, alpha, own_labour / next_labour,
                                                 own_next / next_aggregate)  # the formula, on tensors
            periods.append((next_wealth, 1.0 - delta + euler.kappa * rate * (1.0 + wedge), next_fraction))
        return periods

    def __call__(self, actions: th.Tensor) -> tuple:
        fraction = _fractions(actions[..., 0])
        expected = 0.0
        for weight, (next_wealth, private_return, next_fraction) in zip(self.weights, self.next_period(actions)):
            expected = expected + weight * private_return / (next_fraction * next_wealth)
        return th.log(self.euler.exp.beta * fraction * self.wealth * expected), fraction


class LabourEuler:
    """The first-order conditions of every household of an AR(1) economy with labour chosen (``rbc``,
    ``general``) as log errors, in double precision (torch):

        Euler:          e_i = log( beta c_i sum_n w_n R'_i(n) / c'_i(n) ),
        intratemporal:  g_i = log( chi c_i / W_i )   (log-leisure utility: chi c_i / ((1 - l_i) W_i)),

    c_i = chat_i a_i and k'_i = (1 - chat_i) a_i as :meth:`Lookahead.period` writes them (today's prices moved by
    the household's own labour, the others' held), W_i = lambda_i w (1 + :func:`econ.economy.private_wage_wedge`
    (1/N, ...)) its private marginal income from labour; next period's log A at the Gauss-Hermite nodes of the
    innovation (weights w_n), next period's actions (chat'_i, l'_i) from the rule ``tomorrow`` at the
    observations o'_i that :class:`Lookahead` builds (the household's own part of K' live, the others' held),
    L' = (1/N) sum_j lambda_j l'_j (its own part live), r' and w' the marginal products at K'/L' and A',
    a'_i = (1 - delta + kappa_i r') k'_i + lambda_i w' l'_i, c'_i = chat'_i a'_i and
    R'_i = 1 - delta + kappa_i r' (1 + :func:`econ.economy.private_return_wedge`(phi/N, ...)).

    Both are zero where household i's choices satisfy its first-order conditions (u_c = beta E[R' u_c'] and
    u_c W_i = the marginal disutility of work; the utility is separable, u_c = 1/c).  At a deterministic fixed
    point of the rule (sigma = 0, c' = c) e_i = log(beta R_i) and g_i = log(1 + the intratemporal residual): the
    residuals the ``general`` scorecard judges (:func:`validation.general.private_residuals`), in logs.
    ``price_impact`` phi: 1 the open-loop household of the price-impact steady state (``general``'s benchmark;
    the default), 0 the price taker.  Today's wage wedge is the open-loop household's (its labour moves today's
    prices as :meth:`Lookahead.period` moves them).
    """

    def __init__(self, experiment: Experiment, price_impact=1.0):
        check_euler(experiment)
        if experiment.technology != "ar1":
            raise ValueError(f"LabourEuler is the AR(1) economies' first-order conditions; {experiment.name!r} is a "
                             f"Krusell-Smith economy (ChainEuler)")
        phi = np.asarray(price_impact, dtype=float)
        if phi.shape != () or not np.isfinite(phi):
            raise ValueError(f"price_impact must be one finite number, got {price_impact}")
        self.exp, self.price_impact = experiment, float(phi)
        self.lookahead = Lookahead(experiment, value=None)

    def on(self, state: core.EconomyState, tomorrow):
        """The conditions at the states ``state`` (S economies) with next period's rule ``tomorrow`` (observations
        (M, d) -> actions (M, 2)): called with the actions (S, N, 2) it gives (errors (S, N, 2), the Euler error
        then the intratemporal one, and the fractions (S, N, 2))."""
        capital, log_tfp = th.as_tensor(state.capital), th.as_tensor(state.log_tfp)
        return lambda actions: self(capital, log_tfp, actions, tomorrow)

    def __call__(self, capital: th.Tensor, log_tfp: th.Tensor, actions: th.Tensor, tomorrow) -> tuple:
        exp, look = self.exp, self.lookahead
        n, alpha, delta = exp.num_agents, exp.alpha, exp.delta
        kappa, lam = look.kappa, look.lam
        fractions = _fractions(actions)
        chat, labour = fractions[..., 0], fractions[..., 1]
        _, _, next_capital, next_aggregate = look.period(capital, log_tfp, actions)
        effective_capital = (kappa * capital).mean(-1, keepdim=True)
        wealth, _, wage, effective_labour = look.market(capital, effective_capital, labour, log_tfp)
        consumption = chat * wealth
        private_wage = lam * wage * (1.0 + private_wage_wedge(1.0 / n, alpha, lam * labour / effective_labour,
                                                              kappa * capital / effective_capital))
        leisure = 1.0 if exp.utility == "linear" else 1.0 - labour
        intratemporal = th.log(exp.chi * consumption / (leisure * private_wage))
        own_next = kappa * next_capital
        next_log_tfp = exp.rho * log_tfp.unsqueeze(-1) + exp.sigma * look.nodes  # (S, Q)
        expected = 0.0
        for q in range(look.nodes.shape[0]):
            obs = look.observe(next_capital, next_log_tfp[:, q], next_aggregate)
            next_fractions = _fractions(tomorrow(obs.reshape(-1, obs.shape[-1])).reshape(actions.shape))
            next_labour = next_fractions[..., 1]
            next_wealth, rate, _, next_effective_labour = look.market(next_capital, next_aggregate, next_labour,
                                                                      next_log_tfp[:, q])
            own_share = lam * next_labour / next_effective_labour
            wedge = private_return_wedge.py_func(self.price_impact / n, alpha, own_share, own_next / next_aggregate)
            expected = expected + look.weights[q] * (1.0 - delta + kappa * rate * (1.0 + wedge)) / (
                next_fractions[..., 0] * next_wealth)
        return th.stack([th.log(exp.beta * consumption * expected), intratemporal], dim=-1), fractions


def euler_for(experiment: Experiment, price_impact):
    """The households' first-order conditions in ``experiment`` with price impact ``price_impact``:
    :class:`LabourEuler` (AR(1) economies) or :class:`ChainEuler` (Krusell-Smith economies)."""
    return (LabourEuler if experiment.technology == "ar1" else ChainEuler)(experiment, price_impact)


RESPONSE_ECONOMIES = 48
"""Economies of :func:`measured_price_impact`, each with one deviating household (the types in turn), as the
benchmark's measurement (:mod:`econ.krusell_smith.conjecture`)."""
RESPONSE_BURN_IN = 300
"""Periods under the rule before the impulse."""
RESPONSE_IMPULSE = 1e-3
"""The impulse, as a fraction of aggregate effective capital K."""
RESPONSE_HORIZON_TOL = 1e-3
"""The response is followed until beta^s falls below this."""


def measured_price_impact(experiment: Experiment, rule, seed: int = 0) -> np.ndarray:
    """phi per kappa type (in the order of ``sorted(set(capital_productivity))``): the share of a household's own
    price impact that the other households' reactions leave, measured in the experiment's own N-household economy
    under the rule ``rule`` (observations (M, d) -> actions (M, 1), numpy), as the price-impact benchmark measures
    it under its rule (:mod:`econ.krusell_smith.conjecture`: phi = sum_s beta^s D_s, D_s the others' accumulated
    response of K_{t+1+s} per unit of an impulse to K_{t+1}).

    :data:`RESPONSE_ECONOMIES` economies run :data:`RESPONSE_BURN_IN` periods under the rule from the
    environment's initial states; each is then stepped twice on the same shocks (one generator state copied),
    once as is and once with one household's next capital raised by :data:`RESPONSE_IMPULSE` x K N / kappa_i
    and held on its first path afterwards, so that only the others' reactions move K; D_s is the difference of
    the two K paths over the impulse, averaged over the economies whose deviating household is of each type (the
    first household of the type deviates).
    """
    exp = experiment
    rng = np.random.default_rng([seed, 2])
    kappa = np.asarray(exp.capital_productivity, dtype=float)
    types = sorted(set(exp.capital_productivity))
    deviator = np.array([exp.capital_productivity.index(types[e % len(types)])
                         for e in range(RESPONSE_ECONOMIES)])
    rows = np.arange(RESPONSE_ECONOMIES)

    def advance(state, generator):
        obs = core.observe(exp, state)
        actions = np.asarray(rule(obs.reshape(-1, obs.shape[-1]))).reshape(obs.shape[:-1] + (-1,))
        return core.step(exp, state, actions, generator).state

    def aggregate(state):
        return (state.capital * kappa).mean(-1)

    state = core.initial_state(exp, RESPONSE_ECONOMIES, rng)
    for _ in range(RESPONSE_BURN_IN):
        state = advance(state, rng)
    capital = state.capital.copy()
    impulse = RESPONSE_IMPULSE * aggregate(state)
    capital[rows, deviator] += impulse * exp.num_agents / kappa[deviator]
    deviated = state._replace(capital=capital)
    twin = np.random.default_rng()
    twin.bit_generator.state = rng.bit_generator.state  # the same shocks on both paths
    horizon = int(np.ceil(np.log(RESPONSE_HORIZON_TOL) / np.log(exp.beta)))
    phi = np.ones(RESPONSE_ECONOMIES)  # D_0 = 1
    for s in range(1, horizon + 1):
        state, deviated = advance(state, rng), advance(deviated, twin)
        capital = deviated.capital.copy()
        capital[rows, deviator] = state.capital[rows, deviator]  # the deviating household back on its first path
        deviated = deviated._replace(capital=capital)
        phi += exp.beta ** s * (aggregate(deviated) - aggregate(state)) / impulse
    return np.array([phi[kappa[deviator] == t].mean() for t in types])


def lookahead_for(experiment: Experiment, value):
    """The lookahead of ``experiment``'s households under the state value ``value``: :class:`Lookahead` (AR(1)
    economies) or :class:`ChainLookahead` (Krusell-Smith economies)."""
    return Lookahead(experiment, value) if experiment.technology == "ar1" else ChainLookahead(experiment, value)
