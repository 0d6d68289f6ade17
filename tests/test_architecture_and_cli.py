"""Architecture rules (imports run econ <- rl <- validation; no file does several jobs) and the `python -m econ`
command line."""

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


LAYERS = ("econ", "rl", "validation")
"""Imports run one way: econ <- rl <- validation (a package may import only the layers before it)."""

MAX_SOURCE_LINES = 600
"""A file longer than this does more than one job (the layout gives each job its own module)."""


def _project_imports(path: Path) -> list:
    """Top-level project packages a file imports, anywhere in it (function bodies included)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return [n.split(".")[0] for n in names if n.split(".")[0] in LAYERS]


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_run_one_way(layer):
    allowed = LAYERS[: LAYERS.index(layer) + 1]
    offenders = [f"{path.relative_to(ROOT)} imports {name}" for path in sorted((ROOT / layer).rglob("*.py"))
                 for name in _project_imports(path) if name not in allowed]
    assert offenders == []


def test_no_source_file_does_several_jobs():
    long = [f"{path.relative_to(ROOT)}: {n} lines" for layer in LAYERS for path in sorted((ROOT / layer).rglob("*.py"))
            if (n := len(path.read_text().splitlines())) > MAX_SOURCE_LINES]
    assert long == []


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
