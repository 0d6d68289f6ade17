"""PNG figures of a Krusell-Smith solution: law of motion, Lorenz curves, consumption rules.

:func:`plot_laws_of_motion` and :func:`plot_lorenz_curves` take plain arrays,
so a simulated panel can be drawn beside the solution with the same code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from econ.io import save_figure_atomic  # noqa: E402
from econ.krusell_smith.params import AGGREGATE_STATES  # noqa: E402
from econ.krusell_smith.solver import KrusellSmithSolution  # noqa: E402

STATE_COLOURS = {"bad": "tab:red", "good": "tab:blue"}


def plot_laws_of_motion(path, log_capital, next_log_capital, aggregate_state, laws: Sequence[tuple], title: str,
                        *, sample_label: str = "simulated", capital_range: Optional[tuple] = None,
                        max_points: int = 4000) -> Path:
    """Scatter of simulated (log K_t, log K_{t+1}) by aggregate state, with laws log K' = a + b log K [+ c (log K)^2].

    Parameters
    ----------
    log_capital, next_log_capital, aggregate_state : arrays (n,)
        The simulated pairs and the aggregate state z_t they start from (0 bad, 1 good).
    laws : sequence of ``(label, alm, r_squared, linestyle)``
        ``alm[state] = (a, b)`` or ``(a, b, c)`` and ``r_squared[state]`` for ``state`` in ``AGGREGATE_STATES``; each law is
        drawn per state in that state's colour, its legend entry prefixed by ``label``.
    capital_range : (K_min, K_max), optional
        Draw the laws over this range of K too (say the benchmark's ergodic range).
    max_points : int
        At most about this many points are scattered (every k-th pair).
    """
    x, y, z = (np.asarray(v).ravel() for v in (log_capital, next_log_capital, aggregate_state))
    lo, hi = x.min(), x.max()
    if capital_range is not None:
        lo, hi = min(lo, np.log(capital_range[0])), max(hi, np.log(capital_range[1]))
    grid = np.linspace(lo, hi, 50)
    step = max(1, x.size // max_points)
    fig, ax = plt.subplots(figsize=(6.6, 5.2), layout="constrained")
    for zi, state in enumerate(AGGREGATE_STATES):
        sel = z == zi
        ax.scatter(x[sel][::step], y[sel][::step], s=4, alpha=0.3, color=STATE_COLOURS[state],
                   label=f"{sample_label}, z = {state}")
    for label, alm, r_squared, style in laws:
        for state in AGGREGATE_STATES:
            a, b, *quadratic = alm[state]
            c = quadratic[0] if quadratic else 0.0
            term = f" + {c:.4f} (log K)²" if quadratic else ""
            ax.plot(grid, a + b * grid + c * grid**2, color=STATE_COLOURS[state], lw=1.6, ls=style,
                    label=f"{label}{state}: log K' = {a:.4f} + {b:.4f} log K{term} (R² {r_squared[state]:.6f})")
    ax.plot(grid, grid, color="grey", lw=0.8, ls=":", label="45° line")
    ax.set_xlabel(r"$\log K_t$ (effective aggregate capital)")
    ax.set_ylabel(r"$\log K_{t+1}$")
    ax.set_title(title)
    ax.legend(fontsize=7, loc="upper left")
    out = save_figure_atomic(fig, path)
    plt.close(fig)
    return out


def plot_law_of_motion(sol: KrusellSmithSolution, path, title: str = "") -> Path:
    """The solution's simulated (log K_t, log K_{t+1}) after the burn-in with its fitted laws."""
    log_capital = np.log(sol.capital_path[sol.burn_in:])
    return plot_laws_of_motion(path, log_capital[:-1], log_capital[1:], sol.z_path[sol.burn_in:-1],
                               [("", sol.alm, sol.r_squared, "-")], title or "Krusell-Smith law of motion")


def plot_lorenz_curves(path, curves: Sequence[tuple], title: str, ylabel: str = "cumulative share held") -> Path:
    """Lorenz curves ``(population share, share held, label, line keywords)`` with the equality line."""
    fig, ax = plt.subplots(figsize=(5.8, 5.2), layout="constrained")
    for people, share, label, style in curves:
        ax.plot(people, share, label=label, **style)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="equality")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("cumulative share of households (poorest first)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left")
    out = save_figure_atomic(fig, path)
    plt.close(fig)
    return out


def plot_lorenz(sol: KrusellSmithSolution, path, title: str = "") -> Path:
    """Lorenz curves of wealth and capital in the final simulated period."""
    return plot_lorenz_curves(path, [(*sol.lorenz_wealth, f"wealth a (Gini {sol.gini_wealth:.3f})", {"ls": "-"}),
                                     (*sol.lorenz_capital, f"capital k (Gini {sol.gini_capital:.3f})", {"ls": "--"})],
                              title or "Lorenz curves")


def draw_consumption_rules(ax, wealth, fraction, low: float, high: float, kappa: Optional[float] = None,
                           label: str = "") -> None:
    """One type's rule c/a against wealth a for each (z, e) on ``ax`` (log a, low <= a <= high).

    ``wealth`` and ``fraction`` are [state, k] with state = 2 z + e (as ``HouseholdPolicy.at_aggregate_capital``
    returns them per type); ``kappa`` titles the panel with the type (None: all households).
    """
    for zi, state in enumerate(AGGREGATE_STATES):
        for e, status in ((0, "unemployed"), (1, "employed")):
            s = 2 * zi + e
            keep = (wealth[s] >= low) & (wealth[s] <= high)
            ax.plot(wealth[s][keep], fraction[s][keep], "-" if e else "--", lw=1.0, color=STATE_COLOURS[state],
                    label=f"{label}z = {state}, {status}")
    ax.set_xscale("log")
    ax.set_xlabel("wealth a = (1-δ)k + rk + wl (log scale)")
    ax.set_ylabel("consumption fraction c / a")
    ax.set_ylim(0, 1.02)
    ax.set_title("all households" if kappa is None else f"type κ = {kappa:g}")


def finish_consumption_axes(ax) -> None:
    """Readable axes for a panel of :func:`draw_consumption_rules` (and markers drawn on it).

    The y range fits the data plotted (within [0, 1.02]) so a type whose
    fractions all lie near 0.1 is not squashed; the log wealth axis gets
    labelled ticks whatever the range it spans (1-2-5 steps below two decades),
    so every panel has x tick labels.
    """
    ys = [np.asarray(line.get_ydata(), dtype=float) for line in ax.get_lines()]
    ys = np.concatenate([y[np.isfinite(y)] for y in ys]) if ys else np.array([])
    if ys.size:
        lo, hi = float(ys.min()), float(ys.max())
        pad = max(0.08 * (hi - lo), 0.02)
        ax.set_ylim(max(0.0, lo - pad), min(1.02, hi + pad))
    low, high = ax.get_xlim()
    decades = np.log10(high / low) if low > 0 else 3.0
    subs = (1.0,) if decades > 2.5 else (1.0, 3.0) if decades > 1.2 else (1.0, 2.0, 5.0)
    ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=subs))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def legend_below(fig, axes, fontsize: float = 8, ncol: int = 4) -> None:
    """One legend for the whole figure, below the panels: each label once, in the order first drawn."""
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    fig.legend(list(handles.values()), list(handles.keys()), loc="outside lower center", ncol=ncol,
               fontsize=fontsize, frameon=False)


def _weighted_percentile(values, weights, q: float) -> float:
    """Smallest value below which at least q percent of the weight lies (panel: equal weights)."""
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    i = min(int(np.searchsorted(cumulative, q / 100.0 * cumulative[-1])), cumulative.size - 1)
    return float(np.asarray(values)[order][i])


def plot_consumption_fraction(sol: KrusellSmithSolution, path, title: str = "") -> Path:
    """Consumption fraction c/a against wealth a by employment and aggregate state, one panel per type, at mean K."""
    wealth, _, fraction, _ = sol.policy.at_aggregate_capital(sol.mean_capital)
    kappa = sol.params.capital_productivity
    num_types = len(kappa)
    fig, axes = plt.subplots(1, num_types, figsize=(5.2 * num_types, 4.4), layout="constrained", squeeze=False)
    top = _weighted_percentile(sol.household_wealth, sol.household_weights, 99.5)
    for t, ax in enumerate(axes[0]):
        mine = sol.household_types == t
        upper = (_weighted_percentile(sol.household_wealth[mine], sol.household_weights[mine], 99.5)
                 if num_types > 1 else top)
        draw_consumption_rules(ax, wealth[t], fraction[t], 1e-3 * upper, 1.2 * upper,
                               kappa[t] if num_types > 1 else None)
        finish_consumption_axes(ax)
    legend_below(fig, axes[0])
    fig.suptitle(title or f"Consumption rule at mean capital K = {sol.mean_capital:.2f}")
    out = save_figure_atomic(fig, path)
    plt.close(fig)
    return out


__all__ = ["STATE_COLOURS", "draw_consumption_rules", "plot_consumption_fraction", "plot_law_of_motion",
           "plot_laws_of_motion", "plot_lorenz", "plot_lorenz_curves"]
