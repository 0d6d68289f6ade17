"""Learning tests (slow tier) of the multi-agent recipes: trained from scratch with a fixed seed.

Run with ``python -m pytest -m slow tests/test_learning_multi_agent.py``.
Each test trains an experiment's recipe of ``rl.recipes.TRAIN_RECIPES``
(seed 0) and scores it as ``python -m validation.compare`` does: the
price-impact rule at N and the trained households on the same shocks, from
the same initial states (:mod:`validation.same_economy`, default tolerances,
never loosened).  Judged here, the targets of the heterogeneous experiments:
mean capital within 5 percent, wealth Gini within 0.03, every type's capital
share within 3 points and mean consumption fraction within 0.005, and a
unilateral welfare gain from switching to the benchmark rule below 0.05
percent of consumption for every type.  ``general`` is scored at the
policy's deterministic fixed point against the price-impact steady state at
N = 9 (:mod:`validation.general`).  Measured durations and the ablation
behind each recipe: docs/training.md.
"""

from __future__ import annotations

import pytest

from rl.config import TrainConfig
from rl.loading import load_model
from rl.recipes import TRAIN_RECIPES
from rl.rollout import simulate_agents
from rl.train import train
from validation.compare import scoring_experiment
from validation.general import general_scores
from validation.same_economy import same_economy_references, same_economy_scores
from validation.scorecard import DEFAULT_SIMULATION

pytestmark = pytest.mark.slow

HETEROGENEOUS_TARGETS = ("mean_capital", "gini_wealth", "type_capital_share", "type_consumption_fraction",
                         "welfare_unilateral")
"""Row families of the same-economy scorecard that carry the heterogeneous experiments' targets."""

TARGET_ROWS = 2 + 3 * 3
"""Mean capital and Gini, and three rows (share, fraction, welfare) for each of the three kappa types."""


def _scorecard(name, algo, tmp_path, seed=0):
    run = tmp_path / f"{name}-{algo}"
    train(TrainConfig(name, algo, seed=seed, **TRAIN_RECIPES[name][algo]), run)
    experiment = scoring_experiment(name, [str(run)])
    model = load_model(run, experiment)
    settings = DEFAULT_SIMULATION[name]
    references = same_economy_references(experiment, **settings)
    return same_economy_scores(simulate_agents(model, experiment, **settings), model, references).rows()


def _heterogeneous_failures(name, algo, tmp_path, seed):
    """The target rows of a heterogeneous experiment's recipe (trained with ``seed``) that fail, after checking
    that all of them are there and judged."""
    rows = [row for row in _scorecard(name, algo, tmp_path, seed=seed) if row.metric.startswith(HETEROGENEOUS_TARGETS)]
    assert len(rows) == TARGET_ROWS and all(row.tolerance is not None for row in rows)
    return [(row.metric, row.rl, row.benchmark, row.distance, row.tolerance) for row in rows if not row.passed]


HETEROGENEOUS_SEED = {"ks-het-mild": 0, "ks-het-marked": 0}
"""The shipped policies' seeds (docs/training.md: the seed bands)."""

KS_TARGETS = {"mean_capital": 0.03, "gini_wealth": 0.02, "chat_bias_employed": 0.0015,
              "chat_bias_unemployed": 0.0015, "welfare_unilateral_kappa1": 0.05}
"""The ks targets: the scorecard's own tolerances for these rows (checked below to be these values)."""


def test_ppo_recipe_meets_the_ks_targets(tmp_path):
    """Measured: the recipe's seed 0 (the shipped policy) passes every row; mean K -0.1 %, Gini -0.001, biases
    -0.0000 / -0.0003, unilateral gain 0.001 % (about 6.5 minutes of one core); seeds 1 and 2 pass too."""
    rows = {row.metric: row for row in _scorecard("ks", "ppo", tmp_path)}
    assert {name: rows[name].tolerance for name in KS_TARGETS} == KS_TARGETS
    failed = [(name, rows[name].rl, rows[name].distance) for name in KS_TARGETS if not rows[name].passed]
    assert not failed, failed


def test_sac_recipe_meets_the_ks_targets(tmp_path):
    """Every judged row, as ``python -m validation.compare ks`` requires for exit 0.  Measured: the recipe's seed 0
    passes them all; mean K -0.8 %, Gini 0.158 against 0.170, biases +0.0004 / -0.0007, unilateral gain 0.006 %
    (3.2 M agent-steps, about 20 minutes of one core on a shared machine)."""
    rows = {row.metric: row for row in _scorecard("ks", "sac", tmp_path)}
    assert {name: rows[name].tolerance for name in KS_TARGETS} == KS_TARGETS
    failed = [(row.metric, row.rl, row.distance, row.tolerance) for row in rows.values() if row.passed is False]
    assert not failed, failed


@pytest.mark.parametrize("algo", ["td3", "ddpg"])
def test_td3_and_ddpg_recipes_meet_the_ks_targets(algo, tmp_path):
    """Every judged row, as for SAC.  Measured, the recipes' seed 0 (3.2 M agent-steps, 27 and 32 minutes of one
    core on a machine loaded to 4 or 5): TD3 mean K +0.2 %, Gini 0.165 against 0.170, biases -0.0003 / -0.0001,
    unilateral gain 0.001 %; DDPG mean K +0.7 %, Gini 0.186, biases -0.0002 / -0.0000, gain 0.007 %."""
    rows = {row.metric: row for row in _scorecard("ks", algo, tmp_path)}
    assert {name: rows[name].tolerance for name in KS_TARGETS} == KS_TARGETS
    failed = [(row.metric, row.rl, row.distance, row.tolerance) for row in rows.values() if row.passed is False]
    assert not failed, failed


@pytest.mark.parametrize("name", ["ks-het-mild", "ks-het-marked"])
def test_ppo_recipe_meets_the_heterogeneous_targets(name, tmp_path):
    """Each recipe trains, then polishes the mean action on the household's Euler equation (each type x
    employment group weighted alike; ks-het-marked 20 rounds, about 10 minutes of one core, ks-het-mild 40, about
    15).  Measured on an AMD EPYC with AVX-512:
    ks-het-marked (8 M agent-steps, 6 to 8 minutes of one core beside two other runs): seed 0, the shipped policy,
    passes every row (mean K +1.2 %, fractions within 0.004, gains at most 0.001 %); seeds 1 and 2 pass too (seed
    2's low fraction 0.0048 off, the closest row).  ks-het-mild (16 M agent-steps, 12 to 20 minutes of
    one core beside two to four other runs, then 40 rounds in 14 to 27 minutes): seed 0 (the shipped policy), 1
    and 2 pass every row (mean K -0.4 %, +0.9 %, +0.0 %; fractions within 0.0032); with 20 rounds seed 2 missed
    the low type's fraction (0.436 against 0.426) (docs/training.md: the Euler equation after training)."""
    failed = _heterogeneous_failures(name, "ppo", tmp_path, HETEROGENEOUS_SEED[name])
    assert not failed, failed


def test_sac_recipe_meets_the_ks_het_marked_targets(tmp_path):
    """SAC: the ks recipe's training (3.2 M agent-steps), then its actor's mean polished on the household's Euler
    equation as the PPO recipe's, 60 rounds, each round's states after 1,000 periods of burn-in.  Measured (seed 0,
    AMD EPYC with AVX-512; 22 minutes of one core to train beside two other runs, 21 to polish beside two):
    every row passes, mean K +0.5 %, fractions within 0.0023, gains at most 0.005 %; seeds 1 and 2 too; trained
    only, 9 rows fail (mean K -16 %), and with the PPO recipe's 100 periods of burn-in 10 (mean K +77 %); with
    40 rounds seeds 1 and 2 miss the middle fraction.  This test passed in 34 minutes on an Intel Xeon with AVX-512
    beside two to five other jobs (1,148 s of training, 845 s of polishing; docs/training.md: SAC's actor on the
    Euler equation)."""
    failed = _heterogeneous_failures("ks-het-marked", "sac", tmp_path, 0)
    assert not failed, failed


def test_td3_recipe_meets_the_ks_het_marked_targets(tmp_path):
    """TD3: the ks recipe's training (3.2 M agent-steps), then its actor polished on the household's Euler equation
    as SAC's ks-het-marked recipe, 80 rounds.  Measured (AMD EPYC with AVX-512, two to four jobs on the 2 cores;
    16 to 18 minutes to train, 34 to 38 to polish): seeds 0, 1 and 2 pass every row (mean K +0.6, -0.8 and -1.1 %,
    fractions within 0.0026, gains at most 0.003 %); trained only, they fail 13, 14 and 16 rows (mean K -13, -27
    and -32 %); with 60 rounds seed 1 misses the middle type's fraction by 0.0051.  This test passed in 36 minutes
    with one other job on the cores, its polishing's log that of seed 0 above line for line (docs/training.md:
    TD3's actor on the Euler equation)."""
    failed = _heterogeneous_failures("ks-het-marked", "td3", tmp_path, 0)
    assert not failed, failed


def test_ddpg_recipe_meets_the_ks_het_marked_targets(tmp_path):
    """DDPG: the ks recipe's training (3.2 M agent-steps), then its actor polished on the household's Euler equation
    as TD3's ks-het-marked recipe, but 120 rounds.  Measured (Intel Xeon with AVX-512, three to six jobs on the 2
    cores; 13 minutes to train, 28 to 30 to polish): seeds 0, 1 and 2 pass every row (mean K +0.3, +0.0 and -0.4 %,
    fractions within 0.0018, gains at most 0.003 %); trained only, they fail 13, 8 and 16 rows (mean K -14, -10 and
    -26 %).  On an AMD EPYC machine seed 0 with 80 rounds missed the middle type's fraction by 0.006 beyond its
    tolerance.  This test passed in 52 minutes on the Intel machine beside four other jobs, its polishing's log
    that of seed 0 above line for line (docs/training.md: DDPG on ks-het-marked)."""
    failed = _heterogeneous_failures("ks-het-marked", "ddpg", tmp_path, 0)
    assert not failed, failed


def test_ddpg_recipe_meets_the_ks_het_mild_targets(tmp_path):
    """DDPG: the ks recipe's training with the actor's loss weighted alike over the type x employment groups (as
    SAC's ks-het-mild recipe; 3.2 M agent-steps), then TD3's ks-het-mild polishing (160 rounds, reach 6, settle 60).
    Measured (Intel Xeon with AVX-512, four to seven jobs on the 2 cores; 44 to 51 minutes to train, 44 to 52 to
    polish): seeds 0, 1 and 2 pass every row (mean K +0.8, -0.0 and -0.1 %, fractions within 0.0037, no type
    gaining more than 0.009 % by switching); trained only, seed 0 fails 10 rows (mean K -7.2 %), and without the
    weighting 12 (-10.5 %), its actor saving everything beyond seven times the mean capital, where every polishing
    tried runs away.  This test passed in 55 minutes beside one to four other jobs, its polishing's log that of
    seed 0 above line for line (docs/training.md: DDPG on ks-het-mild)."""
    failed = _heterogeneous_failures("ks-het-mild", "ddpg", tmp_path, 0)
    assert not failed, failed


def test_sac_recipe_meets_the_ks_het_mild_targets(tmp_path):
    """SAC: the ks recipe's training with the actor's loss weighted alike over the type x employment groups (3.2 M
    agent-steps), then the ks-het-marked SAC recipe's Euler polishing (60 rounds, 1,000 periods of burn-in) with
    aggregate capital spread (spread 0.2) and the errors beyond 0.005 entering linearly (robust 0.005).
    Measured (AMD EPYC with AVX-512, two to four jobs on the 2 cores; 25 to 35 minutes to train, 18 to 27 to
    polish): seeds 0, 1 and 2 pass every row (mean K -0.3, -0.4 and +0.0 %, fractions within 0.0018, no type
    gaining more than 0.003 % by switching); trained only, they fail 8, 13 and 10 rows (mean K -7.6, -17.2 and
    -8.5 %). This test passed in 60 minutes with two or three other jobs on the cores, its policy that of seed 0
    above to the digits of the polishing's log (docs/training.md: SAC on ks-het-mild)."""
    failed = _heterogeneous_failures("ks-het-mild", "sac", tmp_path, 0)
    assert not failed, failed


def test_td3_recipe_meets_the_ks_het_mild_targets(tmp_path):
    """TD3: the ks recipe's training (3.2 M agent-steps), then its actor polished on the household's Euler equation
    as SAC's ks-het-mild recipe, but 160 rounds, a quarter of each round's states with one household's capital
    scaled by up to e^6 (reach 6: without it seed 1's rule ran away to a hoarder), and the rate falling as 60 /
    round after round 60 (settle 60).  Measured (Intel Xeon with AVX-512; 15 minutes to train beside two other
    jobs, 19 to 25 to polish alone or beside one): seeds 0, 1 and 2 pass every row (mean K +0.6, -0.2 and -0.2 %,
    middle fractions 0.3147, 0.3123 and 0.3120 against 0.3121, gains at most 0.005 %); without settle seed 0
    missed the middle type's fraction by 0.00013 beyond its tolerance.  This test passed in 83 minutes beside four
    to six other jobs (983 s of training, 3,894 s of polishing), its polishing's log that of seed 0 above, all 160
    rounds line for line (docs/training.md: the Euler equation after training)."""
    failed = _heterogeneous_failures("ks-het-mild", "td3", tmp_path, 0)
    assert not failed, failed


GENERAL_SEED = 0
"""The shipped general policy's seed (docs/results.md has the recipe's seed band)."""

GENERAL_AGGREGATES = ("aggregate_capital", "aggregate_labour", "interest_rate", "capital_order_by_kappa")


def _general_rows(algo, tmp_path, seed):
    """The general recipe of ``algo`` trained with ``seed``, its rows scored at its fixed point."""
    run = tmp_path / f"general-{algo}"
    train(TrainConfig("general", algo, seed=seed, **TRAIN_RECIPES["general"][algo]), run)
    experiment = scoring_experiment("general", [str(run)])
    return {row.metric: row for row in general_scores(load_model(run, experiment), experiment).rows()}


def _general_failures(rows):
    return [(row.metric, row.rl, row.distance, row.tolerance) for row in rows.values() if row.passed is False]


@pytest.fixture(scope="module")
def general_rows(tmp_path_factory):
    """The general recipe trained with the shipped seed (about 25 minutes of one core beside another run: 20 of
    PPO, 5 of polishing), scored at its fixed point (the weights averaged over the last tenth of the run, then
    polished along labour at unchanged saving, half the loss near the fixed point, as the recipe saves them)."""
    return _general_rows("ppo", tmp_path_factory.mktemp("general"), GENERAL_SEED)


def test_general_recipe_orders_capital_and_meets_the_aggregate_targets(general_rows):
    """Measured (seed 0, the shipped policy): K +0.8 %, L +0.0 %, r -0.5 % (tolerance 2 %), capital ordered by
    kappa household by household; the recipe that observed the types as they are missed K by 7.3 % with 7
    discordant pairs."""
    failed = [(name, general_rows[name].rl, general_rows[name].distance) for name in GENERAL_AGGREGATES
              if not general_rows[name].passed]
    assert not failed, failed


def test_general_recipe_meets_the_general_targets(general_rows):
    """Every judged row, as ``python -m validation.compare general`` requires for exit 0.  Measured (seed 0, the
    shipped policy, AMD EPYC): the largest private Euler residual 0.07 %, the largest intratemporal one 0.04 %
    (tolerance 0.1 %; 0.09 % with every polishing state weighted alike, which failed seed 1 at 0.12 %); without
    the polishing stage no seed of any recipe passed (docs/training.md)."""
    failed = _general_failures(general_rows)
    assert not failed, failed


def test_sac_recipe_meets_the_general_targets(tmp_path):
    """SAC: the ks recipe's training on the types observed O(1) apart, the target entropy annealed to -8 (3.2 M
    agent-steps), then its actor polished on both first-order conditions (the euler margin of the AR(1)
    economies), half the loss near the fixed point, 40 rounds, log errors beyond 0.005 entering linearly.
    Measured (AMD EPYC with AVX-512; 55 to 88 minutes to train beside two to four other runs, 22 to 28 to polish
    beside four): seeds 0, 1 and 2 pass every judged row (seed 0: K -0.0 %, the largest private Euler residual
    0.024 %, the largest intratemporal one 0.040 %); with the squared loss seed 2 failed three intratemporal
    residuals (up to 0.24 %), with 20 rounds seed 1 one Euler residual (0.152 %); trained only, 10 rows fail.
    This test passed in 66 minutes on an Intel Xeon with AVX-512 beside three to six other jobs (3,083 s of
    training, 864 s of polishing; docs/training.md: SAC on general)."""
    failed = _general_failures(_general_rows("sac", tmp_path, 0))
    assert not failed, failed


@pytest.mark.parametrize("algo", ["td3", "ddpg"])
def test_td3_and_ddpg_recipes_meet_the_general_targets(algo, tmp_path):
    """TD3 and DDPG: each one's ks recipe's training on the types observed O(1) apart (3.2 M agent-steps), then
    SAC's general polishing but 60 rounds.  Measured (Intel Xeon with AVX-512; 49 to 71 minutes to train at low
    priority beside four to six other jobs, 36 to polish beside five): seeds 0, 1 and 2 of each pass every judged
    row (the largest residual 0.046 % for TD3, 0.058 % for DDPG); with 40 rounds TD3's seed 2 failed one
    intratemporal residual (0.158 %) and DDPG's seed 1 one Euler residual (0.127 %); trained only, seed 0 fails 18
    (TD3) and 16 (DDPG) rows.  This test passed in 33 (TD3) and 26 (DDPG) minutes beside one or two other jobs,
    each one's polishing log that of its seed 0 above line for line (docs/training.md: TD3 and DDPG on general)."""
    failed = _general_failures(_general_rows(algo, tmp_path, 0))
    assert not failed, failed
