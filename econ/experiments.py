"""The six experiments (docs/model.md) as immutable, validated records.

An :class:`Experiment` holds everything the environment needs to simulate one
heterogeneous RBC economy of N households for an episode of T periods:

- the technology (``"ar1"``: log A' = rho log A + sigma eps; ``"ks"``: the
  Krusell-Smith 4-state chain of :class:`econ.krusell_smith.params.KrusellSmithParams`);
- each household's capital and labour productivity kappa_i, lambda_i;
- the period utility (``linear``: log c - chi l; ``log_leisure``:
  log c + chi log(1 - l); ``log``: log c, the KS variants, where labour is the
  endowment lbar * e and not chosen);
- the initial state (k_{i,0} = capital_scale * U(low, high), or exactly the
  steady state), the exact-unemployment switch of the KS variants, and
- ``capital_scale``: the benchmark steady-state capital by which observations
  are normalised (representative-agent steady state for ``ar1``; the
  deterministic steady state of the KS economy for ``ks``, see
  :func:`ks_steady_state_capital`).

``make_experiment(name, n_agents=None, **overrides)`` builds one by its
name; any field can be overridden and every value is validated (``ValueError``
naming the field and its allowed range).  This module is economics: it does
not import ``rl``.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Optional

import numpy as np

from econ import checks
from econ.economy import ACTION_EPS, markets
from econ.heterogeneous import productivity_grid
from econ.krusell_smith.params import KrusellSmithParams
from econ.rbc.params import DEFAULT_CHI, RBCParams
from econ.rbc.steady_state import steady_state

EPISODE_LENGTH = 500
"""T, the episode length of every experiment (docs/model.md)."""

TECHNOLOGIES = ("ar1", "ks")
"""``ar1``: log A_{t+1} = rho log A_t + sigma eps; ``ks``: the Krusell-Smith chain of z and e."""

UTILITY_FORMS = ("linear", "log_leisure", "log")
"""Period utility forms, as :data:`econ.economy.REWARD_FORMS`."""

ACTION_INTERFACES = ("fraction", "saving")
"""What an AR(1) household's first action sets (its second is labour; :func:`rl.core.actions_to_choices`):

- ``fraction``: the consumption fraction chat of today's wealth (the default, as in the paper);
- ``saving``:   next period's capital as a share s of the wealth the household would have at full-time labour,
  k' = s a(1 - ACTION_EPS), and c = a(l) - k' (c at least ACTION_EPS a(l)), so that labour moves consumption at
  unchanged saving.
"""

OBSERVATIONS = {
    "capital": "k_i / capital_scale, the household's own capital",
    "aggregate_capital": "K / capital_scale, effective aggregate capital (1/N) sum kappa_i k_i",
    "log_tfp": "log A_t / tfp_scale (tfp_scale = 1 by default: log A as is)",
    "aggregate_state": "z_t: 1 in the good state, 0 in the bad (KS only)",
    "employed": "e_{i,t}: 1 employed, 0 unemployed (KS only)",
    "capital_productivity": "1 + (kappa_i - 1) / productivity_scale (1 by default: kappa_i as is)",
    "labour_productivity": "1 + (lambda_i - 1) / productivity_scale (1 by default: lambda_i as is)",
    "log_capital": "log(k_i / capital_scale), the household's own capital in logs (k_i floored at 1e-10)",
}
"""Observation components an experiment may list, and what each one is."""

KS_ONLY_OBSERVATIONS = ("aggregate_state", "employed")

TFP_STANDARD_DEVIATIONS = 8.0
"""How far log A may stray, in standard deviations of its within-episode distribution, in the finiteness check.

A standard normal exceeds 8 with probability 6e-16 per draw: a run of 1e9
economy-periods meets it with probability below 1e-6."""

OBSERVATION_CEILING = float(np.finfo(np.float32).max) / 1e3
"""Largest observation the finiteness check allows (float32 holds 3.4e38; three orders of margin)."""


def log_tfp_sd_within_episode(rho: float, sigma: float, episode_length: int) -> float:
    """Standard deviation of log A_T after T = episode_length periods from log A_0 = 0 (the largest in an episode).

    Var(log A_t) = sigma^2 (1 - rho^(2t)) / (1 - rho^2), increasing in t, below the
    stationary sigma^2 / (1 - rho^2).
    """
    if sigma == 0.0:
        return 0.0
    rho2 = rho * rho
    terms = episode_length if rho2 == 0.0 else -math.expm1(episode_length * math.log(rho2)) / (1.0 - rho2)
    return sigma * math.sqrt(terms)


def capital_ceiling(experiment_fields: dict) -> tuple[float, float]:
    """``(log of the largest capital in units of capital_scale, share of it due to TFP)`` any policy can reach.

    Bound: every household saves the most it can (chat = ACTION_EPS) and works
    the most (l = 1 - ACTION_EPS, or the KS endowment), with technology held at
    its largest value A_max (ar1: exp of TFP_STANDARD_DEVIATIONS within-episode
    standard deviations of log A; ks: z_good).  Effective capital K = (1/N)
    sum kappa_i k_i then obeys K' <= s [(1 - delta) K + kappa_max Y] with s =
    1 - ACTION_EPS and Y <= A_max K^alpha L_max^(1-alpha) (income exhausts output),
    whose fixed point is

        K_max = [s kappa_max A_max L_max^(1-alpha) / (1 - s (1 - delta))]^(1/(1-alpha));

    from K <= max(K_0, K_max), one household holds at most N K / kappa_min.
    Computed in logarithms (it may be far beyond double precision).
    """
    f = experiment_fields
    alpha, delta = f["alpha"], f["delta"]
    kappa, lam = np.asarray(f["capital_productivity"]), np.asarray(f["labour_productivity"])
    save = 1.0 - ACTION_EPS
    if f["technology"] == "ar1":
        log_a_max = TFP_STANDARD_DEVIATIONS * log_tfp_sd_within_episode(f["rho"], f["sigma"], f["episode_length"])
        labour = save
    else:
        log_a_max = math.log(max(f["ks"].z_good, f["ks"].z_bad))
        labour = f["ks"].labour_endowment
    log_l_max = math.log(float(lam.max()) * labour)
    log_k_max = (math.log(save * float(kappa.max())) + log_a_max + (1.0 - alpha) * log_l_max
                 - math.log1p(-save * (1.0 - delta))) / (1.0 - alpha)
    log_scale = math.log(f["capital_scale"])
    log_household = max(math.log(f["initial_capital_high"]) + log_scale,
                        math.log(f["num_agents"] / float(kappa.min())) + log_k_max)
    tfp_share = (log_a_max / (1.0 - alpha)) / max(log_k_max, 1e-300) if log_k_max > 0 else 0.0
    return log_household - log_scale, tfp_share


GENERAL_AGENTS = (4, 529)
"""Range of N for the ``general`` experiment (g x g grids, g = 2..23)."""


def ks_steady_state_capital(ks: KrusellSmithParams) -> float:
    """Deterministic steady-state effective capital of the Krusell-Smith economy.

    Technology and employment are held at their stationary means: A = mean z,
    L = (mean employment rate) * lbar under the aggregate chain's stationary law.
    The rental rate that makes the Euler equation hold, r = 1/beta - 1 + delta,
    fixes K/L = (alpha A / r)^(1/(1-alpha)), hence K = (K/L) L.  (With
    kappa types the same K is the level observations are normalised by; it is a
    scale, not a claim about the heterogeneous steady state.)
    """
    technology, labour = stationary_means(ks)
    r = 1.0 / ks.beta - 1.0 + ks.delta
    k_per_l = (ks.alpha * technology / r) ** (1.0 / (1.0 - ks.alpha))
    return k_per_l * labour


def stationary_means(ks: KrusellSmithParams) -> tuple[float, float]:
    """``(A, L)``: mean technology and mean effective labour (employment rate times lbar)
    under the stationary law of the aggregate chain (:func:`aggregate_stationary_law`)."""
    pi = aggregate_stationary_law(ks)
    return float(pi @ ks.technology), float(pi @ (1.0 - ks.unemployment_rates)) * ks.labour_endowment


def aggregate_stationary_law(ks: KrusellSmithParams) -> np.ndarray:
    """Stationary probabilities of z (order bad, good) under the KS aggregate chain."""
    P = ks.aggregate_transition
    total = P[0, 1] + P[1, 0]
    return np.array([0.5, 0.5]) if total == 0 else np.array([P[1, 0], P[0, 1]]) / total


class _ExperimentFields(NamedTuple):
    name: str
    num_agents: int
    alpha: float
    beta: float
    delta: float
    technology: str
    rho: float
    sigma: float
    ks: Optional[KrusellSmithParams]
    capital_productivity: tuple
    labour_productivity: tuple
    utility: str
    chi: float
    episode_length: int
    initial_capital_low: float
    initial_capital_high: float
    start_at_steady_state: bool
    exact_unemployment: bool
    capital_scale: float
    observations: tuple
    tfp_scale: float
    productivity_scale: float
    action_interface: str


LATER_FIELDS = {"productivity_scale": 1.0, "action_interface": "fraction"}
"""Experiment fields added after run records were first written, with the default under which an experiment is the
one an earlier record describes (see :meth:`Experiment._asdict`)."""


class Experiment(_ExperimentFields):
    """One experiment of docs/model.md, validated on construction.

    Parameters
    ----------
    name : str
        Label (the experiment's name for the built-in ones).
    num_agents : int >= 1
        N, households per economy.
    alpha, beta : float in (0, 1)
        Capital share and discount factor (beta is also the RL discount gamma).
    delta : float in (0, 1]
        Depreciation.
    technology : {"ar1", "ks"}
        TFP process, see ``TECHNOLOGIES``.
    rho : float in (-1, 1); sigma : float >= 0
        AR(1) persistence and innovation standard deviation (``ar1`` only; 0 for ``ks``).
    ks : KrusellSmithParams or None
        The KS chain, z values and labour endowment (required for ``ks``, None
        for ``ar1``).  Its alpha, beta, delta are set to the experiment's.
    capital_productivity, labour_productivity : tuples of N floats > 0
        kappa_i and lambda_i.
    utility : {"linear", "log_leisure", "log"}
        Period utility; ``log`` only where labour is not chosen (``ks``).
    chi : float > 0 or None
        Labour weight; None takes 1 (linear) or 5 (log_leisure); ignored (0) for ``log``.
    episode_length : int >= 1
        T, the time limit (truncation, not a terminal state).
    initial_capital_low, initial_capital_high : float, 0 < low <= high
        k_{i,0} = capital_scale * U(low, high), independently per household.
    start_at_steady_state : bool
        Start every household at k = capital_scale (and log A = 0) instead.
    exact_unemployment : bool
        KS: after each draw re-assign employment at random so that exactly
        round(u_z N) households are unemployed.
    capital_scale : float > 0 or None
        Normalising capital level; None computes the benchmark steady state.
    observations : tuple of str
        Components of each household's observation, names from ``OBSERVATIONS``.
    tfp_scale : float > 0
        The observed log A is divided by it.  1 (the default: log A as
        is).  log A has an unconditional standard deviation of
        sigma / sqrt(1 - rho^2) = 0.023 in the AR(1) experiments, so networks
        see tiny inputs and learn the TFP response slowly; the shipped ``rbc``
        policy observes log A in units of that standard deviation
        (``tfp_scale`` = 0.0229, recorded in its config).  It is a fixed
        number, not derived from sigma, so a policy sees the same
        observations when it is evaluated with sigma = 0.
    productivity_scale : float > 0
        The observed kappa_i and lambda_i are 1 + (x - 1) / productivity_scale.
        1 (the default: as they are).  On the ``general`` grid they lie in
        [0.98, 1.02], so households of different types see inputs 0.02 apart
        and a network separates their rules slowly; 0.02 observes them on
        [0, 2].
    action_interface : {"fraction", "saving"}
        What the first action of an AR(1) household sets: its consumption
        fraction (the default) or its saving as a share of full-time wealth
        (:data:`ACTION_INTERFACES`).  The economy is the same; only the map
        from actions to choices differs.
    """

    __slots__ = ()

    def __new__(
        cls,
        name="custom",
        num_agents=1,
        alpha=0.36,
        beta=0.95,
        delta=0.025,
        technology="ar1",
        rho=0.9,
        sigma=0.01,
        ks=None,
        capital_productivity=None,
        labour_productivity=None,
        utility="linear",
        chi=None,
        episode_length=EPISODE_LENGTH,
        initial_capital_low=0.5,
        initial_capital_high=1.5,
        start_at_steady_state=False,
        exact_unemployment=True,
        capital_scale=None,
        observations=("capital", "log_tfp"),
        tfp_scale=1.0,
        productivity_scale=1.0,
        action_interface="fraction",
    ):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        num_agents = checks.positive_int("num_agents", num_agents)
        alpha = checks.open_interval("alpha", alpha, 0.0, 1.0)
        beta = checks.open_interval("beta", beta, 0.0, 1.0)
        delta = checks.half_open("delta", delta, 0.0, 1.0)
        technology = checks.one_of("technology", technology, TECHNOLOGIES)
        utility = checks.one_of("utility", utility, UTILITY_FORMS)
        if technology == "ar1":
            rho = checks.open_interval("rho", rho, -1.0, 1.0)
            sigma = checks.non_negative("sigma", sigma)
            if ks is not None:
                raise ValueError("ks must be None for technology 'ar1' (the KS chain is used only with technology 'ks')")
            if utility == "log":
                raise ValueError(
                    "utility 'log' (log c, no labour term) is for technology 'ks' where labour is an endowment; "
                    f"with chosen labour use one of {('linear', 'log_leisure')}"
                )
        else:
            if not isinstance(ks, KrusellSmithParams):
                raise ValueError(f"ks must be a KrusellSmithParams for technology 'ks', got {type(ks).__name__}")
            ks = ks._replace(alpha=alpha, beta=beta, delta=delta)
            rho, sigma = 0.0, 0.0
            if utility == "log_leisure" and ks.labour_endowment >= 1.0:
                raise ValueError(
                    f"utility 'log_leisure' needs labour below 1, but the KS labour endowment is "
                    f"{ks.labour_endowment}; use utility 'log' (or 'linear')"
                )
        if utility == "log":
            if chi is not None and chi != 0.0:
                raise ValueError(f"chi = {chi} has no effect with utility 'log' (labour is not chosen; the KS "
                                 f"experiments): leave chi unset")
            chi = 0.0
        else:
            chi = DEFAULT_CHI[utility] if chi is None else checks.positive("chi", chi)

        if capital_productivity is None:
            capital_productivity = np.ones(num_agents)
        if labour_productivity is None:
            labour_productivity = np.ones(num_agents)
        kappa = checks.positive_array("capital_productivity", np.atleast_1d(capital_productivity), length=num_agents)
        lam = checks.positive_array("labour_productivity", np.atleast_1d(labour_productivity), length=num_agents)

        episode_length = checks.positive_int("episode_length", episode_length)
        low = checks.positive("initial_capital_low", initial_capital_low)
        high = checks.positive("initial_capital_high", initial_capital_high)
        if high < low:
            raise ValueError(f"initial_capital_high must be >= initial_capital_low ({low}), got {high}")
        for flag_name, flag in (("start_at_steady_state", start_at_steady_state), ("exact_unemployment", exact_unemployment)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"{flag_name} must be True or False, got {flag!r}")

        if isinstance(observations, str):
            observations = (observations,)
        observations = tuple(observations)
        if not observations:
            raise ValueError(f"observations must list at least one of {tuple(OBSERVATIONS)}")
        for item in observations:
            checks.one_of("observations entry", item, OBSERVATIONS)
            if technology == "ar1" and item in KS_ONLY_OBSERVATIONS:
                raise ValueError(f"observation {item!r} exists only for technology 'ks' (experiment has 'ar1')")
        if len(set(observations)) != len(observations):
            raise ValueError(f"observations must not repeat an entry, got {observations}")

        if capital_scale is None:
            if technology == "ks":
                capital_scale = ks_steady_state_capital(ks)
            else:
                capital_scale = steady_state(RBCParams(alpha, beta, delta, rho, sigma, chi, utility)).capital
        capital_scale = checks.positive("capital_scale", capital_scale)
        tfp_scale = checks.positive("tfp_scale", tfp_scale)
        productivity_scale = checks.positive("productivity_scale", productivity_scale)
        action_interface = checks.one_of("action_interface", action_interface, ACTION_INTERFACES)
        if action_interface != "fraction" and technology != "ar1":
            raise ValueError(f"action_interface {action_interface!r} needs chosen labour (technology 'ar1'); in "
                             f"technology 'ks' the one action is the consumption fraction")
        _check_finite_observations(dict(
            alpha=alpha, delta=delta, technology=technology, rho=rho, sigma=sigma, ks=ks, capital_productivity=kappa,
            labour_productivity=lam, episode_length=episode_length, initial_capital_high=high,
            capital_scale=capital_scale, tfp_scale=tfp_scale, productivity_scale=productivity_scale,
            num_agents=num_agents))

        return super().__new__(
            cls, name, num_agents, alpha, beta, delta, technology, rho, sigma, ks,
            tuple(float(x) for x in kappa), tuple(float(x) for x in lam), utility, float(chi),
            episode_length, low, high, bool(start_at_steady_state), bool(exact_unemployment),
            capital_scale, observations, tfp_scale, productivity_scale, action_interface,
        )

    def _asdict(self) -> dict:
        """The fields as a dict, without those of :data:`LATER_FIELDS` that hold their default.

        Run records (``config.json``, sweep trial identities, checkpoint
        identities) are this dict as JSON; a field added later is left out at
        the default that reproduces the earlier behaviour, so every record
        written before it still reads, resumes and hashes as the same experiment.
        """
        fields = super()._asdict()
        for name, default in LATER_FIELDS.items():
            if fields[name] == default:
                del fields[name]
        return fields

    @property
    def chooses_labour(self) -> bool:
        """Households choose labour (``ar1``); in ``ks`` labour is the endowment lbar * e."""
        return self.technology == "ar1"

    @property
    def action_size(self) -> int:
        """2 (consumption fraction or saving share, then labour) where labour is chosen, else 1."""
        return 2 if self.chooses_labour else 1

    @property
    def rbc_params(self) -> RBCParams:
        """The representative-agent calibration (``ar1`` experiments)."""
        if self.technology != "ar1":
            raise ValueError(f"experiment {self.name!r} has technology 'ks': it has no RBCParams")
        return RBCParams(self.alpha, self.beta, self.delta, self.rho, self.sigma, self.chi, self.utility)

    @classmethod
    def _make(cls, iterable) -> "Experiment":
        """From a sequence of the fields in order, validated like the constructor (NamedTuple's own skips it)."""
        return cls(*iterable)

    def _replace(self, **changes) -> "Experiment":
        """A copy with some fields changed, validated like the constructor (capital_scale recomputed unless given)."""
        fields = self._asdict()
        if "capital_scale" not in changes:
            fields["capital_scale"] = None
        if "utility" in changes and "chi" not in changes:
            fields["chi"] = None
        fields.update(changes)
        return Experiment(**fields)


def _check_finite_observations(fields: dict) -> None:
    """Refuse parameters under which an observation could leave float32 within an episode (see the messages)."""
    log_ratio, tfp_share = capital_ceiling(fields)
    log_limit = math.log(OBSERVATION_CEILING)
    if log_ratio > log_limit:
        ratio = f"10^{log_ratio / math.log(10):.0f}"
        if tfp_share > 0.5:
            sd = log_tfp_sd_within_episode(fields["rho"], fields["sigma"], fields["episode_length"])
            raise ValueError(
                f"sigma = {fields['sigma']}, rho = {fields['rho']} (episode_length = {fields['episode_length']}): log A "
                f"reaches a standard deviation of {sd:.3g} within an episode, and at {TFP_STANDARD_DEVIATIONS:g} of "
                f"them capital could reach {ratio} times capital_scale, beyond float32 observations; lower sigma or rho")
        raise ValueError(
            f"alpha = {fields['alpha']}, delta = {fields['delta']}, initial_capital_high = "
            f"{fields['initial_capital_high']}, capital_scale = {fields['capital_scale']:.3g}: capital could reach "
            f"{ratio} times capital_scale, beyond float32 observations; lower alpha or initial_capital_high, or "
            f"raise delta or capital_scale")
    if fields["technology"] == "ar1":
        sd = log_tfp_sd_within_episode(fields["rho"], fields["sigma"], fields["episode_length"])
        if TFP_STANDARD_DEVIATIONS * sd / fields["tfp_scale"] > OBSERVATION_CEILING:
            raise ValueError(f"tfp_scale = {fields['tfp_scale']}: log A / tfp_scale could exceed float32 observations; "
                             f"raise tfp_scale")
    spread = max(abs(x - 1.0) for x in (*fields["capital_productivity"], *fields["labour_productivity"]))
    if spread / fields["productivity_scale"] > OBSERVATION_CEILING:
        raise ValueError(f"productivity_scale = {fields['productivity_scale']}: (kappa - 1) / productivity_scale "
                         f"reaches {spread / fields['productivity_scale']:.3g}, beyond float32 observations; raise "
                         f"productivity_scale")


EXPERIMENTS = ("rbc-full-depreciation", "rbc", "ks", "ks-het-mild", "ks-het-marked", "general")
"""The experiment names (docs/model.md)."""

_KS_CONSTRUCTORS = {"ks": KrusellSmithParams.ks, "ks-het-mild": KrusellSmithParams.ks_het_mild,
                    "ks-het-marked": KrusellSmithParams.ks_het_marked}
_DEFAULT_AGENTS = {"rbc-full-depreciation": 1, "rbc": 1, "ks": 20, "ks-het-mild": 20, "ks-het-marked": 20, "general": 9}
_DEFAULT_OBSERVATIONS = {
    "rbc-full-depreciation": ("capital", "log_tfp"),
    "rbc": ("capital", "log_tfp"),
    "ks": ("capital", "aggregate_capital", "aggregate_state", "employed"),
    "ks-het-mild": ("capital", "aggregate_capital", "aggregate_state", "employed", "capital_productivity"),
    "ks-het-marked": ("capital", "aggregate_capital", "aggregate_state", "employed", "capital_productivity"),
    "general": ("capital", "aggregate_capital", "log_tfp", "capital_productivity", "labour_productivity"),
}
_KS_ONLY_FIELDS = tuple(f for f in KrusellSmithParams._fields if f not in ("alpha", "beta", "delta", "capital_productivity"))


def make_experiment(name: str, n_agents: Optional[int] = None, **overrides) -> Experiment:
    """The experiment ``name`` with N = ``n_agents`` households and any field overridden.

    Parameters
    ----------
    name : str
        One of ``EXPERIMENTS``.
    n_agents : int or None
        N; None takes the experiment's default (1, 1, 20, 20, 20, 9).  ``general``
        needs a perfect square g*g in [4, 529] (kappa x lambda on a g x g grid
        on [0.98, 1.02]); the KS heterogeneous variants split N into types with
        ``KrusellSmithParams.household_capital_productivity``.
    **overrides
        Any :class:`Experiment` field (except ``name`` and ``num_agents``) and,
        for the KS experiments, any ``KrusellSmithParams`` field
        (``labour_endowment``, ``z_good``, ``unemployment_bad``, ``type_shares``, ...).

    Raises
    ------
    ValueError
        Unknown experiment, unknown field, or a value outside its allowed range.
    """
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known experiments: {', '.join(EXPERIMENTS)}")
    is_ks = name in _KS_CONSTRUCTORS
    settable = tuple(f for f in Experiment._fields if f not in ("name", "num_agents"))
    allowed = settable + (_KS_ONLY_FIELDS if is_ks else ())
    for key in overrides:
        if key not in allowed:
            raise ValueError(
                f"unknown field {key!r} for experiment {name!r}; fields that can be overridden: {', '.join(allowed)}"
            )
    n = _DEFAULT_AGENTS[name] if n_agents is None else checks.positive_int("n_agents", n_agents)
    fields = {k: v for k, v in overrides.items() if k in settable}
    fields.setdefault("observations", _DEFAULT_OBSERVATIONS[name])

    if name == "rbc-full-depreciation":
        fields.setdefault("delta", 1.0)
    if is_ks:
        if "rho" in overrides or "sigma" in overrides:
            raise ValueError(f"rho and sigma describe the AR(1) technology; experiment {name!r} uses the KS chain")
        ks_overrides = {k: v for k, v in overrides.items() if k in _KS_ONLY_FIELDS}
        for k in ("alpha", "beta", "delta"):
            if k in overrides:
                ks_overrides[k] = overrides[k]
        ks = _KS_CONSTRUCTORS[name](**ks_overrides)
        fields.update(technology="ks", ks=ks, alpha=ks.alpha, beta=ks.beta, delta=ks.delta)
        fields.setdefault("utility", "log")
        fields.setdefault("initial_capital_low", 0.25)
        fields.setdefault("initial_capital_high", 1.75)
        if "capital_productivity" not in fields:
            fields["capital_productivity"] = ks.household_capital_productivity(n)
    if name == "general" and "capital_productivity" not in fields and "labour_productivity" not in fields:
        g = math.isqrt(n)
        if g * g != n or not GENERAL_AGENTS[0] <= n <= GENERAL_AGENTS[1]:
            raise ValueError(
                f"n_agents for 'general' must be a perfect square g*g in [{GENERAL_AGENTS[0]}, {GENERAL_AGENTS[1]}] "
                f"(a g x g grid of kappa x lambda), got {n}"
            )
        fields["capital_productivity"], fields["labour_productivity"] = productivity_grid(g)
    return Experiment(name=name, num_agents=n, **fields)




def steady_state_fractions(experiment: Experiment) -> tuple[float, Optional[float]]:
    """``(chat, labour)`` of the representative deterministic steady state (labour None in KS variants).

    ``ar1``: :func:`econ.rbc.steady_state.steady_state`.  KS: every household at
    the normalising capital (:func:`ks_steady_state_capital`: technology and
    employment at their stationary means) with wealth from
    :func:`econ.economy.markets`; chat = 1 - k / a keeps capital constant.
    Holding these fractions whatever the state is the negative control of the
    scorecards.
    """
    if experiment.technology == "ar1":
        ss = steady_state(experiment.rbc_params)
        return float(ss.consumption_fraction), float(ss.labour)
    technology, labour = stationary_means(experiment.ks)
    k = np.array([experiment.capital_scale])
    m = markets(k, labour, technology, alpha=experiment.alpha, delta=experiment.delta)
    return float(1.0 - k[0] / m.wealth[0]), None


__all__ = [
    "ACTION_INTERFACES",
    "EPISODE_LENGTH",
    "EXPERIMENTS",
    "Experiment",
    "OBSERVATIONS",
    "TECHNOLOGIES",
    "aggregate_stationary_law",
    "ks_steady_state_capital",
    "make_experiment",
    "stationary_means",
    "steady_state_fractions",
]
