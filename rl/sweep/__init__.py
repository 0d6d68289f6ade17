"""Sweeps of training runs: ``python -m rl.sweep run --experiments ks --algorithms sac ppo --n-agents 10 20 ...``.

A sweep is the product of experiments x algorithms x N x seeds (x presets x
budgets x varied experiment fields), given on the command line or in a TOML or
JSON file (``--config``).  Each trial (:class:`Trial`: a run-directory name and
an :class:`rl.config.TrainConfig`) is one plain call of :func:`rl.train.train`
with one torch thread, in its own run directory
``<sweep dir>/runs/<experiment>-<algorithm>-N<n>-s<seed>-<hash8>``.

The package by job:

- :mod:`rl.sweep.plan`: grid blocks -> validated trials, the configuration hash;
- :mod:`rl.sweep.rundir`: a run directory's files, completion and status;
- :mod:`rl.sweep.run`: running the incomplete trials on local processes
  (``ProcessPoolExecutor``, ``spawn``) or through Ray Tune (``--ray-address``),
  retries, ``error.json`` and the trial log ``sweep-log.jsonl``;
- :mod:`rl.sweep.summary`: ``summary.csv``, ``summary.md`` and the scaling
  figures, rebuilt from the run directories alone;
- :mod:`rl.sweep.archive`: the completed trials' records (JSON and CSV files,
  no models) copied to another sweep directory, to keep a study in version
  control and continue it elsewhere;
- :mod:`rl.sweep.cli`: the command line and config files.

See docs/scaling.md.
"""

from rl.sweep.archive import ArchiveResult, archive_sweep, record_files
from rl.sweep.cli import EXECUTION_DEFAULTS, EXECUTION_SETTINGS, build_parser, load_config, main
from rl.sweep.plan import DEFAULT_GRID, GRID_AXES, NO_CHECKPOINTS, TRIAL_SETTINGS, Trial, config_hash, plan_sweep
from rl.sweep.run import SweepResult, read_log, run_sweep, run_trial
from rl.sweep.rundir import is_complete, record_error, trial_status
from rl.sweep.summary import (RESULT_COLUMNS, aggregate, collect_rows, markdown_aggregate, markdown_table,
                              plot_scaling, write_summary)

__all__ = [
    "ArchiveResult", "DEFAULT_GRID", "EXECUTION_DEFAULTS", "EXECUTION_SETTINGS", "GRID_AXES", "NO_CHECKPOINTS",
    "RESULT_COLUMNS", "TRIAL_SETTINGS", "SweepResult", "Trial", "aggregate", "archive_sweep", "build_parser",
    "collect_rows", "config_hash", "is_complete", "load_config", "main", "markdown_aggregate", "markdown_table",
    "plan_sweep", "plot_scaling", "read_log", "record_error", "record_files", "run_sweep", "run_trial",
    "trial_status", "write_summary",
]
