"""File output: atomic writes (a reader never sees a half-written JSON report or
figure), one writer per directory (an exclusive lock), and plain JSON values of
the project's records."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import uuid
from pathlib import Path

import filelock
import numpy as np


def _atomic(path, write, mode: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    # created like an ordinary file (0o666 less the umask), not private like mkstemp's
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and an atomic rename."""
    return _atomic(path, lambda h: h.write(text), "w")


def write_bytes_atomic(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename."""
    return _atomic(path, lambda h: h.write(data), "wb")


def write_csv_atomic(path, rows, columns) -> Path:
    """Write dict ``rows`` as CSV with the header ``columns`` (None as an empty cell), atomically."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return write_text_atomic(path, buffer.getvalue())


def write_json_atomic(path, data) -> Path:
    """Write ``data`` as indented JSON, atomically."""
    return write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def save_figure_atomic(fig, path, **savefig_kwargs) -> Path:
    """Save a matplotlib figure as PNG, atomically."""
    savefig_kwargs.setdefault("dpi", 120)
    savefig_kwargs.setdefault("bbox_inches", "tight")
    return _atomic(path, lambda h: fig.savefig(h, format="png", **savefig_kwargs), "wb")


def jsonable(value):
    """``value`` as plain JSON data: named tuples and dicts as objects, sequences as lists, numpy scalars as numbers."""
    if hasattr(value, "_asdict"):
        return {k: jsonable(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


class DirectoryBusy(ValueError):
    """Another process holds a directory's lock (see :func:`exclusive_lock`)."""


@contextlib.contextmanager
def exclusive_lock(directory, name: str, what: str, advice: str):
    """Hold the exclusive lock ``directory/name`` (a ``filelock`` lock file) or refuse at once.

    The refusal is one line: ``{directory} is being written by another process ({what}); {advice}``.
    """
    path = Path(directory) / name
    lock = filelock.FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise DirectoryBusy(f"{directory} is being written by another process ({what}, lock {path}); {advice}"
                            ) from None
    try:
        yield
    finally:
        lock.release()

