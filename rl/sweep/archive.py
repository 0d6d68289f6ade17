"""A sweep's records, copied without its models: ``python -m rl.sweep archive SOURCE DEST``.

A completed trial's record is the small, plain-text part of its run directory:
its top-level JSON and CSV files (``trial.json``, ``config.json``,
``summary.json``, ``returns.csv``, the scorers' stored scores such as
``scaling.json``, and ``error.json`` of earlier failed attempts), a few
kilobytes.  Models, checkpoints, logs and TensorBoard files stay behind.  The
sweep directory's own top-level JSON files (the scorers' settings) are copied
too; its tables and figures are not (``summarize`` rebuilds them).

DEST is then a sweep directory of its own:

- ``python -m rl.sweep summarize DEST`` rebuilds the tables and figures from
  the records (stored scores are read back; recomputing them with other
  settings needs the models, and is refused with a message naming the trial;
  a record archived before its trial was scored is left unscored, with a
  warning, until it is archived again after a summary of its sweep);
- ``python -m rl.sweep run --out DEST`` skips the archived trials (their
  ``summary.json`` marks them complete) and trains only the others.

So a study's records can be kept in version control and a study continued on
another machine: archive the working directory into the repository after each
stretch, and archive the repository's records into a fresh working directory
before the next.  ``summary.json`` is written last, atomically, so an
interrupted archive leaves no record that looks complete without its files.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from econ.io import exclusive_lock, write_text_atomic
from rl.sweep.rundir import SUMMARY_FILE, SWEEP_LOCK, TRIAL_FILE, is_complete

RECORD_SUFFIXES = (".json", ".csv")
"""A record is a run directory's top-level regular files with these suffixes."""


class ArchiveResult(NamedTuple):
    """Trial names by what :func:`archive_sweep` did with them."""
    copied: tuple
    updated: tuple
    unchanged: tuple
    incomplete: tuple
    missing: tuple = ()
    """Complete trials left out because a file of ``require`` is not in their run directory (yet)."""


def record_files(directory, suffixes=RECORD_SUFFIXES) -> list:
    """The record of a run directory: its top-level regular files ending in ``suffixes`` (links are never
    followed), ``summary.json`` last."""
    files = [p for p in sorted(Path(directory).iterdir())
             if p.suffix in suffixes and p.is_file() and not p.is_symlink()]
    return sorted(files, key=lambda p: p.name == SUMMARY_FILE)


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise ValueError(f"{path} is a symbolic link: refusing to write through it")


def archive_sweep(source, dest, require=()) -> ArchiveResult:
    """Copy every completed trial's record from ``source/runs`` to ``dest/runs`` (see the module docstring).

    ``require``: file names a record must hold to be archived (``scaling.json``: only trials already scored;
    a trial completed after the last summary is left out until the next).

    A record already in DEST is left alone when equal and updated when only
    its other files differ (re-scored); a different ``summary.json`` (another
    run of the trial) is refused with a one-line error before anything is
    written.  Holds DEST's sweep lock.
    """
    source, dest = Path(source), Path(dest)
    if not (source / "runs").is_dir():
        raise ValueError(f"source: {source} has no runs/ folder (is it a sweep directory?)")
    if source.resolve() == dest.resolve():
        raise ValueError(f"dest: {dest} is the source itself")
    require = tuple(require)
    if any(not isinstance(name, str) or not name or "/" in name for name in require):
        raise ValueError(f"require must be file names of a run directory, got {require!r}")
    plan, incomplete, missing = [], [], []
    for trial_file in sorted((source / "runs").glob(f"*/{TRIAL_FILE}")):
        run_dir = trial_file.parent
        if run_dir.is_symlink() or not is_complete(run_dir):
            incomplete.append(run_dir.name)
            continue
        if not all((run_dir / name).is_file() for name in require):
            missing.append(run_dir.name)
            continue
        target = dest / "runs" / run_dir.name
        _refuse_link(target)
        theirs, ours = target / SUMMARY_FILE, run_dir / SUMMARY_FILE
        if theirs.is_file() and theirs.read_bytes() != ours.read_bytes():
            raise ValueError(f"dest: {target} holds another completed run of trial {run_dir.name} (a different "
                             f"{SUMMARY_FILE}); not overwritten")
        plan.append((run_dir, target))
    dest.mkdir(parents=True, exist_ok=True)
    _refuse_link(dest / "runs")
    copied, updated, unchanged = [], [], []
    with exclusive_lock(dest, SWEEP_LOCK, "a sweep or an archive", "wait for it to finish"):
        for path in record_files(source, (".json",)):  # the scorers' settings; the tables are rebuilt from runs/
            _copy(path, dest / path.name)
        for run_dir, target in plan:
            existed = (target / SUMMARY_FILE).is_file()
            changed = [_copy(path, target / path.name) for path in record_files(run_dir)]
            (updated if existed and any(changed) else unchanged if existed else copied).append(run_dir.name)
    return ArchiveResult(tuple(copied), tuple(updated), tuple(unchanged), tuple(incomplete), tuple(missing))


def _copy(source: Path, target: Path) -> bool:
    """Copy a file's text atomically unless ``target`` already holds it; whether it was written."""
    _refuse_link(target)
    text = source.read_text()
    if target.is_file() and target.read_text() == text:
        return False
    write_text_atomic(target, text)
    return True
