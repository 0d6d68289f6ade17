"""What a polishing setting may be (:mod:`rl.polish_rounds`): its margins, the algorithms each polishes, and the
checks of a recipe's ``polish`` setting and of the arguments, each a one-line error at the boundary.

Apart from :mod:`rl.polish_rounds` so that the recipes (:mod:`rl.recipes`) check a setting without importing the
polishing itself."""

from __future__ import annotations

from econ import checks

MARGINS = ("intratemporal", "lookahead", "euler")
"""What polishing climbs: the period utility along labour at unchanged own saving (no critic), the whole
one-step lookahead through the critic, or the Euler equation with next period's consumption from the rule itself
(no critic; in the AR(1) economies with the intratemporal condition beside it)."""


MEASURED = "measured"
"""``price_impact`` of the euler margin measured each round under the rule (the default)."""


def check_price_impact(price_impact, margin: str, technology=None, kappa_types=None):
    """The euler margin's ``price_impact`` checked (:data:`MEASURED` for None, a number in [0, 1], or in the
    Krusell-Smith economies one such number per kappa type, ``kappa_types`` of them when given, in the order of
    ``sorted(set(capital_productivity))``; in an economy of ``technology`` ``"ar1"`` one number, 1 for None, the
    open-loop household of the price-impact steady state, and not :data:`MEASURED`, which is measured in the
    Krusell-Smith economies only); the other margins take none.  A one-line error otherwise."""
    if margin != "euler":
        if price_impact is not None:
            raise ValueError(f"price_impact applies to the euler margin only, got margin {margin!r}")
        return None
    if hasattr(price_impact, "tolist"):  # a numpy array or scalar: its Python list or number
        price_impact = price_impact.tolist()
    if isinstance(price_impact, (list, tuple)):
        if technology == "ar1":
            raise ValueError(f"price_impact of an AR(1) economy's euler margin is one number in [0, 1], got "
                             f"{list(price_impact)}")
        values = [checks.closed("price_impact", value, 0.0, 1.0) for value in price_impact]
        if not values or (kappa_types is not None and len(values) != kappa_types):
            raise ValueError(f"price_impact takes one number, or one per kappa type ({kappa_types or 'each'}), "
                             f"got {len(values)}: {values}")
        return values
    if technology == "ar1":
        if price_impact is None:
            return 1.0
        if price_impact == MEASURED:
            raise ValueError(f"price_impact {MEASURED!r} is measured in the Krusell-Smith economies only; an AR(1) "
                             f"economy's euler margin takes a number in [0, 1] (default 1, the open-loop household "
                             f"of its benchmark, the price-impact steady state)")
    if price_impact is None or price_impact == MEASURED:
        return MEASURED
    if isinstance(price_impact, str):
        raise ValueError(f"price_impact must be {MEASURED!r}, a number in [0, 1] or one per kappa type, got "
                         f"{price_impact!r}")
    return checks.closed("price_impact", price_impact, 0.0, 1.0)


BURN_IN = 100
"""Periods each round simulates from the environment's initial states before the states it keeps (the default;
with ``carry`` the first round only)."""

GUARD_HALVINGS = 8
"""How many times ``guard`` may halve a polishing's learning rate before it stops the polishing as diverging."""

STUCK_CHANGE = 1e-12
"""A round whose largest action change is at most this (action units; double precision's rounding of an action near
the bound is about 1e-16) moved nothing, and the polishing's log says it is stuck."""

NEAR_BOUND = 1e-9
"""How close to the box's bound (+-1) an action counts as on it, in the stuck round's message."""

FIXED_POINT_MARGINS = ("intratemporal", "euler")
"""The margins whose loss can weight the deterministic economy's states (``fixed_point``; AR(1) economies)."""

OTHER_ALGORITHMS = ("intratemporal", "euler")
"""The margins that polish SAC's, TD3's and DDPG's deterministic actor as well as PPO's mean (neither needs a
critic; the lookahead margin needs PPO's state-value critic)."""


def off_policy_refusal(who: str, margin: str) -> ValueError:
    """The one-line error for an off-policy actor (``who``: the algorithm or the model's class) asked to polish a
    margin outside :data:`OTHER_ALGORITHMS`."""
    return ValueError(f"{who} is polished on the {' and '.join(OTHER_ALGORITHMS)} margins only (the {margin} "
                      f"margin needs PPO's state-value critic)")


def check_algorithm(algo: str, margin: str) -> None:
    """One line refusing an algorithm ``margin`` does not polish: PPO with every margin; SAC, TD3 and DDPG with
    :data:`OTHER_ALGORITHMS`'s."""
    if algo == "ppo":
        return
    if algo in ("sac", "td3", "ddpg"):  # their deterministic actor
        if margin in OTHER_ALGORITHMS:
            return
        raise off_policy_refusal(algo, margin)
    raise ValueError(f"polishing applies to ppo, sac, td3 and ddpg, not {algo!r}")


POLISH_KEYS = ("rounds", "steps", "learning_rate", "anchor")
"""The fields of the ``polish`` setting (the arguments of :func:`rl.polish_rounds.polish`); ``margin``, ``fixed_point``,
``price_impact``, ``balanced``, ``periods``, ``burn_in``, ``carry``, ``spread``, ``robust``, ``trust``, ``guard``,
``reach`` and ``settle`` may be added."""


def check_setting(algo: str, value) -> None:
    """``polish``: PPO's (SAC's, TD3's and DDPG's with :data:`OTHER_ALGORITHMS`' margins), a mapping of
    :data:`POLISH_KEYS` (and optionally ``margin``, one of :data:`MARGINS`, ``fixed_point`` in [0, 1], the
    intratemporal and euler margins', ``price_impact``, ``measured``, a number in [0, 1] or one per kappa type,
    ``balanced``, true or false, ``spread`` in [0, 1], ``robust``, ``trust``, ``guard`` and ``reach`` >= 0, the euler
    margin's, ``periods`` and ``burn_in``, the periods kept per economy and round and those simulated before them,
    ``carry``, true or false, the rounds' economies continued from round to round, and ``settle``, a non-negative
    integer, the round after which the learning rate falls, not with ``guard``): ``rounds``, ``steps`` (and
    ``periods``) positive integers, ``burn_in`` a non-negative one, ``learning_rate`` > 0, ``anchor`` >= 0 (0
    unless the margin is intratemporal)."""
    optional = {"margin", "fixed_point", "price_impact", "periods", "balanced", "burn_in", "carry", "spread",
                "robust", "trust", "guard", "reach", "settle"}
    if not isinstance(value, dict) or not set(POLISH_KEYS) <= set(value) <= set(POLISH_KEYS) | optional:
        raise ValueError(f"polish must be {{rounds: R, steps: S, learning_rate: x, anchor: w}} "
                         f"(and optionally margin, fixed_point, price_impact, periods, balanced, burn_in, carry, "
                         f"spread, robust, trust, guard, reach, settle), "
                         f"got {value!r}")
    checks.positive_int("polish rounds", value["rounds"])
    checks.positive_int("polish steps", value["steps"])
    if "periods" in value:
        checks.positive_int("polish periods", value["periods"])
    if "burn_in" in value:
        checks.positive_int("polish burn_in", value["burn_in"], minimum=0)
    checks.positive("polish learning_rate", value["learning_rate"])
    checks.non_negative("polish anchor", value["anchor"])
    margin = value.get("margin", "intratemporal")
    if margin not in MARGINS:
        raise ValueError(f"polish margin must be one of {MARGINS}, got {value['margin']!r}")
    try:
        check_algorithm(algo, margin)
    except ValueError as err:
        raise ValueError(f"polish: {err}") from None
    fixed_point = checks.closed("polish fixed_point", value.get("fixed_point", 0.0), 0.0, 1.0)
    if fixed_point and margin not in FIXED_POINT_MARGINS:
        raise ValueError(f"polish fixed_point applies to the {' and '.join(FIXED_POINT_MARGINS)} margins only, got "
                         f"margin {margin!r}")
    try:
        check_price_impact(value.get("price_impact"), margin)
    except ValueError as err:
        raise ValueError(f"polish {err}") from None
    for flag in ("balanced", "carry"):
        if not isinstance(value.get(flag, False), bool):
            raise ValueError(f"polish {flag} must be true or false, got {value[flag]!r}")
    if value.get("balanced") and margin != "euler":
        raise ValueError(f"polish balanced applies to the euler margin only, got margin {margin!r}")
    if checks.closed("polish spread", value.get("spread", 0.0), 0.0, 1.0) and margin != "euler":
        raise ValueError(f"polish spread applies to the euler margin only, got margin {margin!r}")
    for name in ("robust", "trust", "guard", "reach"):
        if checks.non_negative(f"polish {name}", value.get(name, 0.0)) and margin != "euler":
            raise ValueError(f"polish {name} applies to the euler margin only, got margin {margin!r}")
    if checks.positive_int("polish settle", value.get("settle", 0), minimum=0) and value.get("guard"):
        raise ValueError(f"polish settle and guard both set the learning rate: give one, got {value!r}")
    if value["anchor"] and margin != "intratemporal":  # as rl.polish's command line: 0 is no anchor
        raise ValueError(f"polish anchor applies to the intratemporal margin only (0 with margin {margin!r}), got "
                         f"{value['anchor']!r}")
