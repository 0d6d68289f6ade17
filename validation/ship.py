"""Copy a finished ``python -m rl.train`` run into the shipped policies: ``python -m validation.ship RUN_DIR``.

Copies ``model.zip``, ``config.json``, ``summary.json`` and the learning
curves (``returns.csv``, ``evaluations.csv``) of the run into
``validation/policies/<experiment>/`` (atomically, file by file) and writes
``TRAINED.md`` beside them: the exact command, seed, package versions,
wall-clock and what the training-time evaluation reached.  TensorBoard logs
and checkpoints are not shipped (size).
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
from pathlib import Path

from econ.io import write_text_atomic
from validation.compare import POLICY_DIR

FILES = ("model.zip", "config.json", "summary.json", "returns.csv", "evaluations.csv")


def trained_note(config: dict, summary: dict) -> str:
    """The TRAINED.md text of a run: command, seed, versions, budget and outcome."""
    argv = list(config.get("argv") or [])
    if argv and argv[0].endswith("train.py"):  # sys.argv of ``python -m rl.train`` starts with the file's path
        argv = ["python", "-m", "rl.train", *argv[1:]]
    command = " ".join(shlex.quote(a) for a in argv) if argv else "(not recorded)"
    versions = "\n".join(f"- {k}: {v}" for k, v in sorted(config.get("versions", {}).items()))
    reached = summary.get("target_reached")
    evaluations = summary.get("evaluations") or []
    last = evaluations[-1] if evaluations else None
    lines = [
        f"# Shipped policy: `{config['experiment_name']}`",
        "",
        "Produced by the project's own training command (from the repository root):",
        "",
        "    " + command,
        "",
        f"- seed: {config['seed']}",
        f"- algorithm: {config['algorithm']}, preset `{config['preset']}`, hyperparameters "
        f"`{json.dumps(config['hyperparameters'], sort_keys=True)}`",
        f"- agents per economy: {config['n_agents']}, economies: {config['n_economies']}, "
        f"experiment overrides: `{json.dumps(config.get('overrides', {}), sort_keys=True)}`",
        f"- agent-steps trained: {summary.get('timesteps')}, wall-clock {summary.get('wall_clock_seconds', 0):.0f} s "
        f"on the 2-core development machine (shared with other jobs), {config.get('threads', 1)} torch thread",
    ]
    if reached:
        lines.append(f"- stopped early: the training-time evaluation reached welfare loss "
                     f"{reached['welfare_loss_percent']:.4f} % after {reached['timesteps']} agent-steps")
    elif last:
        lines.append(f"- last training-time evaluation: welfare loss {last['welfare_loss_percent']:.4f} % "
                     f"after {last['timesteps']} agent-steps")
    lines += ["", "Versions:", "", versions, "",
              f"Score it: `python -m validation.compare {config['experiment_name']}`.", ""]
    return "\n".join(lines)


def ship(run: Path, destination: Path = POLICY_DIR) -> Path:
    run = Path(run)
    config = json.loads((run / "config.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    target = destination / config["experiment_name"]
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        source = run / name
        if source.exists():
            tmp = target / f".{name}.tmp"
            shutil.copyfile(source, tmp)
            tmp.replace(target / name)
    write_text_atomic(target / "TRAINED.md", trained_note(config, summary))
    return target


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validation.ship", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for run in args.runs:
        print(f"shipped {run} -> {ship(run)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
