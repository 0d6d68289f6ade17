"""PNG figures of the classical solutions: impulse responses and policy functions."""

from __future__ import annotations

from typing import Mapping, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from econ.io import save_figure_atomic  # noqa: E402

IRF_TITLES = {
    "consumption": "Consumption",
    "labour": "Labour",
    "output": "Output",
    "capital": "Capital (used in production)",
    "consumption_fraction": "Consumption fraction",
    "log_tfp": "log TFP",
}


def plot_impulse_responses(curves: Mapping[str, Mapping[str, np.ndarray]], path, title: str = "") -> None:
    """One panel per variable; ``curves`` maps a legend label to an IRF mapping (level deviations)."""
    keys = [k for k in IRF_TITLES if all(k in irf for irf in curves.values())]
    fig, axes = plt.subplots(2, 3, figsize=(12, 6.5), sharex=True, layout="constrained")
    styles = ["-", "--", ":", "-."]
    for ax, key in zip(axes.ravel(), keys):
        for (label, irf), style in zip(curves.items(), styles * 4):
            ax.plot(np.arange(len(irf[key])), irf[key], style, label=label)
        ax.axhline(0.0, color="grey", lw=0.6)
        ax.set_title(IRF_TITLES[key])
    for ax in axes[:, 0]:
        ax.set_ylabel("level deviation from steady state")
    for ax in axes[-1]:
        ax.set_xlabel("period after the shock")
    axes.ravel()[0].legend()
    fig.suptitle(title or "Impulse responses to a one-standard-deviation TFP shock")
    save_figure_atomic(fig, path)
    plt.close(fig)


def plot_policy(
    capital: np.ndarray,
    policies: Mapping[str, Mapping[float, tuple]],
    path,
    steady_capital: Optional[float] = None,
    title: str = "",
) -> None:
    """Consumption fraction and labour against capital.

    ``policies`` maps a method label to ``{A: (consumption_fraction, labour)}``,
    each array over ``capital``.
    """
    fig, (ax_c, ax_l) = plt.subplots(1, 2, figsize=(13, 4.5), layout="constrained")
    styles = ["-", "--", ":", "-."]
    for (label, by_tfp), style in zip(policies.items(), styles * 4):
        for j, (A, (chat, labour)) in enumerate(by_tfp.items()):
            ax_c.plot(capital, chat, style, color=f"C{j}", label=f"{label}, A = {A:.3f}")
            ax_l.plot(capital, labour, style, color=f"C{j}", label=f"{label}, A = {A:.3f}")
    for ax, name in ((ax_c, "consumption fraction  c / a"), (ax_l, "labour  l")):
        if steady_capital is not None:
            ax.axvline(steady_capital, color="grey", lw=0.6, ls=":", label="steady-state capital")
        ax.set_xlabel("capital k")
        ax.set_ylabel(name)
    fig.legend(*ax_c.get_legend_handles_labels(), loc="outside right center", fontsize=8)  # each line once
    fig.suptitle(title or "Policy functions")
    save_figure_atomic(fig, path)
    plt.close(fig)
