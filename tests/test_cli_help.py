"""``python -m econ --help`` and ``python -m econ ks --help``: every option has a description and a
default; the ks command is listed, an unknown command is refused, and ks offers the experiments'
calibrations by the names ``validation.compare`` uses."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from econ.experiments import EXPERIMENTS, make_experiment
from econ.krusell_smith import cli as ks_cli
from econ.krusell_smith.params import KrusellSmithParams
from econ.rbc import cli as rbc_cli

ROOT = Path(__file__).resolve().parents[1]


class Result(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def run(*args):
    """``python -m econ ARGS`` in this process (the entry point's own function), help at 100 columns."""
    from econ.__main__ import main

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exit_:
                code = exit_.code
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old
    return Result(code, out.getvalue(), err.getvalue())


def help_entries(text: str) -> dict:
    """The options section of an argparse help text: first option string -> its whole entry."""
    entries, current = {}, None
    for line in text.split("options:", 1)[1].splitlines():
        if re.match(r"^  -", line):
            current = line.strip().split()[0].rstrip(",")
            entries[current] = line.strip()
        elif current is not None and line.startswith("   "):
            entries[current] += " " + line.strip()
    return entries


@pytest.mark.parametrize("command", [(), ("ks",)], ids=["rbc", "ks"])
def test_every_option_has_a_description_and_a_default(command):
    result = run(*command, "--help")
    assert result.returncode == 0, result.stderr
    entries = help_entries(result.stdout)
    parser = (ks_cli if command else rbc_cli).build_parser()
    options = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    assert len(options) >= 10
    assert set(entries) == {"-h"} | {a.option_strings[0] for a in options}
    for action in options:
        entry = entries[action.option_strings[0]]
        description = entry.split("(default:")[0]
        for token in action.option_strings + ([action.metavar or action.dest.upper()] if action.nargs != 0 else []):
            description = description.replace(token, "")
        if action.choices:
            description = description.replace("{" + ",".join(action.choices) + "}", "")
        assert len(description.split()) >= 2, f"{entry!r}: no description"
        assert "(default:" in entry and not entry.rstrip().endswith("(default:"), f"{entry!r}: no default"


def test_econ_help_lists_the_ks_command():
    result = subprocess.run([sys.executable, "-m", "econ", "--help"], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "python -m econ ks" in out
    assert "python -m econ rbc" in out


@pytest.mark.parametrize("command, suggestion", [("kss", "did you mean 'ks'?"), ("rbcc", "did you mean 'rbc'?"),
                                                 ("solve", "commands: rbc, ks")])
def test_unknown_command_is_refused_clearly(command, suggestion):
    result = run(command)
    assert result.returncode == 2
    assert f"unknown command {command!r}" in result.stderr
    assert suggestion in result.stderr
    assert "unrecognized arguments" not in result.stderr


def test_ks_help_names_its_default_and_the_experiments_calibrations():
    out = run("ks", "--help").stdout
    assert "By default it solves ks-1998" in out
    assert "(default: ks-1998)" in out
    experiment_names = [name for name in EXPERIMENTS if name.startswith("ks")]
    assert tuple(experiment_names) == ks_cli.EXPERIMENT_CALIBRATIONS
    listed = re.findall(r"^  (ks\S*)\s", out.split("calibrations:", 1)[1].split("options:")[0], re.M)
    assert listed == ["ks-1998", "ks-standard", *experiment_names]
    for name in experiment_names:
        assert re.search(rf"^  {re.escape(name)}\s.*experiment scored by validation.compare", out, re.M)


@pytest.mark.parametrize("name", [name for name in EXPERIMENTS if name.startswith("ks")])
def test_ks_calibration_names_are_the_experiments_economies(name):
    """The calibration `python -m econ ks --calibration NAME` solves is the economy of experiment NAME."""
    assert KrusellSmithParams.calibration(name) == make_experiment(name).ks


@pytest.mark.parametrize("module", ["rl.train", "rl.tune", "rl.polish", "validation.compare", "validation.ship"])
def test_every_option_of_the_other_commands_states_its_default(module):
    import argparse
    import importlib

    parser = importlib.import_module(module).build_parser()
    shows_defaults = parser.formatter_class is argparse.ArgumentDefaultsHelpFormatter
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        assert action.help and len(action.help.split()) >= 2, f"{module} {action.option_strings}: no description"
        assert shows_defaults or "default" in action.help or "required" in action.help, \
            f"{module} {action.option_strings[0]}: help names no default: {action.help!r}"
