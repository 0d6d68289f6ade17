"""Figures of the scaling study (:mod:`validation.scaling`): distances and wall-clock against N, per algorithm.

Each figure takes the groups of :func:`validation.scaling.aggregate` of one
experiment (mean and 2 sd over seeds per algorithm, budget and N) and draws
one line per algorithm and budget (the budget in the legend: the study gives
PPO and the off-policy algorithms different budgets) with a ±2 sd band, N on
a log axis, the legend outside the axes.  No pyplot: figures are built and saved without a global
backend.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, Locator

from econ.io import save_figure_atomic
from rl.recipes import ALGORITHMS
from validation.general import GENERAL_TOLERANCES
from validation.krusell_smith import KS_EXPERIMENTS
from validation.same_economy import SAME_ECONOMY_TOLERANCES

ALGORITHM_COLOURS = {"sac": "C0", "ppo": "C1", "td3": "C2", "ddpg": "C3"}

PAPER_FIGURE_8_HOURS = {10: 0.69, 500: 2.95}
"""The paper's figure 8 (right): SAC on ``ks``, 100,000 per-agent updates, one CPU, hours at N = 10 and 500."""

PAPER_FIGURE_8_UPDATES = 100_000


def _budget_text(budget: Optional[int]) -> str:
    return "a total agent-step budget" if budget is None else f"{budget:,} vec-steps"


def _lines(groups: list) -> list:
    """The (algorithm, budget) pairs present, in algorithm order: one line each in a figure."""
    order = {algo: i for i, algo in enumerate(ALGORITHMS)}
    return sorted({(g["algorithm"], g.get("steps_per_agent")) for g in groups if "algorithm" in g},
                  key=lambda line: (order[line[0]], line[1] or 0))


def _line_style(lines: list, line: tuple) -> tuple:
    """Colour by algorithm; a second budget of the same algorithm is dashed."""
    same = [budget for algo, budget in lines if algo == line[0]]
    return ALGORITHM_COLOURS[line[0]], ("o-", "s--", "^:")[same.index(line[1]) % 3]


def _percent(key: str) -> float:
    """Relative distances (K, L, r; the solvers' own K distance too) are drawn in percent."""
    return 100.0 if key.removesuffix("_solvers").endswith(("_K", "_L", "_r")) else 1.0


def _series(groups: list, line: tuple, key: str) -> tuple:
    algo, budget = line
    members = sorted((g for g in groups if (g["algorithm"], g.get("steps_per_agent")) == (algo, budget) and key in g),
                     key=lambda g: g["N"])
    scale = _percent(key)
    seeds = sorted({g["seeds"] for g in members})
    return (np.array([g["N"] for g in members], dtype=float), scale * np.array([g[key] for g in members]),
            scale * np.array([g[f"{key}_2sd"] for g in members]), seeds)


def _seeds_text(seeds: list) -> str:
    """'mean of 3 seeds', or 'mean of 1-3 seeds' when the points of a line have different numbers of seeds."""
    if not seeds:
        return "no seeds"
    count = str(seeds[0]) if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    return f"mean of {count} seed{'s' * (seeds[-1] > 1)}"


class SymlogTicks(Locator):
    """Major ticks of a symlog axis: 0, +-``linthresh`` and the decades beyond it, within the view.  Matplotlib's
    own locator also ticks the decades inside the linear part, where they crowd around 0 and their labels
    overlap."""

    def __init__(self, linthresh: float):
        self.linthresh = float(linthresh)

    def __call__(self):
        return self.tick_values(*self.axis.get_view_interval())

    def tick_values(self, vmin, vmax):
        vmin, vmax = sorted((vmin, vmax))
        top = max(abs(vmin), abs(vmax), self.linthresh)
        decades = 10.0 ** np.arange(np.floor(np.log10(self.linthresh)) + 1, np.ceil(np.log10(top)) + 1)
        # a decade within a factor 3 of the threshold would print on top of it
        magnitudes = [self.linthresh, *decades[decades >= 3.0 * self.linthresh]]
        ticks = [0.0, *magnitudes, *(-m for m in magnitudes)]
        return np.array(sorted(t for t in ticks if vmin <= t <= vmax))


def _symlog(ax, linear_up_to: float) -> None:
    """Linear up to ``linear_up_to`` (a tolerance: pass or fail reads on a linear scale), logarithmic above, so
    that one far-off point does not flatten the others."""
    ax.set_yscale("symlog", linthresh=linear_up_to, linscale=1.0)
    ax.yaxis.set_major_locator(SymlogTicks(linear_up_to))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))  # the threshold is no decade


def _algorithm_lines(ax, groups: list, key: str) -> None:
    lines = _lines(groups)
    for line in lines:
        n, mean, band, seeds = _series(groups, line, key)
        if n.size == 0:
            continue
        colour, style = _line_style(lines, line)
        name = f"{line[0].upper()}, {_budget_text(line[1])}"
        ax.plot(n, mean, style, color=colour, label=f"{name} ({_seeds_text(seeds)})")
        low = mean - band if key.endswith("welfare_gain_percent") else np.maximum(mean - band, 0.0)  # distances >= 0
        ax.fill_between(n, low, mean + band, color=colour, alpha=0.2, lw=0, label=f"{name}: ±2 sd over seeds")
    if not key.endswith("welfare_gain_percent"):
        ax.set_ylim(bottom=0.0)


def _reference_line(ax, groups: list, key: str, label: str, style: str) -> None:
    """A benchmark-only column: the same for every trial at N (the mean over trials is that value)."""
    points = {}
    for g in groups:
        if key in g:
            points[g["N"]] = _percent(key) * g[key]
    if points:
        n = np.array(sorted(points), dtype=float)
        ax.plot(n, [points[v] for v in sorted(points)], style, color="black", mfc="none", lw=1.5, label=label)


def _format_axes(fig: Figure, axes, groups: list, title: str) -> None:
    ns = sorted({g["N"] for g in groups})
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.minorticks_off()
        ax.grid(True, alpha=0.3)
        ax.set_xlabel("number of households N")
        ax.set_ylim(bottom=min(0.0, ax.get_ylim()[0]))
    handles, labels = {}, []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in handles:
                handles[label] = handle
                labels.append(label)
    fig.legend([handles[label] for label in labels], labels, loc="outside right center", fontsize="small")
    fig.suptitle(title, fontsize="medium")


def plot_continuum(groups: list, path, experiment: str) -> None:
    """RL's distance to the continuum equilibrium against N, with the price-impact benchmark's distance beside it."""
    ks = experiment in KS_EXPERIMENTS
    panels = ([("continuum_K", "mean capital K: |K / K_continuum - 1| (%)", 2.0),
               ("continuum_gini_wealth", "wealth Gini: |G - G_continuum|", 0.02)] if ks else
              [("continuum_K", "aggregate capital K: |K / K_continuum - 1| (%)", 2.0),
               ("continuum_r", "interest rate r: |r / r_continuum - 1| (%)", 2.0)])
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    axes = fig.subplots(1, len(panels))
    for ax, (key, ylabel, linear_up_to) in zip(axes, panels):
        _algorithm_lines(ax, groups, key)
        _symlog(ax, linear_up_to)
        bench_key = key.replace("continuum_", "benchmarks_")
        if ks:
            _reference_line(ax, groups, bench_key, "price-impact rule at N, same economy (theory's finite-N distance)",
                            "s--")
            if key == "continuum_K":
                _reference_line(ax, groups, "benchmarks_K_solvers",
                                "price-impact solver at N vs continuum solver (their own panels)", "^:")
        else:
            _reference_line(ax, groups, bench_key, "price-impact steady state at N (theory's finite-N distance)",
                            "s--")
        ax.set_ylabel(ylabel)
    what = "ergodic means, same shocks" if ks else "deterministic fixed point vs steady states"
    _format_axes(fig, axes, groups, f"{experiment}: distance to the continuum equilibrium ({what}); "
                                    f"budgets in updates per agent (vec-steps)\n"
                                    "y axes linear up to 2 % (0.02 for the Gini), logarithmic above")
    save_figure_atomic(fig, path)


def plot_finite_n(groups: list, path, experiment: str) -> None:
    """RL's distance to the price-impact benchmark at its own N, per algorithm, with the scorecard's tolerances."""
    if experiment in KS_EXPERIMENTS:
        tol = SAME_ECONOMY_TOLERANCES["ks" if experiment == "ks" else "ks-het"]
        panels = [("pi_K", "mean capital: |K / K_PI - 1| (%)", tol["mean_capital"]),
                  ("pi_gini_wealth", "wealth Gini: |G - G_PI|", tol["gini_wealth"]),
                  ("pi_chat_bias", "worst consumption-fraction bias |chat - chat_PI|", tol["chat_bias"]),
                  ("pi_welfare_gain_percent", "unilateral gain of switching to the PI rule\n(% of consumption)",
                   tol["welfare_unilateral"])]
    else:
        tol = GENERAL_TOLERANCES
        panels = [("pi_K", "aggregate capital: |K / K_PI - 1| (%)", tol["aggregate_capital"]),
                  ("pi_L", "aggregate labour: |L / L_PI - 1| (%)", tol["aggregate_labour"]),
                  ("pi_r", "interest rate: |r / r_PI - 1| (%)", tol["interest_rate"]),
                  ("pi_euler_residual", "largest private Euler residual |beta R_i - 1|", tol["euler_residual"])]
    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 2).ravel()
    for ax, (key, ylabel, tolerance) in zip(axes, panels):
        _algorithm_lines(ax, groups, key)
        if tolerance is not None:
            ax.axhline(_percent(key) * tolerance, color="grey", ls="--", lw=1, label="scorecard tolerance")
            _symlog(ax, _percent(key) * tolerance)
            # the tolerance stays in view when every point is below it (the y limits were fixed at bottom 0)
            ax.set_ylim(top=max(ax.get_ylim()[1], 1.25 * _percent(key) * tolerance))
        ax.set_ylabel(ylabel)
    _format_axes(fig, axes, groups, f"{experiment}: distance to the price-impact (finite-N) benchmark at the same N; "
                                    f"budgets in updates per agent (vec-steps)\n"
                                    "y axes linear up to the scorecard tolerance, logarithmic above")
    save_figure_atomic(fig, path)


def plot_wall_clock(groups: list, path, experiment: str) -> None:
    """Measured training hours (``model.learn``) against N per algorithm, beside the paper's figure-8 hours."""
    fig = Figure(figsize=(9, 4.5), layout="constrained")
    ax = fig.subplots()
    lines = _lines(groups)
    for line in lines:
        n, seconds, band, seeds = _series(groups, line, "wall_clock_seconds")
        if n.size == 0:
            continue
        colour, style = _line_style(lines, line)
        name = f"{line[0].upper()}, {_budget_text(line[1])}"
        ax.plot(n, seconds / 3600.0, style, color=colour,
                label=f"{name}, measured ({_seeds_text(seeds)})")
        ax.fill_between(n, (seconds - band) / 3600.0, (seconds + band) / 3600.0, color=colour, alpha=0.2, lw=0,
                        label=f"{name}: ±2 sd over seeds")
    if experiment == "ks":
        n = np.array(sorted(PAPER_FIGURE_8_HOURS), dtype=float)
        ax.plot(n, [PAPER_FIGURE_8_HOURS[v] for v in sorted(PAPER_FIGURE_8_HOURS)], "ks--", mfc="none",
                label=f"paper, figure 8: SAC, {PAPER_FIGURE_8_UPDATES:,} updates per agent, one CPU")
    ax.set_ylabel("training wall-clock (hours, one core per trial)")
    _format_axes(fig, [ax], groups + [{"N": v} for v in PAPER_FIGURE_8_HOURS] * (experiment == "ks"),
                 f"{experiment}: measured training time (budgets in updates per agent, vec-steps)")
    save_figure_atomic(fig, path)


def plot_learning_curves(curves: list, path, experiment: str) -> None:
    """Mean episode return per household against updates per agent, one panel per algorithm, one colour per N.

    ``curves`` holds (algorithm, N, seed, updates per agent, returns) per trial; every seed is drawn (thin
    lines), so a curve that has not flattened by the end of the budget shows as such.  Each panel's x axis
    ends at its algorithm's budget.
    """
    algos = [a for a in ALGORITHMS if any(c[0] == a for c in curves)]
    ns = sorted({c[1] for c in curves})
    colours = dict(zip(ns, _viridis(len(ns))))
    fig = Figure(figsize=(5 * len(algos) + 2.5, 4.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(algos), sharey=True))
    for ax, algo in zip(axes, algos):
        for _, n, seed, x, y in sorted((c for c in curves if c[0] == algo), key=lambda c: (c[1], c[2])):
            ax.plot(x, y, color=colours[n], lw=1, alpha=0.8, label=f"N = {n}")
        ax.set_title(algo.upper(), fontsize="medium")
        ax.set_xlabel("updates per agent (vec-steps)")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("mean episode return per household")
    handles = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    labels = sorted(handles, key=lambda text: int(text.split("= ")[1]))
    fig.legend([handles[label] for label in labels], labels, loc="outside right center", fontsize="small",
               title="one line per seed")
    fig.suptitle(f"{experiment}: learning curves (returns of different N are returns of different economies)",
                 fontsize="medium")
    save_figure_atomic(fig, path)


def _viridis(count: int) -> list:
    return [colormaps["viridis"](v) for v in np.linspace(0.0, 0.85, max(count, 1))]
