"""Scorecard of the one-household experiments ``rbc-full-depreciation`` and ``rbc``.

The metrics are :mod:`econ.rbc.accuracy`'s (welfare loss, policy error, IRF
agreement) and Judd's Euler errors (:func:`econ.rbc.vfi.euler_errors`),
against Brock-Mirman at delta = 1 and the global VFI solution otherwise.
Metrics and tolerances, with the reasons: docs/validation.md.
"""

from __future__ import annotations

from typing import Dict, List

import numpy as np

from econ.experiments import Experiment
from econ.rbc import accuracy
from econ.rbc.vfi import euler_errors
from validation.scorecard import Row, band

RBC_EXPERIMENTS = ("rbc-full-depreciation", "rbc")

TOLERANCES: Dict[str, Dict[str, float]] = {
    "rbc": {
        "welfare_loss_percent": 0.05,
        "irf_consumption": 0.15,
        "irf_labour": 0.25,
        "irf_output": 0.25,
    },
    "rbc-full-depreciation": {
        "welfare_loss_percent": 0.05,
        "chat_error_max": 0.01,
        "labour_error_max": 0.01,
    },
}
"""Judged metrics and their upper bounds per experiment (why these: docs/validation.md)."""

EULER_PERIODS = 2_000
"""Ergodic periods of the Euler-error sample, for the policy and the benchmark alike."""

_POLICY_ERROR_FIELDS = {"chat_error_mean": "chat_mean", "chat_error_max": "chat_max",
                        "labour_error_mean": "labour_mean", "labour_error_max": "labour_max"}
_FIXED_POINT_VARIABLES = ("capital", "consumption", "labour")


def known_metrics() -> set:
    """Names of every row :func:`score_rbc` writes (what ``--tol`` may name)."""
    return ({"welfare_loss_percent", "euler_error_mean_log10"} | set(_POLICY_ERROR_FIELDS)
            | {f"irf_{v}" for v in accuracy.IRF_VARIABLES}
            | {f"fixed_point_distance_{v}" for v in _FIXED_POINT_VARIABLES})


def score_rbc(policies: List[accuracy.Policy], experiment: Experiment, tolerances: Dict[str, float]) -> dict:
    """Scores of one or several policies (seeds) of an N = 1 experiment; rows judged by ``tolerances``.

    Returns ``{"rows", "runs" (per policy: welfare, error, irf, euler_mean, euler_max), "benchmark" (the
    benchmark policy), "benchmark_irf", "benchmark_value"}``.
    """
    params = experiment.rbc_params
    benchmark = accuracy.benchmark_policy(experiment)
    per_run = []
    for policy in policies:
        welfare = accuracy.welfare_loss(policy, benchmark, experiment)
        error = accuracy.policy_error(policy, benchmark, experiment)
        irf = accuracy.irf_agreement(policy, experiment)
        euler = euler_errors(policy, params, EULER_PERIODS)
        per_run.append({"welfare": welfare, "error": error, "irf": irf, "euler_mean": float(np.mean(euler)),
                        "euler_max": float(np.max(euler))})
    bench_euler = euler_errors(benchmark, params, EULER_PERIODS)

    def row(metric, values, benchmark_value=0.0):
        values = [float(v) for v in values]
        rl = float(np.mean(values))
        return Row(metric, benchmark_value, rl, abs(rl - benchmark_value), tolerances.get(metric), band(values))

    rows = [row("welfare_loss_percent", [r["welfare"].loss_percent for r in per_run])]
    for name, attr in _POLICY_ERROR_FIELDS.items():
        rows.append(row(name, [getattr(r["error"], attr) for r in per_run]))
    for name in accuracy.IRF_VARIABLES:
        rows.append(row(f"irf_{name}", [r["irf"].relative_rmse[name] for r in per_run]))
    for name in _FIXED_POINT_VARIABLES:
        rows.append(row(f"fixed_point_distance_{name}", [r["irf"].fixed_point_distance[name] for r in per_run]))
    euler_means = [r["euler_mean"] for r in per_run]
    rows.append(Row("euler_error_mean_log10", float(np.mean(bench_euler)), float(np.mean(euler_means)),
                    float("nan"), None, band(euler_means)))
    return {
        "rows": rows,
        "runs": per_run,
        "benchmark": benchmark,
        "benchmark_irf": per_run[0]["irf"].benchmark_irf,
        "benchmark_value": per_run[0]["welfare"].benchmark_value,
    }
