"""Atomic file output: a reader never sees a half-written JSON report or figure."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _atomic(path, write, mode: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    return _atomic(path, lambda h: h.write(text), "w")


def write_json_atomic(path, data) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def save_figure_atomic(fig, path, **savefig_kwargs) -> Path:
    """Save a matplotlib figure as PNG, atomically."""
    savefig_kwargs.setdefault("dpi", 120)
    savefig_kwargs.setdefault("bbox_inches", "tight")
    return _atomic(path, lambda h: fig.savefig(h, format="png", **savefig_kwargs), "wb")
