"""The scorecard: one row type, tolerance resolution, combination over seeds, printing.

Every benchmark family (:mod:`validation.rbc`, :mod:`validation.krusell_smith`,
:mod:`validation.general`) reports its scores as :class:`Row` records;
:func:`combine` folds the rows of several runs (seeds) into one row per
metric with a 2-sd band, and :func:`format_scorecard` prints them.  Metrics,
tolerances and the reasons for them: docs/validation.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from econ import checks
from econ.experiments import Experiment

DEFAULT_SIMULATION: Dict[str, dict] = {
    "ks": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
    "ks-het-mild": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
    "ks-het-marked": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
    "general": {"n_periods": 2000, "burn_in": 500, "n_economies": 8},
}
"""Simulation of the multi-agent scorecards (keywords of :func:`rl.rollout.simulate_agents`): 8 economies x
2,000 periods after 500 of burn-in, the settings their tolerances were calibrated on (why: docs/validation.md)."""


@dataclass(frozen=True)
class Row:
    """One scorecard line.  A judged row has a tolerance, an upper bound on ``distance``; ``passed`` is None
    for a row that is reported but not judged."""

    metric: str
    benchmark: object
    """Benchmark value (a float, or a string for an ordering)."""
    rl: object
    distance: float
    tolerance: Optional[float]
    band: Optional[float] = None
    """2 standard deviations of the RL value across runs (seed band), when several runs are scored."""
    verdict: Optional[bool] = None
    """An explicit pass/fail, for a row combined over runs (:func:`combine`: pass if every run passes)."""
    references: Optional[Mapping[str, object]] = None
    """Further reference values, reported beside the judged benchmark (printed as extra columns by name, e.g. the
    price-taking rule and the continuum solution of a same-economy KS row)."""

    @property
    def passed(self) -> Optional[bool]:
        if self.verdict is not None:
            return self.verdict
        if self.tolerance is None:
            return None
        return bool(np.isfinite(self.distance) and self.distance <= self.tolerance)

    def as_dict(self) -> dict:
        """``metric, benchmark, rl, distance, tolerance, passed`` (and ``band`` when there is one), plain Python."""
        data = {name: getattr(self, name) for name in ("metric", "benchmark", "rl", "distance", "tolerance")}
        if self.band is not None:
            data["band"] = self.band
        if self.references:
            data["references"] = {k: (v.item() if isinstance(v, np.generic) else v)
                                  for k, v in self.references.items()}
        data["passed"] = self.passed
        return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in data.items()}


def judged_row(metric: str, benchmark, rl, distance, tolerance: Optional[float],
               references: Optional[Mapping[str, object]] = None) -> Row:
    """A :class:`Row` with ``distance`` and ``tolerance`` as floats (tolerance None: reported, not judged)."""
    return Row(metric, benchmark, rl, float(distance), None if tolerance is None else float(tolerance),
               references=dict(references) if references else None)


def relative_distance(rl: float, benchmark: float) -> float:
    """|rl - benchmark| / |benchmark| (inf for a zero benchmark)."""
    return abs(rl - benchmark) / abs(benchmark) if benchmark != 0 else float("inf")


def resolve_tolerances(defaults: Mapping[str, Optional[float]], overrides, metrics: Sequence[tuple]) -> dict:
    """Tolerance of every (metric, family): an exact metric name beats its family, which beats the default.

    An override naming neither a metric nor a family raises ``ValueError``; None un-judges a row.
    """
    overrides = dict(overrides or {})
    known = set(defaults) | {name for name, _ in metrics}
    for key, value in overrides.items():
        if key not in known:
            raise ValueError(f"tolerances: unknown metric {key!r}; known: {', '.join(sorted(known))}")
        if value is not None:
            checks.non_negative(f"tolerances[{key!r}]", value)
    out = {}
    for name, family in metrics:
        if name in overrides:
            out[name] = overrides[name]
        elif family in overrides:
            out[name] = overrides[family]
        else:
            out[name] = defaults[family]
    return out


def require_technology(experiment, technology: str, which: str) -> Experiment:
    """``experiment`` if it is an Experiment with this technology (``which`` names the experiments that have it)."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be an econ.experiments.Experiment, got {type(experiment).__name__}")
    if experiment.technology != technology:
        raise ValueError(f"experiment must be {which}; {experiment.name!r} has technology {experiment.technology!r}")
    return experiment


def band(values: List[float]) -> Optional[float]:
    """2 sample standard deviations of the values of several runs (None for one run)."""
    return float(2.0 * np.std(values, ddof=1)) if len(values) > 1 else None


def combine(per_run: List[List[Row]]) -> List[Row]:
    """One row per metric across runs: mean RL value and distance, 2-sd band, pass if every run passes; numeric
    reference columns are averaged over the runs (others are the first run's)."""
    rows = []
    for same in zip(*per_run):
        first = same[0]
        numeric = all(isinstance(r.rl, (int, float, np.number)) for r in same)
        rl = float(np.mean([r.rl for r in same])) if numeric else first.rl
        distances = [r.distance for r in same if r.distance is not None]
        distance = float(np.mean(distances)) if distances else float("nan")
        verdict = None if first.passed is None else all(r.passed for r in same)
        spread = band([float(r.rl) for r in same]) if numeric else None
        references = None
        if first.references:
            references = {}
            for key, value in first.references.items():
                values = [(r.references or {}).get(key) for r in same]
                numeric_ref = all(isinstance(v, (int, float, np.number)) for v in values)
                references[key] = float(np.mean(values)) if numeric_ref else value
        rows.append(Row(first.metric, first.benchmark, rl, distance, first.tolerance, spread, verdict, references))
    return rows


def _cell(value, digits: int) -> str:
    """A value as printed in a scorecard cell: numbers to ``digits`` significant digits, never cut."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.number)):
        return "" if not np.isfinite(value) else f"{value:.{digits}g}"
    return str(value)


def format_scorecard(title: str, rows: List[Row]) -> str:
    """The printed scorecard: one line per row, ``pass``, ``FAIL`` or ``info`` (not judged).

    Rows' ``references`` become extra columns after ``benchmark`` (blank where a row has none); the seed-band
    column appears only when some row has a band.  Every column is as wide as its widest cell, so nothing is
    cut and the columns align whatever the metric names.
    """
    extra = []
    for r in rows:
        extra += [key for key in (r.references or {}) if key not in extra]
    show_band = any(r.band is not None for r in rows)
    columns = ["metric", "benchmark", *extra, "RL", *(["2sd band"] if show_band else []), "distance", "tolerance",
               "result"]
    table = []
    for r in rows:
        cells = [r.metric, _cell(r.benchmark, 5), *(_cell((r.references or {}).get(k), 5) for k in extra),
                 _cell(r.rl, 5), *([_cell(r.band, 3)] if show_band else []), _cell(r.distance, 4),
                 _cell(r.tolerance, 4), {True: "pass", False: "FAIL", None: "info"}[r.passed]]
        table.append(cells)
    widths = [max(len(row[i]) for row in [columns, *table]) for i in range(len(columns))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        middle = "".join("  " + c.rjust(w) for c, w in zip(cells[1:-1], widths[1:-1]))
        return (first + middle + "  " + cells[-1]).rstrip()

    return "\n".join([title, line(columns), *(line(cells) for cells in table)])
