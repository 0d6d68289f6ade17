"""One writer per sweep directory, workers that end with their driver, nothing written through a link."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import filelock
import pytest

from rl.sweep import plan_sweep, read_log, run_sweep
from rl.sweep.run import SWEEP_LOCK

ROOT = Path(__file__).resolve().parents[1]

ONE = {"experiments": ["ks"], "algorithms": ["sac"], "n_agents": [2], "seeds": [0], "presets": ["tuned"],
       "steps_per_agent": [100], "overrides": {"episode_length": 25}, "hyper": {"learning_starts": 50,
                                                                                "batch_size": 64}}
"""One tiny trial (about a second of training)."""


def test_a_second_sweep_in_the_same_directory_is_refused(tmp_path):
    lock = filelock.FileLock(str(tmp_path / SWEEP_LOCK), timeout=0)
    with lock:  # stands for a first sweep that is running
        with pytest.raises(ValueError, match="being written by another process .another sweep"):
            run_sweep(plan_sweep([ONE]), tmp_path, quiet=True)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_trial_directory_that_is_a_link_is_never_written_or_emptied(tmp_path):
    trial = plan_sweep([ONE])[0]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "precious.txt").write_text("not the sweep's")
    (tmp_path / "sweep" / "runs").mkdir(parents=True)
    (tmp_path / "sweep" / "runs" / trial.name).symlink_to(outside, target_is_directory=True)
    result = run_sweep([trial], tmp_path / "sweep", retries=0, quiet=True)
    assert result.failed == (trial.name,)
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]


def _children(pid: int) -> list:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its parent to reap it counts as ended)."""
    try:
        return (Path(f"/proc/{pid}") / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the worker processes")
def test_a_killed_driver_leaves_no_live_worker(tmp_path):
    long = {**ONE, "steps_per_agent": [200_000]}  # minutes of training: the worker is busy when the driver dies
    config = tmp_path / "sweep.json"
    config.write_text(json.dumps({"grid": [long]}))
    driver = subprocess.Popen([sys.executable, "-m", "rl.sweep", "run", "--config", str(config), "--out",
                               str(tmp_path / "sweep"), "--quiet"], cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list((tmp_path / "sweep").glob("runs/*/train.log")) and time.time() < deadline:
        time.sleep(0.5)
    workers = [p for p in _children(driver.pid) if "python" in Path(f"/proc/{p}/cmdline").read_text()]
    assert workers, "the sweep started no worker"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    deadline = time.time() + 30
    while any(_alive(p) for p in workers) and time.time() < deadline:
        time.sleep(0.5)
    alive = [p for p in workers if _alive(p)]
    for p in alive:  # do not leave a stray trainer behind if the test fails
        os.kill(p, signal.SIGKILL)
    assert alive == []


@pytest.mark.slow
def test_a_sweep_killed_at_random_moments_completes_every_trial_exactly_once(tmp_path):
    """SIGKILL the driver (and its workers, by process group) at 6 random moments; rerun each time; at the end
    every trial is complete, its learning curve has each step once, and no trial was completed twice."""
    import csv
    import random

    grid = {**ONE, "algorithms": ["sac", "td3"], "seeds": [0, 1, 2]}
    config = tmp_path / "sweep.json"
    config.write_text(json.dumps({"grid": [grid]}))
    command = [sys.executable, "-m", "rl.sweep", "run", "--config", str(config), "--out", str(tmp_path / "sweep"),
               "--quiet"]
    rng = random.Random(0)
    for _ in range(6):
        process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(1.0, 8.0))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    assert subprocess.run(command, cwd=ROOT, capture_output=True).returncode == 0
    runs = sorted((tmp_path / "sweep" / "runs").iterdir())
    assert len(runs) == 6 and all((run / "summary.json").is_file() for run in runs)
    for run in runs:
        steps = [row["timesteps"] for row in csv.DictReader(open(run / "returns.csv"))]
        assert len(steps) == len(set(steps)), run.name
    log = read_log(tmp_path / "sweep")  # skips a line cut short by a kill
    done = [e["trial"] for e in log if e.get("event") == "done"]
    assert sorted(done) == sorted(set(done)) and set(done) <= {run.name for run in runs}


def test_a_link_inside_a_partial_trial_is_removed_not_appended_through(tmp_path):
    trial = plan_sweep([ONE])[0]
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("not the sweep's\n")
    run_dir = tmp_path / "sweep" / "runs" / trial.name
    run_dir.mkdir(parents=True)
    (run_dir / "returns.csv").symlink_to(outside)  # a partial trial whose learning curve is a link
    result = run_sweep([trial], tmp_path / "sweep", retries=0, quiet=True)
    assert result.completed == (trial.name,)
    assert outside.read_text() == "not the sweep's\n"
    assert not (run_dir / "returns.csv").is_symlink() and (run_dir / "returns.csv").read_text().startswith("timesteps")
