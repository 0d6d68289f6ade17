"""Environment throughput: the native VecEnv against PettingZoo + SuperSuit, side by side in one run.

    python -m benchmarks.bench_env [--quick] [--out DIR] [--figure PATH] [--experiments ks general]

The same economy (``rl.core``, one implementation of the dynamics) is driven
four ways, and each is timed in agent-steps per second (one household acting
for one period is one agent-step):

- ``native``: :func:`rl.make_vec_env` with one economy (``num_envs = N``);
- ``native x8``: the same with ``n_economies = 8`` (``num_envs = 8 N``), the
  way training batches small economies;
- ``pettingzoo``: the PettingZoo adapter :func:`rl.make_parallel_env` driven
  directly by a loop that builds the action dict each step and resets when
  the agents are gone (what SuperSuit's wrapper does, without the wrapper);
- ``supersuit``: the authors' stack (their ``training.py``): the adapter
  through ``supersuit.pettingzoo_env_to_vec_env_v1``, then
  ``concat_vec_envs_v1(..., base_class="stable_baselines3")`` and SB3's
  ``VecMonitor``, with one copy in-process (``num_cpus=0``); the authors ran
  2 copies in 2 processes, which on a 2-core machine shared with other jobs
  cannot be timed fairly; per core the cost is this one;
- ``supersuit x8``: the same with 8 in-process copies (``num_envs = 8 N``),
  the like-for-like partner of ``native x8``.  SuperSuit copies the adapter
  with cloudpickle, so the 8 copies start from the same generator state and
  draw the same shocks: fine for timing, not for training.

Every driver gets the same actions: a pool of uniform draws on [-1, 1] from
``numpy.random.default_rng(seed)``, cycled.  Each driver is reset and warmed
up, then the drivers take turns (round robin, so load from other jobs hits all
of them alike): each repeat times ``--steps`` steps (default 500, one episode
length, so every repeat includes exactly one truncation and reset), and the
reported throughput is the median over ``--repeats``.  After the timing the
one-economy drivers have taken the same steps with the same actions from the
same seed, so their last rewards must agree bit for bit: the run checks it
(``identical_trajectories`` in the JSON) to make sure all of them simulate the
same dynamics.

Output: a table (stdout) with the ratios native / SuperSuit, a JSON report
(``env_throughput.json``) and a figure (``env_throughput.png``) in ``--out``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from typing import Optional

import numpy as np

from econ.experiments import Experiment, make_experiment
from econ.io import save_figure_atomic, write_json_atomic

SIZES = {"ks": (1, 20, 100, 500), "general": (4, 25, 100, 484)}
"""N per experiment (``general`` needs g x g households, g = 2..23: the squares nearest 1, 20, 100, 500)."""
BATCHED_ECONOMIES = 8
"""Economies (native) or SuperSuit copies in the batched drivers."""
ACTION_POOL = 64
"""Distinct action arrays drawn per N and cycled (drawing inside the loop would be timed too)."""
TARGET_RATIO = 30.0
"""The project's target for native / SuperSuit at N = 500 (docs/performance.md)."""


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, Python {platform.python_version()}"


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("numpy", "gymnasium", "pettingzoo", "supersuit", "stable_baselines3"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


# ----------------------------------------------------------------------------- drivers
class NativeDriver:
    """``rl.make_vec_env`` with ``n_economies`` economies."""

    def __init__(self, exp: Experiment, n_economies: int, seed: int):
        import rl

        self.name = "native" if n_economies == 1 else f"native x{n_economies}"
        self.env = rl.make_vec_env(exp, n_economies=n_economies, seed=seed)
        self.slots = self.env.num_envs
        self._rewards = None

    def reset(self):
        self.env.reset()

    def step(self, actions):
        self._rewards = self.env.step(actions)[1]

    def rewards(self) -> np.ndarray:
        return np.asarray(self._rewards, dtype=np.float32)


class PettingZooDriver:
    """``rl.make_parallel_env`` stepped with an action dict; reset when every agent is truncated."""

    def __init__(self, exp: Experiment, seed: int):
        import rl

        self.name = "pettingzoo"
        self.env = rl.make_parallel_env(exp, seed=seed)
        self.agents = list(self.env.possible_agents)
        self.slots = len(self.agents)
        self._rewards = None

    def reset(self):
        self.env.reset()

    def step(self, actions):
        env = self.env
        _, self._rewards, _, _, _ = env.step({agent: actions[i] for i, agent in enumerate(self.agents)})
        if not env.agents:
            env.reset()

    def rewards(self) -> np.ndarray:
        return np.array([self._rewards[a] for a in self.agents], dtype=np.float32)


def supersuit_vec_env(exp: Experiment, seed: int, copies: int = 1):
    """The authors' stack over our adapter: pettingzoo_env_to_vec_env_v1 -> concat_vec_envs_v1 (SB3) -> VecMonitor."""
    import supersuit as ss
    from stable_baselines3.common.vec_env import VecMonitor

    import rl

    env = ss.pettingzoo_env_to_vec_env_v1(rl.make_parallel_env(exp, seed=seed))
    env = ss.concat_vec_envs_v1(env, copies, num_cpus=0, base_class="stable_baselines3")
    with warnings.catch_warnings():  # SuperSuit's SB3 wrapper predates SB3's render_mode attribute check
        warnings.simplefilter("ignore", UserWarning)
        return VecMonitor(env)


class SuperSuitDriver:
    """The adapter vectorised by SuperSuit (``copies`` in-process copies), as an SB3 VecEnv."""

    def __init__(self, exp: Experiment, seed: int, copies: int = 1):
        self.name = "supersuit" if copies == 1 else f"supersuit x{copies}"
        self.env = supersuit_vec_env(exp, seed, copies)
        self.slots = self.env.num_envs
        self._rewards = None

    def reset(self):
        self.env.reset()

    def step(self, actions):
        self._rewards = self.env.step(actions)[1]

    def rewards(self) -> np.ndarray:
        return np.asarray(self._rewards, dtype=np.float32)


def make_drivers(exp: Experiment, seed: int, batched: bool = True) -> list:
    drivers = [NativeDriver(exp, 1, seed), PettingZooDriver(exp, seed), SuperSuitDriver(exp, seed)]
    if batched:
        drivers += [NativeDriver(exp, BATCHED_ECONOMIES, seed), SuperSuitDriver(exp, seed, BATCHED_ECONOMIES)]
    return drivers


def action_pool(exp: Experiment, slots: int, seed: int, size: int = ACTION_POOL) -> np.ndarray:
    """``size`` arrays of uniform actions on [-1, 1], shape (size, slots, action_size), float32.

    A driver with fewer slots uses the first ones, so the one-economy drivers
    see identical actions.
    """
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, (size, slots, exp.action_size)).astype(np.float32)


# ----------------------------------------------------------------------------- timing
def _run(driver, pool, start: int, steps: int) -> float:
    """Seconds for ``steps`` steps of ``driver`` with actions ``pool[(start + i) % len(pool)]``."""
    step, slots, size = driver.step, driver.slots, len(pool)
    views = [pool[i, :slots] for i in range(size)]
    begin = time.perf_counter()
    for i in range(start, start + steps):
        step(views[i % size])
    return time.perf_counter() - begin


def measure(exp: Experiment, *, steps: int = 500, repeats: int = 5, warmup: int = 50, seed: int = 0,
            batched: bool = True) -> dict:
    """Agent-steps per second of every driver on ``exp`` (see the module docstring).

    Returns ``{"N", "drivers": {name: {"slots", "agent_steps_per_second", "repeats"}},
    "identical_trajectories"}`` where ``agent_steps_per_second`` is the median
    over the repeats and ``repeats`` lists each repeat's value.
    """
    drivers = make_drivers(exp, seed, batched)
    pool = action_pool(exp, max(d.slots for d in drivers), seed)
    for d in drivers:
        d.reset()
        _run(d, pool, 0, warmup)
    rates = {d.name: [] for d in drivers}
    position = warmup
    for _ in range(repeats):
        for d in drivers:  # round robin: other jobs' load falls on every driver alike
            rates[d.name].append(steps * d.slots / _run(d, pool, position, steps))
        position += steps
    single = [d for d in drivers if d.slots == exp.num_agents]
    reference = single[0].rewards()
    identical = all(np.array_equal(reference, d.rewards()) for d in single[1:])
    return {
        "N": exp.num_agents,
        "drivers": {name: {"slots": next(d.slots for d in drivers if d.name == name),
                           "agent_steps_per_second": statistics.median(values), "repeats": values}
                    for name, values in rates.items()},
        "identical_trajectories": bool(identical),
    }


def ratios(result: dict) -> dict:
    """native / SuperSuit at equal slots (one economy, and 8 economies when measured) and native / dict loop."""
    d = {k: v["agent_steps_per_second"] for k, v in result["drivers"].items()}
    out = {"native / supersuit": d["native"] / d["supersuit"], "native / pettingzoo": d["native"] / d["pettingzoo"]}
    batched_native, batched_ss = f"native x{BATCHED_ECONOMIES}", f"supersuit x{BATCHED_ECONOMIES}"
    if batched_native in d:
        out[f"{batched_native} / {batched_ss}"] = d[batched_native] / d[batched_ss]
        out[f"{batched_native} / supersuit"] = d[batched_native] / d["supersuit"]
    return out


# ----------------------------------------------------------------------------- report
def _fmt(rate: float) -> str:
    if rate >= 1e6:
        return f"{rate / 1e6:.2f}M"
    if rate >= 1e3:
        return f"{rate / 1e3:.1f}k"
    return f"{rate:.0f}"


def table(experiment: str, results: list) -> str:
    names = list(results[0]["drivers"])
    ratio_names = list(ratios(results[0]))
    lines = [f"### {experiment}", "",
             "| N | " + " | ".join(names) + " | " + " | ".join(ratio_names) + " |",
             "|---:|" + "---:|" * (len(names) + len(ratio_names))]
    for r in results:
        rates = [_fmt(r["drivers"][n]["agent_steps_per_second"]) for n in names]
        rs = [f"{v:.1f}x" for v in ratios(r).values()]
        lines.append(f"| {r['N']} | " + " | ".join(rates) + " | " + " | ".join(rs) + " |")
    return "\n".join(lines)


def figure(report: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    experiments = list(report["results"])
    fig, axes = plt.subplots(1, len(experiments) + 1, figsize=(5.2 * (len(experiments) + 1), 4.2))
    styles = {"native": ("C0", "o", "-"), f"native x{BATCHED_ECONOMIES}": ("C0", "s", "--"),
              "pettingzoo": ("C2", "^", "-"), "supersuit": ("C3", "v", "-"),
              f"supersuit x{BATCHED_ECONOMIES}": ("C3", "D", "--")}
    for ax, experiment in zip(axes, experiments):
        results = report["results"][experiment]
        ns = [r["N"] for r in results]
        for name in results[0]["drivers"]:
            colour, marker, line = styles.get(name, ("k", "x", ":"))
            ax.plot(ns, [r["drivers"][name]["agent_steps_per_second"] for r in results], color=colour,
                    marker=marker, linestyle=line, label=name)
        ax.set(xscale="log", yscale="log", xlabel="households per economy N", ylabel="agent-steps per second",
               title=f"{experiment}: environment throughput")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[-1]
    for k, experiment in enumerate(experiments):
        results = report["results"][experiment]
        ns = [r["N"] for r in results]
        for j, name in enumerate(ratios(results[0])):
            if name.endswith("/ pettingzoo") or (name.startswith("native x") and name.endswith("/ supersuit")):
                continue  # in the table; the plot keeps the equal-slot ratios
            ax.plot(ns, [ratios(r)[name] for r in results], marker="os^"[j % 3],
                    linestyle=["-", "--", ":"][k % 3], color=f"C{j}", label=f"{experiment}: {name}")
    ax.axhline(TARGET_RATIO, color="k", linewidth=0.8, linestyle=":", label=f"target {TARGET_RATIO:.0f}x at N = 500")
    ax.set(xscale="log", yscale="log", xlabel="households per economy N", ylabel="speed-up (ratio of throughputs)",
           title="native / SuperSuit")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    save_figure_atomic(fig, path)
    plt.close(fig)


def main(argv: Optional[list] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiments", nargs="+", default=["ks", "general"], choices=sorted(SIZES))
    parser.add_argument("--steps", type=int, default=500, help="steps per timed repeat (500 = one episode)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 50 steps, 3 repeats, ks only")
    parser.add_argument("--out", default="output/benchmarks", help="folder for env_throughput.json and .png")
    parser.add_argument("--figure", default=None, help="also write the PNG here (e.g. docs/figures/...)")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.repeats, args.warmup, args.experiments = 50, 3, 10, ["ks"]

    started = time.perf_counter()
    report = {"machine": machine(), "versions": versions(),
              "settings": {"steps_per_repeat": args.steps, "repeats": args.repeats, "warmup": args.warmup,
                           "seed": args.seed, "batched_economies": BATCHED_ECONOMIES, "statistic": "median"},
              "results": {}}
    print(f"# machine: {report['machine']}")
    print(f"# versions: {report['versions']}")
    print(f"# {args.steps} steps per repeat, median of {args.repeats}, warm-up {args.warmup}; agent-steps per second")
    for experiment in args.experiments:
        results = []
        for n in SIZES[experiment]:
            exp = make_experiment(experiment, n)
            result = measure(exp, steps=args.steps, repeats=args.repeats, warmup=args.warmup, seed=args.seed)
            result["ratios"] = ratios(result)
            results.append(result)
            if not result["identical_trajectories"]:
                print(f"WARNING: {experiment} N = {n}: the one-economy drivers disagree (not the same dynamics?)")
        report["results"][experiment] = results
        print()
        print(table(experiment, results))
    report["seconds"] = time.perf_counter() - started
    write_json_atomic(os.path.join(args.out, "env_throughput.json"), report)
    figure(report, os.path.join(args.out, "env_throughput.png"))
    if args.figure:
        figure(report, args.figure)
    ks = report["results"].get("ks")
    if ks and ks[-1]["N"] == 500:
        ratio = ks[-1]["ratios"]["native / supersuit"]
        print(f"\nks, N = 500: native / SuperSuit = {ratio:.1f}x (target {TARGET_RATIO:.0f}x: "
              f"{'met' if ratio >= TARGET_RATIO else 'not met'}); all drivers identical: "
              f"{all(r['identical_trajectories'] for rs in report['results'].values() for r in rs)}")
    print(f"wrote {args.out}/env_throughput.json and .png ({report['seconds']:.0f} s)")
    return report


if __name__ == "__main__":
    main()
