"""The summary of a sweep, rebuilt from its run directories alone: rows, mean and spread over seeds, figures.

``python -m rl.sweep summarize DIR`` (also run at the end of every sweep)
writes ``summary.csv``, ``summary.md`` and ``figures/scaling-<experiment>.png``
(best return and wall-clock against N, per algorithm, mean and a
two-standard-deviation band over seeds).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Optional

import numpy as np
from matplotlib.figure import Figure

from econ.io import save_figure_atomic, write_csv_atomic, write_text_atomic
from rl.recipes import ALGORITHMS
from rl.sweep.rundir import ERROR_FILE, STATUSES, SUMMARY_FILE, TRIAL_FILE, read_json, read_trial, trial_status

RESULT_COLUMNS = ("experiment", "algorithm", "N", "seed", "preset", "timesteps", "best_return", "final_return",
                  "wall_clock_seconds", "status")
"""Columns of the summary table (CSV and markdown); the CSV adds the run name, budget, overrides and the error."""

ALGORITHM_COLOURS = {"sac": "C0", "ppo": "C1", "td3": "C2", "ddpg": "C3"}


def collect_rows(sweep_dir) -> list:
    """One dict per run directory of ``sweep_dir/runs`` (columns :data:`RESULT_COLUMNS` and more), sorted."""
    rows = []
    for trial_file in sorted(Path(sweep_dir, "runs").glob(f"*/{TRIAL_FILE}")):
        run_dir = trial_file.parent
        trial = read_trial(run_dir)
        config = trial.config
        summary = read_json(run_dir / SUMMARY_FILE) or {}
        error = read_json(run_dir / ERROR_FILE) or {}
        status = trial_status(run_dir)
        rows.append({
            "run": run_dir.name,
            "experiment": config.experiment,
            "algorithm": config.algo,
            "N": config.n_agents,
            "seed": config.seed,
            "preset": config.preset,
            "timesteps": summary.get("timesteps", config.timesteps),
            "best_return": summary.get("best_return"),
            "final_return": summary.get("final_return"),
            "wall_clock_seconds": summary.get("wall_clock_seconds"),
            "status": status,
            "critic_explained_variance": (critic_explained_variance(run_dir, summary)
                                          if config.algo == "ppo" and status == "ok" else None),
            "steps_per_agent": trial.steps_per_agent,
            "n_economies": config.n_economies,
            "n_steps": config.n_steps,
            "overrides": json.dumps(config.overrides, sort_keys=True) if config.overrides else "",
            "hyper_overrides": json.dumps(config.hyper_overrides, sort_keys=True) if config.hyper_overrides else "",
            "attempts_failed": len(error.get("attempts", [])) if status != "ok" else 0,
            "error": error.get("error", "") if status != "ok" else "",
        })
    order = {algo: i for i, algo in enumerate(ALGORITHMS)}
    rows.sort(key=lambda r: (r["experiment"], _variant(r), order[r["algorithm"]], r["N"], r["seed"], r["run"]))
    return rows


def critic_explained_variance(run_dir, summary: dict) -> Optional[float]:
    """PPO's ``critic_explained_variance`` of a completed run: from its ``summary.json``, or for a run that predates
    that field the last ``train/explained_variance`` in its TensorBoard log, which is the rollout before the last
    (SB3 writes a rollout's figures when the next one starts); None when neither has it."""
    if "critic_explained_variance" in summary:
        return summary["critic_explained_variance"]
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    last = None  # (step, value) of the latest record over every events file (a resumed run writes another)
    for events in sorted(Path(run_dir, "tb").rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events), size_guidance={"scalars": 0})
        accumulator.Reload()
        if "train/explained_variance" in accumulator.Tags()["scalars"]:
            record = accumulator.Scalars("train/explained_variance")[-1]
            if last is None or record.step >= last[0]:
                last = (record.step, float(record.value))
    return None if last is None or not math.isfinite(last[1]) else last[1]


def _variant(row: dict) -> str:
    """Everything that distinguishes trials besides algorithm, N and seed (one figure per experiment and variant)."""
    budget = (f"{row['steps_per_agent']} steps per agent" if row["steps_per_agent"] is not None
              else f"{row['timesteps']} timesteps")
    parts = [f"preset {row['preset']}", budget]
    if row["n_economies"] != 1:
        parts.append(f"{row['n_economies']} economies")
    if row["n_steps"] is not None:
        parts.append(f"PPO n_steps {row['n_steps']}")
    parts += [text for text in (row["overrides"], row["hyper_overrides"]) if text]
    return ", ".join(parts)


def _fmt(value, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _mean_band(values: list) -> tuple:
    """Mean and two sample standard deviations (0 with one value)."""
    values = np.asarray(values, dtype=float)
    sd = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), 2.0 * sd


def aggregate(rows: list) -> list:
    """Completed trials grouped over seeds: experiment, variant, algorithm, N, seeds, mean and 2-sd of the results."""
    groups: dict = {}
    for row in rows:
        if row["status"] == "ok" and row["best_return"] is not None:
            groups.setdefault((row["experiment"], _variant(row), row["algorithm"], row["N"]), []).append(row)
    out = []
    for (experiment, variant, algo, n_agents), members in groups.items():
        best, best_band = _mean_band([r["best_return"] for r in members])
        final, final_band = _mean_band([r["final_return"] for r in members])
        seconds, seconds_band = _mean_band([r["wall_clock_seconds"] for r in members])
        out.append({"experiment": experiment, "variant": variant, "algorithm": algo, "N": n_agents,
                    "seeds": len(members), "best_return": best, "best_return_2sd": best_band,
                    "final_return": final, "final_return_2sd": final_band,
                    "wall_clock_seconds": seconds, "wall_clock_seconds_2sd": seconds_band,
                    "timesteps": int(np.mean([r["timesteps"] for r in members]))})
    return out


def markdown_table(rows: list) -> str:
    """The per-trial summary table in markdown (columns :data:`RESULT_COLUMNS`)."""
    lines = ["| " + " | ".join(RESULT_COLUMNS) + " |", "|" + "---|" * len(RESULT_COLUMNS)]
    for row in rows:
        cells = [_fmt(row[c], 1 if c == "wall_clock_seconds" else 3) for c in RESULT_COLUMNS]
        if row["status"] == "failed" and row["error"]:
            cells[-1] = f"failed ({row['error'][:80]})".replace("|", "/")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown_aggregate(groups: list) -> str:
    """Mean +- 2 sd over seeds per experiment, algorithm and N, in markdown."""
    lines = ["| experiment | algorithm | N | seeds | timesteps | best_return | final_return | wall_clock_seconds |",
             "|---|---|---|---|---|---|---|---|"]
    for g in groups:
        lines.append(f"| {g['experiment']} | {g['algorithm']} | {g['N']} | {g['seeds']} | {g['timesteps']} | "
                     f"{g['best_return']:.3f} ± {g['best_return_2sd']:.3f} | "
                     f"{g['final_return']:.3f} ± {g['final_return_2sd']:.3f} | "
                     f"{g['wall_clock_seconds']:.1f} ± {g['wall_clock_seconds_2sd']:.1f} |")
    return "\n".join(lines) + "\n"


def plot_scaling(groups: list, path, title: str) -> None:
    """Best return (top) and wall-clock (bottom) against N, one line per algorithm, mean and 2-sd band."""
    fig = Figure(figsize=(7, 7.5), layout="constrained")  # no pyplot: no global backend, nothing to close
    top, bottom = fig.subplots(2, 1, sharex=True)
    for algo in ALGORITHMS:
        members = sorted((g for g in groups if g["algorithm"] == algo), key=lambda g: g["N"])
        if not members:
            continue
        n = np.array([g["N"] for g in members], dtype=float)
        colour = ALGORITHM_COLOURS[algo]
        for ax, key in ((top, "best_return"), (bottom, "wall_clock_seconds")):
            mean = np.array([g[key] for g in members])
            band = np.array([g[f"{key}_2sd"] for g in members])
            seeds = max(g["seeds"] for g in members)
            ax.plot(n, mean, "o-", color=colour, label=f"{algo.upper()} ({seeds} seed{'s' if seeds > 1 else ''})")
            if np.any(band > 0):
                ax.fill_between(n, mean - band, mean + band, color=colour, alpha=0.2, lw=0)
    bottom.set_ylim(bottom=0.0)
    top.set_ylabel("best mean episode return per household")
    bottom.set_ylabel("training wall-clock (s)")
    bottom.set_xlabel("number of households N")
    for ax in (top, bottom):
        ax.set_xscale("log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="small")
    ns = sorted({g["N"] for g in groups})
    bottom.set_xticks(ns, [str(n) for n in ns])
    bottom.minorticks_off()
    top.set_title(f"{title}\nmean and ±2 sd over seeds", fontsize="medium")
    save_figure_atomic(fig, path)


def write_summary(sweep_dir, figures: bool = True) -> list:
    """Rebuild ``summary.csv``, ``summary.md`` and ``figures/scaling-*.png`` from ``sweep_dir/runs``; returns rows."""
    sweep_dir = Path(sweep_dir)
    rows = collect_rows(sweep_dir)
    columns = list(RESULT_COLUMNS) + [k for k in (rows[0] if rows else {}) if k not in RESULT_COLUMNS]
    write_csv_atomic(sweep_dir / "summary.csv", rows, columns)

    groups = aggregate(rows)
    counts = {s: sum(r["status"] == s for r in rows) for s in STATUSES}
    text = [f"# Sweep summary: {sweep_dir.name}\n",
            f"{len(rows)} trials: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v) + ".\n",
            "Returns are undiscounted episode returns averaged over households (the learning curve's points); "
            "wall-clock is the training time of `model.learn` in seconds.\n",
            "## Trials\n", markdown_table(rows)]
    if groups:
        text += ["## Mean ± 2 sd over seeds\n", markdown_aggregate(groups)]
    write_text_atomic(sweep_dir / "summary.md", "\n".join(text))

    if figures:
        by_experiment: dict = {}
        for g in groups:
            by_experiment.setdefault(g["experiment"], {}).setdefault(g["variant"], []).append(g)
        for experiment, variants in by_experiment.items():
            for variant, members in variants.items():
                suffix = "" if len(variants) == 1 else "-" + hashlib.sha256(variant.encode()).hexdigest()[:6]
                plot_scaling(members, sweep_dir / "figures" / f"scaling-{experiment}{suffix}.png",
                             f"{experiment}: {variant}")
    return rows


