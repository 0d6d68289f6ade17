"""Atomic output (econ.io): whole files or none, with ordinary permissions."""

from __future__ import annotations

import json
import os
import stat

import pytest

from econ.io import write_json_atomic, write_text_atomic


def test_atomic_write_replaces_whole_file_with_umask_permissions(tmp_path):
    path = write_json_atomic(tmp_path / "sub" / "report.json", {"a": 1})
    assert json.loads(path.read_text()) == {"a": 1}
    mask = os.umask(0o022)
    try:
        write_text_atomic(path, "new")
    finally:
        os.umask(mask)
    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0o600
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temporary left behind


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_text_atomic(tmp_path / "a.txt", "old")

    def explode(handle):
        handle.write("half")
        raise RuntimeError("disk full")

    from econ.io import _atomic

    with pytest.raises(RuntimeError, match="disk full"):
        _atomic(path, explode, "w")
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["a.txt"]
