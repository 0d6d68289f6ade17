"""Sweeps (rl.sweep): planning and its errors, a local sweep, the same sweep on Ray Tune, resumption, failures.

Budgets are tiny (the learning is not the point): `ks` with 25-period
episodes, 100 vec-steps per trial (4 finished episodes, so best and final
returns exist), SAC and TD3 with 50 warm-up agent-steps.
"""

import argparse
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rl.config import TrainConfig
from rl.sweep import Trial, build_parser, collect_rows, config_hash, load_config, main, plan_sweep, read_log, run_sweep
from rl.sweep.rundir import read_trial, write_trial

ROOT = Path(__file__).resolve().parents[1]

TINY = {"experiments": ["ks"], "algorithms": ["sac", "td3"], "n_agents": [2, 3], "seeds": [0, 1],
        "presets": ["tuned"], "steps_per_agent": [100], "overrides": {"episode_length": 25},
        "hyper": {"learning_starts": 50, "batch_size": 64}}
"""2 algorithms x 2 N x 2 seeds; about a second of training per trial."""

COMPARED = ("run", "experiment", "algorithm", "N", "seed", "timesteps", "best_return", "final_return", "status")
"""Summary columns that must agree between backends for the same seeds (wall-clock excluded)."""


def _cli_args(grid: dict, out) -> list:
    args = ["run", "--out", str(out), "--quiet"]
    for key in ("experiments", "algorithms", "n_agents", "seeds", "presets", "steps_per_agent"):
        args += [f"--{key.replace('_', '-')}", *map(str, grid[key])]
    args += [arg for field, value in grid.get("overrides", {}).items() for arg in ("--set", f"{field}={value}")]
    for name, value in grid.get("hyper", {}).items():
        if isinstance(value, dict):
            args += [arg for sub, v in value.items() for arg in ("--hyper", f"{name}:{sub}={v}")]
        else:
            args += ["--hyper", f"{name}={value}"]
    return args


FAILING = {**TINY, "algorithms": ["ppo"], "n_agents": [2], "seeds": [0], "hyper": {"batch_size": 1}}
"""A trial that fails at every attempt: SB3 refuses PPO with batch_size 1 (an AssertionError in its constructor)."""


def _sweep_through_cli(out, grid=(TINY, FAILING), **execution) -> tuple:
    """The tiny sweep plus the failing trial (or the blocks ``grid``), from a JSON config file through ``main``;
    (exit code, stderr)."""
    config = out / "sweep.json"
    config.write_text(json.dumps({"retries": 1, **execution, "grid": list(grid)}))
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr):
        exit_code = main(["run", "--config", str(config), "--out", str(out), "--quiet"])
    return exit_code, stderr.getvalue()


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    return (out, *_sweep_through_cli(out, workers=2))


def _compared(directory) -> list:
    return [{k: r[k] for k in COMPARED} for r in collect_rows(directory)]


# ---------------------------------------------------------------------------------------------------------------
# planning and bad input


def test_plan_names_trials_by_config_hash():
    trials = plan_sweep([TINY])
    assert len(trials) == 8
    assert {t.name.rsplit("-", 1)[0] for t in trials} == {
        f"ks-{a}-N{n}-s{s}" for a in ("sac", "td3") for n in (2, 3) for s in (0, 1)}
    assert all(len(t.name.rsplit("-", 1)[1]) == 8 for t in trials)
    assert [t.name for t in plan_sweep([TINY])] == [t.name for t in trials]  # stable
    # the hash covers the resolved configuration: the same training under another budget spelling is the same run
    total = {**TINY, "steps_per_agent": None, "timesteps": [200], "n_agents": [2]}
    by_total = {t.name for t in plan_sweep([total])}
    assert by_total <= {t.name for t in trials}
    # ... and any change of the experiment or hyperparameters is a different run
    other = plan_sweep([{**TINY, "overrides": {"episode_length": 26}}])
    assert not {t.name for t in other} & {t.name for t in trials}
    # PPO's rollout length goes to PPO trials only
    mixed = plan_sweep([{**TINY, "algorithms": ["sac", "ppo"], "hyper": {}, "n_steps": 16}])
    assert {t.config.algo: t.config.n_steps for t in mixed} == {"sac": None, "ppo": 16}


def test_recipe_trials_take_the_recipe_and_the_grid_budget():
    from rl.recipes import recipe
    grid = {"experiments": ["ks"], "algorithms": ["ppo"], "n_agents": [10, 20], "steps_per_agent": [1000],
            "recipe": True, "hyper": {"n_epochs": 3}}
    trials = plan_sweep([grid])
    ks = recipe("ks", "ppo")
    for trial in trials:
        c = trial.config
        assert (c.preset, c.n_economies) == (ks["preset"], ks["n_economies"])
        assert c.hyper_overrides == {**ks["hyper_overrides"], "n_epochs": 3}  # the block's hyper on top
        assert c.timesteps == 1000 * c.n_agents * ks["n_economies"]  # the grid's budget, not the recipe's
        assert c.checkpoint_every > c.timesteps
    # the block's n_economies replaces the recipe's; the recipe makes a different run than the bare preset
    two = plan_sweep([{**grid, "n_economies": 2}])
    assert {t.config.n_economies for t in two} == {2}
    bare = plan_sweep([{**grid, "recipe": False, "presets": [ks["preset"]]}])
    assert not {t.name for t in bare} & {t.name for t in trials}
    # the command line's --recipe sets it for every block
    parsed = build_parser().parse_args(["run", "--out", "x", "--recipe", "--experiments", "ks"])
    assert parsed.recipe is True


def test_trial_json_round_trips_the_train_config(tmp_path):
    trials = plan_sweep([{**TINY, "algorithms": ["ppo"], "hyper": {"n_epochs": 3}, "n_steps": 16,
                          "vary": {"episode_length": [25, 30]}}])
    for trial in trials:
        assert isinstance(trial.config, TrainConfig) and trial.config.threads == 1
        assert config_hash(trial.config)[:8] == trial.name[-8:]
        write_trial(tmp_path / trial.name, trial)
        assert read_trial(tmp_path / trial.name) == trial
    # a trial.json written before trials held a TrainConfig (flat fields, 'algorithm') still reads
    trial = trials[0]
    c = trial.config
    legacy = {"name": trial.name, "experiment": c.experiment, "algorithm": c.algo, "n_agents": c.n_agents,
              "seed": c.seed, "preset": c.preset, "timesteps": c.timesteps, "steps_per_agent": trial.steps_per_agent,
              "n_economies": c.n_economies, "n_steps": c.n_steps, "overrides": c.overrides,
              "hyper_overrides": c.hyper_overrides, "config_hash": config_hash(c)}
    assert Trial.from_json(legacy) == trial


@pytest.mark.parametrize("change, message", [
    ({"experiments": ["kss"]}, "unknown experiment 'kss'"),
    ({"algorithms": ["sac", "a2c"]}, "unknown algorithm 'a2c'"),
    ({"presets": ["fast"]}, "unknown preset 'fast'"),
    ({"n_agents": [0]}, "n_agents must be integers >= 1"),
    ({"experiments": ["general"], "n_agents": [10]}, "n_agents for 'general' must be a perfect square"),
    ({"seeds": []}, "empty grid: 'seeds' has no values"),
    ({"steps_per_agent": None}, "give exactly one budget"),
    ({"timesteps": [100]}, "give exactly one budget"),
    ({"overrides": {"beta": 1.5}}, "beta"),
    ({"overrides": {"gamma": 0.9}}, "gamma"),
    ({"hyper": {"gamma": 0.9}}, "gamma cannot be set"),
    ({"hyper": {"ppo": {"n_epochs": 3}}}, "hyper.ppo is given but 'ppo' is not in 'algorithms'"),
    ({"n_economies": 0}, "n_economies must be integers >= 1"),
    ({"n_agnets": [2]}, "unknown sweep setting(s) 'n_agnets'"),
    ({"recipe": True}, "either 'recipe = true'"),
    ({"recipe": "yes", "presets": None}, "recipe must be true or false"),
    ({"recipe": True, "presets": None, "algorithms": ["ddpg"], "experiments": ["rbc"]},
     "no 'ddpg' recipe for 'rbc'"),
])
def test_plan_refuses_bad_input_naming_the_parameter(change, message):
    with pytest.raises(ValueError) as info:
        plan_sweep([{**TINY, **change}])
    assert message in str(info.value)


def test_command_line_reports_bad_input(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(_cli_args({**TINY, "experiments": ["kss"]}, tmp_path))
    assert info.value.code == 2
    assert "unknown experiment 'kss'" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_command_line_help_lists_commands_and_defaults(capsys):
    for argv in (["--help"], ["run", "--help"], ["summarize", "--help"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "run run (or resume) a sweep" in text and "summarize rebuild summary.csv" in text
    assert "seeds (default: 0)" in text and "failed trial (default: 1)" in text
    (commands,) = [a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    for name, sub in commands.choices.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help and ("default" in action.help or action.const is True), (name, action.dest)


def test_config_file_blocks_and_errors(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text(
        'algorithms = ["sac", "ppo"]\nseeds = [0, 1]\npresets = "tuned"\nsteps_per_agent = 500\nworkers = 1\n'
        '[hyper.ppo]\nbatch_size = 64\n'
        '[[grid]]\nexperiments = ["ks"]\nn_agents = [10, 20]\n'
        '[[grid]]\nexperiments = ["general"]\nn_agents = [9, 16]\n')
    blocks, execution = load_config(config)
    trials = plan_sweep(blocks)
    assert execution == {"workers": 1}
    assert len(trials) == 16
    assert {(t.config.experiment, t.config.n_agents) for t in trials} == {
        ("ks", 10), ("ks", 20), ("general", 9), ("general", 16)}
    assert {t.config.timesteps for t in trials if t.config.n_agents == 16} == {500 * 16}
    assert all(t.config.hyper_overrides == ({"batch_size": 64} if t.config.algo == "ppo" else {})
               for t in trials)
    as_json = tmp_path / "sweep.json"
    as_json.write_text(json.dumps({"experiments": "ks", "algorithm": "sac"}))
    with pytest.raises(ValueError, match="unknown key.*'algorithm'"):
        load_config(as_json)


# ---------------------------------------------------------------------------------------------------------------
# running


def test_local_sweep_writes_run_dirs_summary_and_figures(local_sweep):
    out, _, _ = local_sweep
    rows = [r for r in collect_rows(out) if r["algorithm"] != "ppo"]
    assert [r["status"] for r in rows] == ["ok"] * 8
    assert all(r["best_return"] >= r["final_return"] and r["timesteps"] == 100 * r["N"] for r in rows)
    for row in rows:
        run = out / "runs" / row["run"]
        assert {"trial.json", "config.json", "summary.json", "returns.csv", "model.zip", "train.log"} <= {
            p.name for p in run.iterdir()}
        assert json.loads((run / "config.json").read_text())["threads"] == 1
    csv_lines = (out / "summary.csv").read_text().splitlines()
    assert csv_lines[0].startswith("experiment,algorithm,N,seed,preset,timesteps,best_return,final_return,"
                                   "wall_clock_seconds,status")
    assert len(csv_lines) == 1 + 9
    markdown = (out / "summary.md").read_text()
    assert "| ks | sac | 2 | 0 | tuned | 200 |" in markdown and "Mean ± 2 sd over seeds" in markdown
    assert (out / "figures" / "scaling-ks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # run again: everything complete is skipped, nothing is trained (the failed trial is not part of this grid)
    again = run_sweep(plan_sweep([TINY]), out, quiet=True)
    assert set(again.skipped) == {r["run"] for r in rows} and not again.completed


def test_failing_trial_is_retried_then_reported(local_sweep):
    out, exit_code, stderr = local_sweep
    assert exit_code == 1
    (row,) = [r for r in collect_rows(out) if r["algorithm"] == "ppo"]
    assert f"FAILED {row['run']}" in stderr
    assert row["status"] == "failed" and "batch_size" in row["error"] and row["best_return"] is None
    error = json.loads((out / "runs" / row["run"] / "error.json").read_text())
    assert len(error["attempts"]) == 2 and "Traceback" in error["attempts"][0]["traceback"]
    assert "failed (AssertionError" in (out / "summary.md").read_text()
    events = [e["event"] for e in read_log(out) if e["trial"] == row["run"]]
    assert events == ["start", "retry", "start", "failed"]


def test_summarize_rebuilds_from_run_dirs_alone(local_sweep, tmp_path, capsys):
    out, _, _ = local_sweep
    copy = tmp_path / "copy"
    for run in (out / "runs").iterdir():
        (copy / "runs" / run.name).mkdir(parents=True)
        for name in ("trial.json", "summary.json", "error.json"):
            if (run / name).exists():
                (copy / "runs" / run.name / name).write_bytes((run / name).read_bytes())
    assert main(["summarize", str(copy), "--no-scores"]) == 1  # one trial failed (no models: the summary only)
    assert (copy / "summary.csv").read_text() == (out / "summary.csv").read_text()
    assert "| ks | td3 | 3 | 1 | tuned | 300 |" in capsys.readouterr().out


def test_killed_sweep_reruns_only_the_missing_trials(local_sweep, tmp_path):
    grid = {**TINY, "algorithms": ["td3"], "n_agents": [2], "seeds": [0, 1]}
    out = tmp_path / "sweep"
    process = subprocess.Popen([sys.executable, "-m", "rl.sweep", *_cli_args(grid, out), "--workers", "1"],
                               cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while not list(out.glob("runs/*/summary.json")):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no trial completed within 120 s"
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the sweep and its pool worker: the process group it leads
        process.wait()
        process.stderr.close()
    done_before = {p.parent.name: p.stat().st_mtime_ns for p in out.glob("runs/*/summary.json")}
    assert len(done_before) == 1

    assert main(_cli_args(grid, out)) == 0
    log = read_log(out)
    rerun = [e for e in log if e["invocation"] == log[-1]["invocation"]]
    started = {e["trial"] for e in rerun if e["event"] == "start"}
    skipped = {e["trial"] for e in rerun if e["event"] == "skip"}
    assert skipped == set(done_before)
    assert started == {p.name for p in (out / "runs").iterdir()} - set(done_before) and len(started) == 1
    assert {name: (out / "runs" / name / "summary.json").stat().st_mtime_ns for name in done_before} == done_before
    assert [r["status"] for r in collect_rows(out)] == ["ok"] * 2
    # an interrupted trial resumes from its checkpoint or restarts: its numbers are those of the uninterrupted sweep
    assert _compared(out) == [row for row in _compared(local_sweep[0]) if row["run"] in started | skipped]


class _Stopped(Exception):
    """Raised by a test to stop a training run the way a kill would: after a checkpoint, before the end."""


def test_a_partial_trial_resumes_from_its_checkpoint_and_ends_as_an_uninterrupted_one(tmp_path, monkeypatch):
    """A trial stopped after a checkpoint resumes there (train.log says so) and ends with the uninterrupted trial's
    numbers and weights; its wall-clock counts the time up to the checkpoint; a completed trial keeps no checkpoint.
    A checkpoint that does not fit the trial (another seed's) is refused and the trial starts again from step 0."""
    import rl.checkpoints
    from rl.checkpoints import list_checkpoints
    from rl.sweep.run import CHECKPOINTS_PER_TRIAL, resume_step, run_trial
    from rl.train import train

    trial = plan_sweep([{**TINY, "algorithms": ["sac"], "n_agents": [2], "seeds": [0], "steps_per_agent": [300]}])[0]
    whole = run_trial(trial, tmp_path / "whole")
    assert whole["status"] == "ok" and not (tmp_path / "whole" / "checkpoints").exists()
    stopped = tmp_path / "stopped"
    every = -(-trial.config.timesteps // CHECKPOINTS_PER_TRIAL)
    prune = rl.checkpoints.drop_old_replay_buffers

    def prune_then_stop_after_the_third(directory, *args, **kwargs):  # the checkpoint is complete and pruned: a kill
        dropped = prune(directory, *args, **kwargs)
        if len(list_checkpoints(directory)) == 3:
            raise _Stopped
        return dropped

    monkeypatch.setattr(rl.checkpoints, "drop_old_replay_buffers", prune_then_stop_after_the_third)
    with pytest.raises(_Stopped):
        train(trial.config.replace(checkpoint_every=every), stopped)  # what run_trial trains, stopped after the 3rd
    monkeypatch.undo()
    checkpoints = list_checkpoints(stopped / "checkpoints")  # newest first
    assert len(checkpoints) == 3 and not (stopped / "summary.json").exists() and not (stopped / "model.zip").exists()
    seconds_at_checkpoint = json.loads((checkpoints[0] / "state.json").read_text())["callbacks"]["returns"]["seconds"]
    step = int(checkpoints[0].name.split("_")[1])
    assert resume_step(stopped) == step
    sweep_dir = tmp_path / "sweep"  # --dry-run says where the trial resumes
    (sweep_dir / "runs").mkdir(parents=True)
    shutil.copytree(stopped, sweep_dir / "runs" / trial.name)
    grid = {**TINY, "algorithms": ["sac"], "n_agents": [2], "seeds": [0], "steps_per_agent": [300]}
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        assert main(_cli_args(grid, sweep_dir) + ["--dry-run"]) == 0
    assert f"incomplete {trial.name} timesteps={trial.config.timesteps} resumes_at={step}" in output.getvalue()
    resumed = run_trial(trial, stopped)
    assert resumed["status"] == "ok" and "[sweep] resuming the trial" in (stopped / "train.log").read_text()
    assert f"resuming from {checkpoints[0]}" in (stopped / "train.log").read_text()
    for key in ("timesteps", "best_return", "final_return"):
        assert resumed["summary"][key] == whole["summary"][key]
    assert (stopped / "returns.csv").read_text().splitlines()[1:] != []
    assert _weights(stopped) == _weights(tmp_path / "whole")
    assert resumed["summary"]["wall_clock_seconds"] >= seconds_at_checkpoint
    assert not (stopped / "checkpoints").exists()

    other = tmp_path / "other"
    train(trial.config.replace(seed=5, checkpoint_every=every), other)
    (other / "summary.json").unlink()
    restarted = run_trial(trial, other)
    assert restarted["status"] == "ok" and "cannot resume" in (other / "train.log").read_text()
    assert restarted["summary"]["final_return"] == whole["summary"]["final_return"]
    assert _weights(other) == _weights(tmp_path / "whole")


def _weights(run) -> dict:
    import zipfile

    import torch
    with zipfile.ZipFile(run / "model.zip") as archive:
        tensors = torch.load(io.BytesIO(archive.read("policy.pth")), weights_only=True)
    return {name: tensor.tolist() for name, tensor in tensors.items()}


# ---------------------------------------------------------------------------------------------------------------
# Ray Tune


@pytest.fixture(scope="module")
def ray_session():
    """A private local Ray instance for this module: 2 CPUs, no dashboard, no usage reporting.

    Ray 2.x turns a loopback node address into the machine's own IP and its
    servers listen on every interface; with the dashboard off (and Ray's
    default token authentication) this is as close to loopback-only as
    ``ray.init`` allows.
    """
    ray = pytest.importorskip("ray", reason="Ray Tune is the optional extra 'ray': pip install 'marl-bc[ray]'")
    pytest.importorskip("ray.tune", reason="Ray is installed without Tune: pip install 'ray[tune]'")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(address="local", include_dashboard=False, num_cpus=2, log_to_driver=False)
    yield ray
    ray.shutdown()


RAY_GRID = ({**TINY, "algorithms": ["td3"], "n_agents": [2]}, FAILING)
"""Three trials of the local sweep (two seeds and the failing trial): Ray's start-up dominates the test's time."""


def test_ray_tune_sweep_gives_the_local_rows(ray_session, local_sweep, tmp_path):
    exit_code, stderr = _sweep_through_cli(tmp_path, RAY_GRID, ray_address="auto")  # the session's connection
    assert exit_code == 1 and "FAILED ks-ppo-N2-s0-" in stderr
    assert (tmp_path / "ray").is_dir()  # Tune's own results stay inside the sweep directory
    names = {trial.name for trial in plan_sweep(list(RAY_GRID))}
    assert len(names) == 3 and {row["run"] for row in _compared(tmp_path)} == names
    # the same trials of the local sweep: same seeds, same numbers; the failure too
    assert _compared(tmp_path) == [row for row in _compared(local_sweep[0]) if row["run"] in names]
    (failed,) = [r for r in collect_rows(tmp_path) if r["status"] != "ok"]
    assert len(json.loads((tmp_path / "runs" / failed["run"] / "error.json").read_text())["attempts"]) == 2
