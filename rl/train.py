"""Train households with one shared SB3 policy: ``python -m rl.train EXPERIMENT --algo sac ...``.

The discount factor is always the calibration's beta (docs/model.md):
training with any other gamma solves a different problem, so there is no
``--gamma``.  ``--timesteps`` counts agent-steps (SB3's convention: one VecEnv
step of ``n_agents * n_economies`` slots is that many timesteps).

The run directory holds ``config.json`` (resolved experiment, algorithm,
hyperparameters, seed, package versions; written atomically), TensorBoard logs
(``tb/``), periodic checkpoints (``checkpoints/``, written atomically as a set:
:mod:`rl.checkpoints`) and the final ``model.zip`` (written to a temporary
file and renamed).  ``--resume`` continues from the newest complete checkpoint
exactly as the uninterrupted run would have; a directory holding a different
run is refused without ``--overwrite``; one process at a time writes a run
directory (a lock).  Details: docs/training.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path
from typing import Callable, Optional

import gymnasium
import numpy as np
import stable_baselines3
import torch
from stable_baselines3.common.callbacks import CallbackList

from econ.experiments import make_experiment
from econ.cli_help import ArgumentParser
from econ.io import DirectoryBusy, exclusive_lock, jsonable, write_json_atomic
from rl.advantages import AdvantageLambdaAnnealing, ExpectedNextValue, GroupAdvantageNormalisation, group_columns
from rl.callbacks import (ActionNoiseAnnealing, BenchmarkEvalCallback, CriticWatch, EntropyAnnealing,
                          ExplorationAnnealing, PolicyAveraging, ReturnTracker, ValueNormalisation,
                          critic_explained_variance, critic_warning, has_benchmark, truncate_rows)
from rl.behaviour import BehaviourSnapshots, check_snapshot_every
from rl.checkpoints import CheckpointCallback, latest_checkpoint, load_checkpoint, remove_later_than
from rl.core import check_shock_expectation
from rl.config import SettingError, TrainConfig, add_arguments, flag_of, from_arguments
from rl.evaluation import Evaluator, ScorecardEvalCallback
from rl.loading import OFF_POLICY, build_model, load_model, model_class, restore_unsaved
from rl import polish_checkpoint
from rl.polish_rounds import check_polishable, polish
from rl.provenance import code_version, machine
from rl.recipes import (CENTRE_BY_TYPE, LinearSchedule, centred, check_center_rewards, hyperparameters, recipe,
                        reward_offset, sb3_kwargs, type_reward_offsets, type_policy_kwargs)
from rl.vec_env import EconomyVecEnv

_LinearSchedule = LinearSchedule
"""Models saved before the recipes moved to :mod:`rl.recipes` pickle their learning-rate schedule under this name."""


def _versions() -> dict:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "stable_baselines3": stable_baselines3.__version__,
        "gymnasium": gymnasium.__version__,
    }


RUN_OUTPUTS = ("checkpoints", "tb", "returns.csv", "evaluations.csv", "summary.json", "model.zip")
"""What a run writes besides config.json: removed when a run starts from the beginning."""

POLISHING_OUTPUTS = ("trained.json", "model-unpolished.zip", "polishing")
"""What a run with a ``polish`` setting writes when its training ends, before polishing: the training's summary, the
policy before the polishing, and the polishing's state after each complete round (:mod:`rl.polish_checkpoint`;
removed when the run ends).  ``--resume`` continues an interrupted polishing from them; removed when a run starts
from the beginning or resumes its training from a checkpoint (they come after it)."""

LOCK_NAME = ".lock"
"""The lock file of a run directory (one writer at a time, :func:`run_lock`)."""


RunDirectoryBusy = DirectoryBusy
"""Another process writes to the run directory (:func:`run_lock`)."""


def run_lock(directory: Path):
    """Hold the exclusive lock of a run directory or refuse at once (one writer per run)."""
    return exclusive_lock(directory, LOCK_NAME, "a training run", "wait for it to finish or choose another --out")


def run_identity(record: dict) -> dict:
    """What must be equal for a run to continue another: every setting but the budget (plain JSON)."""
    train_config = dict(record["train_config"])
    train_config.pop("timesteps", None)
    identity = {"train_config": train_config, "experiment": record["experiment"],
                "algorithm": record["algorithm"], "hyperparameters": record["hyperparameters"]}
    if record.get("evaluation") is not None:  # an injected scorecard's settings (absent from earlier runs)
        identity["evaluation"] = record["evaluation"]
    return json.loads(json.dumps(identity))


def _differences(requested: dict, stored: dict) -> str:
    """The settings in which two identities differ, as one line."""
    parts = []
    for key in sorted(set(requested) | set(stored)):
        a, b = requested.get(key), stored.get(key)
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict) and key != "hyperparameters":
            parts.extend(f"{name}: {a.get(name)!r} here, {b.get(name)!r} in the run"
                         for name in sorted(set(a) | set(b)) if a.get(name) != b.get(name))
        else:
            parts.append(f"{key}: {a!r} here, {b!r} in the run")
    return "; ".join(parts)


def _stored_record(out: Path) -> Optional[dict]:
    path = out / "config.json"
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
        run_identity(record)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise ValueError(f"{path} is not the config.json of a run of this project; choose another --out") from None
    return record


def _plan(out: Path, identity: dict, timesteps: int, resume: bool, overwrite: bool):
    """Decide, reading only, how the run starts: ``None`` (from the beginning) or the checkpoint to resume.

    Raises ``ValueError`` when the request does not fit what the directory holds.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a run directory")
    stored = _stored_record(out)
    if not resume:
        if stored is not None and not overwrite and (run_identity(stored) != identity
                                                     or int(stored.get("timesteps", -1)) != timesteps):
            difference = _differences(identity, run_identity(stored)) or \
                f"timesteps: {timesteps} here, {stored.get('timesteps')} in the run"
            raise ValueError(f"{out} holds a different run ({difference}); give --overwrite to replace it, "
                             f"--resume to continue it, or another --out")
        return None
    if stored is None:
        raise ValueError(f"resume: {out} holds no run (no config.json)")
    if run_identity(stored) != identity:
        raise ValueError(f"resume: the requested run differs from the one in {out} "
                         f"({_differences(identity, run_identity(stored))})")
    if timesteps < int(stored["timesteps"]):
        raise ValueError(f"resume: timesteps {timesteps} is below the run's budget {stored['timesteps']} "
                         f"(only a larger budget may be given)")
    found = latest_checkpoint(out / "checkpoints")
    if found is None:
        return None
    folder, manifest = found
    if manifest.get("identity") != identity:
        raise ValueError(f"resume: checkpoint {folder} belongs to another run "
                         f"({_differences(identity, manifest.get('identity') or {})})")
    if manifest["step"] > timesteps:
        raise ValueError(f"resume: checkpoint {folder.name} is past the budget of {timesteps} timesteps")
    return folder, manifest


def _sittings(out: Path, record: dict, step: int) -> list:
    """Every sitting of the run in ``out`` (a start, then each resume): the agent-step it started from, the code and
    the machine.  ``code`` and ``machine`` of ``config.json`` are the last sitting's; the list keeps the earlier ones,
    because the same seed gives the same numbers only on one CPU kind and at one commit."""
    earlier = []
    if step > 0:
        stored = _stored_record(out) or {}
        earlier = [s for s in stored.get("sittings") or
                   [{"from_step": 0, "code": stored.get("code"), "machine": stored.get("machine")}]
                   if int(s["from_step"]) < step]
    return earlier + [{"from_step": int(step), "code": record["code"], "machine": record["machine"]}]


def _remove(path: Path) -> None:
    """Delete a run output; a symbolic link is removed itself, never what it points to."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def train(config: TrainConfig, out, *, resume: bool = False, overwrite: bool = False, progress: bool = False,
          argv: Optional[list] = None, on_evaluation: Optional[Callable[[dict], bool]] = None,
          evaluator: Optional[Evaluator] = None, stop_at_target: bool = False) -> dict:
    """Train the run ``config`` into the directory ``out`` (see the module docstring); returns ``summary.json``'s content.

    ``resume`` continues from the newest complete checkpoint in ``out`` (or
    from the beginning if there is none yet), provided the run there is the
    same (every setting but a larger ``timesteps``); ``overwrite`` replaces a
    different run that ``out`` holds (without it that is refused);
    ``progress`` shows SB3's progress bar; ``argv`` is recorded in
    ``config.json``; ``on_evaluation`` is called with every evaluation against
    the benchmark and stops training by returning False.  ``evaluator``
    (:class:`rl.evaluation.Evaluator`, built by the caller, e.g.
    :class:`validation.training_eval.SameEconomyEvaluator`) scores the policy
    every ``config.eval_every`` agent-steps instead of the one-household
    benchmark (:class:`rl.evaluation.ScorecardEvalCallback`); with
    ``stop_at_target`` training stops at the first evaluation whose judged rows
    all pass.  Every check happens before anything is written.
    Raises ``ValueError`` for an override of an unknown field, an unknown SB3
    hyperparameter, incompatible settings (``n_steps`` for an off-policy
    algorithm, evaluation targets for an experiment without a per-state
    benchmark), a request that does not fit ``out``, and
    :class:`RunDirectoryBusy` when another process writes to ``out``.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be an rl.config.TrainConfig, got {type(config).__name__}")
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other: continue the run or replace it")
    c = config
    experiment, algo, timesteps, seed = c.experiment, c.algo, c.timesteps, c.seed
    eval_every, target_welfare_loss, target_policy_error = c.eval_every, c.target_welfare_loss, c.target_policy_error
    try:
        exp = make_experiment(experiment, c.n_agents, **c.overrides)
    except ValueError as err:
        raise SettingError("overrides", str(err)) from None
    try:
        hyper = hyperparameters(algo, c.preset, exp.beta, c.n_steps, c.hyper_overrides)
        sb3_kwargs(hyper, exp)
    except ValueError as err:
        raise SettingError("hyper_overrides", str(err)) from None
    try:
        check_center_rewards(hyper.get("center_rewards", False), exp)
    except ValueError as err:
        raise SettingError("hyper_overrides", str(err)) from None
    if hyper.get("expected_next_value"):
        try:
            check_shock_expectation(exp)
        except ValueError as err:
            raise SettingError("hyper_overrides", str(err)) from None
    for key in ("critic_per_type", "actor_per_type"):
        if hyper.get(key):
            try:
                type_policy_kwargs(exp, key, hyper.get("household_types"))
            except ValueError as err:
                raise SettingError("hyper_overrides", str(err)) from None
    for key in ("advantage_groups", "actor_groups", "critic_groups"):
        if hyper.get(key) is not None:
            try:
                group_columns(exp, hyper[key], key)
            except ValueError as err:
                raise SettingError("hyper_overrides", str(err)) from None
    if hyper.get("polish") is not None:
        try:
            check_polishable(exp, hyper["polish"].get("margin", "intratemporal"))
        except ValueError as err:
            raise SettingError("hyper_overrides", str(err)) from None
    if hyper.get("behaviour_snapshot_every") is not None:
        try:
            check_snapshot_every(hyper["behaviour_snapshot_every"], c.checkpoint_every)
        except ValueError as err:
            raise SettingError("hyper_overrides", str(err)) from None
    if evaluator is not None:
        if not isinstance(evaluator, Evaluator):
            raise TypeError(f"evaluator must follow rl.evaluation.Evaluator, got {type(evaluator).__name__}")
        if target_welfare_loss is not None or target_policy_error is not None:
            raise ValueError("an evaluator brings its own targets: give it without target_welfare_loss and "
                             "target_policy_error")
        if eval_every is None:
            raise ValueError("an evaluator needs eval_every (agent-steps between evaluations)")
        if getattr(evaluator, "experiment", exp) != exp:
            raise ValueError(f"the evaluator scores {evaluator.experiment.name!r} with N = "
                             f"{evaluator.experiment.num_agents} and its overrides, not the experiment trained "
                             f"here ({experiment!r}, N = {exp.num_agents}, overrides {c.overrides})")
    elif stop_at_target:
        raise ValueError("stop_at_target needs an evaluator (whose judged rows are the targets)")
    wants_eval = evaluator is None and (eval_every is not None or target_welfare_loss is not None
                                        or target_policy_error is not None)
    if wants_eval and not has_benchmark(exp):
        raise ValueError(f"evaluation against a benchmark needs a one-household AR(1) experiment "
                         f"(rbc, rbc-full-depreciation); {experiment!r} with N = {exp.num_agents} has none here "
                         f"(the Krusell-Smith scorecards evaluate during training through python -m "
                         f"validation.compare EXPERIMENT --train --eval-every N)")
    if target_policy_error is not None and target_welfare_loss is None:
        raise ValueError("target_policy_error is checked together with target_welfare_loss: give both")
    if wants_eval and eval_every is None:
        eval_every = 5_000
    out = Path(out)
    record = {
        "experiment": jsonable(exp),
        "experiment_name": experiment,
        "algorithm": algo,
        "preset": c.preset,
        "hyperparameters": jsonable(hyper),
        "seed": seed,
        "n_agents": exp.num_agents,
        "n_economies": c.n_economies,
        "num_envs": exp.num_agents * c.n_economies,
        "timesteps": int(timesteps),
        "overrides": jsonable(c.overrides),
        "threads": c.threads,
        "train_config": jsonable(c.as_dict()),
        "argv": list(argv) if argv is not None else None,
        "versions": _versions(),
        "code": code_version(),
        "machine": machine(),
    }
    if evaluator is not None:
        record["evaluation"] = {**jsonable(evaluator.describe()), "eval_every": int(eval_every),
                                "stop_at_target": bool(stop_at_target)}
    identity = run_identity(record)
    _plan(out, identity, int(timesteps), resume, overwrite)  # refuse before writing anything
    out.mkdir(parents=True, exist_ok=True)
    with run_lock(out):
        return _train_locked(c, out, exp, hyper, record, identity, resume, overwrite, progress,
                             eval_every, wants_eval, on_evaluation, evaluator, stop_at_target)


def _train_locked(c, out, exp, hyper, record, identity, resume, overwrite, progress, eval_every, wants_eval,
                  on_evaluation, injected, stop_at_target) -> dict:
    algo, timesteps, seed = c.algo, int(c.timesteps), c.seed
    checkpoints = out / "checkpoints"
    start_from = _plan(out, identity, timesteps, resume, overwrite)  # again, now that no one else writes
    trained = _trained(out, identity, timesteps) if resume and hyper.get("polish") is not None else None
    if trained is not None:  # the training ended; its polishing did not
        write_json_atomic(out / "config.json", {**record, "sittings": _sittings(out, record, timesteps)})
        return _polish_locked(c, out, exp, hyper, trained)
    for name in POLISHING_OUTPUTS:  # they come after any checkpoint resumed from
        _remove(out / name)
    if start_from is None:
        if resume:
            print(f"resume: no complete checkpoint in {checkpoints}: starting from the beginning")
        for name in RUN_OUTPUTS:
            _remove(out / name)
    else:
        step = start_from[1]["step"]
        remove_later_than(checkpoints, step)
        for name in ("returns.csv", "evaluations.csv"):
            truncate_rows(out / name, step)
        for name in ("summary.json", "model.zip"):
            _remove(out / name)
    record = {**record, "sittings": _sittings(out, record, 0 if start_from is None else start_from[1]["step"])}
    write_json_atomic(out / "config.json", record)

    torch.set_num_threads(c.threads)
    env = EconomyVecEnv(exp, n_economies=c.n_economies, seed=seed)
    if hyper.get("center_rewards") == CENTRE_BY_TYPE:
        env = centred(env, type_reward_offsets(exp))
    elif hyper.get("center_rewards"):
        env = centred(env, reward_offset(exp))
    algo_class = model_class(algo, hyper)
    off_policy = algo in OFF_POLICY
    callback_state = {}
    if start_from is None:
        model = build_model(algo, hyper, exp, seed=seed, env=env)
        model.tensorboard_log = str(out / "tb")
    else:
        model, callback_state = load_checkpoint(start_from[0], algo_class, env, replay_buffer=off_policy)
        restore_unsaved(model, hyper, exp)
        model.tensorboard_log = str(out / "tb")
        print(f"resuming from {start_from[0]} at {model.num_timesteps} timesteps")
    if model.gamma != exp.beta:
        raise RuntimeError(f"gamma {model.gamma} differs from beta {exp.beta}")

    tracker = ReturnTracker(out / "returns.csv")
    stateful = {"returns": tracker}
    callbacks = [tracker]
    if hyper.get("log_std_final") is not None:
        stateful["exploration"] = ExplorationAnnealing(hyper["log_std_final"], timesteps)
        callbacks.append(stateful["exploration"])
    if hyper.get("policy_averaging") is not None:  # after the log-std bound: it averages the bounded weights
        stateful["averaging"] = PolicyAveraging(float(hyper["policy_averaging"]), timesteps)
        callbacks.append(stateful["averaging"])
    if hyper.get("action_noise_final") is not None:
        callbacks.append(ActionNoiseAnnealing(float(hyper["action_noise_std"]), float(hyper["action_noise_final"]),
                                              timesteps))
    if hyper.get("behaviour_snapshot_every") is not None:
        callbacks.append(BehaviourSnapshots(int(hyper["behaviour_snapshot_every"])))
    if hyper.get("expected_next_value") and algo == "ppo":  # off-policy: in the critic targets (rl.sac, rl.td3)
        value_lambda, value_schedule = hyper.get("value_lambda"), None
        if hyper.get("gae_lambda_final") is not None:
            initial = float(hyper.get("gae_lambda", 0.95))  # SB3's default; the critic keeps it unless told
            value_lambda = initial if value_lambda is None else value_lambda
            start = float(hyper.get("gae_lambda_anneal_start", 0.0))
            callbacks.append(AdvantageLambdaAnnealing(initial, float(hyper["gae_lambda_final"]), timesteps, start))
            if hyper.get("value_lambda_final") is not None:  # the critic's lambda on the same schedule
                value_schedule = AdvantageLambdaAnnealing(float(value_lambda), float(hyper["value_lambda_final"]),
                                                          timesteps, start).value_at
        callbacks.append(ExpectedNextValue(exp, value_lambda, bool(hyper.get("mean_action_baseline", False)),
                                           value_schedule, bool(hyper.get("per_action_advantages", False)),
                                           bool(hyper.get("antithetic_advantages", False)),
                                           bool(hyper.get("fixed_saving_labour", False))))
    if hyper.get("advantage_groups") is not None:  # after the advantages are final
        until = hyper.get("advantage_groups_until")
        callbacks.append(GroupAdvantageNormalisation(exp, hyper["advantage_groups"],
                                                     None if until is None else int(float(until) * timesteps),
                                                     float(hyper.get("advantage_groups_balance", 0.0))))
    if hyper.get("value_normalisation") is not None:  # after the callbacks that finish the rollout's returns
        callbacks.append(ValueNormalisation(hyper["value_normalisation"]))
    if algo == "ppo":  # after the callbacks that finish the rollout's returns
        callbacks.append(CriticWatch())
    if hyper.get("target_entropy_final") is not None:
        initial = hyper.get("target_entropy", "auto")
        initial = -float(exp.action_size) if initial == "auto" else float(initial)  # SB3's "auto": -dim(A)
        callbacks.append(EntropyAnnealing(initial, float(hyper["target_entropy_final"]), timesteps,
                                           float(hyper.get("target_entropy_anneal_start", 0.0))))
    evaluator = None
    if wants_eval:
        evaluator = BenchmarkEvalCallback(exp, eval_every, log_path=out / "evaluations.csv",
                                          target_welfare_loss=c.target_welfare_loss,
                                          target_policy_error=c.target_policy_error, seed=seed,
                                          on_evaluation=on_evaluation, averaging=stateful.get("averaging"))
        stateful["evaluation"] = evaluator
        callbacks.append(evaluator)
    elif injected is not None:
        evaluator = ScorecardEvalCallback(injected, int(eval_every), log_path=out / "evaluations.csv",
                                          stop_at_target=stop_at_target, on_evaluation=on_evaluation,
                                          averaging=stateful.get("averaging"))
        stateful["evaluation"] = evaluator
        callbacks.append(evaluator)
    for name, state in callback_state.items():
        stateful[name].restore_state(state)
    if start_from is not None and "returns" not in callback_state:
        tracker.restore_state({"seconds": 0.0})
    # the checkpoint comes first among the callbacks: at a rollout's start it saves what the others hold then
    callbacks.insert(0, CheckpointCallback(checkpoints, c.checkpoint_every, identity, replay_buffer=off_policy,
                                           stateful=stateful))
    start = time.perf_counter()
    remaining = timesteps - model.num_timesteps
    if remaining > 0:
        model.learn(total_timesteps=remaining, callback=CallbackList(callbacks), progress_bar=progress,
                    reset_num_timesteps=start_from is None, tb_log_name=algo)
    # a resumed run counts the training up to its checkpoint too (the work redone after it once)
    seconds = time.perf_counter() - start + float(callback_state.get("returns", {}).get("seconds", 0.0))
    averaging = stateful.get("averaging")  # applied already if training stopped at a target judged on the average
    averaged = averaging.count if averaging is not None and (averaging.applied or averaging.apply(model)) else 0
    if averaged:
        print(f"model.zip holds the policy averaged over the last {averaged} rollouts")
    summary = {
        "timesteps": int(model.num_timesteps),
        "wall_clock_seconds": seconds,
        "best_return": tracker.best_return,
        "final_return": tracker.final_return,
        "evaluations": evaluator.history if evaluator is not None else [],
        "target_reached": evaluator.reached if evaluator is not None else None,
        "critic_explained_variance": critic_explained_variance(model),
        "averaged_rollouts": averaged,  # model.zip is the mean of this many rollouts' weights (policy_averaging)
        "polish": [],  # one record per polishing round (rl.polish), none without the setting
        "polish_seconds": None,  # of the wall-clock above
    }
    if hyper.get("polish") is not None:  # after the averaging: it polishes the policy model.zip would hold
        tmp = out / ".model-unpolished.tmp.zip"  # kept, so that other polishing settings need no retraining
        model.save(tmp)
        os.replace(tmp, out / "model-unpolished.zip")
        write_json_atomic(out / "trained.json", {"identity": identity, "budget": timesteps, "summary": summary})
        return _polish_locked(c, out, exp, hyper, summary, model)
    return _finish(out, model, summary)


def _trained(out: Path, identity: dict, timesteps: int) -> Optional[dict]:
    """The summary of the training that ``out`` finished before its polishing (``trained.json``), or None when it
    holds none of this run (``identity``) and budget, or no ``model-unpolished.zip`` beside it."""
    path = out / "trained.json"
    if not path.is_file() or not (out / "model-unpolished.zip").is_file():
        return None
    try:
        stored = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None  # not written whole: the training's checkpoints are the way back
    if stored.get("identity") != identity or stored.get("budget") != timesteps:
        return None
    return stored["summary"]


def _polish_locked(c, out: Path, exp, hyper: dict, summary: dict, model=None) -> dict:
    """Polish the run's trained policy (``model``, or when None its ``model-unpolished.zip``: the polishing resumed)
    with the ``polish`` setting, each complete round kept in ``out``/polishing, and finish the run."""
    if model is None:
        print(f"resume: the training ended ({summary['timesteps']} timesteps); polishing its model-unpolished.zip")
        model = load_model(out / "model-unpolished.zip", exp)
    progress = out / "polishing"
    progress.mkdir(exist_ok=True)
    began, earlier = time.perf_counter(), polish_checkpoint.elapsed(progress)  # the kept rounds' (when resumed)
    records = polish(model, exp, seed=c.seed, checkpoint=progress, **hyper["polish"])
    polish_seconds = earlier + time.perf_counter() - began  # every sitting's
    print(f"polished in {polish_seconds:.1f} s")
    summary = {**summary, "wall_clock_seconds": summary["wall_clock_seconds"] + polish_seconds,
               "polish": [r._asdict() for r in records], "polish_seconds": polish_seconds}
    summary = _finish(out, model, summary)
    shutil.rmtree(progress)
    _remove(out / "trained.json")
    return summary


def _finish(out: Path, model, summary: dict) -> dict:
    """Write the run's ``model.zip`` and ``summary.json`` (each atomically, the summary last) and report."""
    tmp = out / ".model.tmp.zip"
    model.save(tmp)
    os.replace(tmp, out / "model.zip")
    write_json_atomic(out / "summary.json", summary)
    warning = critic_warning(summary["critic_explained_variance"])
    if warning is not None:
        print(warning)
    print(f"saved {out / 'model.zip'} after {summary['timesteps']} timesteps ({summary['wall_clock_seconds']:.1f} s)")
    return summary


def build_parser(recipe: bool = False) -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="python -m rl.train", description=__doc__.split("\n\n")[0])
    add_arguments(parser, recipe=recipe)
    parser.add_argument("--recipe", action="store_true",
                        help="start from the experiment's recipe for --algo (rl/hyperparams/ALGO.yml); options "
                             "given on the command line replace its values (default: off)")
    parser.add_argument("--out", type=Path, required=True, help="run directory (required)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its newest complete checkpoint (the same settings; "
                        "a larger --timesteps may be given) (default: off)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a different run that --out holds (without it, that is refused) (default: off)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (default: off, a bar is shown)")
    return parser


def main(argv=None) -> int:
    argv_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(recipe="--recipe" in argv_list)
    args = parser.parse_args(argv_list)
    try:
        config = from_arguments(args, recipe(args.experiment, args.algo) if args.recipe else None)
        train(config, args.out, resume=args.resume, overwrite=args.overwrite, progress=not args.no_progress,
              argv=sys.argv if argv is None else ["python", "-m", "rl.train", *argv])
    except SettingError as err:
        parser.error(f"argument {flag_of(err.field)}: {err}")
    except ValueError as err:
        parser.error(str(err))
    return 0


if __name__ == "__main__":
    # Run through the importable module: objects that a saved model pickles (the learning-rate
    # schedule) then refer to ``rl.recipes.LinearSchedule``, not to ``__main__``, whose class
    # cloudpickle would store by value and only that cloudpickle version could read back.
    from rl.train import main as _main

    raise SystemExit(_main())
