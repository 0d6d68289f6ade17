"""Trained households against their best response in their own economy.

    python -m validation.best_response ks [--model RUN [RUN ...]] [--welfare]

The scorecard judges the agents against the price-impact rule, the
equilibrium of the N-household game.  When they miss it, either each agent
fails to optimise given what the others do (a learning error), or the others
do something else than the equilibrium and the agent answers that (which the
benchmark rule does not).  This check tells the two apart.  For each run:

1. the agents' panel is simulated with the scorecard's settings and their law
   of motion re-estimated from it (pooled OLS per aggregate state, as the
   scorecard's law-of-motion rows);
2. the price-impact benchmark's household problem is re-solved with that law
   (:func:`econ.krusell_smith.best_response`: the benchmark's grids, its
   employment process, which is the environment's, and its price impact
   phi / N);
3. on the agents' own states (every ``sample_every``-th kept period, every
   household) the mean consumption fraction of the agents, of the benchmark
   rule and of the best response are compared per type and employment status.

An agent at its best response has ``agents - best response`` near 0 even when
``agents - benchmark`` is not.  A second, model-free test of the same
question (:func:`validation.same_economy.realised_euler`): along each rule's
own panel the realised Euler residual beta R'_i c_t / c_{t+1} - 1 (R'_i the
private return with the benchmark's price impact), averaged per type and
employment status, is about 0 for a rule that optimises in this environment,
and positive where it consumes too much today (a binding borrowing
constraint only allows it below 0).  With ``--welfare`` the unilateral gain
of a household switching to the best response (the others keep the agents'
rule) is reported beside the gain of switching to the benchmark rule: the
best response should gain at least as much, and both measure what the
remaining distance is worth (percent of consumption per period, mean and 2
sd over economies, :func:`validation.welfare.switching_gains`); for a few
households of a type their bands can be wider than the distance they
measure.

For an off-policy model (SAC, TD3, DDPG) a fourth rule is read off the model
itself: the *critic's optimum*, the consumption fraction that maximises its
Q at each of the same states (:func:`critic_optimum`), the Q its actor
is trained on (:func:`actor_objective`: SAC's twin critics combined as in
its training, the smaller of the two by default; TD3's first critic).  The
actor is trained to climb that Q, so ``agents - critic optimum`` near 0
with ``critic optimum - best response`` far from 0 says that the critic,
not the actor, holds the error.  For PPO, whose critic is a state value V,
the same column is the fraction that maximises the one-step lookahead
u(chat a) + beta E[V(o') | o, chat] (:func:`lookahead_fractions`: the
household's own next capital (1 - chat) a, the others' as simulated, next
period's shocks integrated out as in its training): what its critic says the
household should do today.  There the advantages carry that lookahead plus
the noise of later periods, so ``agents - critic optimum`` far from 0 with
``critic optimum - best response`` near 0 says that the actor has not
followed a critic that knows the answer.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch as th
from stable_baselines3 import TD3

from econ import checks
from econ.economy import ACTION_EPS, action_to_fraction, utility
from econ.cli_help import HelpFormatter
from econ.krusell_smith.best_response import best_response
from econ.io import write_json_atomic
from econ.krusell_smith.law_of_motion import as_mapping
from rl import core
from rl.advantages import with_own_next_capital
from rl.loading import load_model
from rl.rollout import one_torch_thread, simulate_agents
from rl.sac import combine_critics
from validation.compare import scoring_experiment, shipped_model_path
from validation.krusell_smith import (KS_EXPERIMENTS, KSBenchmarkActor, _fit_law_of_motion, _household_types,
                                      price_impact_benchmark)
from validation.same_economy import _bias, realised_euler
from validation.scorecard import DEFAULT_SIMULATION
from validation.welfare import Scenario, switching_gains

RULES = ("agents", "benchmark", "best response")
"""The three consumption rules compared on the agents' states."""

CRITIC_RULE = "critic optimum"
"""The fourth rule, for models with Q critics (:func:`critic_optimum`)."""

CRITIC_GRID = 201
"""Actions :func:`critic_optimum` tries first: the action box [-1, 1] every 0.01 (0.005 of the consumption
fraction)."""

CRITIC_REFINE = 41
"""... then this many around the best of them, 0.0005 apart (0.00025 of the fraction, six times finer than the
0.0015 the consumption-fraction rows allow)."""

CRITIC_CHUNK = 2_048
"""Observations per critic evaluation (times the number of actions tried: memory, not the result)."""


def actor_objective(model):
    """The Q the model's actor climbs, ``(obs (M, d), actions (M, 1)) -> (M, 1)``: for SAC its critics combined
    as its training combines them (:func:`rl.sac.combine_critics` with the model's ``critic_pessimism``; SB3's
    SAC: the smaller of the twins), for TD3 and DDPG the first critic (SB3's TD3 actor climbs ``q1_forward``;
    DDPG has one); None for models without Q critics (PPO, plain rules)."""
    critic = getattr(model, "critic", None)
    if not isinstance(critic, th.nn.Module):
        return None
    if isinstance(model, TD3):  # DDPG is a TD3 with one critic
        return critic.q1_forward
    pessimism = getattr(model, "critic_pessimism", 1.0)
    return lambda obs, actions: combine_critics(th.cat(critic(obs, actions), dim=1), pessimism)


def _objective_on_grid(objective, observations: th.Tensor, actions: np.ndarray) -> np.ndarray:
    """The objective at observations (M, d) and, for each, the actions of its row of (M, G): (M, G)."""
    count, tried = actions.shape
    stacked = observations.repeat_interleave(tried, dim=0)
    values = objective(stacked, th.as_tensor(actions.reshape(-1, 1), dtype=stacked.dtype))
    return values.reshape(count, tried).cpu().numpy()


def critic_optimum(objective, observations) -> np.ndarray:
    """The action in [-1, 1] that maximises ``objective`` (:func:`actor_objective`) at each observation (M, d):
    the best of :data:`CRITIC_GRID` evenly spaced actions, then of :data:`CRITIC_REFINE` around it
    (one-dimensional actions, the Krusell-Smith consumption fraction's).  Returns (M,) actions."""
    observations = np.asarray(observations, dtype=np.float32)
    if observations.ndim != 2:
        raise ValueError(f"observations must have shape (M, d), got {observations.shape}")
    coarse = np.linspace(-1.0, 1.0, CRITIC_GRID)
    step = coarse[1] - coarse[0]
    out = np.empty(observations.shape[0])
    with th.no_grad():
        for start in range(0, observations.shape[0], CRITIC_CHUNK):
            obs = th.as_tensor(observations[start:start + CRITIC_CHUNK])  # the project's models live on the CPU
            count = obs.shape[0]
            actions = np.broadcast_to(coarse, (count, coarse.size))
            best = actions[np.arange(count), _objective_on_grid(objective, obs, actions).argmax(axis=1)]
            fine = np.clip(best[:, None] + np.linspace(-step, step, CRITIC_REFINE), -1.0, 1.0)
            out[start:start + count] = fine[np.arange(count), _objective_on_grid(objective, obs, fine).argmax(axis=1)]
    return out


@dataclasses.dataclass(frozen=True)
class BestResponseCheck:
    """The agents' rule, the benchmark rule and the best response to the agents' law on the agents' states."""

    label: str
    types: tuple
    """Display name of each type, in the calibration's order: ``all`` for one type, ``kappa K`` otherwise."""
    alm: dict
    """The agents' law of motion, ``{"good": (a, b), "bad": (a, b)}``, which the best response answers."""
    benchmark_alm: dict
    """The benchmark solver's law."""
    fractions: dict
    """``{(type, employed): {rule: mean consumption fraction}}``, rules :data:`RULES` and, for a model with Q
    critics, :data:`CRITIC_RULE` (groups keyed as the scorecard's: type index, employment)."""
    euler: dict
    """``{"agents" | "benchmark": {(type, employed): (mean, 2 sd over economies)}}``: the realised Euler residual
    along each rule's own panel (:func:`realised_euler`)."""
    welfare: Optional[dict] = None
    """With ``welfare``: ``{"benchmark" | "best response": [Gain per type]}``, unilateral switching gains."""

    def as_dict(self) -> dict:
        """Plain JSON: groups as ``"<type>, <employment>"``, gains as mean and band per type."""
        def keyed(mapping):
            return {", ".join(self.group_name(group)): value for group, value in mapping.items()}

        return {"label": self.label, "alm": self.alm, "benchmark_alm": self.benchmark_alm,
                "fractions": keyed(self.fractions),
                "gaps": {k: dict(zip(("agents - best response", "benchmark - best response", "agents - benchmark"), v))
                         for k, v in keyed(self.gaps()).items()},
                "critic_gaps": None if not self.has_critic else
                {k: dict(zip(("agents - critic optimum", "critic optimum - best response"), v))
                 for k, v in keyed(self.critic_gaps()).items()},
                "realised_euler": {rule: {k: {"mean": m, "band": b} for k, (m, b) in keyed(groups).items()}
                                   for rule, groups in self.euler.items()},
                "welfare_unilateral": None if self.welfare is None else
                {rule: [{"mean": g.mean, "band": g.band} for g in gains] for rule, gains in self.welfare.items()}}

    def group_name(self, group: tuple) -> tuple:
        """(type name, ``employed`` or ``unemployed``) of a ``(type, employed)`` key."""
        t, employed = group
        return self.types[t], ("employed" if employed else "unemployed")

    @property
    def has_critic(self) -> bool:
        """Whether the critic's optimum was measured (a model with Q critics)."""
        return any(CRITIC_RULE in f for f in self.fractions.values())

    def critic_gaps(self) -> dict:
        """``{group: (agents - critic optimum, critic optimum - best response)}`` (models with Q critics)."""
        return {g: (f["agents"] - f[CRITIC_RULE], f[CRITIC_RULE] - f["best response"])
                for g, f in self.fractions.items()}

    def gaps(self) -> dict:
        """``{group: (agents - best response, benchmark - best response, agents - benchmark)}``."""
        return {g: (f["agents"] - f["best response"], f["benchmark"] - f["best response"],
                    f["agents"] - f["benchmark"]) for g, f in self.fractions.items()}


def check_run(model, experiment, label: str, *, settings: Optional[dict] = None, sample_every: int = 5,
              welfare: Optional[Scenario] = None, solver_options: Optional[dict] = None) -> BestResponseCheck:
    """:class:`BestResponseCheck` of one trained ``model`` on a KS ``experiment`` (see the module docstring).

    ``settings``: :func:`rl.rollout.simulate_agents` keywords (default: the scorecard's,
    :data:`validation.scorecard.DEFAULT_SIMULATION`); ``solver_options`` go to the benchmark's solve (tests use a
    smaller panel); ``welfare``: a :class:`validation.welfare.Scenario` to measure the switching gains (None: not
    measured).
    """
    if experiment.name not in KS_EXPERIMENTS:
        raise ValueError(f"experiment must be one of {', '.join(KS_EXPERIMENTS)}, got {experiment.name!r}")
    sample_every = checks.positive_int("sample_every", sample_every)
    settings = dict(DEFAULT_SIMULATION[experiment.name] if settings is None else settings)
    solution = price_impact_benchmark(experiment, **(solver_options or {}))
    with one_torch_thread():
        panel = simulate_agents(model, experiment, **settings)
    alm, *_ = _fit_law_of_motion(panel)
    response = best_response(solution, alm)
    benchmark = KSBenchmarkActor(experiment, solution)
    # the benchmark solution with its rule replaced by the best response: the actor reads only the rule
    answer = KSBenchmarkActor(experiment, dataclasses.replace(solution, policy=response.policy))
    periods = range(0, panel.n_periods, sample_every)
    chat = {"agents": np.array([panel.consumption_fraction[t] for t in periods])}
    for rule, actor in (("benchmark", benchmark), ("best response", answer)):
        chat[rule] = np.array([actor.consumption_fraction(panel.capital[t], panel.employed[t],
                                                          panel.aggregate_state[t]) for t in periods])
    objective = actor_objective(model)
    if objective is not None:
        chat[CRITIC_RULE] = _critic_fractions(objective, panel, periods)
    elif has_state_value(model):
        with one_torch_thread():
            chat[CRITIC_RULE] = lookahead_fractions(model, panel, periods)
    employed = np.array([panel.employed[t] for t in periods])
    types, num_types = _household_types(experiment), len(experiment.ks.capital_productivity)
    means = {rule: _bias(values, employed, types, num_types) for rule, values in chat.items()}
    fractions = {group: {rule: means[rule][group] for rule in chat} for group in means["agents"]
                 if np.isfinite(means["agents"][group])}
    with one_torch_thread():
        benchmark_panel = simulate_agents(benchmark, experiment, **settings)
    euler = {"agents": realised_euler(panel, experiment, solution.price_impact),
             "benchmark": realised_euler(benchmark_panel, experiment, solution.price_impact)}
    gains = None
    if welfare is not None:
        measured = switching_gains(model, {"benchmark": benchmark, "best response": answer}, experiment, welfare)
        gains = {rule: measured[rule]["unilateral"] for rule in ("benchmark", "best response")}
    kappa = experiment.ks.capital_productivity
    names = ("all",) if len(kappa) == 1 else tuple(f"kappa {k:g}" for k in kappa)
    return BestResponseCheck(label, names, as_mapping(alm), dict(solution.alm), fractions, euler, gains)


def _critic_fractions(objective, panel, periods) -> np.ndarray:
    """The critics' optimal consumption fraction for every household of the kept ``periods`` of ``panel``
    (S, E, N), from one :func:`critic_optimum` over all their observations."""
    observations = np.concatenate([panel.observations(t) for t in periods])
    with one_torch_thread():
        actions = critic_optimum(objective, observations)
    return action_to_fraction(actions).reshape((len(periods),) + panel.capital.shape[1:])


def has_state_value(model) -> bool:
    """Whether ``model`` is an actor-critic with a state-value network (SB3's PPO: ``policy.predict_values``)."""
    return callable(getattr(getattr(model, "policy", None), "predict_values", None)) and \
        actor_objective(model) is None


def lookahead_fractions(model, panel, periods) -> np.ndarray:
    """For every household of the kept ``periods`` of ``panel`` (S, E, N): the consumption fraction chat that
    maximises u(chat a) + beta E[V(o') | o, chat] under the model's state value V (PPO's critic).

    a is the household's wealth; in o' its own capital is (1 - chat) a and aggregate capital moves by its kappa
    times the change over N (the others' next capital as simulated); next period's shocks are integrated out by
    :func:`rl.core.next_state_values`, as PPO's advantages integrate them in training (``expected_next_value``).
    The best of the fractions every 0.005 on the environment's range, then of 41 around it 0.00025 apart.  The
    constant that ``center_rewards`` subtracts does not move the maximum.  The last kept period uses the
    panel's final capital.
    """
    exp = panel.experiment
    kappa = np.broadcast_to(panel.capital_productivity, panel.capital.shape[1:]).reshape(-1)

    def value(obs):
        with th.no_grad():
            return model.policy.predict_values(th.as_tensor(obs)).numpy().reshape(-1)

    coarse = np.arange(ACTION_EPS, 1.0 - ACTION_EPS + 1e-12, 0.005)
    out = []
    for t in periods:
        wealth = panel.wealth[t].reshape(-1)
        realised = panel.capital[t + 1] if t + 1 < panel.n_periods else panel.final_capital
        now = panel.observations(t)
        nxt = core.observe(exp, panel.state(t)._replace(capital=realised)).reshape(now.shape)
        realised, labour = realised.reshape(-1), panel.labour[t].reshape(-1, 1)

        def objective(fractions):  # (M, G) -> (M, G): u(chat a) + beta E[V(o'(chat))]
            tried = fractions.shape[1]
            rows = with_own_next_capital(exp, np.repeat(nxt, tried, axis=0),
                                         ((1.0 - fractions) * wealth[:, None]).reshape(-1),
                                         np.repeat(realised, tried), np.repeat(kappa, tried))
            expected = core.next_state_values(exp, np.repeat(now, tried, axis=0), rows, value)
            return (utility(fractions * wealth[:, None], labour, exp.chi, exp.utility)
                    + exp.beta * expected.reshape(fractions.shape))

        count = wealth.size
        grid = np.broadcast_to(coarse, (count, coarse.size))
        best = grid[np.arange(count), objective(grid).argmax(axis=1)]
        fine = np.clip(best[:, None] + np.linspace(-0.005, 0.005, CRITIC_REFINE), ACTION_EPS, 1.0 - ACTION_EPS)
        out.append(fine[np.arange(count), objective(fine).argmax(axis=1)].reshape(panel.capital.shape[1:]))
    return np.array(out)


def format_check(check: BestResponseCheck) -> str:
    """One run's check as a markdown table (and the welfare gains, when measured)."""
    lines = [f"{check.label}: law of motion log K' = a + b log K, agents "
             + ", ".join(f"{s} ({a:.4f}, {b:.4f})" for s, (a, b) in check.alm.items())
             + "; benchmark " + ", ".join(f"{s} ({a:.4f}, {b:.4f})" for s, (a, b) in check.benchmark_alm.items()),
             "",
             "| type | employment | agents | benchmark | best response | agents - BR | benchmark - BR | "
             "agents - benchmark |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    gaps = check.gaps()
    for group, f in check.fractions.items():
        name, status = check.group_name(group)
        lines.append(f"| {name} | {status} | {f['agents']:.4f} | {f['benchmark']:.4f} | {f['best response']:.4f} | "
                     + " | ".join(f"{x:+.4f}" for x in gaps[group]) + " |")
    if check.has_critic:
        lines += ["", "the critics' optimum (the fraction that maximises the Q the actor climbs; for PPO, "
                      "u(c) + beta E V(o')) on the same states:",
                  "",
                  "| type | employment | critic optimum | agents - critic optimum | critic optimum - BR |",
                  "|---|---|---:|---:|---:|"]
        for group, (actor_gap, critic_gap) in check.critic_gaps().items():
            name, status = check.group_name(group)
            lines.append(f"| {name} | {status} | {check.fractions[group][CRITIC_RULE]:.4f} | {actor_gap:+.4f} | "
                         f"{critic_gap:+.4f} |")
    lines += ["", "realised Euler residual beta R' c / c' - 1 along each rule's own panel (mean +- 2 sd over "
                  "economies; 0 for a rule that optimises here, above 0 where it consumes too much today):", "",
              "| type | employment | agents | benchmark |", "|---|---|---:|---:|"]
    for group, (mean, band) in check.euler["agents"].items():
        name, status = check.group_name(group)
        other = check.euler["benchmark"].get(group, (float("nan"), float("nan")))
        lines.append(f"| {name} | {status} | {mean:+.4f} +- {band:.4f} | {other[0]:+.4f} +- {other[1]:.4f} |")
    if check.welfare is not None:
        lines += ["", "unilateral gain of switching from the agents' rule (percent of consumption per period, "
                      "mean +- 2 sd over economies):", ""]
        for rule, gains in check.welfare.items():
            lines.append(f"- to the {rule}: " + ", ".join(f"{g.mean:+.4f} +- {g.band:.4f}" for g in gains))
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m validation.best_response", description=__doc__.split("\n\n")[0],
                                     formatter_class=HelpFormatter)
    parser.add_argument("experiment", choices=KS_EXPERIMENTS, help="the Krusell-Smith experiment")
    parser.add_argument("--model", nargs="+", default=None, metavar="PATH",
                        help="run directories of python -m rl.train or their model.zip (default: the shipped policy)")
    parser.add_argument("--welfare", action="store_true",
                        help="also measure the unilateral gains of switching to the benchmark and the best response")
    parser.add_argument("--economies", type=int, default=8, help="economies of the welfare runs (at least 2)")
    parser.add_argument("--sample-every", type=int, default=5, help="kept periods between compared states")
    parser.add_argument("--out", type=Path, default=None, metavar="FILE",
                        help="also write every number as JSON to FILE, atomically (default: print only)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.economies < 2:
        parser.error(f"--economies must be an integer >= 2 (the band needs a spread), got {args.economies}")
    if args.sample_every < 1:
        parser.error(f"--sample-every must be an integer >= 1, got {args.sample_every}")
    try:
        sources = args.model or [str(shipped_model_path(args.experiment).parent)]
        experiment = scoring_experiment(args.experiment, sources)
        models = [load_model(Path(source), experiment) for source in sources]
    except (FileNotFoundError, ValueError) as err:
        parser.error(str(err))
    welfare = Scenario(n_economies=args.economies) if args.welfare else None
    checks_done = []
    for source, model in zip(sources, models):
        path = Path(source)
        label = path.name if path.is_dir() else path.parent.name
        check = check_run(model, experiment, label, sample_every=args.sample_every, welfare=welfare)
        print(format_check(check) + "\n")
        checks_done.append(check)
    if args.out is not None:
        write_json_atomic(args.out, {"experiment": args.experiment, "models": sources,
                                     "runs": [c.as_dict() for c in checks_done]})
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
