"""Copy a finished ``python -m rl.train`` run into the shipped policies: ``python -m validation.ship RUN_DIR``.

Copies ``model.zip``, ``config.json``, ``summary.json`` and the learning
curves (``returns.csv``, ``evaluations.csv``) of the run into
``validation/policies/<experiment>/`` and writes ``TRAINED.md`` beside them:
the exact command, seed, package versions, the git commit of the training
code, wall-clock and what the training-time evaluation reached.  TensorBoard
logs and checkpoints are not shipped (size).

Before anything is written the run must be complete (model, configuration and
summary present, the budget spent or the target reached), its experiment must
be one of the registry's (the name is never used as a path otherwise), and its
scorecard (``python -m validation.compare EXPERIMENT --model RUN``) must pass,
unless ``--allow-failing`` says to ship it anyway (the note then says so).  The
policy directory is replaced as a whole: the new one is written beside it
under a temporary name and renamed into place, so a reader sees the old
policy or the new one, never a mixture.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import tempfile
import uuid
from pathlib import Path

from econ.experiments import EXPERIMENTS
from econ.io import write_text_atomic
from validation import compare
from validation.compare import POLICY_DIR
from rl.polish import POLISH_SETTINGS

REQUIRED = ("model.zip", "config.json", "summary.json")
"""A run without these files is not finished."""

FILES = ("model.zip", "config.json", "summary.json", "returns.csv", "evaluations.csv")


def trained_note(config: dict, summary: dict, scorecard: str = "") -> str:
    """The TRAINED.md text of a run: command, seed, versions, budget and outcome."""
    argv = list(config.get("argv") or [])
    modules = {"train.py": "rl.train", "compare.py": "validation.compare"}  # sys.argv of ``python -m M`` starts
    for file, module in modules.items():                                  # with the module file's path
        if argv and argv[0].endswith(file):
            argv = ["python", "-m", module, *argv[1:]]
    argv = [a for a in _portable_out(argv) if a != "--resume"]  # the same run from the start (sittings below)
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
        *_polish_command(config, argv),
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
        lines.append(f"- stopped early: the training-time evaluation reached {_verdict(reached)} after "
                     f"{reached['timesteps']} agent-steps")
    elif last:
        lines.append(f"- last training-time evaluation: {_verdict(last)} after {last['timesteps']} agent-steps")
    if summary.get("averaged_rollouts"):
        lines.append(f"- `model.zip` holds the weights averaged over the run's last {summary['averaged_rollouts']} "
                     f"rollouts (`policy_averaging`); the training-time evaluations inside that window scored "
                     f"the average so far")
    polished = summary.get("polish") or []
    if polished:
        # polished_from (python -m rl.polish) is the latest polishing, after any in training
        setting = config.get("polished_from") or (config.get("hyperparameters") or {}).get("polish") or {}
        margin = setting.get("margin", "intratemporal")
        what = {"intratemporal": ("along labour at unchanged saving", "mean |utility slope|"),
                "euler": ("on the Euler equation", "mean |log Euler error|")}.get(
            margin, ("through the one-step lookahead", "mean |slope of the lookahead in the own action|"))
        # the summary lists every round so far, the latest polishing's last (its rounds under polished_from)
        latest = polished[-int(config["polished_from"].get("rounds", len(polished))):] \
            if config.get("polished_from") else polished
        earlier = len(polished) - len(latest)
        rounds = _rounds(len(latest)) + (f", after {_rounds(earlier)} of an earlier polishing" if earlier else "")
        if summary.get("polish_seconds"):  # the latest polishing's
            rounds += f", {summary['polish_seconds']:.0f} s"
        lines.append(f"- then polished {what[0]} (`polish`, {rounds}): {what[1]} on the policy's "
                     f"states {latest[0]['objective_before']:.2e} -> {latest[-1]['objective_after']:.2e}; the "
                     f"training-time evaluations scored the policy before polishing")
    code = config.get("code") or {}
    if code.get("git_commit"):
        lines.append(f"- training code: {_commit(code)}")
    polishing = (config.get("polished_from") or {}).get("code") or {}
    if polishing.get("git_commit"):  # python -m rl.polish records its own code and machine
        lines.append(f"- polishing code: {_commit(polishing)}, on "
                     f"{(config['polished_from'].get('machine') or {}).get('cpu') or 'a CPU not recorded'}")
    machine = config.get("machine") or {}
    if machine.get("cpu") or machine.get("torch_cpu_capability"):
        lines.append(f"- machine: {machine.get('cpu') or 'CPU not recorded'}, torch kernels "
                     f"{machine.get('torch_cpu_capability')} (the same seed on another CPU kind gives other numbers)")
    sittings = config.get("sittings") or []
    if len(sittings) > 1:
        lines.append(f"- trained in {len(sittings)} sittings (resumed from a checkpoint): " + "; ".join(
            f"from agent-step {s['from_step']}, {(s.get('machine') or {}).get('cpu') or 'CPU not recorded'}, "
            f"commit {((s.get('code') or {}).get('git_commit') or 'not recorded')[:12]}" for s in sittings))
    if scorecard:
        lines.append(f"- scorecard when shipped: {scorecard}")
    lines += ["", "Versions:", "", versions, "",
              f"Score it: `python -m validation.compare {config['experiment_name']}`.", ""]
    return "\n".join(lines)


def _rounds(n: int) -> str:
    return f"{n} round" + ("s" if n != 1 else "")


def _commit(code: dict) -> str:
    """A recorded ``code`` entry (:func:`rl.provenance.code_version`) in words."""
    return f"git commit {code['git_commit']}" + (" (with uncommitted changes)" if code.get("git_dirty") else "")


def _polish_command(config: dict, argv: list) -> list:
    """The lines of TRAINED.md's command block that follow the training command of a directory written by
    ``python -m rl.polish`` (its settings under ``polished_from``, any before it under ``earlier_polishings``):
    one polishing command each, in order, the first from the run's path as ``runs/...`` like the training
    command's ``--out``, each next one from the directory the one before wrote."""
    settings = [*(config.get("earlier_polishings") or []), *([config["polished_from"]]
                                                             if config.get("polished_from") else [])]
    if not settings:
        return []
    run = Path(settings[0].get("run", "RUN"))  # every rl.polish records it
    found = _out_argument(argv)  # the training command's --out: a compare run's directory holds the run directory
    out = Path(found[1]).name if found else None
    source = f"runs/{run.parent.name}/{run.name}" if out == run.parent.name else f"runs/{run.name}"
    lines = ["", "and then polished by (from the repository root):", ""]
    for i, setting in enumerate(settings):
        target = "runs/polished" + (f"-{i + 1}" if len(settings) > 1 else "")
        words = ["python", "-m", "rl.polish", source]
        if setting.get("model") == "model-unpolished.zip":
            words.append("--unpolished")
        for key in POLISH_SETTINGS:
            if key == "anchor" and setting.get("margin", "intratemporal") != "intratemporal":
                continue  # recorded by earlier versions for every margin; rl.polish refuses a nonzero one there
            if setting.get(key) is True:  # a flag (--balanced)
                words.append("--" + key.replace("_", "-"))
            elif key in setting and setting[key] is not False:  # a list (phi per kappa type) as the option takes it
                value = setting[key]
                words += ["--" + key.replace("_", "-"),
                          ",".join(str(v) for v in value) if isinstance(value, list) else str(value)]
        lines.append("    " + " ".join(shlex.quote(w) for w in words + ["--out", target]))
        source = target
    return lines


def _out_argument(argv: list):
    """(index, directory) of the last ``--out DIR`` or ``--out=DIR`` in ``argv`` (the index of the word holding
    DIR), or None."""
    found = None
    for i, arg in enumerate(argv):
        if arg == "--out" and i + 1 < len(argv):
            found = (i + 1, argv[i + 1])
        elif arg.startswith("--out="):
            found = (i, arg[len("--out="):])
    return found


def _portable_out(argv: list) -> list:
    """``argv`` with its run directory (``--out DIR``) as ``runs/<name>``: the training machine's paths mean nothing
    to a reader, and the directory does not change what is trained."""
    out = list(argv)
    found = _out_argument(out)
    if found:
        i, directory = found
        out[i] = ("--out=" if out[i].startswith("--out=") else "") + "runs/" + Path(directory).name
    return out


def _verdict(row: dict) -> str:
    """A training-time evaluation in words: the rbc welfare loss, or how many judged scorecard rows failed."""
    if "welfare_loss_percent" in row:
        return f"welfare loss {row['welfare_loss_percent']:.4f} %"
    failed = [name for name in str(row.get("failed") or "").split(";") if name]
    return "every judged scorecard row passing" if not failed else f"{len(failed)} judged scorecard rows failing"


def check_run(run: Path) -> tuple:
    """``(config, summary)`` of a finished run, or a ValueError saying what is missing."""
    missing = [name for name in REQUIRED if not (run / name).is_file()]
    if missing:
        raise ValueError(f"{run} is not a finished run: {', '.join(missing)} missing")
    config = json.loads((run / "config.json").read_text())
    summary = json.loads((run / "summary.json").read_text())
    name = config.get("experiment_name")
    if name not in EXPERIMENTS:
        raise ValueError(f"{run}: experiment {name!r} is not one of {EXPERIMENTS}")
    if summary.get("timesteps", 0) < config.get("timesteps", 0) and not summary.get("target_reached"):
        raise ValueError(f"{run} stopped at {summary.get('timesteps')} of {config.get('timesteps')} agent-steps")
    return config, summary


def ship(run: Path, destination: Path = POLICY_DIR, *, allow_failing: bool = False) -> Path:
    """Replace ``destination/<experiment>`` with the run (see the module docstring); returns that directory."""
    run = Path(run)
    config, summary = check_run(run)
    name = EXPERIMENTS[EXPERIMENTS.index(config["experiment_name"])]  # the registry's string, not the file's
    with tempfile.TemporaryDirectory() as report:
        status = compare.main([name, "--model", str(run), "--out", report])
    if status not in (0, 1):
        raise ValueError(f"{run}: the scorecard could not be computed (exit status {status})")
    if status == 1 and not allow_failing:
        raise ValueError(f"{run}: the scorecard fails; pass --allow-failing to ship it anyway")
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / name
    fresh = destination / f".{name}.new-{uuid.uuid4().hex}"
    fresh.mkdir()
    try:
        for file in (*REQUIRED, "returns.csv", "evaluations.csv"):
            if (run / file).is_file():
                shutil.copyfile(run / file, fresh / file)
        write_text_atomic(fresh / "TRAINED.md",
                          trained_note(config, summary, "passes" if status == 0 else "FAILS (shipped anyway)"))
        old = destination / f".{name}.old-{uuid.uuid4().hex}"
        if target.exists():
            os.rename(target, old)
        os.rename(fresh, target)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    if old.exists():
        shutil.rmtree(old)
    return target


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m validation.ship", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run directories of python -m rl.train (required)")
    parser.add_argument("--allow-failing", action="store_true",
                        help="ship a run whose scorecard fails (the note says so) (default: off: refuse)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    for run in args.runs:
        try:
            print(f"shipped {run} -> {ship(run, allow_failing=args.allow_failing)}")
        except ValueError as err:
            parser.error(str(err))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
