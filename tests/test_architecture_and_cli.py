"""Architecture rule (econ never imports rl) and the `python -m econ` command line."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_econ_never_imports_rl_or_validation():
    offenders = []
    for path in (ROOT / "econ").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("rl", "validation")]
    assert offenders == []


def test_rbc_command_line_writes_plots_and_summary(tmp_path):
    from econ.__main__ import main

    assert main(["rbc", "--no-vfi", "--utility", "log_leisure", "--alpha", "0.33", "--out", str(tmp_path)]) == 0
    for name in ("irf.png", "policy.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["params"]["alpha"] == 0.33
    assert len(summary["irf_linear"]["consumption"]) == 40


def test_rbc_command_line_refuses_bad_parameters():
    result = subprocess.run(
        [sys.executable, "-m", "econ", "--no-vfi", "--beta", "1.5"], capture_output=True, text=True, cwd=ROOT
    )
    assert result.returncode == 2
    assert "beta must lie in (0.0, 1.0)" in result.stderr
