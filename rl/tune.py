"""Hyperparameter search with Optuna: ``python -m rl.tune EXPERIMENT --algo sac --space SPACE.yml ...``.

A study searches a declared space (a YAML file, see :func:`read_space`) around
the experiment's recipe (:func:`rl.recipes.recipe`, else the ``tuned``
preset) with TPE sampling and median pruning on the training-time evaluation
(the welfare loss of the ``rbc`` experiments, reported every ``eval_every``
agent-steps; experiments without a per-state benchmark have no intermediate
values, so nothing is pruned and the objective is minus the final mean
episode return).  The study lives in ``OUT/study.db`` (SQLite), so a killed
study resumes: finished trials are kept, a trial that was running when the
study died is marked failed and its budget given to a new one.  One writer per
study directory (an exclusive lock).  Each trial trains into ``OUT/trial-K``.
The best trial so far is written as a recipe in the layout of
``rl/hyperparams/ALGO.yml`` to ``OUT/best.yml``.

Trials run in this process by default; ``--ray-address`` runs them on a Ray
cluster through Ray Tune's Optuna searcher instead (``auto`` or an address;
``local`` starts a local Ray).
"""

from __future__ import annotations

import argparse
import functools
import json
from pathlib import Path
from typing import Optional

import optuna
import yaml
from optuna.trial import TrialState

from econ import checks
from econ.experiments import EXPERIMENTS, make_experiment
from econ.io import exclusive_lock, write_json_atomic, write_text_atomic
from rl.callbacks import has_benchmark
from rl.config import TrainConfig
from rl.recipes import ALGORITHMS, TRAIN_RECIPES, recipe
from rl.train import train

KINDS = ("float", "int", "categorical")
"""Kinds of a search dimension: ``float`` and ``int`` (``low``, ``high``, optional ``log``), ``categorical``
(``choices``)."""

CONFIG_FIELDS = ("n_economies", "n_steps")
"""Search dimensions that are :class:`rl.config.TrainConfig` fields; every other name is a hyperparameter."""


def read_space(path) -> dict:
    """The search space of a YAML file: ``{name: {kind: float|int|categorical, low, high, log, choices}}``."""
    space = yaml.safe_load(Path(path).read_text())
    if not isinstance(space, dict) or not space:
        raise ValueError(f"{path}: a search space is a non-empty mapping of names to dimensions")
    for name, dim in space.items():
        if not isinstance(dim, dict):
            raise ValueError(f"{path}: dimension {name!r} must be a mapping, got {dim!r}")
        kind = checks.one_of(f"{name}.kind", dim.get("kind"), KINDS)
        if kind == "categorical":
            if not dim.get("choices"):
                raise ValueError(f"{path}: dimension {name!r} needs a non-empty 'choices' list")
        elif not (isinstance(dim.get("low"), (int, float)) and isinstance(dim.get("high"), (int, float))
                  and dim["low"] < dim["high"]):
            raise ValueError(f"{path}: dimension {name!r} needs numbers low < high, got {dim}")
    return space


def sample(trial: optuna.Trial, space: dict) -> dict:
    """One point of ``space`` drawn by the trial's sampler."""
    values = {}
    for name, dim in space.items():
        if dim["kind"] == "float":
            values[name] = trial.suggest_float(name, dim["low"], dim["high"], log=bool(dim.get("log", False)))
        elif dim["kind"] == "int":
            values[name] = trial.suggest_int(name, dim["low"], dim["high"], log=bool(dim.get("log", False)))
        else:
            values[name] = trial.suggest_categorical(name, dim["choices"])
    return values


def trial_recipe(base: dict, values: dict) -> dict:
    """``base`` (a recipe) with the sampled ``values``: TrainConfig fields set, hyperparameters merged."""
    out = json.loads(json.dumps(base))
    hyper = dict(out.get("hyper_overrides", {}))
    for name, value in values.items():
        if name in CONFIG_FIELDS:
            out[name] = value
        else:
            hyper[name] = value
    out["hyper_overrides"] = hyper
    return out


def base_recipe(experiment: str, algo: str, timesteps: Optional[int], eval_every: Optional[int]) -> dict:
    """The experiment's recipe for ``algo`` (else the ``tuned`` preset), with the study's budget."""
    base = recipe(experiment, algo) if algo in TRAIN_RECIPES.get(experiment, {}) else {"preset": "tuned"}
    if timesteps is not None:
        base["timesteps"] = int(timesteps)
    if "timesteps" not in base:
        raise ValueError(f"no recipe for {experiment!r} with {algo!r} gives a budget: pass --timesteps")
    if has_benchmark(make_experiment(experiment, **base.get("overrides", {}))):
        base["eval_every"] = int(eval_every or base.get("eval_every") or max(1, base["timesteps"] // 5))
    base.pop("target_welfare_loss", None)
    base.pop("target_policy_error", None)
    return base


def _objective(study_dir: Path, experiment: str, algo: str, seed: int, base: dict, space: dict):
    def objective(trial: optuna.Trial) -> float:
        settings = trial_recipe(base, sample(trial, space))
        config = TrainConfig(experiment, algo, seed=seed, **settings)
        pruned = []

        def report(row: dict) -> bool:
            trial.report(row["welfare_loss_percent"], row["timesteps"])
            if trial.should_prune():
                pruned.append(row["timesteps"])
                return False
            return True

        summary = train(config, study_dir / f"trial-{trial.number}", on_evaluation=report)
        if pruned:
            raise optuna.TrialPruned(f"pruned at {pruned[0]} agent-steps")
        if summary["evaluations"]:
            return float(summary["evaluations"][-1]["welfare_loss_percent"])
        if summary["final_return"] is None:
            raise ValueError("the trial finished no episode: raise the budget")
        return -float(summary["final_return"])

    return objective


def _finished(study: optuna.Study) -> list:
    return [t for t in study.get_trials(deepcopy=False) if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]


def write_best(study: optuna.Study, study_dir: Path, experiment: str, base: dict) -> Optional[Path]:
    """The best complete trial as a recipe file (``best.yml``, keyed by experiment), or None if there is none."""
    complete = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]
    if not complete:
        return None
    best = study.best_trial
    text = (f"# Best of {len(complete)} complete trials of the study in {study_dir.name}: trial {best.number}, "
            f"objective {best.value:.6g}\n" + yaml.safe_dump({experiment: trial_recipe(base, best.params)},
                                                             sort_keys=False))
    return write_text_atomic(study_dir / "best.yml", text)


def run_study(experiment: str, algo: str, space: dict, out, *, n_trials: int, timesteps: Optional[int] = None,
              eval_every: Optional[int] = None, seed: int = 0, ray_address: Optional[str] = None) -> dict:
    """Run (or resume) the study in ``out`` until it has ``n_trials`` finished trials; returns its summary."""
    if experiment not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {experiment!r}; choose from {EXPERIMENTS}")
    checks.one_of("algo", algo, ALGORITHMS)
    n_trials = checks.positive_int("n_trials", n_trials)
    study_dir = Path(out)
    study_dir.mkdir(parents=True, exist_ok=True)
    base = base_recipe(experiment, algo, timesteps, eval_every)
    with exclusive_lock(study_dir, ".lock", "another study process", "wait for it to finish"):
        if ray_address is not None:
            return _run_on_ray(experiment, algo, space, study_dir, base, n_trials, seed, ray_address)
        storage = optuna.storages.RDBStorage(f"sqlite:///{study_dir / 'study.db'}")
        study = optuna.create_study(
            study_name=f"{experiment}-{algo}", storage=storage, load_if_exists=True, direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0))
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            # we hold the study's lock, so a running trial belongs to a study process that died; Optuna's storage
            # API addresses a trial by its storage id, which FrozenTrial exposes only as ``_trial_id``
            storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
            print(f"trial {trial.number} was cut short by an earlier run: marked failed, its budget is reused")
        remaining = n_trials - len(_finished(study))
        if remaining > 0:
            print(f"study {study_dir}: {len(_finished(study))} of {n_trials} trials finished, running {remaining}")
            study.optimize(_objective(study_dir, experiment, algo, seed, base, space), n_trials=remaining,
                           catch=(ValueError,))
        best_file = write_best(study, study_dir, experiment, base)
        summary = {
            "experiment": experiment, "algorithm": algo, "n_trials": n_trials,
            "finished": len(_finished(study)),
            "complete": sum(t.state == TrialState.COMPLETE for t in study.get_trials(deepcopy=False)),
            "pruned": sum(t.state == TrialState.PRUNED for t in study.get_trials(deepcopy=False)),
            "best": None if best_file is None else {"trial": study.best_trial.number, "value": study.best_value,
                                                    "params": study.best_trial.params, "recipe": str(best_file)},
        }
        write_json_atomic(study_dir / "summary.json", summary)
        return summary


def _run_on_ray(experiment, algo, space, study_dir, base, n_trials, seed, address) -> dict:
    """The same search through Ray Tune's Optuna searcher (TPE) and median stopping, resumable by Tune."""
    import ray  # lazy: Ray is an optional extra (marl-bc[ray])
    from ray import tune
    from ray.tune.schedulers import MedianStoppingRule
    from ray.tune.search.optuna import OptunaSearch

    ray.init(address=None if address == "local" else address, ignore_reinit_error=True, log_to_driver=False)

    def trainable(params: dict) -> None:
        config = TrainConfig(experiment, algo, seed=seed, **trial_recipe(base, params))
        number = tune.get_context().get_trial_id()

        def report(row: dict) -> bool:
            tune.report({"objective": row["welfare_loss_percent"], "timesteps": row["timesteps"]})
            return True

        summary = train(config, study_dir / f"trial-{number}", on_evaluation=report)
        if not summary["evaluations"]:
            tune.report({"objective": -float(summary["final_return"]), "timesteps": summary["timesteps"]})

    path = study_dir / "ray"
    if tune.Tuner.can_restore(str(path / "tune")):
        tuner = tune.Tuner.restore(str(path / "tune"), trainable=trainable)
    else:
        tuner = tune.Tuner(trainable, tune_config=tune.TuneConfig(
            search_alg=OptunaSearch(functools.partial(sample, space=space), metric="objective", mode="min",
                                    sampler=optuna.samplers.TPESampler(seed=seed)),
            scheduler=MedianStoppingRule(time_attr="timesteps", metric="objective", mode="min"),
            num_samples=n_trials), run_config=tune.RunConfig(name="tune", storage_path=str(path.resolve())))
    result = tuner.fit().get_best_result(metric="objective", mode="min")
    text = yaml.safe_dump({experiment: trial_recipe(base, result.config)}, sort_keys=False)
    best_file = write_text_atomic(study_dir / "best.yml", f"# Best trial of the Ray Tune study\n{text}")
    summary = {"experiment": experiment, "algorithm": algo, "n_trials": n_trials,
               "best": {"value": result.metrics["objective"], "params": result.config, "recipe": str(best_file)}}
    write_json_atomic(study_dir / "summary.json", summary)
    return summary


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m rl.tune", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("experiment", choices=EXPERIMENTS, help="experiment to tune")
    parser.add_argument("--algo", required=True, choices=ALGORITHMS, help="Stable-Baselines3 algorithm")
    parser.add_argument("--space", type=Path, required=True,
                        help="YAML search space (example: rl/hyperparams/search-sac.yml)")
    parser.add_argument("--trials", type=int, default=20, help="finished trials the study should have")
    parser.add_argument("--timesteps", type=int, default=None,
                        help="agent-steps per trial (default: the recipe's budget)")
    parser.add_argument("--eval-every", type=int, default=None,
                        help="agent-steps between the evaluations that pruning sees (default: budget / 5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampler and of every trial's training")
    parser.add_argument("--out", type=Path, required=True, help="study directory (SQLite study, trial runs)")
    parser.add_argument("--ray-address", default=None,
                        help="run the trials with Ray Tune at this address ('local' starts Ray here)")
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        space = read_space(args.space)
        summary = run_study(args.experiment, args.algo, space, args.out, n_trials=args.trials,
                            timesteps=args.timesteps, eval_every=args.eval_every, seed=args.seed,
                            ray_address=args.ray_address)
    except (ValueError, RuntimeError, FileNotFoundError) as err:
        parser.error(str(err))
    best = summary["best"]
    print("no complete trial" if best is None else
          f"best: objective {best['value']:.6g} with {best['params']}; recipe written to {best['recipe']}")
    return 0


if __name__ == "__main__":
    from rl.tune import main as _main  # through the importable module, as rl.train does

    raise SystemExit(_main())
