"""Figures of the scorecards (PNG through :func:`econ.io.save_figure_atomic`).

One household (``rbc``, ``rbc-full-depreciation``): :func:`plot_rbc` (policy
against the benchmark, IRFs with the seed band, learning curves).  KS
variants: :func:`plot_law_of_motion`, :func:`plot_lorenz`,
:func:`plot_consumption_fraction`, and with the three benchmarks of the same
economy :func:`plot_lorenz_benchmarks` and :func:`plot_capital_shares`.  ``general``: :func:`plot_general_paths`,
:func:`plot_general_capital`.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Mapping, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from econ.experiments import Experiment  # noqa: E402
from econ.heterogeneous import HeterogeneousSteadyState  # noqa: E402
from econ.io import save_figure_atomic  # noqa: E402
from econ.krusell_smith.plots import (draw_consumption_rules, finish_consumption_axes, legend_below,  # noqa: E402
                                      plot_laws_of_motion, plot_lorenz_curves)
from econ.rbc.accuracy import Policy  # noqa: E402
from econ.rbc.plots import IRF_TITLES, plot_policy  # noqa: E402
from validation.general import GeneralScores  # noqa: E402
from validation.krusell_smith import KSScores  # noqa: E402


def _save(fig, path) -> Path:
    out = save_figure_atomic(fig, path)
    plt.close(fig)
    return out


# ----------------------------------------------------------------------------- one household
def plot_rbc(result: dict, policies: List[Policy], experiment: Experiment, labels: List[str], out: Path,
             runs: List[Path], welfare_tolerance: Optional[float] = None) -> List[Path]:
    """The figures of :func:`validation.rbc.score_rbc`'s ``result``: ``policy.png``, ``irf.png`` and, when
    the runs have training-time evaluations, ``learning_curve.png``."""
    paths = [plot_rbc_policy(result["benchmark"], policies[0], experiment, labels[0], out / "policy.png"),
             plot_rbc_irf(result, experiment, out / "irf.png")]
    curve = plot_learning_curves(runs, out / "learning_curve.png", experiment.name, welfare_tolerance)
    return paths + ([curve] if curve is not None else [])


def plot_rbc_policy(benchmark: Policy, policy: Policy, experiment: Experiment, label: str, path) -> Path:
    """chat and l against k in [0.5, 1.5] k_ss at log A = -1, 0, +1 ergodic sd: the policy beside the benchmark."""
    params = experiment.rbc_params
    k_ss = experiment.capital_scale
    capital = np.linspace(0.5 * k_ss, 1.5 * k_ss, 121)
    sd = params.sigma / np.sqrt(1.0 - params.rho ** 2)
    levels = [float(np.exp(shift * sd)) for shift in (-1, 0, 1)]
    curves = {name: {A: rule(capital, np.full_like(capital, A)) for A in levels}
              for name, rule in ((f"RL ({label})", policy), ("benchmark", benchmark))}
    plot_policy(capital, curves, path, steady_capital=k_ss,
                title=f"{experiment.name}: policy of the RL households (solid) against the benchmark (dashed), "
                      "log A at -1, 0, +1 sd")
    return Path(path)


def plot_rbc_irf(result: dict, experiment: Experiment, path) -> Path:
    """The runs' impulse responses (mean and 2-sd band over runs) against the linear benchmark's."""
    keys = [k for k in IRF_TITLES if k != "log_tfp"] + ["log_tfp"]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharex=True, layout="constrained")
    bench = result["benchmark_irf"]
    irfs = np.array([[r["irf"].policy_irf[k] for k in keys] for r in result["runs"]])  # (runs, vars, T)
    horizon = np.arange(irfs.shape[-1])
    for j, (ax, key) in enumerate(zip(axes.ravel(), keys)):
        ax.plot(horizon, bench[key], "k--", label="linear benchmark")
        mean = irfs[:, j].mean(axis=0)
        ax.plot(horizon, mean, color="tab:red", label="RL" if len(irfs) == 1 else f"RL, mean of {len(irfs)} runs")
        if len(irfs) > 1:
            spread = 2.0 * irfs[:, j].std(axis=0, ddof=1)
            ax.fill_between(horizon, mean - spread, mean + spread, color="tab:red", alpha=0.2, label="2 sd band")
        ax.axhline(0.0, color="grey", lw=0.6)
        ax.set_title(IRF_TITLES[key])
    for ax in axes[:, 0]:
        ax.set_ylabel("deviation from fixed point")
    for ax in axes[-1]:
        ax.set_xlabel("period after the shock")
    axes.ravel()[0].legend(fontsize=8)
    fig.suptitle(f"{experiment.name}: impulse responses to a one-sd TFP shock")
    return _save(fig, path)


def plot_learning_curves(runs: List[Path], path, name: str, welfare_tolerance: Optional[float] = None):
    """Welfare loss of the training-time evaluations and mean episode return against agent-steps, one line per
    run directory that has ``evaluations.csv`` or ``returns.csv``; None (no figure) when none has."""
    curves = [run for run in runs if (run / "evaluations.csv").exists()]
    returns = [run for run in runs if (run / "returns.csv").exists()]
    if not curves and not returns:
        return None
    fig, (ax_w, ax_r) = plt.subplots(1, 2, figsize=(11, 4.2), layout="constrained")
    for run in curves:
        data = np.genfromtxt(run / "evaluations.csv", delimiter=",", names=True)
        ax_w.semilogy(np.atleast_1d(data["timesteps"]) / 1e6, np.atleast_1d(data["welfare_loss_percent"]),
                      marker=".", label=run.name)
    if welfare_tolerance is not None:
        ax_w.axhline(welfare_tolerance, color="grey", ls="--", label=f"tolerance {welfare_tolerance} %")
    ax_w.set_xlabel("agent-steps (millions)")
    ax_w.set_ylabel("welfare loss (% of consumption)")
    ax_w.legend(fontsize=7)
    for run in returns:
        data = np.genfromtxt(run / "returns.csv", delimiter=",", names=True)
        ax_r.plot(np.atleast_1d(data["timesteps"]) / 1e6, np.atleast_1d(data["mean_return"]), label=run.name)
    ax_r.set_xlabel("agent-steps (millions)")
    ax_r.set_ylabel("mean episode return (undiscounted, 500 periods)")
    ax_r.legend(fontsize=7)
    fig.suptitle(f"{name}: learning curves")
    return _save(fig, path)


# ----------------------------------------------------------------------------- Krusell-Smith
def plot_law_of_motion(scores: KSScores, path, title: str = "", label: str = "RL") -> Path:
    """Scatter of (log K_t, log K_{t+1}) by aggregate state with the panel's and the benchmark's fitted laws."""
    x, y, z = scores.lom_sample
    laws = [(f"{label} fit, ", scores.alm, scores.r_squared, "-"),
            ("benchmark, ", scores.benchmark_alm, scores.benchmark_r_squared, "--")]
    return plot_laws_of_motion(path, x, y, z, laws,
                               title or f"{scores.experiment.name}: law of motion, {label} "
                                        f"(N = {scores.n_households}) vs Krusell-Smith",
                               sample_label=f"{label} simulated", capital_range=scores.benchmark_capital_range)


def plot_lorenz(scores: KSScores, path, title: str = "", label: str = "RL", extra: Optional[Mapping] = None) -> Path:
    """Lorenz curves of wealth, panel and benchmark, Ginis in the legend.

    ``extra`` maps further labels to :class:`KSScores` (e.g. the benchmark
    policy simulated at the same N, or other seeds) drawn beside.
    """
    curves = [(*scores.lorenz_wealth, f"{label}, N = {scores.n_households} pooled (Gini {scores.gini_wealth:.3f})",
               {"lw": 1.8})]
    curves += [(*other.lorenz_wealth, f"{other_label} (Gini {other.gini_wealth:.3f})", {"lw": 1.2, "ls": "-."})
               for other_label, other in (extra or {}).items()]
    curves.append((*scores.benchmark_lorenz_wealth,
                   f"Krusell-Smith benchmark, continuum (Gini {scores.benchmark_gini_wealth:.3f})",
                   {"lw": 1.6, "ls": "--", "color": "black"}))
    return plot_lorenz_curves(path, curves, title or f"{scores.experiment.name}: Lorenz curves of wealth",
                              ylabel="cumulative share of wealth")


def plot_consumption_fraction(scores: KSScores, path, title: str = "", label: str = "RL"):
    """Consumption fraction against wealth by employment state, one panel per type.

    Lines: the benchmark rule c/a at its mean K by (z, e).  Filled markers:
    the panel's binned mean chat; open markers: the benchmark rule's binned
    mean at the same states (the like-for-like comparison).
    """
    wealth, fraction = scores.benchmark_policy_curves
    num_types = scores.num_types
    fig, axes = plt.subplots(1, num_types, figsize=(5.4 * num_types, 4.6), layout="constrained", squeeze=False)
    markers = {True: "o", False: "s"}
    for t, ax in enumerate(axes[0]):
        groups = [b for b in scores.consumption_bins if b["type"] == t]
        top = max([float(b["wealth"].max()) for b in groups] + [1e-9])
        low = min([float(b["wealth"].min()) for b in groups] + [top])
        draw_consumption_rules(ax, wealth[t], fraction[t], 0.5 * low, 1.5 * top,
                               scores.capital_productivity[t] if num_types > 1 else None,
                               label="benchmark rule at mean K, ")
        for b in groups:
            status = "employed" if b["employed"] else "unemployed"
            colour = "black" if b["employed"] else "tab:orange"
            ax.plot(b["wealth"], b["rl"], markers[b["employed"]], color=colour, ms=5,
                    label=f"{label}, {status} (binned mean)")
            ax.plot(b["wealth"], b["benchmark"], markers[b["employed"]], color=colour, ms=8, mfc="none",
                    label=f"benchmark at {label}'s states, {status}")
        finish_consumption_axes(ax)
    legend_below(fig, axes[0], ncol=2)
    fig.suptitle(title or f"{scores.experiment.name}: consumption fraction against wealth, {label} vs Krusell-Smith")
    return _save(fig, path)


def _benchmark_styles(label: str):
    """(attribute of the same-economy scores, label, line keywords) of RL and the three benchmarks."""
    return [("rl", label, {"color": "tab:red", "lw": 2.0}),
            ("price_impact", "price-impact rule at N (judged benchmark)", {"color": "black", "lw": 1.6}),
            ("price_taking", "price-taking rule at N", {"color": "tab:blue", "lw": 1.4, "ls": "--"}),
            ("continuum", "continuum solver (histogram)", {"color": "grey", "lw": 1.4, "ls": ":"})]


def plot_lorenz_benchmarks(scores, path, label: str = "RL", title: str = "") -> Path:
    """Lorenz curves of wealth: RL and the price-impact and price-taking rules played by the same N households
    (pooled samples), and the continuum solver's cross-section; Ginis in the legend, outside the axes.

    ``scores`` is a :class:`validation.same_economy.SameEconomyScores`.
    """
    refs = scores.references
    n = scores.n_households
    data = {"rl": (scores.rl.lorenz_wealth, scores.rl.gini_wealth),
            "price_impact": (refs.price_impact_scores.lorenz_wealth, refs.price_impact_scores.gini_wealth),
            "price_taking": (refs.price_taking_scores.lorenz_wealth, refs.price_taking_scores.gini_wealth),
            "continuum": (refs.continuum.lorenz_wealth, refs.continuum.gini_wealth)}
    fig, ax = plt.subplots(figsize=(9.5, 5.4), layout="constrained")
    for key, what, style in _benchmark_styles(f"{label} (N = {n})"):
        (people, share), g = data[key]
        ax.plot(people, share, label=f"{what}: Gini {g:.3f}", **style)
    ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="-.", label="equality")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("cumulative share of households (poorest first)")
    ax.set_ylabel("cumulative share of wealth")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    ax.set_title(title or f"{scores.experiment.name}: Lorenz curves of wealth, same economy (N = {n})")
    return _save(fig, path)


def plot_capital_shares(scores, path, label: str = "RL", title: str = "") -> Path:
    """Bars of each kappa type's share of all capital and its mean consumption fraction: RL and the three
    benchmarks (legend outside the axes).  ``scores`` is a :class:`validation.same_economy.SameEconomyScores`."""
    refs = scores.references
    shares_of = {"continuum": scores._solver_shares(refs.continuum)}
    fractions_of = {"continuum": np.asarray(refs.continuum.consumption_fraction_by_type)}
    for key, panel_scores in (("rl", scores.rl), ("price_impact", refs.price_impact_scores),
                              ("price_taking", refs.price_taking_scores)):
        shares_of[key] = np.asarray(panel_scores.type_capital_share)
        fractions_of[key] = np.asarray(panel_scores.type_consumption_fraction)
    num_types = scores.rl.num_types
    styles = _benchmark_styles(label)
    width = 0.8 / len(styles)
    pos = np.arange(num_types)
    fig, (ax_k, ax_c) = plt.subplots(1, 2, figsize=(12.5, 4.6), layout="constrained")
    for j, (key, what, style) in enumerate(styles):
        offset = pos + (j - (len(styles) - 1) / 2) * width
        for ax, values in ((ax_k, 100.0 * shares_of[key]), (ax_c, fractions_of[key])):
            bars = ax.bar(offset, values, width, color=style["color"], label=what,
                          hatch="//" if style.get("ls") else None, alpha=0.85)
            ax.bar_label(bars, fmt="%.1f" if ax is ax_k else "%.3f", fontsize=6.5, padding=1)
    names = [f"κ {k:g}" for k in scores.rl.capital_productivity]
    for ax, what in ((ax_k, "share of all capital (percent)"), (ax_c, "mean consumption fraction c / a")):
        ax.set_xticks(pos, names)
        ax.set_xlabel("capital productivity type")
        ax.set_ylabel(what)
    ax_k.set_title("capital share by type")
    ax_c.set_title("consumption fraction by type")
    ax_c.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    fig.suptitle(title or f"{scores.experiment.name}: types, same economy (N = {scores.n_households})")
    return _save(fig, path)


def _household_label(ss: HeterogeneousSteadyState, i: int) -> str:
    return f"κ {ss.capital_productivity[i]:g}, λ {ss.labour_productivity[i]:g}"


def plot_general_paths(scores: GeneralScores, path, title: str = ""):
    """Capital and wealth paths per household (mean over economies of the stochastic panel) with each household's
    price-impact steady-state level dashed in its colour.  Requires scores computed with a panel."""
    if scores.ergodic is None:
        raise ValueError("scores must be computed with a panel (general_scores(..., panel=...)) to plot paths")
    ss, allocation = scores.steady_state, scores.allocation
    capital_path, wealth_path = scores.ergodic["capital_path"], scores.ergodic["wealth_path"]
    fig, (ax_k, ax_a) = plt.subplots(1, 2, figsize=(13, 4.8), layout="constrained")
    n = capital_path.shape[1]
    colours = plt.cm.viridis(np.linspace(0.0, 0.9, n))
    periods = np.arange(capital_path.shape[0])
    for i in range(n):
        ax_k.plot(periods, capital_path[:, i], color=colours[i], lw=1.0, label=_household_label(ss, i))
        ax_k.axhline(allocation.capital[i], color=colours[i], ls="--", lw=1.0)
        ax_a.plot(periods, wealth_path[:, i], color=colours[i], lw=1.0)
        ax_a.axhline(allocation.wealth[i], color=colours[i], ls="--", lw=1.0)
    ax_k.plot([], [], color="black", ls="--", lw=1.0, label=f"price-impact steady state (N = {ss.n_agents})")
    for ax, what in ((ax_k, "capital k_i"), (ax_a, "wealth a_i")):
        ax.set_xlabel("period (after the burn-in)")
        ax.set_ylabel(f"{what} (mean over economies)")
        ax.set_title(f"{what} by household (dashed: steady state, same colour)")
    fig.legend(*ax_k.get_legend_handles_labels(), loc="outside right center", fontsize=8)
    fig.suptitle(f"{title or scores.experiment.name}: paths by household (sigma = {scores.ergodic['sigma']:g}, mean "
                 f"of {scores.ergodic['n_economies']} economies) against the price-impact steady state")
    return _save(fig, path)


def plot_general_capital(scores: GeneralScores, path, title: str = "", label: str = "RL"):
    """Capital and labour per household: the continuum and the price-impact steady states, and the policy's
    deterministic fixed point (and its long-run means with shocks, when the scores have a panel).

    Households are ordered as in the experiment (kappa slowest).  The continuum's split among its capital holders
    is indeterminate: the equal split is drawn, with open markers.
    """
    ss, cont = scores.steady_state, scores.continuum
    n = ss.capital_productivity.size
    pos = np.arange(n)
    fig, (ax_k, ax_l) = plt.subplots(1, 2, figsize=(max(11, 0.9 * n + 6), 4.8), layout="constrained")
    indeterminate = cont.indeterminate
    for ax, key in ((ax_k, "capital"), (ax_l, "labour")):
        continuum = getattr(scores.continuum_allocation, key)
        ax.plot(pos, continuum, color="tab:grey", ls=":", marker="s", ms=6, label="continuum steady state "
                "(price takers; open: split indeterminate, equal split shown)")
        ax.plot(pos[indeterminate], continuum[indeterminate], ls="none", marker="s", ms=6, mfc="white",
                color="tab:grey")
        ax.plot(pos, getattr(scores.allocation, key), color="black", ls="--", marker="o", ms=5,
                label=f"price-impact steady state, N = {ss.n_agents}")
        ax.plot(pos, getattr(scores.fixed_point, key), color="tab:red", marker="x", ms=7,
                label=f"{label}, deterministic fixed point")
        if scores.ergodic is not None:
            ax.plot(pos, scores.ergodic[key], color="tab:blue", ls="-.", marker="+", ms=7,
                    label=f"{label}, long-run mean with shocks")
        ax.set_xticks(pos, [_household_label(ss, i) for i in range(n)], rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("household")
        ax.set_ylabel(f"{key} {'k_i' if key == 'capital' else 'l_i'}")
        ax.set_title(f"{key} by household")
    fig.legend(*ax_k.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=8)
    fp = scores.fixed_point.aggregates
    fig.suptitle(f"{title or scores.experiment.name}: K at the fixed point {fp['aggregate_capital']:.3f}; "
                 f"price-impact steady state {ss.capital:.3f}, continuum {cont.capital:.3f}")
    return _save(fig, path)
