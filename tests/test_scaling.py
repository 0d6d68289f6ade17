"""The scaling study's machinery (validation.scaling): the shipped study plans, and a tiny study end to end.

The tiny study is the full one's shape at toy size: `ks` with N in {4, 6}, 2
seeds, SAC, 25-period episodes and 100 updates per agent (about a second of
training per trial), scored on reduced simulations and solves (2 economies x
200 periods; a 1,000-household KS panel of 400 periods; welfare over 2
economies and 60 periods).  Its numbers are not results: the test checks
that the sweep's summary step produces the study's columns, the three
figures, scores stored per run directory, and that the scores come from the
run directories alone.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from econ.economy import action_to_fraction, fraction_to_action
from econ.experiments import Experiment, make_experiment
from econ.io import jsonable
from rl.sweep import load_config, plan_sweep, run_sweep
from validation import scaling
from validation.scaling import SCALING_COLUMNS, SCORES_FILE, ScalingSettings, summarize

from rl.recipes import recipe

ROOT = Path(__file__).resolve().parents[1]
STUDY = ROOT / "studies" / "scaling.toml"

TINY_STUDY = {"experiments": ["ks"], "algorithms": ["sac"], "n_agents": [4, 6], "seeds": [0, 1],
              "presets": ["tuned"], "steps_per_agent": [100], "overrides": {"episode_length": 25},
              "hyper": {"learning_starts": 50, "batch_size": 64}}

TINY_SCORING = ScalingSettings(n_periods=200, burn_in=100, n_economies=2, solver_households=1000, solver_periods=400,
                               welfare_economies=2, welfare_burn_in=50, welfare_horizon=60)

KS_SCORES = ("pi_K", "pi_gini_wealth", "pi_chat_bias", "pi_welfare_gain_percent", "pi_economy_gain_percent",
             "pi_euler_residual", "continuum_K", "continuum_gini_wealth", "continuum_chat_bias", "continuum_welfare_gain_percent",
             "benchmarks_K", "benchmarks_K_solvers", "benchmarks_gini_wealth", "benchmarks_chat_gap")
"""The cells a KS trial must fill (the others are general's)."""


STUDY_GENERAL_PPO = {"preset": "tuned", "overrides": {"tfp_scale": 0.0229, "productivity_scale": 0.02},
                     "hyper_overrides": {"learning_rate_final": 1.0e-5, "log_std_final": -5.0,
                                         "expected_next_value": True}}
"""The general PPO recipe when the study trained it (before one log-std bound per action and the averaged weights):
studies/scaling.toml pins it, so the archived trials keep their names."""


STUDY_MARKED_PPO = {"preset": "tuned",
                    "hyper_overrides": {"learning_rate_final": 1.0e-5, "log_std_final": -4.0,
                                        "expected_next_value": True,
                                        "advantage_groups": ["capital_productivity", "employed"]}}
"""The ks-het-marked PPO recipe when the study trained it (before its Euler-equation polishing): pinned in
studies/scaling.toml, so the archived trials keep their names."""


def test_shipped_study_plans_the_issue_grid():
    blocks, execution = load_config(STUDY)
    trials = plan_sweep(blocks)
    cells = {}
    for t in trials:
        c = t.config
        paper_budget = t.steps_per_agent == 100_000
        cells.setdefault((c.experiment, c.algo, c.n_agents, paper_budget), set()).add(c.seed)
        if paper_budget:  # the paper's figure-8 budget: 100,000 vec-steps of one economy, the tuned preset
            assert c.preset == "tuned" and c.timesteps == 100_000 * c.n_agents and c.n_economies == 1
            continue
        # the recipes (ks-het-marked's SAC: the ks SAC recipe's settings; general's PPO: its recipe as the study
        # trained it, pinned in the config), at least 160 households per vec-step
        own = recipe(c.experiment if c.algo == "ppo" else "ks", c.algo)
        if (c.experiment, c.algo) == ("general", "ppo"):
            own = STUDY_GENERAL_PPO
        if (c.experiment, c.algo) == ("ks-het-marked", "ppo"):
            own = STUDY_MARKED_PPO
        assert (c.preset, c.hyper_overrides) == (own["preset"], own.get("hyper_overrides", {}))
        assert c.overrides == own.get("overrides", {})
        assert c.n_economies == -(-160 // c.n_agents)
        budget = {"ppo": 50_000, "sac": 20_000, "td3": 20_000, "ddpg": 20_000}[c.algo]
        assert t.steps_per_agent == budget and c.timesteps == budget * c.n_agents * c.n_economies
    expected = ({("ks", a, n, False) for a in ("sac", "ppo") for n in (10, 20, 50, 100, 200, 500)}
                | {("ks", "sac", n, True) for n in (10, 500)}
                | {("ks", a, n, False) for a in ("td3", "ddpg") for n in (10, 100, 500)}
                | {("ks-het-marked", a, n, False) for a in ("sac", "ppo") for n in (20, 100, 500)}
                | {("general", "ppo", g * g, False) for g in (3, 5, 10, 22)}
                | {("general", "sac", g * g, True) for g in (3, 5, 10, 22)})
    assert set(cells) == expected
    assert all(seeds == {0, 1, 2} for seeds in cells.values()) and len(trials) == 102
    assert execution["out"] == "output/scaling-study"


def test_relative_distances_are_drawn_in_percent():
    from validation.scaling_plots import _percent

    assert [_percent(k) for k in ("pi_K", "continuum_r", "benchmarks_K", "benchmarks_K_solvers")] == [100.0] * 4
    assert [_percent(k) for k in ("pi_gini_wealth", "pi_chat_bias", "benchmarks_chat_gap")] == [1.0] * 3


@pytest.mark.parametrize("linthresh, view, expected", [
    # the welfare panel: the decade 0.1 sits within a factor 3 of the tolerance and would print on top of it
    (0.05, (-20.0, 2.0), [-10.0, -1.0, -0.05, 0.0, 0.05, 1.0]),
    # the bias panel: no decade inside the linear part (0.001 < 0.0015), none below the view
    (0.0015, (0.0, 0.3), [0.0, 0.0015, 0.01, 0.1]),
    # capital in percent: 10 is 3.3 times the 3 percent tolerance, kept
    (3.0, (0.0, 150.0), [0.0, 3.0, 10.0, 100.0]),
    # everything below the threshold: 0 and the threshold only
    (0.02, (0.0, 0.025), [0.0, 0.02]),
])
def test_symlog_ticks_are_zero_the_threshold_and_the_decades_beyond_it(linthresh, view, expected):
    from validation.scaling_plots import SymlogTicks

    assert SymlogTicks(linthresh).tick_values(*view).tolist() == pytest.approx(expected)


def test_the_normalised_return_weighs_each_type_by_its_households():
    """pi_economy_gain_percent is the mean over households of the per-type gains of the whole economy switching to
    the benchmark rule (types in increasing kappa): ks-het-marked at N = 20 has 3, 14 and 3 households."""
    from validation.welfare import Gain

    experiment = make_experiment("ks-het-marked")
    kappa = np.asarray(experiment.capital_productivity)
    counts = [int(np.sum(kappa == v)) for v in np.unique(kappa)]
    gains = [Gain(mean, 0.0, np.zeros(1)) for mean in (1.0, 2.0, 4.0)]
    assert counts == [3, 14, 3]
    assert scaling._population_mean(gains, experiment) == pytest.approx(np.dot(counts, [1.0, 2.0, 4.0]) / 20)
    assert scaling._population_mean([Gain(0.3, 0.0, np.zeros(1))], make_experiment("ks")) == pytest.approx(0.3)


def test_general_returns_are_normalised_by_the_steady_state_rule_in_the_same_economy():
    """general's pi_economy_gain_percent: the gain of every household switching together from the policy to the
    price-impact steady state's rule, on the same shocks from the same state. The rule against itself gains
    exactly 0 (same shocks, same states); an untrained policy, whose households consume about 0.56 of their wealth
    against the rule's 0.14 to 0.19, gains tens of percent by switching to it; and policies that consume 10
    percent more or 10 percent less of their wealth than the rule both gain by switching to it (measured: 0.3
    percent each, band 0.04): at the steady state of the game each household's rule is its best reply, so a
    deviation of either sign costs to second order."""
    from rl.loading import untrained_model
    from validation.general import steady_state_actor
    from validation.welfare import economy_gain, Scenario

    experiment = make_experiment("general", tfp_scale=0.0229, productivity_scale=0.02)
    rule = steady_state_actor(experiment)
    scenario = Scenario(n_economies=2, burn_in=20, horizon=60, seed=0)
    same = economy_gain(rule, rule, experiment, scenario)
    assert same.mean == 0.0 and np.all(same.per_economy == 0.0)
    cached = scaling._general_references(experiment)
    settings = TINY_SCORING._replace(welfare_burn_in=20)
    untrained = scaling._general_scores(untrained_model(experiment), experiment, cached, settings)
    assert untrained["pi_economy_gain_percent"] > 1.0, untrained
    fractions = np.asarray(rule(np.zeros((experiment.num_agents, len(experiment.observations)))))
    for factor in (1.1, 0.9):
        scaled = fractions.copy()
        scaled[:, 0] = fraction_to_action(factor * action_to_fraction(fractions[:, 0]))
        gain = economy_gain(lambda obs: np.tile(scaled, (len(obs) // experiment.num_agents, 1)), rule, experiment,
                            Scenario(n_economies=2, burn_in=0, horizon=None, seed=0))
        assert gain.mean > gain.band, (factor, gain)


def test_trials_run_before_an_experiment_field_was_added_keep_their_identity():
    """The study resumes by trial identity (a hash of the experiment record, the resolved hyperparameters, seed and
    budget): a field added to Experiment later (productivity_scale) is left out of the record at its default, so
    the ks PPO trial at N = 10, seed 0, run before the field existed, is still this trial and is skipped, not
    trained again. The name changes only if what the trial trains changes (then update it knowingly: it changed
    from ks-ppo-N10-s0-a01a1818 when the ks PPO recipe took the mean-action baseline; the new trial was run by the
    sweep under this name)."""
    trials = {t.name.rsplit("-", 1)[0]: t.name for t in plan_sweep(load_config(STUDY)[0])}
    assert trials["ks-ppo-N10-s0"] == "ks-ppo-N10-s0-59a5435f"
    record = jsonable(make_experiment("general"))
    assert "productivity_scale" not in record and Experiment(**record) == make_experiment("general")
    scaled = jsonable(make_experiment("general", productivity_scale=0.02))
    assert Experiment(**scaled).productivity_scale == 0.02


@pytest.fixture(scope="module")
def tiny_study(tmp_path_factory):
    out = tmp_path_factory.mktemp("scaling")
    result = run_sweep(plan_sweep([TINY_STUDY]), out, workers=2, quiet=True)
    assert result.ok and len(result.completed) == 4
    rows = summarize(out, TINY_SCORING)
    return out, rows


def test_tiny_study_writes_the_study_columns_and_three_figures(tiny_study):
    out, rows = tiny_study
    with open(out / "scaling.csv") as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0]) == SCALING_COLUMNS
    assert sorted((r["N"], r["seed"]) for r in table) == [("4", "0"), ("4", "1"), ("6", "0"), ("6", "1")]
    for row in rows:
        assert row["status"] == "ok"
        assert all(isinstance(row[c], float) for c in KS_SCORES), row
        assert row["pi_L"] is None and row["pi_intratemporal_residual"] is None  # general's columns stay empty
        assert row["pi_K"] >= 0 and row["benchmarks_K"] >= 0 and row["benchmarks_chat_gap"] >= 0
    # benchmark-only columns are one number per N, whatever the seed
    for n in (4, 6):
        assert len({r["benchmarks_K"] for r in rows if r["N"] == n}) == 1
    markdown = (out / "scaling.md").read_text()
    assert "## KS variants: trials" in markdown and "## KS variants: mean ± 2 sd over seeds" in markdown
    assert "| ks | 100 | sac | 4 | 2 |" in markdown and "## general" not in markdown
    for name in ("continuum-ks", "finite-n-ks", "wall-clock-ks", "learning-ks"):
        assert (out / "figures" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "summary.csv").is_file()  # the sweep's own summary is rebuilt too


def test_sweep_summarize_rebuilds_the_scaling_tables_and_figures(tiny_study, capsys):
    """python -m rl.sweep summarize runs validation.scaling's scorer (an entry point) with the stored settings."""
    from rl.sweep import main as sweep_main
    out, _ = tiny_study
    before = (out / "scaling.csv").read_text()
    for name in ("scaling.csv", "scaling.md", "figures/finite-n-ks.png", "figures/continuum-ks.png"):
        (out / name).unlink()
    assert sweep_main(["summarize", str(out), "--quiet"]) == 0
    assert (out / "scaling.csv").read_text() == before  # the stored TINY_SCORING settings, the same numbers
    assert (out / "figures" / "finite-n-ks.png").is_file() and (out / "figures" / "continuum-ks.png").is_file()
    assert "scored 4 of 4 trials" in capsys.readouterr().out
    (out / "scaling.csv").unlink()
    assert sweep_main(["summarize", str(out), "--no-scores", "--no-figures"]) == 0
    assert not (out / "scaling.csv").exists()


def test_scores_come_from_the_run_directories_and_are_reused(tiny_study, tmp_path, monkeypatch):
    out, rows = tiny_study
    copy = tmp_path / "copy"
    shutil.copytree(out / "runs", copy / "runs")
    for path in (copy / "runs").glob(f"*/{SCORES_FILE}"):
        path.unlink()
    again = summarize(copy, TINY_SCORING, figures=False)  # recomputed from trial.json, summary.json and model.zip
    assert again == rows
    # stored scores are read back, not recomputed, while the settings are unchanged ...
    monkeypatch.setattr(scaling, "load_model", lambda *a: pytest.fail("a stored score was recomputed"))
    assert summarize(copy, TINY_SCORING, figures=False) == rows
    # ... and recomputed when they change
    stored = json.loads(next((copy / "runs").glob(f"*/{SCORES_FILE}")).read_text())
    assert stored["settings"]["n_periods"] == TINY_SCORING.n_periods
    with pytest.raises(pytest.fail.Exception):
        summarize(copy, TINY_SCORING._replace(seed=1), figures=False)


def test_records_scored_before_a_column_existed(tiny_study, tmp_path, monkeypatch, capsys):
    """A stored record without a column of its family (scored before the column was added): scored again when the
    run directory has its model, the other records read back; left with that cell empty, and a note, when it is
    an archived record without a model."""
    from rl.sweep import archive_sweep

    out, rows = tiny_study
    copy = tmp_path / "copy"
    shutil.copytree(out / "runs", copy / "runs")
    first = sorted((copy / "runs").iterdir())[0]
    stored = json.loads((first / SCORES_FILE).read_text())
    del stored["scores"]["pi_economy_gain_percent"]
    (first / SCORES_FILE).write_text(json.dumps(stored))
    loaded = []
    real_load = scaling.load_model
    monkeypatch.setattr(scaling, "load_model", lambda path, exp: loaded.append(Path(path).name) or real_load(path, exp))
    assert summarize(copy, TINY_SCORING, figures=False) == rows
    assert loaded == [first.name]
    archive = tmp_path / "archive"
    archive_sweep(copy, archive)
    (archive / "runs" / first.name / SCORES_FILE).write_text(json.dumps(stored))
    capsys.readouterr()
    again = summarize(archive, TINY_SCORING, figures=False)
    assert "1 archived record(s) were scored before column(s) pi_economy_gain_percent" in capsys.readouterr().err
    assert loaded == [first.name]
    for row, before in zip(again, rows):
        expected = {**before, "pi_economy_gain_percent": None} if row["run"] == first.name else before
        assert row == expected


def test_command_line_and_bad_input(tiny_study, tmp_path, capsys):
    out, _ = tiny_study
    argv = ["summarize", str(out), "--no-figures", "--quiet"]
    for field in ("n_periods", "burn_in", "n_economies", "solver_households", "solver_periods", "welfare_economies",
                  "welfare_burn_in", "welfare_horizon"):
        argv += [f"--{field.replace('_', '-')}", str(getattr(TINY_SCORING, field))]
    assert scaling.main(argv) == 0
    assert "scored 4 of 4 trials" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        scaling.main(["summarize", str(tmp_path)])
    assert info.value.code == 2 and "has no runs/ folder" in capsys.readouterr().err
    with pytest.raises(ValueError, match="n_periods must be"):
        summarize(out, TINY_SCORING._replace(n_periods=0))


def test_archived_records_rebuild_the_study_without_models(tiny_study, tmp_path, capsys):
    """`rl.sweep archive` copies each completed trial's JSON and CSV files, no models: a few kB per trial that
    `summarize` rebuilds the same tables from (scores read back), that a sweep skips instead of training again,
    and that archive back into a fresh directory to continue a study elsewhere."""
    from econ.io import DirectoryBusy, exclusive_lock
    from rl.sweep import archive_sweep
    from rl.sweep import main as sweep_main
    from rl.sweep.rundir import SWEEP_LOCK

    out, rows = tiny_study
    archive = tmp_path / "archive"
    assert sweep_main(["archive", str(out), str(archive)]) == 0
    assert "4 trials copied, 0 updated, 0 unchanged; 0 incomplete left out" in capsys.readouterr().out
    for run_dir in (archive / "runs").iterdir():
        names = {p.name for p in run_dir.iterdir()}
        assert {"trial.json", "config.json", "summary.json", "returns.csv", SCORES_FILE} <= names
        assert not names & {"model.zip", "train.log", "tb", "checkpoints"}, names
        assert sum(p.stat().st_size for p in run_dir.iterdir()) < 50_000
    assert (archive / scaling.SETTINGS_FILE).is_file() and not (archive / "scaling.csv").exists()
    # the tables from the records alone equal the full study's
    assert sweep_main(["summarize", str(archive), "--quiet"]) == 0
    assert (archive / "scaling.csv").read_text() == (out / "scaling.csv").read_text()
    assert (archive / "figures" / "finite-n-ks.png").is_file()
    # scores of other settings need the models: refused, naming the trial, before anything is scored
    before = {p: p.read_text() for p in (archive / "runs").glob(f"*/{SCORES_FILE}")}
    with pytest.raises(ValueError, match=r"run ks-sac-N4-s0-\w+ has no model.zip \(an archived record\)"):
        summarize(archive, TINY_SCORING._replace(seed=1), figures=False)
    assert {p: p.read_text() for p in before} == before
    # a record archived before its sweep was summarized has no scores: left empty, with a warning
    unscored = tmp_path / "unscored"
    shutil.copytree(archive, unscored)
    next((unscored / "runs").glob(f"*/{SCORES_FILE}")).unlink()
    capsys.readouterr()
    assert sweep_main(["summarize", str(unscored), "--quiet", "--no-figures"]) == 0
    captured = capsys.readouterr()
    assert "scored 3 of 4 trials" in captured.out and "archived record without stored scores" in captured.err
    # a sweep over the archive trains nothing
    result = run_sweep(plan_sweep([TINY_STUDY]), archive, quiet=True)
    assert len(result.skipped) == 4 and not result.completed and result.ok
    # again: unchanged; re-scored in the source: updated; back into a fresh directory: the same tables
    assert archive_sweep(out, archive).unchanged == tuple(sorted(p.name for p in (out / "runs").iterdir()))
    first = sorted((out / "runs").iterdir())[0]
    scores = json.loads((first / SCORES_FILE).read_text())
    restored = tmp_path / "restored"
    shutil.copytree(out, restored / "source")
    (restored / "source" / "runs" / first.name / SCORES_FILE).write_text(json.dumps({**scores, "extra": 1}))
    assert archive_sweep(restored / "source", archive).updated == (first.name,)
    assert archive_sweep(archive, restored / "fresh").copied and sweep_main(
        ["summarize", str(restored / "fresh"), "--quiet", "--no-figures"]) == 0
    assert (restored / "fresh" / "scaling.csv").read_text() == (out / "scaling.csv").read_text()
    # --require: only the trials holding a file (scaling.json: the scored ones)
    partly = tmp_path / "partly"
    shutil.copytree(out, partly)
    (partly / "runs" / first.name / SCORES_FILE).unlink()
    result = archive_sweep(partly, tmp_path / "scored-only", require=(SCORES_FILE,))
    assert result.missing == (first.name,) and len(result.copied) == 3
    assert sweep_main(["archive", str(partly), str(tmp_path / "scored-cli"), "--require", SCORES_FILE]) == 0
    assert "3 trials copied" in capsys.readouterr().out and not (tmp_path / "scored-cli" / "runs" / first.name).exists()
    with pytest.raises(ValueError, match="require must be file names"):
        archive_sweep(out, tmp_path / "x", require=("../etc",))
    # an incomplete trial stays behind; another run of a trial already archived is refused; one writer at a time
    (restored / "source" / "runs" / "ks-sac-N9-s0-00000000").mkdir()
    shutil.copy(first / "trial.json", restored / "source" / "runs" / "ks-sac-N9-s0-00000000")
    assert archive_sweep(restored / "source", tmp_path / "other").incomplete == ("ks-sac-N9-s0-00000000",)
    summary = json.loads((first / "summary.json").read_text())
    (restored / "source" / "runs" / first.name / "summary.json").write_text(
        json.dumps({**summary, "best_return": 0.0}))
    with pytest.raises(ValueError, match=f"holds another completed run of trial {first.name}"):
        archive_sweep(restored / "source", archive)
    with exclusive_lock(archive, SWEEP_LOCK, "test", "wait"), pytest.raises(DirectoryBusy):
        archive_sweep(out, archive)
    with pytest.raises(SystemExit) as info:
        sweep_main(["archive", str(tmp_path / "nowhere"), str(archive)])
    assert info.value.code == 2 and "has no runs/ folder" in capsys.readouterr().err


def test_the_study_records_in_the_repository_rebuild_its_tables(tmp_path):
    """studies/scaling holds the study's records without models (rl.sweep archive): every one must read back with
    its stored scores under the stored settings, so that the tables rebuild from the repository alone (a change
    of the scores' definition needs the trials re-scored and re-archived, which this test would report)."""
    records = ROOT / "studies" / "scaling"
    runs = sorted(p.name for p in (records / "runs").iterdir())
    assert runs and all(not (records / "runs" / name / "model.zip").exists() for name in runs)
    copy = tmp_path / "scaling"
    shutil.copytree(records, copy)
    rows = scaling.score_sweep(copy, figures=False, quiet=True)
    assert sorted(r["run"] for r in rows) == runs
    for row in rows:
        assert row["status"] == "ok" and isinstance(row["pi_K"], float), row["run"]
    plan = {t.name for t in plan_sweep(load_config(STUDY)[0])}
    assert set(runs) <= plan  # records of the shipped study's own trials only
