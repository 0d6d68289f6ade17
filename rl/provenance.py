"""Where a run's numbers came from: the git commit of the code and the machine (``config.json``'s ``code`` and
``machine``, written by :mod:`rl.train` for training and by :mod:`rl.polish` for a polishing)."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import torch


def machine() -> dict:
    """What the same code, versions and seed still depend on: the CPU (its model, from /proc/cpuinfo where Linux
    has it) and the SIMD kernels torch dispatches to.  Trained on another CPU kind, a run's numbers differ at float
    rounding from the first updates and the training amplifies it (docs/training.md: the run directory)."""
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), None)
    except OSError:
        pass
    return {"cpu": model or platform.processor() or None, "architecture": platform.machine(),
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability()}


def code_version() -> dict:
    """The git commit of the code that runs (and whether its tree had uncommitted changes), if it is a checkout."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}
    if commit.returncode != 0:
        return {"git_commit": None, "git_dirty": None}
    return {"git_commit": commit.stdout.strip(), "git_dirty": bool(status.stdout.strip())}
