"""PNG figures of a Krusell-Smith solution: law of motion, Lorenz curves, consumption rules."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from econ.io import save_figure_atomic  # noqa: E402
from econ.krusell_smith.solver import KrusellSmithSolution  # noqa: E402

STATE_COLOURS = {"bad": "tab:red", "good": "tab:blue"}


def plot_law_of_motion(sol: KrusellSmithSolution, path, title: str = ""):
    """Simulated (log K_t, log K_{t+1}) by aggregate state, with the fitted log-linear laws."""
    logK = np.log(sol.capital_path[sol.burn_in:])
    z = sol.z_path[sol.burn_in:-1]
    fig, ax = plt.subplots(figsize=(6.4, 5), layout="constrained")
    grid = np.linspace(logK.min(), logK.max(), 50)
    for zi, state in enumerate(("bad", "good")):
        sel = z == zi
        ax.scatter(logK[:-1][sel], logK[1:][sel], s=5, alpha=0.35, color=STATE_COLOURS[state],
                   label=f"simulated, z = {state}")
        a, b = sol.alm[state]
        ax.plot(grid, a + b * grid, color=STATE_COLOURS[state], lw=1.5,
                label=f"{state}: log K' = {a:.4f} + {b:.4f} log K (R² {sol.r_squared[state]:.6f})")
    ax.plot(grid, grid, color="grey", lw=0.8, ls=":", label="45° line")
    ax.set_xlabel(r"$\log K_t$ (effective aggregate capital)")
    ax.set_ylabel(r"$\log K_{t+1}$")
    ax.set_title(title or "Krusell-Smith law of motion")
    ax.legend(fontsize=8, loc="upper left")
    save_figure_atomic(fig, path)
    plt.close(fig)


def plot_lorenz(sol: KrusellSmithSolution, path, title: str = ""):
    """Lorenz curves of wealth and capital in the final simulated period."""
    fig, ax = plt.subplots(figsize=(5.5, 5), layout="constrained")
    for (people, share), label, style in (
        (sol.lorenz_wealth, f"wealth a (Gini {sol.gini_wealth:.3f})", "-"),
        (sol.lorenz_capital, f"capital k (Gini {sol.gini_capital:.3f})", "--"),
    ):
        ax.plot(people, share, style, label=label)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls=":", label="equality")
    ax.set_xlabel("cumulative share of households (poorest first)")
    ax.set_ylabel("cumulative share held")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(title or "Lorenz curves")
    ax.legend(loc="upper left")
    save_figure_atomic(fig, path)
    plt.close(fig)


def _weighted_percentile(values, weights, q: float) -> float:
    """Smallest value below which at least q percent of the weight lies (panel: equal weights)."""
    order = np.argsort(values)
    cumulative = np.cumsum(np.asarray(weights, dtype=float)[order])
    i = min(int(np.searchsorted(cumulative, q / 100.0 * cumulative[-1])), cumulative.size - 1)
    return float(np.asarray(values)[order][i])


def plot_consumption_fraction(sol: KrusellSmithSolution, path, title: str = ""):
    """Consumption fraction c/a against wealth a by employment and aggregate state, one panel per type, at mean K."""
    wealth, _, fraction, _ = sol.policy.at_aggregate_capital(sol.mean_capital)
    kappa = sol.params.capital_productivity
    num_types = len(kappa)
    fig, axes = plt.subplots(1, num_types, figsize=(5.2 * num_types, 4.4), layout="constrained", squeeze=False)
    top = _weighted_percentile(sol.household_wealth, sol.household_weights, 99.5)
    styles = {0: "--", 1: "-"}
    for t, ax in enumerate(axes[0]):
        mine = sol.household_types == t
        upper = (_weighted_percentile(sol.household_wealth[mine], sol.household_weights[mine], 99.5)
                 if num_types > 1 else top)
        for zi, state in enumerate(("bad", "good")):
            for e, status in ((0, "unemployed"), (1, "employed")):
                s = 2 * zi + e
                keep = (wealth[t, s] > 1e-3 * upper) & (wealth[t, s] <= 1.2 * upper)
                ax.plot(wealth[t, s][keep], fraction[t, s][keep], styles[e], color=STATE_COLOURS[state],
                        label=f"z = {state}, {status}")
        ax.set_xscale("log")
        ax.set_xlabel("wealth a = (1-δ)k + rk + wl (log scale)")
        ax.set_ylabel("consumption fraction c / a")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"type κ = {kappa[t]:g}" if num_types > 1 else "all households")
        ax.legend(fontsize=8)
    fig.suptitle(title or f"Consumption rule at mean capital K = {sol.mean_capital:.2f}")
    save_figure_atomic(fig, path)
    plt.close(fig)


__all__ = ["plot_consumption_fraction", "plot_law_of_motion", "plot_lorenz"]
