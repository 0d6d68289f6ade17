"""Polishing a trained policy after training (``general``, ``rbc``; the Krusell-Smith economies' lookahead).

PPO learns the mean of a noisy policy from sampled advantages; the
precision of that mean is limited by the noise of the advantages, and the
intratemporal margin of ``general`` is worth about 1e-4 per period for a
labour choice 1 percent off, far below that noise.  Polishing moves the
actor's mean action a = mu_theta(o_i) by gradient steps computed from the
period equations, on the policy's own states.  Two margins
(:data:`MARGINS`; :func:`polish`):

- ``intratemporal`` (the ``general`` recipe's): along labour at unchanged
  own saving (:meth:`rl.lookahead.Lookahead.fixed_saving_slope`), where next period's
  state does not move, so the lookahead below changes by the period utility
  alone, u_c a_i'(l) - chi per unit of labour: no critic enters, and the
  slope is zero exactly where the intratemporal condition holds.  The saving
  rule is anchored where training left it.
- ``lookahead``: up the gradient of the household's whole one-step
  lookahead, through the period equations and the run's own critic,

    J_i(a_i) = u(c_i, l_i) + beta sum_n w_n V(o'_i(z'_n)),
    c_i = chat_i a_i(l_i),  k'_i = (1 - chat_i) a_i(l_i),

with a_i(l_i) the household's wealth at the prices its own labour moves
(:func:`econ.economy.markets`: K and L averages of the N households), the
other households' actions held at the values their (same) policy gives them
(open loop, as the price-impact benchmark), next period's log A at the
Gauss-Hermite nodes z'_n of the innovation (weights w_n), and V the PPO
critic, not updated.  This is a stochastic value gradient of horizon one
(SVG(1), Heess et al. 2015) with the known period equations as its model.
At the lookahead's optimum the intratemporal condition holds whatever the
critic (the first-order condition in chat gives u_c = beta E V_k; in l it
leaves u_c a_i'(l) = chi), while the Euler condition holds to the accuracy
of the critic's slope.

That needs the critic's slope in next capital to be right; PPO's is
not in ``general`` (docs/training.md: polishing the intratemporal margin
after training).

In the Krusell-Smith economies (``ks``, ``ks-het-*``; one action, the
consumption fraction) the ``lookahead`` margin exists, and
:class:`rl.lookahead.ChainLookahead` writes it: today's prices do not move with the
consumption fraction (capital is set, labour is the endowment), so wealth a_i
is a number; next period's own capital (1 - chat_i) a_i and aggregate
effective capital (the household's own part live, the others' held) enter
the next observations, and the four (z', e'_i) are weighted by
:func:`rl.core.shock_law`, as PPO's advantages integrate them in training.
Whether that helps depends on the critic's slope (docs/training.md: the
lookahead through a critic after training).
The ``euler`` margin leaves the critic out: the mean squared log Euler
error of :class:`rl.lookahead.ChainEuler` on the policy's own states, next
period's consumption from a copy of the rule taken at the start of each
round, so that the rounds are time iteration on the household's first-order
condition, with its private return at its own price impact (the
``ks-het-*`` recipes' polishing; docs/training.md: the Euler equation after
training).  In the AR(1) economies with labour the euler margin is
:class:`rl.lookahead.LabourEuler`'s two log errors, the Euler equation's and
the intratemporal condition's, both squared, next period's actions from the
round's copy; phi 1 (the open-loop household of the price-impact steady
state, ``general``'s benchmark) unless given, never measured.
Being free of the critic, it also polishes the deterministic actor of SAC
(its squashed mean tanh(mu)), TD3 and DDPG (:data:`OTHER_ALGORITHMS`), and
so does the intratemporal margin, which has no critic either. The
lookahead margin needs PPO's state-value critic.

The states are the policy's own: economies simulated with its deterministic
actions and the technology's shocks, re-drawn every round as the policy
moves.  Full-batch Adam on the mean over states and households.  Only the
parameters the mean action depends on move; the critic and the log-std stay
as trained.  ``python -m rl.polish RUN --out DIR`` polishes a finished run
into a new directory (:func:`rl.polish.polish_run`).
"""

from __future__ import annotations

import copy
import hashlib
import time
from pathlib import Path
from typing import NamedTuple, Optional

import numpy as np
import torch as th

from econ import checks
from econ.experiments import Experiment
from rl import core, polish_checkpoint
from rl.lookahead import check_ar1, check_chain, check_euler, euler_for, lookahead_for, measured_price_impact
from rl.polish_states import (actor_parameters, bounded_square, double_copy, mean_actions, policy_states,
                              reach_capital, spread_capital, state_values, type_employment_groups)
from rl.polish_settings import (BURN_IN, FIXED_POINT_MARGINS, GUARD_HALVINGS, MARGINS, MEASURED, NEAR_BOUND,
                                OTHER_ALGORITHMS, STUCK_CHANGE, check_price_impact, off_policy_refusal)


class PolishRecord(NamedTuple):
    """Diagnostics of one polishing round."""

    round: int
    objective_before: float
    """What the margin drives to zero, on the round's states before its steps: the mean |slope| of the
    household's own lookahead in its own action (``lookahead``; the others' actions held, so not the change of
    the mean J when every household moves) or of the period utility along labour at fixed saving; ``euler``: the
    mean |log Euler error|, before the steps the rule's own, after them today's rule against the round's copy
    (next round's "before" is the new rule's own)."""
    objective_after: float
    mean_action_change: float
    """Mean |change| of the mean actions on the round's states, in action units ([-1, 1])."""
    max_action_change: float
    fixed_point_before: Optional[float] = None
    """With ``fixed_point`` > 0: the margin's measure (as ``objective_before``) on the deterministic economy's
    states (sigma = 0, after the burn-in: the neighbourhood of the policy's fixed point), before and after the
    round's steps."""
    fixed_point_after: Optional[float] = None
    price_impact: Optional[list] = None
    """``euler``: the phi per kappa type (sorted) of the round's private return, measured or given."""
    mean_capital: Optional[float] = None
    """The mean capital of a household over the round's (stochastic) states: where the rounds' states lie, which
    under a rule far from its ergodic distribution moves from round to round (``carry``)."""
    steps_taken: Optional[int] = None
    """With ``trust``: the steps the round took before its trust region stopped it (all of them if it did not)."""
    learning_rate: Optional[float] = None
    """With ``guard`` or ``settle``: the round's learning rate (halved for each round the guard undid; falling as
    settle / round from round ``settle`` on)."""


def check_polishable(experiment: Experiment, margin: str = "intratemporal") -> None:
    """Refuse, in one line, an experiment the lookahead cannot be written for, or a ``margin`` it does not have."""
    if margin not in MARGINS:
        raise ValueError(f"margin must be one of {MARGINS}, got {margin!r}")
    if margin == "euler":
        check_euler(experiment)
        return
    if experiment.technology != "ar1":
        if margin != "lookahead":
            raise ValueError(f"the {margin} margin needs an AR(1) economy with labour chosen; {experiment.name!r} "
                             f"has technology {experiment.technology!r}: polish its lookahead (margin lookahead)")
        check_chain(experiment)
        return
    check_ar1(experiment)


def polish(model, experiment: Experiment, *, margin: str = "intratemporal", rounds: int = 10, steps: int = 200,
           learning_rate: float = 1e-5, anchor: float = 100.0, n_economies: int = 8, periods: int = 200,
           burn_in: int = BURN_IN, seed: int = 0, fixed_point: float = 0.0, price_impact=None,
           balanced: bool = False, carry: bool = False, spread: float = 0.0, robust: float = 0.0, trust: float = 0.0,
           guard: float = 0.0, reach: float = 0.0, settle: int = 0, checkpoint=None, log=print) -> list:
    """Polish ``model``'s actor in place (see the module docstring); returns a :class:`PolishRecord` per round.

    Each round simulates ``n_economies`` economies for ``burn_in + periods``
    periods with the current policy, then takes ``steps`` full-batch Adam
    steps (``learning_rate``) on the kept states and every household.
    ``margin`` ``"lookahead"``: minus the mean lookahead J, each household's
    J_i moved by its own action only (the others' enter as values: a step
    of simultaneous best responses, not an ascent of the mean J, which also
    moves through the others' next capital).  ``"intratemporal"``:
    the deterministic policy-gradient surrogate -mean(s_i d_i . mu_theta(o_i)),
    with d_i the direction of :meth:`rl.lookahead.Lookahead.fixed_saving_slope` and s_i the
    period utility's slope along it, both at the current actions: the mean
    action moves along labour at unchanged saving until the intratemporal
    condition holds; plus ``anchor`` times the mean of (k'/k'_0 - 1)^2, with
    k'_0 the next capital the policy chose before polishing at the same
    state, which keeps the saving rule where training left it (the steady
    state amplifies a small drift in it; the direction d keeps k' only to
    first order, at each state separately).  ``fixed_point`` (in [0, 1]; the
    AR(1) economies' ``intratemporal`` and ``euler`` margins): each round
    also simulates one economy with sigma = 0 (log A = 0) for the same
    ``burn_in + periods`` periods, whose kept states lie at the policy's
    deterministic fixed point or converge to it, and the loss is
    ``1 - fixed_point`` times the stochastic states' plus ``fixed_point``
    times these states' (the anchor in each; the euler margin's next periods
    there without shocks), so the margin is also finished where the fixed
    point's residuals are judged; 0 (the default) leaves polishing as
    without it, bit for bit.  ``"euler"``: in the Krusell-Smith economies the mean
    squared log Euler error of :class:`rl.lookahead.ChainEuler` (in the AR(1) economies the mean of the squared
    log errors of :class:`rl.lookahead.LabourEuler`, both conditions), next period's consumption from a copy of the
    rule taken at the start of each round (time iteration: each round solves today's rule against the previous
    round's), the private return with ``price_impact`` phi: ``"measured"`` (the default) measures it at the
    start of each round under the rule (:func:`rl.lookahead.measured_price_impact`, the consistent conjecture
    of the price-impact benchmark, in the agents' own economy; the Krusell-Smith economies' default), a number
    in [0, 1] holds it (1 the open-loop household, the AR(1) economies' default); the other margins take
    none. ``balanced`` (euler margin): the loss is each kappa type x employment group's mean squared error averaged
    over the groups present, so that the few unemployed households of each type weigh as much as the employed (off:
    the mean over every household). ``carry``: each round's economies continue from where the previous round's ended
    (the burn-in only before the first round), so that the rounds' states follow one path of the rule as it is
    polished, through the distribution it moves to, instead of starting afresh from the initial states (off: afresh
    each round). ``spread`` W (euler margin, in [0, 1]): half of each round's stochastic states, drawn, have every
    household's capital scaled by one factor exp(u), u ~ U(-W, W) (:func:`rl.polish_states.spread_capital`, a
    generator of its own), so that the Euler equation is also solved at aggregate capital off the rule's own path,
    which fixes how the rule responds to K (0, the default: the states as simulated, bit for bit).  ``robust`` b
    (euler margin, >= 0): each log error e enters the loss as e^2 up to |e| = b and as 2 b |e| - b^2 beyond it
    (:func:`rl.polish_states.bounded_square`), so that a round whose states hold a few errors far beyond the
    rest moves the rule no more than errors of size b would (0, the default: e^2 throughout, bit for bit).
    ``trust`` d (euler margin, >= 0): a trust region on each round's move, whose steps stop at the first one that
    starts with a mean action on the round's states moved by d or more since the round began (so the largest move
    exceeds d by at most one step's), so that a round whose states lie where the rule was never fitted cannot
    move it far at once (0, the default: every step, bit for bit; :attr:`PolishRecord.steps_taken` says how many).
    ``guard`` g (euler margin, >= 0): a round whose simulated states' mean capital lies outside the range of the
    rounds taken so far, widened by the factor 1 + g, undoes the round before it (the rule, Adam's moments and the
    carried economies back to where that round began) and halves the learning rate for the rest, since the rule
    that round left drives its economies where no round had fitted it; that round is then taken again on fresh
    states.  Two such rounds in a row, or :data:`GUARD_HALVINGS` halvings, stop the polishing with an error that
    says where the states went (0, the default: no check, bit for bit).  ``reach`` R (euler margin, >= 0): a
    quarter of each round's states, drawn, have one household's capital scaled by exp(u), u ~ U(0, R)
    (:func:`rl.polish_states.reach_capital`, a generator of its own), so that the Euler equation is also solved at
    one household's wealth far beyond the others', where a rule never fitted can let it hoard without bound
    (0, the default: the states as simulated, bit for bit).  ``settle`` S (any margin, a non-negative integer):
    rounds 1 to S take ``learning_rate``, and each round r after them ``learning_rate`` times S / r, the decreasing
    steps of stochastic approximation, so that the rule settles where the rounds' draws of states average out
    instead of following the last draw (0, the default: ``learning_rate`` in every round, bit for bit; refused
    with ``guard``, which sets the learning rate too).
    The weights are optimised in double precision and written back to the model's float32
    parameters at the end.  ``checkpoint``: a directory where the state after each complete round is written
    (:mod:`rl.polish_checkpoint`); if it holds one of the same settings and model (``rounds`` aside), polishing
    continues from it, to the weights the whole polishing gives, and the records returned include its rounds.
    """
    check_polishable(experiment, margin)
    if getattr(model.policy, "actor", None) is not None and margin not in OTHER_ALGORITHMS:
        raise off_policy_refusal(f"a {type(model).__name__} policy", margin)
    rounds = checks.positive_int("rounds", rounds)
    steps = checks.positive_int("steps", steps)
    periods = checks.positive_int("periods", periods)
    burn_in = checks.positive_int("burn_in", burn_in, minimum=0)
    learning_rate = checks.positive("learning_rate", learning_rate)
    anchor = checks.non_negative("anchor", anchor)
    fixed_point = checks.closed("fixed_point", fixed_point, 0.0, 1.0)
    if fixed_point and (margin not in FIXED_POINT_MARGINS or experiment.technology != "ar1"):
        raise ValueError(f"fixed_point applies to the {' and '.join(FIXED_POINT_MARGINS)} margins of the AR(1) "
                         f"economies only, got margin {margin!r} in {experiment.name!r}")
    price_impact = check_price_impact(price_impact, margin, experiment.technology,
                                      len(set(experiment.capital_productivity)))
    if balanced and margin != "euler":
        raise ValueError(f"balanced applies to the euler margin only, got margin {margin!r}")
    spread, robust = checks.closed("spread", spread, 0.0, 1.0), checks.non_negative("robust", robust)
    trust, guard, reach = (checks.non_negative(name, value) for name, value in
                           (("trust", trust), ("guard", guard), ("reach", reach)))
    for name, value in (("spread", spread), ("robust", robust), ("trust", trust), ("guard", guard), ("reach", reach)):
        if value and margin != "euler":
            raise ValueError(f"{name} applies to the euler margin only, got margin {margin!r}")
    settle = checks.positive_int("settle", settle, minimum=0)
    if settle and guard:
        raise ValueError(f"settle and guard both set the learning rate: give one, got settle {settle} and "
                         f"guard {guard}")
    rng = np.random.default_rng(seed)
    spread_rng, reach_rng = np.random.default_rng([seed, 3]), np.random.default_rng([seed, 4])
    still_rng = np.random.default_rng([seed, 1])  # the deterministic economy's draws, apart from the others'
    still = experiment._replace(sigma=0.0) if fixed_point else None
    original = model.policy
    policy = double_copy(original)
    policy.set_training_mode(False)
    reference = copy.deepcopy(policy) if margin == "intratemporal" else None  # the anchor's saving rule
    lookahead = lookahead_for(experiment, lambda obs: state_values(policy, obs))
    probe = lookahead.observations(core.initial_state(experiment, 1, np.random.default_rng(0)))  # every type
    actor = actor_parameters(policy, probe.reshape(experiment.num_agents, -1))
    for p in policy.parameters():
        p.requires_grad_(False)
    for p in actor:
        p.requires_grad_(True)
    optimiser = th.optim.Adam(actor, lr=learning_rate)
    records = []
    ending = None  # with carry, where the previous round's economies ended
    settings = {"margin": margin, "rounds": rounds, "steps": steps, "learning_rate": learning_rate, "anchor": anchor,
                "n_economies": n_economies, "periods": periods, "burn_in": burn_in, "seed": seed,
                "fixed_point": fixed_point, "price_impact": price_impact, "balanced": balanced, "carry": carry,
                "spread": spread, "robust": robust, **({"trust": trust} if trust else {}),  # (as before without it)
                **({"guard": guard} if guard else {}), **({"reach": reach} if reach else {}),
                **({"settle": settle} if settle else {}),
                "model": hashlib.sha256(b"".join(t.detach().cpu().numpy().tobytes()
                                                 for t in original.state_dict().values())).hexdigest()}
    began, earlier = time.perf_counter(), 0.0  # the polishing's seconds: this sitting's and the kept rounds'
    backup = None  # with guard: the rule, Adam's state and the carried economies as the last round taken began
    resumed = None if checkpoint is None else polish_checkpoint.load(checkpoint, settings)
    if resumed is not None:
        earlier = float(resumed.get("seconds", 0.0))
        polish_checkpoint.restore(resumed, policy, optimiser, (rng, still_rng, spread_rng, reach_rng))
        records, ending, backup = [PolishRecord(**r) for r in resumed["records"]], resumed["ending"], resumed["backup"]
        log(f"polishing resumed after round {len(records)} ({Path(checkpoint) / polish_checkpoint.FILE})")
    r = len(records)
    while r < rounds:
        began_at = None if not guard else (copy.deepcopy(policy.state_dict()), copy.deepcopy(optimiser.state_dict()),
                                           ending)  # where guard may return to, once the round is taken
        states, end = policy_states(experiment, policy, n_economies, periods, 0 if ending is not None else burn_in,
                                    rng, start=ending)
        ending = end if carry else None
        where = float(states.capital.mean())  # the simulated states' (not the deterministic economy's, not spread)
        seen = [record.mean_capital for record in records]
        if guard and seen and not min(seen) / (1 + guard) <= where <= max(seen) * (1 + guard):
            rate = optimiser.param_groups[0]["lr"] / 2
            message = (f"polish round {r + 1}: its states' mean capital {where:.3f} lies outside the earlier rounds' "
                       f"{min(seen):.3f} to {max(seen):.3f} widened by {guard}")
            if backup is None or learning_rate / rate > 2 ** GUARD_HALVINGS:
                raise RuntimeError(f"{message}, and the round before it cannot be undone (undone already, or the "
                                   f"learning rate halved {GUARD_HALVINGS} times): the polishing diverges")
            policy.load_state_dict(backup[0])
            optimiser.load_state_dict(backup[1])
            ending, backup, r = backup[2], None, r - 1
            for group in optimiser.param_groups:
                group["lr"] = rate
            records.pop()
            log(f"{message}: round {r + 1} undone, learning rate halved to {rate:.3e}, round {r + 1} again")
            continue
        if settle:  # this round's step size (the guard, which sets it otherwise, is refused with settle)
            for group in optimiser.param_groups:
                group["lr"] = learning_rate * min(1.0, settle / (r + 1))
        if spread:  # after the path went on from the states as simulated
            states = spread_capital(states, spread, spread_rng)
        if reach:  # likewise, and after the spread
            states = reach_capital(states, reach, reach_rng)
        weighted = [(1.0 - fixed_point, states, experiment)]
        if fixed_point:
            weighted.append((fixed_point, policy_states(still, policy, 1, periods, burn_in, still_rng)[0], still))
        phi = None
        if margin == "euler":  # next period's rule: the policy as the round begins
            tomorrow = double_copy(policy)
            for p in tomorrow.parameters():
                p.requires_grad_(False)
            phi = price_impact if price_impact != MEASURED else measured_price_impact(
                experiment, lambda obs: mean_actions(tomorrow, th.as_tensor(obs, dtype=th.float64)).numpy(),
                seed=seed * 1000 + r)
        batches = []
        for weight, states, economy in weighted:
            capital, log_tfp = th.as_tensor(states.capital), th.as_tensor(states.log_tfp)
            flat = lookahead.observations(states).reshape(capital.numel(), -1)
            shape = capital.shape + (-1,)
            with th.no_grad():
                start = mean_actions(policy, flat)
                saving = (lookahead.period(capital, log_tfp, mean_actions(reference, flat).reshape(shape))[2]
                          if margin == "intratemporal" else None)
            objective = (lookahead.on(states) if margin != "euler" else  # next periods in the batch's economy
                         euler_for(economy, phi).on(states, lambda obs, rule=tomorrow: mean_actions(rule, obs)))
            groups = type_employment_groups(experiment, states) if balanced else None
            batches.append((weight, capital, log_tfp, flat, shape, saving, groups, objective, start))

        def score(batch, actions):
            _, capital, log_tfp, _, shape, _, _, objective, _ = batch
            if margin == "lookahead":  # each household's own slope (the others' actions enter J_i as values)
                actions = actions.detach().reshape(shape).requires_grad_(True)
                slope, = th.autograd.grad(objective(actions)[0].sum(), actions)
                return float(slope.norm(dim=-1).mean())
            if margin == "euler":
                with th.no_grad():
                    return float(objective(actions.reshape(shape))[0].abs().mean())
            return float(lookahead.fixed_saving_slope(capital, log_tfp, actions.reshape(shape))[1].abs().mean())

        def loss_on(batch):
            _, capital, log_tfp, flat, shape, saving, groups, objective, _ = batch
            actions = mean_actions(policy, flat)
            if margin == "lookahead":
                return -objective(actions.reshape(shape))[0].mean()
            if margin == "euler":
                squared = bounded_square(objective(actions.reshape(shape))[0], robust)
                return squared.mean() if groups is None else sum(squared[g].mean() for g in groups) / len(groups)
            direction, slope = lookahead.fixed_saving_slope(capital, log_tfp, actions.reshape(shape))
            loss = -((slope.unsqueeze(-1) * direction).reshape(actions.shape) * actions).sum(-1).mean()
            next_capital = lookahead.period(capital, log_tfp, actions.reshape(shape))[2]
            return loss + anchor * ((next_capital / saving - 1.0) ** 2).mean()

        before = [score(batch, batch[-1]) for batch in batches]
        taken = 0
        for _ in range(steps):
            if trust:
                with th.no_grad():
                    if float((mean_actions(policy, batches[0][3]) - batches[0][-1]).abs().max()) >= trust:
                        break
            taken += 1
            optimiser.zero_grad()
            loss = sum(batch[0] * loss_on(batch) for batch in batches if batch[0])  # (x 1.0 and 0 + x are exact)
            loss.backward()
            optimiser.step()
        with th.no_grad():
            after = [mean_actions(policy, batch[3]) for batch in batches]
            change = (after[0] - batches[0][-1]).abs()
        scores = [score(batch, actions) for batch, actions in zip(batches, after)]
        record = PolishRecord(r, before[0], scores[0], float(change.mean()), float(change.max()),
                              *((before[1], scores[1]) if fixed_point else (None, None)),
                              None if phi is None else
                              np.broadcast_to(phi, (len(set(experiment.capital_productivity)),)).tolist(),
                              where, taken if trust else None,
                              optimiser.param_groups[0]["lr"] if guard or settle else None)
        records.append(record)
        backup, r = began_at, r + 1
        what = {"lookahead": "mean |slope of the lookahead in the own action|",
                "euler": "mean |log Euler error|" if experiment.technology != "ar1" else
                         "mean |log Euler and intratemporal errors|"}.get(
            margin, "mean |utility slope along labour at fixed saving|")
        near = (f"; at the fixed point {record.fixed_point_before:.6e} -> {record.fixed_point_after:.6e}"
                if fixed_point else "")
        if phi is not None:
            near += "; phi by kappa type " + " / ".join(f"{x:.3f}" for x in record.price_impact)
        log(f"polish round {r}/{rounds}: {what} {record.objective_before:.6e} -> {record.objective_after:.6e}, "
            f"mean |action change| {record.mean_action_change:.2e} (max {record.max_action_change:.2e}){near}; "
            f"mean capital {record.mean_capital:.3f}" + (f"; {taken} steps (trust region)" if taken < steps else ""))
        if taken and record.max_action_change <= STUCK_CHANGE:  # e.g. a squashed actor saturated: no gradient
            bound = float((after[0].abs() >= 1.0 - NEAR_BOUND).double().mean())
            log(f"polish round {r}/{rounds}: its {taken} steps moved no action by more than {STUCK_CHANGE:g} on the "
                f"round's states ({bound:.0%} of the actions within {NEAR_BOUND:g} of the box's bound, where a "
                f"squashed actor has no slope): the polishing is stuck")
        if checkpoint is not None:
            polish_checkpoint.save(checkpoint, settings=settings, policy=policy, optimiser=optimiser,
                                   generators=(rng, still_rng, spread_rng, reach_rng), ending=ending, records=records,
                                   seconds=earlier + time.perf_counter() - began, backup=backup)
    with th.no_grad():
        for target, source in zip(original.parameters(), policy.parameters()):
            target.copy_(source.to(target.dtype))
    return records


# ----------------------------------------------------------------------------- command line
