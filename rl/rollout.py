"""Playing a policy in the economy: the one convention for policies, and simulation.

A policy is an :data:`Actor`: ``obs (M, obs_dim) float32 -> actions (M, action_size)``
in [-1, 1], M = E * N rows (whole economies, households in order, economies
stacked: the layout of :func:`rl.core.observe` reshaped, and of the VecEnv's
slots).  :func:`model_actor` wraps an SB3 model, :func:`constant_actor` ignores
the state.  :func:`simulate_agents` plays any actor through :mod:`rl.core` (the
environment's own transition, which calls :func:`econ.economy.period`) and
returns a :class:`Panel` of raw quantities.

The one-household benchmarks of :mod:`econ.rbc` use the economist's convention
``(capital, technology) -> (chat, labour)``; :func:`actor_policy` turns an actor
into that form by building the observations exactly as :func:`rl.core.observe`
does, so a learned policy and the VFI or Brock-Mirman rule are scored by the
same code.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np

from econ import checks
from econ.economy import CAPITAL_FLOOR, action_to_fraction, fraction_to_action
from econ.experiments import Experiment
from econ.rbc.accuracy import Policy, require_rbc
from rl import core

Actor = Callable[[np.ndarray], np.ndarray]
"""``obs (M, obs_dim) float32 -> actions (M, action_size)`` in [-1, 1]; M = E * N rows, economy-major."""


def model_actor(model) -> Actor:
    """An SB3 model's deterministic policy as an :data:`Actor`.

    ``model.predict(obs, deterministic=True)`` on the batch of M observations
    (one network shared by all households: parameter sharing, as trained).
    """
    if not hasattr(model, "predict"):
        raise TypeError(f"model must have a predict(obs, deterministic=True) method (an SB3 model), "
                        f"got {type(model).__name__}")

    def actor(obs):
        actions, _ = model.predict(np.asarray(obs, dtype=np.float32), deterministic=True)
        return np.asarray(actions, dtype=float)

    return actor


def as_actor(policy) -> Actor:
    if hasattr(policy, "predict"):
        return model_actor(policy)
    if callable(policy):
        return policy
    raise TypeError(f"policy must be an SB3 model (with predict) or a callable obs -> actions, "
                    f"got {type(policy).__name__}")


def economies_in(obs: np.ndarray, experiment: Experiment) -> int:
    n = experiment.num_agents
    if obs.ndim != 2 or obs.shape[0] % n != 0 or obs.shape[1] != len(experiment.observations):
        raise ValueError(f"obs must have shape (E * N, {len(experiment.observations)}) with N = {n} households per "
                         f"economy, economies stacked; got {obs.shape}")
    return obs.shape[0] // n


def in_action_interface(actor: Actor, experiment: Experiment) -> Actor:
    """``actor``, whose first action is the consumption fraction, as an actor of ``experiment``'s action interface.

    With ``action_interface`` ``saving`` each household's fraction becomes the share of full-time wealth it saves
    at the state the observations describe and the labour it plays (:func:`rl.core.fraction_to_saving`), so the
    economy sees the same choices; otherwise ``actor`` itself.
    """
    if experiment.action_interface == "fraction":
        return actor

    def saving_actor(obs):
        capital, log_tfp = core.observed_capital_and_log_tfp(experiment, obs)
        tfp = np.exp(log_tfp)
        actions = np.array(actor(obs), dtype=float).reshape(capital.shape + (experiment.action_size,))
        chat, labour = action_to_fraction(actions[..., 0]), action_to_fraction(actions[..., 1])
        actions[..., 0] = fraction_to_action(core.fraction_to_saving(experiment, capital, tfp, chat, labour))
        return actions.reshape(np.asarray(obs).shape[0], -1)

    return saving_actor


def constant_actor(experiment: Experiment, consumption_fraction: float, labour: Optional[float] = None) -> Actor:
    """Every household plays the same fractions whatever the state (the negative control).

    ``labour`` is required where labour is chosen (``general``) and must be
    None in the KS variants (labour is the endowment there).  With the
    ``saving`` action interface the fraction is played as the saving share
    that gives it (:func:`in_action_interface`).
    """
    experiment = _require_experiment(experiment)
    chat = checks.open_interval("consumption_fraction", consumption_fraction, 0.0, 1.0)
    values = [chat]
    if experiment.chooses_labour:
        if labour is None:
            raise ValueError(f"labour is required: experiment {experiment.name!r} chooses labour")
        values.append(checks.open_interval("labour", labour, 0.0, 1.0))
    elif labour is not None:
        raise ValueError(f"labour must be None: in {experiment.name!r} labour is the endowment, not chosen")
    action = fraction_to_action(np.array(values))

    def actor(obs):
        obs = np.asarray(obs)
        return np.broadcast_to(action, (obs.shape[0], action.size)).copy()

    return in_action_interface(actor, experiment)


@contextlib.contextmanager
def one_torch_thread():
    """Run torch on one thread inside the block (restored after), if torch is loaded.

    A policy sees small batches (E * N observations per step); with torch's
    default thread pool on the shared 2-core machine under load, one
    ``predict`` took 48 ms instead of 1.7 ms (measured), the threads fighting
    the training runs for the cores.
    """
    torch = sys.modules.get("torch")
    if torch is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True, eq=False)
class Panel:
    """Raw quantities of E economies x N households over T kept periods (after the burn-in).

    Per-household arrays are (T, E, N), per-economy arrays (T, E).  Period t
    quantities are those of docs/model.md step 3: ``capital`` is k_{i,t} at
    the start of the period, ``wealth`` a_{i,t}, ``consumption`` c_{i,t} =
    chat a, and k_{i,t+1} is ``capital[t + 1]`` (``final_capital`` after the last).
    """

    experiment: Experiment
    capital: np.ndarray = field(repr=False)
    wealth: np.ndarray = field(repr=False)
    consumption: np.ndarray = field(repr=False)
    consumption_fraction: np.ndarray = field(repr=False)
    labour: np.ndarray = field(repr=False)
    """Chosen l_{i,t}, or the endowment lbar e_{i,t} in KS variants."""
    employed: np.ndarray = field(repr=False)
    """e_{i,t} (bool; all True with the AR(1) technology)."""
    reward: np.ndarray = field(repr=False)
    aggregate_state: np.ndarray = field(repr=False)
    """z_t index (0 bad, 1 good); 0 with the AR(1) technology."""
    technology: np.ndarray = field(repr=False)
    """A_t."""
    effective_capital: np.ndarray = field(repr=False)
    """K_t = (1/N) sum kappa_i k_{i,t}."""
    effective_labour: np.ndarray = field(repr=False)
    output: np.ndarray = field(repr=False)
    interest_rate: np.ndarray = field(repr=False)
    """Base rental rate MPK_t (household i earns kappa_i times it)."""
    wage: np.ndarray = field(repr=False)
    """Base wage MPL_t (household i earns lambda_i times it)."""
    final_capital: np.ndarray = field(repr=False)
    """k_{i,T} after the last kept period, (E, N)."""
    seed: int
    burn_in: int

    @property
    def n_periods(self) -> int:
        return self.capital.shape[0]

    @property
    def n_economies(self) -> int:
        return self.capital.shape[1]

    @property
    def n_households(self) -> int:
        return self.capital.shape[2]

    @property
    def capital_productivity(self) -> np.ndarray:
        return np.asarray(self.experiment.capital_productivity)

    @property
    def labour_productivity(self) -> np.ndarray:
        return np.asarray(self.experiment.labour_productivity)

    def state(self, t: int) -> core.EconomyState:
        """The economies' state at the start of kept period ``t`` (episode time 0: observations do not read it)."""
        return core.EconomyState(self.capital[t], np.log(self.technology[t]), self.aggregate_state[t],
                                 self.employed[t], np.zeros(self.n_economies, dtype=np.int64))

    def observations(self, t: int) -> np.ndarray:
        """Every household's observation at kept period ``t``, rebuilt by :func:`rl.core.observe`: (E * N, d)."""
        return core.observe(self.experiment, self.state(t)).reshape(self.n_economies * self.n_households, -1)


def simulate_agents(policy, experiment: Experiment, n_periods: int, *, seed: int = 0, burn_in: Optional[int] = None,
                    n_economies: int = 1, initial_state=None) -> Panel:
    """Simulate ``n_economies`` economies under ``policy`` for ``burn_in + n_periods`` periods.

    Parameters
    ----------
    policy : SB3 model or callable
        An SB3 model (``predict(obs, deterministic=True)``) or an :data:`Actor`
        ``obs (E * N, obs_dim) float32 -> actions (E * N, action_size)`` in [-1, 1].
    experiment : Experiment
        The economy (any N; observations do not depend on N).
    n_periods : int >= 2
        Kept periods.
    seed : int
        Seeds the one ``numpy.random.Generator`` of the initial state and every
        shock.  The shocks do not depend on the actions, so two policies
        simulated with the same seed face the same z, e (or log A) paths.
    burn_in : int >= 0 or None
        Periods simulated and dropped first; None takes the experiment's
        episode length (500), long enough for the benchmark's own policy to
        forget the initial distribution (see :data:`DEFAULT_SIMULATION`).
    n_economies : int >= 1
        E, independent economies.
    initial_state : rl.core.EconomyState or None
        Start here (its economies and households must match) instead of a
        draw from the experiment's initial distribution.

    The economies run on past the experiment's episode length without a
    reset: the policy's long-run behaviour is what is scored (the time in
    the episode is not observed).  Memory: 12 arrays of T x E x N floats.
    If torch is loaded it runs on one thread during the simulation (restored
    afterwards): the batches are small and extra threads only contend.
    """
    experiment = _require_experiment(experiment)
    actor = as_actor(policy)
    n_periods = checks.positive_int("n_periods", n_periods, 2)
    burn_in = experiment.episode_length if burn_in is None else checks.positive_int("burn_in", burn_in, 0)
    n_economies = checks.positive_int("n_economies", n_economies)
    seed = checks.positive_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    n = experiment.num_agents
    if initial_state is None:
        state = core.initial_state(experiment, n_economies, rng)
    else:
        if not isinstance(initial_state, core.EconomyState):
            raise TypeError(f"initial_state must be an rl.core.EconomyState, got {type(initial_state).__name__}")
        if np.shape(initial_state.capital) != (n_economies, n):
            raise ValueError(f"initial_state must hold n_economies = {n_economies} economies of N = {n} households, "
                             f"got capital of shape {np.shape(initial_state.capital)}")
        state = initial_state
    shape3, shape2 = (n_periods, n_economies, n), (n_periods, n_economies)
    rec = {name: np.empty(shape3) for name in ("capital", "wealth", "consumption", "consumption_fraction", "labour",
                                               "reward")}
    rec["employed"] = np.empty(shape3, dtype=bool)
    for name in ("technology", "effective_capital", "effective_labour", "output", "interest_rate", "wage"):
        rec[name] = np.empty(shape2)
    rec["aggregate_state"] = np.empty(shape2, dtype=np.int64)
    with one_torch_thread():
        state = _run(actor, experiment, state, rng, burn_in, n_periods, rec)
    return Panel(experiment=experiment, final_capital=state.capital.copy(), seed=seed, burn_in=burn_in, **rec)


def _run(actor, experiment, state, rng, burn_in, n_periods, rec):
    """The loop of :func:`simulate_agents`: observe, act, step; record the kept periods into ``rec``."""
    n_economies, n = state.capital.shape
    kappa0, lambda0 = experiment.capital_productivity[0], experiment.labour_productivity[0]
    action_size = experiment.action_size
    for t in range(burn_in + n_periods):
        obs = core.observe(experiment, state).reshape(n_economies * n, -1)
        actions = np.asarray(actor(obs), dtype=float)
        if actions.size != n_economies * n * action_size:
            raise ValueError(f"policy returned actions of shape {actions.shape}; expected "
                             f"({n_economies * n}, {action_size}) for {n_economies * n} observations")
        tr = core.step(experiment, state, actions.reshape(n_economies, n, action_size), rng)
        if t >= burn_in:
            i = t - burn_in
            o = tr.outcome
            rec["capital"][i] = state.capital
            rec["employed"][i] = state.employed
            rec["aggregate_state"][i] = state.aggregate_state
            rec["wealth"][i] = o.wealth
            rec["consumption"][i] = o.consumption
            rec["consumption_fraction"][i] = tr.consumption_fraction
            rec["labour"][i] = tr.labour
            rec["reward"][i] = o.reward
            rec["technology"][i] = tr.technology
            rec["effective_capital"][i] = o.effective_capital
            rec["effective_labour"][i] = o.effective_labour
            rec["output"][i] = o.output
            rec["interest_rate"][i] = o.interest_rate[:, 0] / kappa0
            rec["wage"][i] = o.wage[:, 0] / lambda0
        state = tr.state
    return state


def _require_experiment(experiment) -> Experiment:
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an econ.experiments.Experiment, got {type(experiment).__name__}")
    return experiment


def actor_policy(actor: Actor, experiment: Experiment) -> Policy:
    """An actor of a one-household AR(1) experiment as ``(capital, technology) -> (chat, labour)``.

    Observations are built exactly as :func:`rl.core.observe` builds them for
    a one-household AR(1) economy (capital over ``capital_scale``, log A over
    ``tfp_scale``, and the constant productivities when observed).
    """
    require_rbc(experiment)

    def observed_productivity(x):
        return 1.0 + (x - 1.0) / experiment.productivity_scale

    columns = {
        "capital": lambda k, a: k / experiment.capital_scale,
        "log_capital": lambda k, a: np.log(np.maximum(k, CAPITAL_FLOOR) / experiment.capital_scale),
        "aggregate_capital": lambda k, a: experiment.capital_productivity[0] * k / experiment.capital_scale,
        "log_tfp": lambda k, a: np.log(a) / experiment.tfp_scale,
        "capital_productivity": lambda k, a: np.full_like(k, observed_productivity(experiment.capital_productivity[0])),
        "labour_productivity": lambda k, a: np.full_like(k, observed_productivity(experiment.labour_productivity[0])),
    }
    unknown = [name for name in experiment.observations if name not in columns]
    if unknown:
        raise ValueError(f"observations {unknown} do not exist in an AR(1) economy")

    def policy(capital, technology):
        k, a = np.broadcast_arrays(np.asarray(capital, dtype=float), np.asarray(technology, dtype=float))
        obs = np.stack([columns[name](k.ravel(), a.ravel()) for name in experiment.observations], axis=-1)
        fractions = action_to_fraction(np.asarray(actor(obs.astype(np.float32)), dtype=float).reshape(k.size, -1))
        chat, labour = fractions[:, 0], fractions[:, 1]
        if experiment.action_interface == "saving":  # one household per point: its own economy
            chat = core.saving_to_fraction(experiment, k.reshape(-1, 1), a.ravel(), chat[:, None], labour[:, None])
        return chat.reshape(k.shape), labour.reshape(k.shape)

    return policy


def model_policy(model, experiment: Experiment) -> Policy:
    """The deterministic policy of an SB3 model as ``(capital, technology) -> (chat, labour)``."""
    return actor_policy(model_actor(model), experiment)
