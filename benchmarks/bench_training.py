"""SAC training speed: gradient updates per second, and the wall-clock of 100,000 per-agent updates on ``ks``.

    python -m benchmarks.bench_training [--quick] [--out DIR] [--figure PATH] [--steps 1000]

Part 1, updates per second.  SB3's SAC on ``rbc`` (N = 1) and ``ks`` (N = 20),
presets ``default`` (SB3 defaults, 256 x 256 networks: the paper's setting)
and ``tuned`` (64 x 64) of :mod:`rl.train`, with 1 and 2 torch threads.  The
replay buffer is filled by a short ``learn`` first; then ``model.train`` is
timed alone (``--updates`` gradient steps of batch 256, the preset's batch
size) in round robin over the configurations, median of ``--repeats``.  This
is the network's cost without the environment.

Part 2, the paper's training cost.  The paper trains for a number of
"per-agent updates, corresponding to [that number times N] total steps": each
household acts once per VecEnv step, so 100,000 per-agent updates are 100,000
VecEnv steps of the N-slot VecEnv, that is 100,000 N SB3 timesteps; with SB3's
SAC defaults (``train_freq = 1`` step, ``gradient_steps = 1``) one VecEnv step
also makes one gradient step, whatever N.  For each N in 10, 20, 50, 100, 200,
500 a SAC model is built exactly as ``rl.train.train`` builds it (same
VecEnv, preset hyperparameters, gamma = beta, CPU) but without TensorBoard
and checkpoints, is run past ``learning_starts`` (warm-up), and then
``--steps`` VecEnv steps of ``model.learn`` are timed (the whole loop: policy,
environment, replay buffer, one update per step), in four turns round robin
over the configurations of that N.  The wall-clock of
100,000 VecEnv steps is **extrapolated linearly** from that rate.  Beside
the native VecEnv, the same SAC runs on the authors' stack (the PettingZoo
adapter through SuperSuit, :func:`benchmarks.bench_env.supersuit_vec_env`)
with the default preset, so the end-to-end speed-up is measured on the same
machine, not only against the paper's hardware.

Output: tables on stdout, ``training_speed.json`` and ``training_speed.png`` in ``--out``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from typing import Optional

from benchmarks.bench_env import machine, versions
from econ.experiments import make_experiment
from econ.io import save_figure_atomic, write_json_atomic

SCAN_SIZES = (10, 20, 50, 100, 200, 500)
PER_AGENT_UPDATES = 100_000
PAPER_HOURS = {10: 0.69, 500: 2.95}
"""SAC on one CPU, 100,000 per-agent updates on the KS economy: the wall-clock of the paper's
Figure 8 (Gabriele, Glielmo and Taboga, AAMAS 2026), read from the figure."""


def _versions() -> dict:
    import torch

    return {**versions(), "torch": torch.__version__}


def build_sac(experiment: str, n_agents: Optional[int], preset: str, seed: int = 0, stack: str = "native"):
    """SAC as ``rl.train.train`` builds it (preset, gamma = beta, CPU), on the native VecEnv or SuperSuit's."""
    from stable_baselines3 import SAC

    from rl.recipes import hyperparameters, sb3_kwargs
    from rl.vec_env import EconomyVecEnv

    if stack not in ("native", "supersuit"):
        raise ValueError(f"stack must be 'native' or 'supersuit', got {stack!r}")
    exp = make_experiment(experiment, n_agents)
    hyper = sb3_kwargs(hyperparameters("sac", preset, exp.beta), exp)  # reward centring does not change the speed
    if stack == "native":
        return SAC("MlpPolicy", EconomyVecEnv(exp, n_economies=1, seed=seed), seed=seed, device="cpu", **hyper)
    from stable_baselines3.common.utils import set_random_seed

    from benchmarks.bench_env import supersuit_vec_env

    # SAC(seed=...) seeds the env through VecEnv.seed, which SuperSuit 3.11's ConcatVecEnv lacks
    # (AttributeError); the authors passed no seed.  Seed Python, numpy and torch only.
    set_random_seed(seed)
    return SAC("MlpPolicy", supersuit_vec_env(exp, seed), device="cpu", **hyper)


def _warm(model, extra_vec_steps: int) -> None:
    """Collect past ``learning_starts`` and take ``extra_vec_steps`` more VecEnv steps (updates running)."""
    n = model.env.num_envs
    model.learn(total_timesteps=(math.ceil((model.learning_starts + 1) / n) + extra_vec_steps) * n)


# ----------------------------------------------------------------------------- part 1
def updates_per_second(configs, updates: int, repeats: int, seed: int = 0) -> list:
    """Median gradient updates per second of ``model.train`` for (experiment, N, preset, threads) configs."""
    import torch

    models = {}
    for experiment, n_agents, preset, threads in configs:
        key = (experiment, n_agents, preset)
        if key not in models:
            torch.set_num_threads(1)
            models[key] = build_sac(experiment, n_agents, preset, seed)
            _warm(models[key], 20)
    rates = {c: [] for c in configs}
    for c in configs:  # untimed: first calls at each thread count
        torch.set_num_threads(c[3])
        models[c[:3]].train(gradient_steps=5, batch_size=models[c[:3]].batch_size)
    for _ in range(repeats):
        for c in configs:  # round robin, so other jobs' load falls on every configuration alike
            model = models[c[:3]]
            torch.set_num_threads(c[3])
            start = time.perf_counter()
            model.train(gradient_steps=updates, batch_size=model.batch_size)
            rates[c].append(updates / (time.perf_counter() - start))
    torch.set_num_threads(1)
    return [{"experiment": c[0], "N": c[1], "preset": c[2], "threads": c[3],
             "updates_per_second": statistics.median(rates[c]), "repeats": rates[c]} for c in configs]


# ----------------------------------------------------------------------------- part 2
def scan(sizes, runs, steps: int, warmup: int, threads: int, seed: int = 0, chunks: int = 4) -> list:
    """Seconds per VecEnv step of SAC's training loop on ``ks``; 100,000 of them extrapolated linearly.

    ``runs`` are (stack, preset) pairs.  For each N every run is built and
    warmed up, then the timed ``steps`` are taken in ``chunks`` turns, round
    robin over the runs, so that other jobs' load falls on all of them alike.
    """
    import torch

    torch.set_num_threads(threads)
    rows = []
    for n in sizes:
        models = {}
        for run in runs:
            models[run] = build_sac("ks", n, run[1], seed, run[0])
            _warm(models[run], warmup)
        seconds = dict.fromkeys(runs, 0.0)
        updates_before = {run: model._n_updates for run, model in models.items()}
        per_chunk = [steps // chunks + (1 if k < steps % chunks else 0) for k in range(chunks)]
        for chunk in per_chunk:
            for run, model in models.items():
                start = time.perf_counter()
                model.learn(total_timesteps=chunk * n, reset_num_timesteps=False)
                seconds[run] += time.perf_counter() - start
        for (stack, preset), model in models.items():
            per_step = seconds[stack, preset] / steps
            rows.append({
                "N": n, "stack": stack, "preset": preset, "threads": threads, "timed_vec_steps": steps,
                "gradient_updates": int(model._n_updates - updates_before[stack, preset]),
                "seconds": seconds[stack, preset], "seconds_per_vec_step": per_step,
                "vec_steps_per_second": 1.0 / per_step, "agent_steps_per_second": n / per_step,
                "extrapolated_hours_100k": per_step * PER_AGENT_UPDATES / 3600.0,
                "paper_hours_100k": PAPER_HOURS.get(n),
            })
            model.env.close()
            print(f"  ks N = {n:3d} {stack:9s} {preset:7s}: {1.0 / per_step:7.1f} steps/s, "
                  f"{rows[-1]['gradient_updates']} updates in {steps} steps, "
                  f"extrapolated {rows[-1]['extrapolated_hours_100k']:.2f} h", flush=True)
    return rows


# ----------------------------------------------------------------------------- report
def figure(report: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    rows = report["updates"]
    labels = [f"{r['experiment']} N={r['N']}, {r['preset']}, {r['threads']} thread{'s' if r['threads'] > 1 else ''}"
              for r in rows]
    colours = ["C0" if r["preset"] == "default" else "C1" for r in rows]
    hatches = ["" if r["threads"] == 1 else "//" for r in rows]
    bars = left.bar(range(len(rows)), [r["updates_per_second"] for r in rows], color=colours)
    for bar, hatch in zip(bars, hatches):
        bar.set_hatch(hatch)
    left.set_xticks(range(len(rows)), labels, fontsize=7, rotation=35, ha="right")
    left.set(ylabel="SAC gradient updates per second (batch 256)",
             title="SAC updates/s: default 256x256 (blue) vs tuned 64x64 (orange);\nhatched = 2 torch threads")
    left.title.set_fontsize(9)
    left.grid(True, axis="y", alpha=0.3)

    styles = {("native", "default"): ("C0", "o", "-"), ("native", "tuned"): ("C1", "s", "-"),
              ("supersuit", "default"): ("C3", "v", "--"), ("supersuit", "tuned"): ("C3", "D", ":")}
    scan_rows = report["scan"]
    for key in dict.fromkeys((r["stack"], r["preset"]) for r in scan_rows):
        sel = [r for r in scan_rows if (r["stack"], r["preset"]) == key]
        colour, marker, line = styles.get(key, ("k", "x", ":"))
        right.plot([r["N"] for r in sel], [r["extrapolated_hours_100k"] for r in sel], color=colour, marker=marker,
                   linestyle=line, label=f"{key[0]} VecEnv, {key[1]} preset (extrapolated)")
    right.plot(list(PAPER_HOURS), list(PAPER_HOURS.values()), "k*", markersize=11,
               label="paper: SAC, SuperSuit, one CPU")
    right.set(xscale="log", yscale="log", xlabel="households N (ks)",
              ylabel="hours for 100,000 per-agent updates",
              title="SAC wall-clock, 100,000 VecEnv steps (linear extrapolation\n"
                    f"from {report['settings']['steps']} timed steps per N)")
    right.title.set_fontsize(9)
    plain = matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}")
    right.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    right.yaxis.set_major_formatter(plain)
    right.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    right.xaxis.set_major_formatter(plain)
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=7)
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)


def main(argv: Optional[list] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50, help="gradient steps per timed repeat (part 1)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=1000, help="timed VecEnv steps per N (part 2)")
    parser.add_argument("--warmup", type=int, default=50, help="VecEnv steps after learning_starts before timing")
    parser.add_argument("--threads", type=int, default=1, help="torch threads in part 2")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SCAN_SIZES))
    parser.add_argument("--no-supersuit", action="store_true", help="skip SAC on the SuperSuit stack in part 2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: few updates and steps, N = 10 and 50")
    parser.add_argument("--out", default="output/benchmarks", help="folder for training_speed.json and .png")
    parser.add_argument("--figure", default=None, help="also write the PNG here (e.g. docs/figures/...)")
    args = parser.parse_args(argv)
    if args.quick:
        args.updates, args.repeats, args.steps, args.warmup, args.sizes = 30, 2, 60, 5, [10, 50]

    started = time.perf_counter()
    print(f"# machine: {machine()}")
    print(f"# versions: {_versions()}")
    configs = [(e, n, p, t) for e, n in (("rbc", 1), ("ks", 20)) for p in ("default", "tuned") for t in (1, 2)]
    updates = updates_per_second(configs, args.updates, args.repeats, args.seed)
    print(f"\n## SAC gradient updates per second (model.train alone, batch 256, median of {args.repeats} x "
          f"{args.updates})\n")
    print("| experiment | N | preset | torch threads | updates/s |")
    print("|---|---:|---|---:|---:|")
    for r in updates:
        print(f"| {r['experiment']} | {r['N']} | {r['preset']} | {r['threads']} | {r['updates_per_second']:.1f} |")

    runs = [("native", "default"), ("native", "tuned")] + ([] if args.no_supersuit else [("supersuit", "default")])
    print(f"\n## ks: SAC training loop, {args.steps} timed VecEnv steps per N, torch threads {args.threads}")
    rows = scan(args.sizes, runs, args.steps, args.warmup, args.threads, args.seed)
    print("\n| N | stack | preset | VecEnv steps/s | agent-steps/s | 100,000 per-agent updates, h (extrapolated) "
          "| paper, h |")
    print("|---:|---|---|---:|---:|---:|---:|")
    for r in rows:
        paper = f"{r['paper_hours_100k']:.2f}" if r["paper_hours_100k"] is not None else "-"
        print(f"| {r['N']} | {r['stack']} | {r['preset']} | {r['vec_steps_per_second']:.1f} | "
              f"{r['agent_steps_per_second']:,.0f} | {r['extrapolated_hours_100k']:.2f} | {paper} |")

    report = {"machine": machine(), "versions": _versions(),
              "settings": {"updates_per_repeat": args.updates, "repeats": args.repeats, "steps": args.steps,
                           "warmup": args.warmup, "threads_scan": args.threads, "seed": args.seed,
                           "per_agent_updates": PER_AGENT_UPDATES,
                           "interpretation": "100,000 per-agent updates = 100,000 VecEnv steps of N slots "
                                             "= 100,000 N SB3 timesteps = 100,000 gradient steps (SAC defaults "
                                             "train_freq=1, gradient_steps=1); hours extrapolated linearly"},
              "updates": updates, "scan": rows, "seconds": time.perf_counter() - started}
    write_json_atomic(os.path.join(args.out, "training_speed.json"), report)
    figure(report, os.path.join(args.out, "training_speed.png"))
    if args.figure:
        figure(report, args.figure)
    print(f"\nwrote {args.out}/training_speed.json and .png ({report['seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
