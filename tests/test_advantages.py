"""PPO's advantages and SAC's critic targets with next period's shocks integrated out (KS); PPO's advantages
standardised within groups of households.

Independent methods against each other (STYLE.md, layer 2): the closed-form
law of one household's employment (:func:`rl.core.shock_law`) and the
expectation of a value over next period's shocks
(:func:`rl.core.next_state_values`) against Monte Carlo draws of the
environment's own step; the callback that uses them
(:class:`rl.advantages.ExpectedNextValue`) against SB3's own GAE where the two
must agree; SAC's expected target (:class:`rl.sac.ExpectedNextValueSAC`) against
:func:`rl.core.next_state_values` and against SB3's sampled target where the two
must agree; the group standardisation
(:class:`rl.advantages.GroupAdvantageNormalisation`) against its definition.
"""

import numpy as np
import pytest
import torch

from econ.experiments import make_experiment
from rl import core
from rl.advantages import ExpectedNextValue, GroupAdvantageNormalisation
from rl.config import TrainConfig
from rl.recipes import hyperparameters
from rl.sac import ShockExpectation
from rl.train import train

Z_MAX = 5.0
"""Monte Carlo frequencies and means may differ from the exact values by at most 5 standard errors
(a false alarm has probability below 1e-6 per comparison; the cells compared are a few dozen)."""

SAC_TARGET_ATOL = 1e-5
"""Float32 sums of the same four values in another order agree to rounding (values O(1))."""

ADVANTAGE_ATOL = 1e-5
"""Float32 advantages recomputed in another order of operations agree to rounding (values O(1) to O(10))."""


def _frequencies(exp, n_economies=20_000, n_steps=10, seed=0):
    rng = np.random.default_rng(seed)
    state = core.initial_state(exp, n_economies, rng)
    counts, hits = np.zeros((2, 2, 2)), np.zeros((2, 2, 2))
    actions = np.zeros((n_economies, exp.num_agents, 1))
    for _ in range(n_steps):
        nxt = core.step(exp, state, actions, rng).state
        for z in range(2):
            for e in range(2):
                for z_next in range(2):
                    cell = (state.aggregate_state[:, None] == z) & (state.employed == e) & \
                           (nxt.aggregate_state[:, None] == z_next)
                    counts[z, e, z_next] += cell.sum()
                    hits[z, e, z_next] += nxt.employed[cell].sum()
        state = nxt
    return hits / counts, counts


@pytest.mark.parametrize("name", ["ks", "ks-het-marked"])
def test_shock_law_matches_the_environments_draws(name):
    exp = make_experiment(name)
    law = core.shock_law(exp)
    np.testing.assert_allclose(law.aggregate.sum(axis=1), 1.0, rtol=1e-12)
    frequency, counts = _frequencies(exp)
    z_score = (frequency - law.employed) / np.sqrt(law.employed * (1.0 - law.employed) / counts)
    assert np.abs(z_score).max() < Z_MAX, z_score
    # negative control: the chain's own probabilities ignore the exact unemployment count and are told apart
    chain = core._static(exp).probability_employed
    assert np.abs((frequency - chain) / np.sqrt(chain * (1.0 - chain) / counts)).max() > 10 * Z_MAX


def test_without_exact_counts_the_law_is_the_chain():
    exp = make_experiment("ks", exact_unemployment=False)
    frequency, counts = _frequencies(exp, n_economies=5_000)
    law = core.shock_law(exp)
    np.testing.assert_array_equal(law.employed, core._static(exp).probability_employed)
    assert np.abs((frequency - law.employed) / np.sqrt(law.employed * (1 - law.employed) / counts)).max() < Z_MAX


def test_shock_law_refuses_an_ar1_experiment():
    with pytest.raises(ValueError, match="Krusell-Smith"):
        core.shock_law(make_experiment("rbc"))


def _value(obs):
    """A fixed nonlinear function of every observation component (stands in for a critic)."""
    obs = np.asarray(obs, dtype=float)
    weights = np.linspace(0.7, 2.3, obs.shape[-1])
    return np.sin(obs @ weights) + 0.5 * obs[:, -1] * obs[:, 0] + 3.0 * obs[:, -2]


@pytest.fixture(params=[None, ("capital", "aggregate_capital", "log_tfp", "capital_productivity", "employed")],
                ids=["default-observations", "log-tfp-observed"])
def het_exp(request):
    """ks-het-mild with its own observations, and with log z observed in place of the 0/1 aggregate state."""
    return make_experiment("ks-het-mild", **({} if request.param is None else {"observations": request.param}))


def _monte_carlo_against_next_state_values(exp, state, actions, rng, n_draws):
    """Mean of _value over n_draws of the environment's next state, its standard error, and next_state_values
    (given one more draw's next observation); the shocks must move the value (the comparison has power)."""
    obs = core.observe(exp, state)
    draws = np.array([_value(core.observe(exp, core.step(exp, state, actions, rng).state).reshape(-1, obs.shape[-1]))
                      for _ in range(n_draws)])
    one_draw = core.observe(exp, core.step(exp, state, actions, rng).state)
    exact = core.next_state_values(exp, obs, one_draw, _value).reshape(-1)
    standard_error = draws.std(axis=0) / np.sqrt(n_draws)
    assert np.all(standard_error > 0)
    assert np.all(np.abs(draws.mean(axis=0) - exact) < Z_MAX * standard_error)
    return draws.mean(axis=0), standard_error, obs, one_draw


def test_next_state_values_is_the_mean_over_the_environments_next_shocks(het_exp):
    rng = np.random.default_rng(1)
    state = core.initial_state(het_exp, 3, rng)
    actions = rng.uniform(-0.5, 0.5, (3, het_exp.num_agents, 1))
    _monte_carlo_against_next_state_values(het_exp, state, actions, rng, 4_000)


def test_next_state_values_is_the_mean_over_next_periods_tfp_in_an_ar1_economy():
    """AR(1) TFP: the Gauss-Hermite mean against the mean over the environment's own draws.  log A is observed
    divided by 0.0229 (the general recipe's scale), so one sd of the innovation moves the observation by 0.44 and
    the value's curvature in it shows (with log A as is, the Jensen term is below the Monte Carlo error)."""
    exp = make_experiment("general", tfp_scale=0.0229, productivity_scale=0.02)
    rng = np.random.default_rng(3)
    state = core.initial_state(exp, 3, rng)._replace(log_tfp=np.array([-0.03, 0.0, 0.05]))
    actions = rng.uniform(-0.5, 0.5, (3, exp.num_agents, 2))
    mean, standard_error, obs, one_draw = _monte_carlo_against_next_state_values(exp, state, actions, rng, 20_000)
    # negative control: without the innovation's spread (the value at the conditional mean) it is told apart
    at_mean = core.next_state_values(exp._replace(sigma=0.0), obs, one_draw, _value)
    assert np.abs(mean - at_mean.reshape(-1)).max() > 10 * Z_MAX * standard_error.max()


def test_next_state_values_needs_log_tfp_observed_in_an_ar1_economy():
    exp = make_experiment("general", observations=("capital", "aggregate_capital", "capital_productivity",
                                                   "labour_productivity"))
    with pytest.raises(ValueError, match="log_tfp"):
        core.next_state_values(exp, np.zeros((2, 4)), np.zeros((2, 4)), _value)


def _ppo_rollout(exp, critic_ignores_shocks, seed=0):
    from stable_baselines3 import PPO
    from rl.vec_env import EconomyVecEnv
    env = EconomyVecEnv(exp, n_economies=2, seed=seed)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=64, gamma=exp.beta, seed=seed, device="cpu",
                policy_kwargs={"net_arch": [16, 16]})
    if critic_ignores_shocks:
        first = model.policy.mlp_extractor.value_net[0]
        with torch.no_grad():
            for name in ("aggregate_state", "employed"):
                first.weight[:, exp.observations.index(name)] = 0.0
    captured = {}

    class Capture(ExpectedNextValue):
        def _on_rollout_end(self):
            captured["sb3"] = self.model.rollout_buffer.advantages.copy()
            super()._on_rollout_end()
            captured["expected"] = self.model.rollout_buffer.advantages.copy()
            captured["returns_ok"] = np.allclose(self.model.rollout_buffer.returns,
                                                 captured["expected"] + self.model.rollout_buffer.values)
            raise KeyboardInterrupt  # one rollout is enough

    with pytest.raises(KeyboardInterrupt):
        model.learn(16 * env.num_envs, callback=Capture(exp))
    return captured


def test_callback_reproduces_sb3s_gae_when_the_critic_ignores_the_shocks():
    """V(o') that does not depend on (z', e') equals its expectation: the advantages must be SB3's, truncation included."""
    exp = make_experiment("ks", episode_length=7)  # truncations inside the 16-step rollout
    captured = _ppo_rollout(exp, critic_ignores_shocks=True)
    np.testing.assert_allclose(captured["expected"], captured["sb3"], atol=ADVANTAGE_ATOL)
    assert captured["returns_ok"]
    # negative control: a critic that reads the shocks gives other advantages
    captured = _ppo_rollout(exp, critic_ignores_shocks=False)
    assert np.abs(captured["expected"] - captured["sb3"]).max() > 100 * ADVANTAGE_ATOL


def _ppo_targets(exp, gae_lambda, value_lambda=None, before=(), schedule=None):
    """The advantages and value targets of one PPO rollout (16 steps, 2 economies) with the shocks integrated out
    (``before``: callbacks run ahead of the expectation's)."""
    from stable_baselines3 import PPO
    from rl.vec_env import EconomyVecEnv
    env = EconomyVecEnv(exp, n_economies=2, seed=0)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=64, gamma=exp.beta, gae_lambda=gae_lambda, seed=0,
                device="cpu", policy_kwargs={"net_arch": [16, 16]})
    captured = {}

    class Capture(ExpectedNextValue):
        def _on_rollout_end(self):
            super()._on_rollout_end()
            buffer = self.model.rollout_buffer
            captured.update(advantages=buffer.advantages.copy(), returns=buffer.returns.copy())
            raise KeyboardInterrupt  # one rollout is enough

    with pytest.raises(KeyboardInterrupt):
        model.learn(16 * env.num_envs, callback=[*before, Capture(exp, value_lambda, False, schedule)])
    return captured


def test_value_lambda_sets_the_value_targets_and_leaves_the_advantages():
    """The rollout does not depend on either lambda (same seed), so the targets with value_lambda L are exactly
    those of GAE with lambda L, and the advantages exactly those of GAE's own lambda; truncations inside the
    rollout (episodes of 7 periods)."""
    exp = make_experiment("ks-het-mild", episode_length=7)
    gae, one_step = _ppo_targets(exp, 0.95), _ppo_targets(exp, 0.0)
    mixed = _ppo_targets(exp, 0.95, value_lambda=0.0)
    np.testing.assert_array_equal(mixed["advantages"], gae["advantages"])
    np.testing.assert_array_equal(mixed["returns"], one_step["returns"])
    swapped = _ppo_targets(exp, 0.0, value_lambda=0.95)
    np.testing.assert_array_equal(swapped["advantages"], one_step["advantages"])
    np.testing.assert_array_equal(swapped["returns"], gae["returns"])
    # the control: the two lambdas' targets differ on this rollout
    assert np.abs(gae["returns"] - one_step["returns"]).max() > 1.0


def test_advantage_lambda_annealing_sets_the_advantages_lambda_and_leaves_the_critics(tmp_path, monkeypatch):
    """gae_lambda_final: the schedule holds lambda until the start fraction, then moves it linearly to the final
    value; at a rollout where it has reached 0, the advantages are exactly those of a PPO built with GAE lambda 0
    and the targets those of lambda 0.95 (the critic's own), on the same rollout; a tiny run trains with it; the
    setting is refused where it cannot apply (LAMBDA_REFUSALS)."""
    from rl.advantages import AdvantageLambdaAnnealing
    schedule = AdvantageLambdaAnnealing(0.95, 0.0, total=100, start=0.5)
    assert [schedule.value_at(t) for t in (0, 50, 75, 100, 200)] == pytest.approx([0.95, 0.95, 0.475, 0.0, 0.0])
    exp = make_experiment("ks-het-mild", episode_length=7)
    gae, one_step = _ppo_targets(exp, 0.95), _ppo_targets(exp, 0.0)
    # a PPO built with lambda 0.95 whose schedule is at 0 from its first rollout on
    annealed = _ppo_targets(exp, 0.95, value_lambda=0.95, before=[AdvantageLambdaAnnealing(0.0, 0.0, total=1)])
    np.testing.assert_array_equal(annealed["advantages"], one_step["advantages"])
    np.testing.assert_array_equal(annealed["returns"], gae["returns"])
    assert np.abs(gae["advantages"] - one_step["advantages"]).max() > 1.0  # the control: the lambdas differ here
    # rl.train: the critic keeps the initial lambda unless value_lambda is given
    import rl.train
    built = []
    monkeypatch.setattr(rl.train, "ExpectedNextValue",
                        lambda experiment, value_lambda, *rest: built.append(value_lambda)
                        or ExpectedNextValue(experiment, value_lambda, *rest))
    for extra, critic in (({}, 0.9), ({"value_lambda": 0.5}, 0.5)):
        train(TrainConfig("ks-het-mild", "ppo", timesteps=192, n_agents=6, n_steps=32,
                          overrides={"episode_length": 40},
                          hyper_overrides={"expected_next_value": True, "gae_lambda": 0.9, "gae_lambda_final": 0.0,
                                           **extra}), tmp_path / f"run{critic}")
        assert built[-1] == critic


def test_value_lambda_final_moves_the_critics_lambda_on_the_advantages_schedule(tmp_path, monkeypatch):
    """value_lambda_final: a schedule at 0 from the first rollout gives exactly the targets of lambda 0 while the
    advantages keep GAE's 0.95 (same rollout); rl.train builds the schedule from the critic's initial lambda to the
    final one over the advantages' window; refused where it cannot apply (LAMBDA_REFUSALS)."""
    exp = make_experiment("ks-het-mild", episode_length=7)
    gae, one_step = _ppo_targets(exp, 0.95), _ppo_targets(exp, 0.0)
    scheduled = _ppo_targets(exp, 0.95, value_lambda=0.95, schedule=lambda timesteps: 0.0)
    np.testing.assert_array_equal(scheduled["advantages"], gae["advantages"])
    np.testing.assert_array_equal(scheduled["returns"], one_step["returns"])
    assert np.abs(gae["returns"] - one_step["returns"]).max() > 1.0  # the control
    import rl.train
    schedules = []
    monkeypatch.setattr(rl.train, "ExpectedNextValue",
                        lambda experiment, value_lambda, baseline, schedule, *rest: schedules.append(schedule)
                        or ExpectedNextValue(experiment, value_lambda, baseline, schedule, *rest))
    train(TrainConfig("ks-het-mild", "ppo", timesteps=192, n_agents=6, n_steps=32, overrides={"episode_length": 40},
                      hyper_overrides={"expected_next_value": True, "gae_lambda": 0.9, "gae_lambda_final": 0.0,
                                       "gae_lambda_anneal_start": 0.5, "value_lambda": 0.8,
                                       "value_lambda_final": 0.2}), tmp_path / "run")
    (schedule,) = schedules
    assert [schedule(t) for t in (0, 96, 144, 192)] == pytest.approx([0.8, 0.8, 0.5, 0.2])
    with pytest.raises(ValueError, match="value_lambda_schedule needs value_lambda"):
        ExpectedNextValue(exp, None, False, lambda timesteps: 0.0)


_ENV = {"expected_next_value": True}
LAMBDA_REFUSALS = [
    ("ppo", {"gae_lambda_final": 0.0}, "gae_lambda_final needs expected_next_value"),
    ("sac", {**_ENV, "gae_lambda_final": 0.0}, "gae_lambda_final applies to PPO only, not sac"),
    ("ppo", {**_ENV, "gae_lambda_final": 1.5}, "gae_lambda_final must lie in"),
    ("ppo", {**_ENV, "gae_lambda_anneal_start": 0.5}, "gae_lambda_anneal_start needs gae_lambda_final"),
    ("ppo", {**_ENV, "gae_lambda_final": 0.0, "gae_lambda_anneal_start": 1.0}, "gae_lambda_anneal_start"),
    ("ppo", {**_ENV, "value_lambda_final": 0.0}, "value_lambda_final needs gae_lambda_final"),
    ("sac", {**_ENV, "value_lambda_final": 0.0}, "value_lambda_final applies to PPO only, not sac"),
    ("ppo", {**_ENV, "gae_lambda_final": 0.0, "value_lambda_final": -0.5}, "value_lambda_final must lie in"),
]
"""Settings of the advantages' and the critic's lambda schedules that rl.recipes.hyperparameters refuses, with the
start of the one-line error each gets."""


@pytest.mark.parametrize("algo, extra, message", LAMBDA_REFUSALS)
def test_lambda_schedules_are_refused_where_they_do_not_apply(algo, extra, message):
    with pytest.raises(ValueError, match=message):
        hyperparameters(algo, "tuned", 0.95, extra=extra)


def test_value_lambda_is_refused_where_it_does_not_apply():
    with pytest.raises(ValueError, match="value_lambda must lie in \\[0.0, 1.0\\]"):
        hyperparameters("ppo", "tuned", 0.95, extra={"expected_next_value": True, "value_lambda": 1.5})
    with pytest.raises(ValueError, match="value_lambda needs expected_next_value"):
        hyperparameters("ppo", "tuned", 0.95, extra={"value_lambda": 0.0})
    with pytest.raises(ValueError, match="value_lambda applies to PPO only, not sac"):
        hyperparameters("sac", "tuned", 0.95, extra={"expected_next_value": True, "value_lambda": 0.0})
    with pytest.raises(ValueError, match="value_lambda must be a real number"):
        ExpectedNextValue(make_experiment("ks"), "zero")


def test_expected_next_value_is_refused_where_it_does_not_apply(tmp_path):
    with pytest.raises(ValueError, match="true or false"):
        hyperparameters("ppo", "tuned", 0.95, extra={"expected_next_value": 1})
    no_tfp = {"observations": ["capital", "aggregate_capital"]}
    for algo in ("ppo", "sac"):
        with pytest.raises(ValueError, match="log_tfp"):
            train(TrainConfig("rbc", algo, timesteps=64, overrides=no_tfp,
                              hyper_overrides={"expected_next_value": True}), tmp_path / "run")
        assert not (tmp_path / "run").exists()


@pytest.fixture(params=["ks-het-mild", "ks-het-mild-log-tfp", "general"])
def shock_exp(request):
    """Both technologies: the KS chain (z observed as 0/1 or as log z) and the AR(1) of general (TFP observed at
    the recipe's scale, so that its innovation moves the value)."""
    if request.param == "general":
        return make_experiment("general", tfp_scale=0.0229, productivity_scale=0.02)
    if request.param == "ks-het-mild-log-tfp":
        return make_experiment("ks-het-mild", observations=("capital", "aggregate_capital", "log_tfp",
                                                            "capital_productivity", "employed"))
    return make_experiment("ks-het-mild")


def test_sac_shock_expectation_is_next_state_values(shock_exp):
    """The torch expectation of SAC's targets and the numpy one of PPO's advantages: one sum, evaluated through
    both (each checked against the environment's own draws above)."""
    exp = shock_exp
    rng = np.random.default_rng(2)
    state = core.initial_state(exp, 4, rng)
    obs = core.observe(exp, state).reshape(-1, len(exp.observations))
    nxt = core.observe(exp, core.step(exp, state, rng.uniform(-1, 1, (4, exp.num_agents, exp.action_size)), rng).state)
    nxt = nxt.reshape(obs.shape)
    exact = core.next_state_values(exp, obs, nxt, _value)
    stacked, weights = ShockExpectation(exp).expand(torch.as_tensor(obs), torch.as_tensor(nxt))
    np.testing.assert_allclose(weights.sum(dim=0).numpy(), 1.0, atol=1e-6)
    mean = (torch.as_tensor(_value(stacked.numpy()), dtype=torch.float32).reshape(weights.shape) * weights).sum(dim=0)
    np.testing.assert_allclose(mean.numpy().ravel(), exact, atol=SAC_TARGET_ATOL)


def _targets(algo, exp, networks_read_shocks, seed=0):
    """SB3's sampled bootstrap term and the expected one (rl.sac, rl.td3) on one replay batch: SAC with its mean
    action and no entropy term, TD3 and DDPG without target-policy noise, so that the two differ only by the
    shocks."""
    from rl.loading import EXPECTED_TARGETS
    from rl.vec_env import EconomyVecEnv
    noise = {"target_policy_noise": 0.0} if algo == "td3" else {}  # DDPG has none
    model = EXPECTED_TARGETS[algo]("MlpPolicy", EconomyVecEnv(exp, n_economies=2, seed=seed), learning_starts=64,
                                   batch_size=64, gamma=exp.beta, seed=seed, device="cpu",
                                   policy_kwargs={"net_arch": [16, 16]}, **noise)
    model.learn(128)  # fills the replay buffer (and takes a few gradient steps)
    actor = model.actor.latent_pi if algo == "sac" else model.actor_target.mu
    if not networks_read_shocks:
        with torch.no_grad():
            for first in [critic[0] for critic in model.critic_target.q_networks] + [actor[0]]:
                for name in _shock_names(exp):
                    first.weight[:, exp.observations.index(name)] = 0.0
    extra = ()
    if algo == "sac":
        model.actor.action_log_prob = lambda obs: (model.actor(obs, deterministic=True), torch.zeros(len(obs)))
        extra = (0.0,)
    batch = model.replay_buffer.sample(64)
    with torch.no_grad():
        sampled = model._next_q_values(batch.observations, batch.next_observations, *extra)
        expected = model.expect_over_shocks(exp)._next_q_values(batch.observations, batch.next_observations, *extra)
    return sampled.numpy(), expected.numpy()


def _shock_names(exp):
    return ("log_tfp",) if exp.technology == "ar1" else ("aggregate_state", "employed")


@pytest.mark.parametrize("algo", ["sac", "td3", "ddpg"])
@pytest.mark.parametrize("exp", [make_experiment("ks", episode_length=40),
                                 make_experiment("general", episode_length=40, tfp_scale=0.0229,
                                                 productivity_scale=0.02)], ids=["ks", "general"])
def test_off_policy_target_is_sb3s_when_the_networks_ignore_the_shocks(algo, exp):
    """Q'(o', a'(o')) that does not depend on next period's shocks ((z', e'); log A') equals its expectation: the
    target must be SB3's."""
    sampled, expected = _targets(algo, exp, networks_read_shocks=False)
    np.testing.assert_allclose(expected, sampled, atol=SAC_TARGET_ATOL)
    # negative control: networks that read the shocks give other targets
    sampled, expected = _targets(algo, exp, networks_read_shocks=True)
    assert np.abs(expected - sampled).max() > 100 * SAC_TARGET_ATOL


@pytest.mark.parametrize("algo", ["sac", "td3", "ddpg"])
def test_off_policy_with_expected_next_value_trains_and_loads(algo, tmp_path):
    from rl.loading import EXPECTED_TARGETS, load_model
    exp = make_experiment("ks")
    config = TrainConfig("ks", algo, timesteps=400, preset="tuned", checkpoint_every=200,
                         hyper_overrides={"expected_next_value": True, "learning_starts": 100, "batch_size": 32})
    train(config, tmp_path / "run", progress=False)
    model = load_model(tmp_path / "run", exp)
    assert type(model) is EXPECTED_TARGETS[algo] and model.shock_expectation is not None
    # resuming rebuilds the expectation (it is not saved with the model)
    summary = train(config.replace(timesteps=600), tmp_path / "run", resume=True, progress=False)
    assert summary["timesteps"] == 600


def test_group_normalisation_standardises_each_type_and_employment_group():
    from stable_baselines3 import PPO
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("ks-het-mild")
    env = EconomyVecEnv(exp, n_economies=2, seed=0)
    model = PPO("MlpPolicy", env, n_steps=16, batch_size=64, gamma=exp.beta, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16, 16]})
    captured = {}

    class Capture(GroupAdvantageNormalisation):
        def _on_rollout_end(self):
            buffer = self.model.rollout_buffer
            captured["before"], captured["returns"] = buffer.advantages.copy(), buffer.returns.copy()
            super()._on_rollout_end()
            captured["after"], captured["returns_after"] = buffer.advantages.copy(), buffer.returns.copy()
            captured["obs"] = buffer.observations.copy()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        model.learn(16 * env.num_envs, callback=Capture(exp, ["capital_productivity", "employed"]))
    kappa = captured["obs"][..., exp.observations.index("capital_productivity")]
    employed = captured["obs"][..., exp.observations.index("employed")]
    groups = 0
    for k in np.unique(kappa):
        for e in (0.0, 1.0):
            mine = (kappa == k) & (employed == e)
            if mine.sum() < 2:
                continue
            groups += 1
            after, before = captured["after"][mine], captured["before"][mine]
            assert abs(after.mean()) < ADVANTAGE_ATOL and abs(after.std() - 1.0) < 1e-4
            np.testing.assert_allclose(after, (before - before.mean()) / before.std(), rtol=1e-4, atol=1e-5)
    assert groups >= 5  # three types, mostly both employment states: the groups were really formed
    np.testing.assert_array_equal(captured["returns_after"], captured["returns"])  # the critic's targets stay
    # negative control: standardising the whole rollout at once (SB3's way) gives other advantages
    before = captured["before"]
    assert np.abs(captured["after"] - (before - before.mean()) / before.std()).max() > 0.1


@pytest.mark.parametrize("balance", [1.0, 0.5])
def test_group_balance_evens_out_the_groups_weights(balance):
    """``balance`` b multiplies each standardised group's advantages by (n / (G n_g))^b: with b = 1 every group has
    the same total weight sum_i |w_i| in the policy's loss (its standardised advantages have unit spread), with b
    = 0.5 the same sum of squares; the groups' orderings are those of the plain standardisation."""
    from stable_baselines3 import PPO
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("ks-het-marked")
    env = EconomyVecEnv(exp, n_economies=2, seed=0)
    captured = {}

    class Capture(GroupAdvantageNormalisation):
        def _on_rollout_end(self):
            buffer = self.model.rollout_buffer
            before = buffer.advantages.copy()
            super()._on_rollout_end()
            captured["balanced"], captured["obs"] = buffer.advantages.copy(), buffer.observations.copy()
            buffer.advantages = before
            self.balance = 0.0
            super()._on_rollout_end()
            captured["plain"] = buffer.advantages.copy()
            raise KeyboardInterrupt

    model = PPO("MlpPolicy", env, n_steps=32, batch_size=64, gamma=exp.beta, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16, 16]})
    with pytest.raises(KeyboardInterrupt):
        model.learn(32 * env.num_envs, callback=Capture(exp, ["capital_productivity", "employed"], balance=balance))
    kappa = captured["obs"][..., exp.observations.index("capital_productivity")]
    employed = captured["obs"][..., exp.observations.index("employed")]
    groups = [(kappa == k) & (employed == e) for k in np.unique(kappa) for e in (0.0, 1.0)]
    groups = [g for g in groups if g.sum() > 1]
    n, sizes = sum(g.sum() for g in groups), [int(g.sum()) for g in groups]
    assert len(groups) >= 5 and max(sizes) > 5 * min(sizes)  # unequal groups: the weights matter
    power = []
    for mine, size in zip(groups, sizes):
        plain, balanced = captured["plain"][mine], captured["balanced"][mine]
        np.testing.assert_allclose(balanced, (n / (len(groups) * size)) ** balance * plain, rtol=1e-5)
        power.append(float(np.sum(balanced.astype(float) ** 2)))
    # the standardised advantages have sum of squares n_g: b = 0.5 evens it out to n / G in every group, and b = 1
    # gives n_g times the squared weight, (n / G)^2 / n_g (each group's total weight n_g w_g the same, n / G)
    expected = [n / len(groups) if balance == 0.5 else (n / len(groups)) ** 2 / size for size in sizes]
    np.testing.assert_allclose(power, expected, rtol=1e-4)


def test_group_normalisation_stops_after_its_share_of_the_run():
    """``until``: rollouts ending after it keep their advantages (SB3 then standardises each minibatch)."""
    from stable_baselines3 import PPO
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("ks-het-mild")
    env = EconomyVecEnv(exp, n_economies=2, seed=0)
    rollout = 16 * env.num_envs
    changed = []

    class Capture(GroupAdvantageNormalisation):
        def _on_rollout_end(self):
            before = self.model.rollout_buffer.advantages.copy()
            super()._on_rollout_end()
            changed.append(bool(np.abs(self.model.rollout_buffer.advantages - before).max() > 1e-3))

    model = PPO("MlpPolicy", env, n_steps=16, batch_size=64, n_epochs=1, gamma=exp.beta, seed=0, device="cpu",
                policy_kwargs={"net_arch": [16, 16]})
    model.learn(3 * rollout, callback=Capture(exp, ["capital_productivity", "employed"], until=rollout))
    assert changed == [True, False, False]  # the first rollout ends at `until`, the others after it


def test_advantage_groups_are_refused_where_they_do_not_apply(tmp_path):
    exp = make_experiment("ks-het-mild")
    with pytest.raises(ValueError, match="discrete"):
        GroupAdvantageNormalisation(exp, ["capital"])
    with pytest.raises(ValueError, match="not observed"):
        GroupAdvantageNormalisation(exp, ["labour_productivity"])
    with pytest.raises(ValueError, match="PPO only"):
        hyperparameters("sac", "tuned", 0.95, extra={"advantage_groups": ["employed"]})
    with pytest.raises(ValueError, match="non-empty list"):
        hyperparameters("ppo", "tuned", 0.95, extra={"advantage_groups": "employed"})
    with pytest.raises(ValueError, match=r"advantage_groups_until .*\(0.0, 1.0\], got 0"):
        hyperparameters("ppo", "tuned", 0.95, extra={"advantage_groups": ["employed"], "advantage_groups_until": 0})
    with pytest.raises(ValueError, match="needs advantage_groups"):
        hyperparameters("ppo", "tuned", 0.95, extra={"advantage_groups_until": 0.5})
    with pytest.raises(ValueError, match="advantage_groups_balance needs advantage_groups"):
        hyperparameters("ppo", "tuned", 0.95, extra={"advantage_groups_balance": 0.5})
    with pytest.raises(ValueError, match=r"advantage_groups_balance must lie in \[0.0, 1.0\], got 2"):
        hyperparameters("ppo", "tuned", 0.95, extra={"advantage_groups": ["employed"], "advantage_groups_balance": 2})
    with pytest.raises(ValueError, match=r"advantage_groups_balance must lie in \[0.0, 1.0\], got -0.5"):
        GroupAdvantageNormalisation(exp, ["employed"], balance=-0.5)
    with pytest.raises(ValueError, match=">= 0 agent-steps"):
        GroupAdvantageNormalisation(exp, ["employed"], until=-1)
    with pytest.raises(ValueError, match="not observed"):
        train(TrainConfig("ks", "ppo", timesteps=64, hyper_overrides={"advantage_groups": ["capital_productivity"]}),
              tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("algo", ["sac", "td3", "ddpg"])
def test_off_policy_training_step_is_sb3s_without_the_expectation(algo):
    """rl.sac and rl.td3 carry their own copy of SB3's training step (to change the target's bootstrap term):
    without the expectation it must train bit for bit as SB3's class, with it differently (negative control)."""
    from rl.loading import EXPECTED_TARGETS
    from rl.recipes import algorithm_class
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("ks", episode_length=40)

    def weights(cls, expect):
        model = cls("MlpPolicy", EconomyVecEnv(exp, n_economies=2, seed=0), learning_starts=64, batch_size=32,
                    gamma=exp.beta, seed=0, device="cpu", policy_kwargs={"net_arch": [16, 16]}, gradient_steps=2)
        if expect:
            model.expect_over_shocks(exp)
        model.learn(400)
        return torch.cat([p.detach().flatten() for p in model.policy.parameters()])

    sb3 = weights(algorithm_class(algo), expect=False)
    assert torch.equal(weights(EXPECTED_TARGETS[algo], expect=False), sb3)
    assert not torch.equal(weights(EXPECTED_TARGETS[algo], expect=True), sb3)


def test_actor_group_weights_equalise_the_groups_action_gradients():
    """Each group's weighted root-mean-square action gradient is the same; the weights average 1."""
    from rl.sac import group_weights
    groups = torch.tensor([0, 0, 1, 1, 1, 2])
    norms = torch.tensor([1.0, 3.0, 10.0, 20.0, 30.0, 0.0])
    w = group_weights(groups, norms).reshape(-1)
    assert w.shape == (6,) and torch.isclose(w.mean(), torch.tensor(1.0))
    rms = [torch.sqrt(torch.mean((w[groups == g] * norms[groups == g]) ** 2)) for g in (0, 1)]
    assert torch.isclose(rms[0], rms[1])
    assert torch.isfinite(w).all() and w[0] == w[1]  # a group without gradient stays finite; one weight per group
    assert w[2] < w[0]  # the larger gradients are weighted down
    # group indices with gaps (absent groups): groups 0 and 3 only, rms 2 and 1 -> weights 1/2, 1, 1 over mean 5/6
    gapped = group_weights(torch.tensor([0, 3, 3]), torch.tensor([2.0, 1.0, 1.0])).reshape(-1)
    assert torch.allclose(gapped, torch.tensor([0.6, 1.2, 1.2]))


def test_critic_group_weights_give_every_group_the_same_error_gradient():
    """With critic_groups, each group's root-mean-square gradient of the loss with respect to the critics' values
    is the same (each twin separately); without, the loss is SB3's 0.5 sum of mean squared errors."""
    from rl.sac import ExpectedNextValueSAC
    observations = torch.tensor([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    target = torch.zeros(5, 1)
    current = [torch.tensor([[1.0], [-3.0], [10.0], [20.0], [-30.0]], requires_grad=True),
               torch.tensor([[2.0], [2.0], [5.0], [0.5], [1.0]], requires_grad=True)]
    model = ExpectedNextValueSAC.__new__(ExpectedNextValueSAC)
    model.weigh_critic_by_groups(None)
    plain = model._critic_loss(observations, current, target)
    assert torch.isclose(plain, 0.5 * sum(torch.mean(q ** 2) for q in current))
    model.weigh_critic_by_groups([0])
    gradients = torch.autograd.grad(model._critic_loss(observations, current, target), current)
    for gradient in gradients:
        gradient = gradient.reshape(-1)
        rms = [torch.sqrt(torch.mean(gradient[rows] ** 2)) for rows in (slice(0, 2), slice(2, 5))]
        assert torch.isclose(rms[0], rms[1])


@pytest.mark.parametrize("key, method, attribute, algo, refused, owners", [
    ("actor_groups", "weigh_actor_by_groups", "actor_group_columns", "sac", "ppo", "SAC, TD3 and DDPG only"),
    ("actor_groups", "weigh_actor_by_groups", "actor_group_columns", "td3", "ppo", "SAC, TD3 and DDPG only"),
    ("actor_groups", "weigh_actor_by_groups", "actor_group_columns", "ddpg", "ppo", "SAC, TD3 and DDPG only"),
    ("critic_groups", "weigh_critic_by_groups", "critic_group_columns", "sac", "td3", "SAC only")])
def test_group_settings_change_training_and_are_set_again_on_loading(tmp_path, key, method, attribute, algo, refused,
                                                                     owners):
    """With actor_groups (critic_groups) the actor (SAC's critics) trains differently, its loss reweighted; without,
    as before (for TD3 and DDPG bit for bit SB3's step: test_off_policy_training_step_is_sb3s_without_the_expectation);
    the setting is checked before any work, set on every model the run builds or resumes, and not saved."""
    from rl.advantages import group_columns
    from rl.loading import EXPECTED_TARGETS, build_model
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("ks-het-marked", 6, episode_length=40)
    columns = group_columns(exp, ["capital_productivity", "employed"], key)
    assert columns == [exp.observations.index("capital_productivity"), exp.observations.index("employed")]

    def weights(groups):
        model = EXPECTED_TARGETS[algo]("MlpPolicy", EconomyVecEnv(exp, n_economies=2, seed=0), learning_starts=64,
                                       batch_size=32, gamma=exp.beta, seed=0, device="cpu",
                                       policy_kwargs={"net_arch": [16, 16]}, gradient_steps=2)
        getattr(model.expect_over_shocks(exp), method)(groups)
        model.learn(400)
        return torch.cat([p.detach().flatten() for p in model.policy.parameters()])

    plain = weights(None)
    assert torch.equal(weights(None), plain)
    assert not torch.equal(weights(columns), plain)

    hyper = hyperparameters(algo, "tuned", exp.beta, extra={"expected_next_value": True,
                                                             key: ["capital_productivity", "employed"]})
    model = build_model(algo, hyper, exp, seed=0)
    assert getattr(model, attribute) == columns and attribute in model._excluded_save_params()
    with pytest.raises(ValueError, match=f"{key} applies to {owners}, not {refused}"):
        hyperparameters(refused, "tuned", 0.95, extra={"expected_next_value": True, key: ["employed"]})
    with pytest.raises(ValueError, match="needs expected_next_value"):
        hyperparameters(algo, "tuned", 0.95, extra={key: ["employed"]})
    with pytest.raises(ValueError, match="non-empty list"):
        hyperparameters(algo, "tuned", 0.95, extra={"expected_next_value": True, key: []})
    with pytest.raises(ValueError, match=f"{key} entry 'labour_productivity' is not observed"):
        train(TrainConfig("ks-het-marked", algo, timesteps=64,
                          hyper_overrides={"expected_next_value": True, key: ["labour_productivity"]}),
              tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_critic_pessimism_trains_on_the_combined_critics_and_is_set_again_on_loading(tmp_path):
    """critic_pessimism 1 trains bit for bit as SB3's clipped double Q, any other weight differently; the setting is
    checked before any work and set on every model the run builds or resumes."""
    from rl.loading import build_model
    from rl.sac import ExpectedNextValueSAC
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("ks", episode_length=40)

    def weights(pessimism):
        model = ExpectedNextValueSAC("MlpPolicy", EconomyVecEnv(exp, n_economies=2, seed=0), learning_starts=64,
                                     batch_size=32, gamma=exp.beta, seed=0, device="cpu",
                                     policy_kwargs={"net_arch": [16, 16]}, gradient_steps=2)
        model.expect_over_shocks(exp)
        if pessimism is not None:
            model.set_critic_pessimism(pessimism)
        model.learn(400)
        return torch.cat([p.detach().flatten() for p in model.policy.parameters()])

    plain = weights(None)
    assert torch.equal(weights(1.0), plain)
    assert not torch.equal(weights(0.0), plain)
    assert not torch.equal(weights(0.5), weights(0.0))

    hyper = hyperparameters("sac", "tuned", exp.beta, extra={"expected_next_value": True, "critic_pessimism": 0.5})
    assert build_model("sac", hyper, exp, seed=0).critic_pessimism == 0.5
    for extra, message in (({"expected_next_value": True, "critic_pessimism": 1.5}, r"must be a number in \[0, 1\]"),
                           ({"expected_next_value": True, "critic_pessimism": True}, "must be a number"),
                           ({"critic_pessimism": 0.5}, "needs expected_next_value")):
        with pytest.raises(ValueError, match=message):
            hyperparameters("sac", "tuned", 0.95, extra=extra)
    with pytest.raises(ValueError, match="critic_pessimism applies to SAC only"):
        hyperparameters("td3", "tuned", 0.95, extra={"expected_next_value": True, "critic_pessimism": 0.5})
    with pytest.raises(ValueError, match=r"critic_pessimism must be in \[0, 1\]"):
        ExpectedNextValueSAC.__new__(ExpectedNextValueSAC).set_critic_pessimism(-0.1)
    with pytest.raises(ValueError, match=r"critic_pessimism must be a number in \[0, 1\], got 2"):
        train(TrainConfig("ks", "sac", timesteps=64,
                          hyper_overrides={"expected_next_value": True, "critic_pessimism": 2}), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def _type_critic(types, seed=0):
    from gymnasium import spaces
    from stable_baselines3.common.torch_layers import FlattenExtractor
    from rl.policies import TypeCritic
    space = spaces.Box(-10.0, 10.0, (3,), np.float32)
    torch.manual_seed(seed)
    args = (space, spaces.Box(-1.0, 1.0, (1,), np.float32), [8, 8], FlattenExtractor(space), 3, torch.nn.SiLU)
    if types is None:
        from stable_baselines3.common.policies import ContinuousCritic
        return ContinuousCritic(*args)
    return TypeCritic(*args, type_column=2, type_values=types)


def test_a_type_critic_reads_each_sample_from_its_own_types_networks():
    """Each sample's Q (both twins) is its type's networks' value; a loss on one type's samples moves only that
    type's networks; with one type the critic is SB3's ContinuousCritic (the same weights from the same seed)."""
    critic = _type_critic([0.75, 1.0, 1.25])
    obs = torch.tensor([[0.3, 1.0, 0.75], [0.1, 0.0, 1.25], [2.0, 1.0, 1.0], [0.5, 0.0, 0.75]])
    actions = torch.tensor([[-0.2], [0.4], [0.0], [0.9]])
    x = torch.cat([obs, actions], dim=1)
    types = [0, 2, 1, 0]
    assert critic.types_of(obs).tolist() == types
    for twin, values in enumerate(critic(obs, actions)):
        for row, t in enumerate(types):
            assert torch.allclose(values[row], critic.type_networks[twin][t](x[row:row + 1])[0])
    assert torch.equal(critic.q1_forward(obs, actions), critic(obs, actions)[0])
    sum(q[obs[:, 2] == 1.25].sum() for q in critic(obs, actions)).backward()
    moved = [[any(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters()) for net in twin]
             for twin in critic.type_networks]
    assert moved == [[False, False, True], [False, False, True]]
    one, plain = _type_critic([1.0]), _type_critic(None)
    assert all(torch.equal(a, b) for a, b in zip(one(obs, actions), plain(obs, actions)))
    with pytest.raises(ValueError, match="type_values must be distinct"):
        _type_critic([1.0, 1.0])


def test_critic_per_type_builds_loads_and_is_refused_where_it_cannot_apply(tmp_path):
    """critic_per_type: SAC's critics and target critics are TypeCritics over the experiment's observed kappa
    values (scaled as the observations are); a trained run loads with it; refused before any work for other
    algorithms, a non-boolean value, and an experiment without kappa types."""
    from rl.loading import build_model, load_model
    from rl.policies import TypeCritic, TypeCriticSACPolicy
    exp = make_experiment("ks-het-mild", 6, episode_length=40, productivity_scale=0.25)
    hyper = hyperparameters("sac", "tuned", exp.beta, extra={"critic_per_type": True})
    model = build_model("sac", hyper, exp, seed=0)
    assert isinstance(model.policy, TypeCriticSACPolicy)
    for critic in (model.critic, model.critic_target):
        assert isinstance(critic, TypeCritic) and critic.type_values.tolist() == [0.0, 1.0, 2.0]
        assert critic.type_column == exp.observations.index("capital_productivity")
    run = tmp_path / "run"
    train(TrainConfig("ks-het-mild", "sac", timesteps=600, n_agents=6, overrides={"episode_length": 40},
                      hyper_overrides={"critic_per_type": True, "learning_starts": 100, "batch_size": 32}), run)
    trained = load_model(run, make_experiment("ks-het-mild", 6, episode_length=40))
    assert isinstance(trained.critic, TypeCritic)
    for algo in ("td3", "ddpg"):
        with pytest.raises(ValueError, match="critic_per_type applies to SAC and PPO only"):
            hyperparameters(algo, "tuned", 0.95, extra={"critic_per_type": True})
    with pytest.raises(ValueError, match="critic_per_type must be true or false"):
        hyperparameters("sac", "tuned", 0.95, extra={"critic_per_type": "yes"})
    with pytest.raises(ValueError, match="critic_per_type needs capital_productivity"):
        train(TrainConfig("ks", "sac", timesteps=64, hyper_overrides={"critic_per_type": True}), tmp_path / "ks")
    assert not (tmp_path / "ks").exists()


def test_a_type_value_net_reads_each_row_from_its_own_types_hidden_layers():
    """PPO's per-type value network: each row's latent is its type's copy's output; a loss on one type's rows
    moves only that copy; the copies start from different weights; with one type it is the network it wraps."""
    from rl.policies import TypeHiddenNet
    torch.manual_seed(0)
    hidden = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 8), torch.nn.Tanh())
    net = TypeHiddenNet(hidden, 8, type_column=2, type_values=[0.0, 1.0, 2.0])
    obs = torch.tensor([[0.3, 1.0, 0.0], [0.1, 0.0, 2.0], [2.0, 1.0, 1.1], [0.5, 0.0, -0.2]])
    types = [0, 2, 1, 0]
    assert net.types_of(obs).tolist() == types
    latent = net(obs)
    for row, t in enumerate(types):
        assert torch.allclose(latent[row], net.networks[t](obs[row:row + 1])[0])
    assert net.networks[0] is hidden
    assert not torch.equal(net.networks[1][0].weight, net.networks[0][0].weight)
    latent[1].sum().backward()
    moved = [any(p.grad is not None and p.grad.abs().sum() > 0 for p in copy.parameters()) for copy in net.networks]
    assert moved == [False, False, True]
    one = TypeHiddenNet(hidden, 8, type_column=2, type_values=[1.0])
    assert torch.equal(one(obs), hidden(obs))
    with pytest.raises(ValueError, match="type_values must be distinct"):
        TypeHiddenNet(hidden, 8, type_column=2, type_values=[1.0, 1.0])


def test_ppo_critic_per_type_trains_loads_and_is_refused_with_a_critic_activation(tmp_path):
    """critic_per_type for PPO: the policy is a TypeNetworksPolicy with one value copy per observed kappa, every copy
    in the optimiser; a trained run loads its trained weights into the same layout; combining it with a
    critic_activation_fn is refused before any work."""
    from rl.loading import build_model, load_model
    from rl.policies import TypeHiddenNet, TypeNetworksPolicy
    exp = make_experiment("ks-het-mild", 6, episode_length=40, productivity_scale=0.25)
    hyper = hyperparameters("ppo", "tuned", exp.beta, n_steps=32, extra={"critic_per_type": True})
    model = build_model("ppo", hyper, exp, seed=0)
    assert isinstance(model.policy, TypeNetworksPolicy)
    value_net = model.policy.mlp_extractor.value_net
    assert isinstance(value_net, TypeHiddenNet) and value_net.type_values.tolist() == [0.0, 1.0, 2.0]
    assert value_net.type_column == exp.observations.index("capital_productivity")
    assert sum(1 for n in model.policy.optimizer.param_groups[0]["params"]
               if any(n is p for p in value_net.networks[2].parameters())) == 4
    run = tmp_path / "run"
    train(TrainConfig("ks-het-mild", "ppo", timesteps=384, n_agents=6, n_steps=32,
                      overrides={"episode_length": 40, "productivity_scale": 0.25},
                      hyper_overrides={"critic_per_type": True}), run)
    trained = load_model(run, exp)
    assert isinstance(trained.policy, TypeNetworksPolicy)
    obs = core.observe(exp, core.initial_state(exp, 2, np.random.default_rng(1)))
    obs = torch.as_tensor(obs.reshape(-1, obs.shape[-1]))
    fresh = build_model("ppo", hyper, exp, seed=0)  # the trained weights, not a fresh initialisation, are loaded
    assert not torch.allclose(trained.policy.predict_values(obs), fresh.policy.predict_values(obs))
    with pytest.raises(ValueError, match="cannot be combined"):
        hyperparameters("ppo", "tuned", 0.95, extra={"critic_per_type": True,
                                                     "policy_kwargs": {"critic_activation_fn": "silu"}})


def test_ppo_actor_per_type_routes_each_households_action_through_its_types_hidden_layers(tmp_path):
    """actor_per_type (alone or with critic_per_type): the actor's hidden layers are one copy per observed kappa,
    each household's action mean is its type's copy's; a trained run loads; refused for SAC and without types."""
    from rl.loading import build_model, load_model
    from rl.policies import TypeHiddenNet, TypeNetworksPolicy
    exp = make_experiment("ks-het-mild", 6, episode_length=40, productivity_scale=0.25)
    obs = core.observe(exp, core.initial_state(exp, 2, np.random.default_rng(1)))
    obs = torch.as_tensor(obs.reshape(-1, obs.shape[-1]))
    for extra, routed in (({"actor_per_type": True}, ("policy_net",)),
                          ({"actor_per_type": True, "critic_per_type": True}, ("policy_net", "value_net"))):
        model = build_model("ppo", hyperparameters("ppo", "tuned", exp.beta, n_steps=32, extra=extra), exp, seed=0)
        extractor = model.policy.mlp_extractor
        assert isinstance(model.policy, TypeNetworksPolicy)
        for name in ("policy_net", "value_net"):
            assert isinstance(getattr(extractor, name), TypeHiddenNet) == (name in routed)
        net = extractor.policy_net
        types = net.types_of(obs)
        mean = model.policy.action_net(net(obs))
        for row, t in enumerate(types.tolist()):
            assert torch.allclose(mean[row], model.policy.action_net(net.networks[t](obs[row:row + 1]))[0])
    run = tmp_path / "run"
    train(TrainConfig("ks-het-mild", "ppo", timesteps=384, n_agents=6, n_steps=32,
                      overrides={"episode_length": 40, "productivity_scale": 0.25},
                      hyper_overrides={"actor_per_type": True}), run)
    assert isinstance(load_model(run, exp).policy.mlp_extractor.policy_net, TypeHiddenNet)
    with pytest.raises(ValueError, match="actor_per_type applies to PPO only"):
        hyperparameters("sac", "tuned", 0.95, extra={"actor_per_type": True})
    with pytest.raises(ValueError, match="actor_per_type needs capital_productivity"):
        train(TrainConfig("ks", "ppo", timesteps=64, hyper_overrides={"actor_per_type": True}), tmp_path / "ks")
    assert not (tmp_path / "ks").exists()


def test_household_types_give_every_kappa_lambda_pair_its_own_networks(tmp_path):
    """household_types [capital_productivity, labour_productivity] on general: nine actor copies (PPO) and nine
    critic sets (SAC), one per household's (kappa, lambda), each household's action mean read from its own copy;
    kappa alone keeps the one-column form (what saved models hold); a trained run loads; refused without a
    per-type option, with a name it does not know, and where the observations lack the column."""
    from rl.loading import build_model, load_model
    from rl.policies import TypeCritic, TypeHiddenNet
    from rl.recipes import type_policy_kwargs
    exp = make_experiment("general", episode_length=40, tfp_scale=0.0229, productivity_scale=0.02)
    both = ["capital_productivity", "labour_productivity"]
    one = type_policy_kwargs(exp, "actor_per_type")
    assert one["type_column"] == exp.observations.index("capital_productivity")
    assert one["type_values"] == pytest.approx([0.0, 1.0, 2.0], abs=1e-12)
    kwargs = type_policy_kwargs(exp, "actor_per_type", both)
    assert kwargs["type_column"] == [exp.observations.index(name) for name in both]
    assert np.allclose(sorted(map(tuple, kwargs["type_values"])), [(k, l) for k in range(3) for l in range(3)],
                       rtol=0, atol=1e-12)
    obs = core.observe(exp, core.initial_state(exp, 2, np.random.default_rng(1)))
    households = np.tile(np.arange(exp.num_agents), obs.shape[0])
    obs = torch.as_tensor(obs.reshape(-1, obs.shape[-1]))
    extra = {"actor_per_type": True, "household_types": both}
    model = build_model("ppo", hyperparameters("ppo", "tuned", exp.beta, n_steps=32, extra=extra), exp, seed=0)
    net = model.policy.mlp_extractor.policy_net
    assert isinstance(net, TypeHiddenNet) and len(net.networks) == 9
    types = net.types_of(obs).numpy()
    assert sorted(set(types.tolist())) == list(range(9))  # every household its own copy, always the same one
    assert all(len(set(types[households == h].tolist())) == 1 for h in range(exp.num_agents))
    mean = model.policy.action_net(net(obs))
    for row, t in enumerate(types.tolist()):
        assert torch.allclose(mean[row], model.policy.action_net(net.networks[t](obs[row:row + 1]))[0])
    sac = build_model("sac", hyperparameters("sac", "tuned", exp.beta, extra={"critic_per_type": True,
                                                                             "household_types": both}), exp, seed=0)
    assert isinstance(sac.critic, TypeCritic) and sorted(set(sac.critic.types_of(obs).tolist())) == list(range(9))
    run = tmp_path / "run"
    train(TrainConfig("general", "ppo", timesteps=384, n_steps=32,
                      overrides={"episode_length": 40, "productivity_scale": 0.02}, hyper_overrides=extra), run)
    loaded = load_model(run, make_experiment("general", episode_length=40, productivity_scale=0.02))
    assert len(loaded.policy.mlp_extractor.policy_net.networks) == 9
    with pytest.raises(ValueError, match="household_types needs critic_per_type or actor_per_type"):
        hyperparameters("ppo", "tuned", 0.95, extra={"household_types": both})
    with pytest.raises(ValueError, match="household_types must list some of"):
        hyperparameters("ppo", "tuned", 0.95, extra={"actor_per_type": True, "household_types": ["capital"]})
    with pytest.raises(ValueError, match="actor_per_type needs labour_productivity among the observations"):
        train(TrainConfig("ks-het-mild", "ppo", timesteps=64, hyper_overrides=extra), tmp_path / "ks-het")
    assert not (tmp_path / "ks-het").exists()


def test_ppo_relative_noise_scales_the_fractions_noise_with_the_fraction_and_stops_its_gradient(tmp_path):
    """relative_noise m: the standard deviation of the consumption fraction's noise is exp(log_std) times m plus the
    fraction at the mean action (the environment's own affine map, econ.economy.action_to_fraction, as the
    reference); the
    mean is MlpPolicy's with the same weights; the log-density's gradient treats the scale as a constant; a trained
    run loads into the same class; refused outside PPO, when not a bool, and beside the other policy classes."""
    from econ.economy import ACTION_EPS, action_to_fraction
    from rl.loading import build_model, load_model
    from rl.policies import RelativeNoisePolicy
    exp = make_experiment("ks-het-mild", 6, episode_length=40, productivity_scale=0.25)
    hyper = hyperparameters("ppo", "tuned", exp.beta, n_steps=32, extra={"relative_noise": 0.05})
    model = build_model("ppo", hyper, exp, seed=0)
    assert isinstance(model.policy, RelativeNoisePolicy) and model.policy.noise_floor == 0.05
    with torch.no_grad():
        model.policy.log_std.fill_(-2.5)
        model.policy.action_net.bias.fill_(0.3)  # means away from 0, spread by the observations
    obs = core.observe(exp, core.initial_state(exp, 4, np.random.default_rng(1)))
    obs = torch.as_tensor(obs.reshape(-1, obs.shape[-1]))
    dist = model.policy.get_distribution(obs).distribution
    mean = dist.mean.detach().numpy().ravel()
    assert np.ptp(mean) > 0.01  # households with different fractions
    fraction_sd = dist.stddev.detach().numpy().ravel() * (1.0 - 2.0 * ACTION_EPS) / 2.0
    np.testing.assert_allclose(fraction_sd, np.exp(-2.5) * (action_to_fraction(mean) + 0.05), rtol=1e-5)
    plain = build_model("ppo", hyperparameters("ppo", "tuned", exp.beta, n_steps=32), exp, seed=0)
    plain.policy.load_state_dict(model.policy.state_dict(), strict=True)
    np.testing.assert_array_equal(plain.predict(obs.numpy(), deterministic=True)[0],
                                  model.predict(obs.numpy(), deterministic=True)[0])
    # the gradient of log pi(a) through the mean is (a - mu) / sigma^2 with sigma held fixed
    latent = model.policy.mlp_extractor.forward_actor(obs).detach().requires_grad_(True)
    mu = model.policy.action_net(latent)
    actions = (mu + 0.05).detach()
    model.policy._get_action_dist_from_latent(latent).log_prob(actions).sum().backward()
    sigma = torch.exp(model.policy.log_std) * (1.0 + mu.detach() + 2.0 * (ACTION_EPS + 0.05) / (1.0 - 2.0 * ACTION_EPS))
    expected = torch.autograd.grad((((actions - mu) / sigma.detach()) ** 2 / -2.0).sum(), latent)[0]
    torch.testing.assert_close(latent.grad, expected, rtol=1e-5, atol=1e-6)
    run = tmp_path / "run"
    train(TrainConfig("ks-het-mild", "ppo", timesteps=384, n_agents=6, n_steps=32,
                      overrides={"episode_length": 40, "productivity_scale": 0.25},
                      hyper_overrides={"relative_noise": 0.05}), run)
    trained = load_model(run, exp)
    assert isinstance(trained.policy, RelativeNoisePolicy) and trained.policy.noise_floor == 0.05
    fresh = build_model("ppo", hyper, exp, seed=0)
    assert not torch.allclose(trained.policy.action_net.weight, fresh.policy.action_net.weight)
    with pytest.raises(ValueError, match="relative_noise applies to PPO only"):
        hyperparameters("sac", "tuned", 0.95, extra={"relative_noise": 0.1})
    for bad in (True, -0.1, 1.5, "0.1"):
        with pytest.raises(ValueError, match="relative_noise must be a number in"):
            hyperparameters("ppo", "tuned", 0.95, extra={"relative_noise": bad})
    with pytest.raises(ValueError, match="relative_noise and actor_per_type cannot be combined"):
        hyperparameters("ppo", "tuned", 0.95, extra={"relative_noise": 0.1, "actor_per_type": True})


LINEAR_VALUE_WEIGHT = 3.0
"""The value V(o) = W k'/capital_scale (own capital only) of the lookahead-baseline test: E V(o'(mu)) is then
W (1 - chat_mu) a / capital_scale exactly, whatever the shocks."""


def test_lookahead_baseline_is_the_lookahead_at_the_mean_action():
    """rl.advantages.lookahead_baseline on steps of the environment itself (ks-het-marked, kappa types, random
    actions): at the sampled action it is r + gamma E V(o'), and at another mean action, with a value linear in own
    capital, it is log(chat_mu a) - offset + gamma W (1 - chat_mu) a / scale with the wealth a and the reward
    offset read from the environment (not from the observation, as the baseline does); refused where it cannot
    apply."""
    from econ.economy import action_to_fraction
    from rl.advantages import lookahead_baseline
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("ks-het-marked")
    env = EconomyVecEnv(exp, n_economies=2, seed=3)
    rng = np.random.default_rng(0)
    own = exp.observations.index("capital")

    def value(obs):
        return LINEAR_VALUE_WEIGHT * np.asarray(obs)[:, own]

    obs = env.reset()
    rows = []
    for _ in range(5):
        actions = rng.uniform(-0.9, 0.9, size=(env.num_envs, 1)).astype(np.float32)
        nxt, rewards, dones, _ = env.step(actions)
        assert not dones.any()
        rows.append((obs, nxt, actions, rewards, env.raw()["wealth"].reshape(-1)))
        obs = nxt
    o, n, a, r, wealth = (np.stack(x) for x in zip(*rows))
    expected = core.next_state_values(exp, o, n, value)
    same = lookahead_baseline(exp, o, n, a, a, r, exp.beta, value)
    np.testing.assert_allclose(same, r + exp.beta * expected, rtol=1e-5, atol=1e-5)
    mean = rng.uniform(-0.9, 0.9, size=a.shape)
    chat, chat_mu = action_to_fraction(a[..., 0]), action_to_fraction(mean[..., 0])
    offset = np.log(chat * wealth) - r  # what the environment subtracts from log c (0 unless centred)
    direct = (np.log(chat_mu * wealth) - offset
              + exp.beta * LINEAR_VALUE_WEIGHT * (1.0 - chat_mu) * wealth / exp.capital_scale)
    np.testing.assert_allclose(lookahead_baseline(exp, o, n, a, mean, r, exp.beta, value), direct, rtol=1e-5, atol=1e-4)
    with pytest.raises(ValueError, match="mean_action_baseline needs the observation 'aggregate_capital'"):
        ExpectedNextValue(make_experiment("ks", observations=("capital", "aggregate_state", "employed")),
                          mean_action_baseline=True)
    with pytest.raises(ValueError, match="mean_action_baseline needs expected_next_value"):
        hyperparameters("ppo", "tuned", 0.95, extra={"mean_action_baseline": True})
    with pytest.raises(ValueError, match="mean_action_baseline must be true or false"):
        hyperparameters("ppo", "tuned", 0.95, extra={"expected_next_value": True, "mean_action_baseline": 1})


def test_counterfactual_lookahead_baseline_replays_the_period_with_the_households_mean_action(tmp_path):
    """rl.advantages.counterfactual_lookahead_baseline on steps of the general environment itself (N = 9, random
    actions, centred rewards): at the sampled actions it is r + gamma E V(o') with the environment's own next
    observations; at other mean actions it equals, household by household, the reward and the expected value of a
    step of the environment's own dynamics (rl.core.step from the environment's state, float64 capital) in which
    that household alone plays its mean action, with a value that reads own and aggregate capital and log A; a
    short general run trains with the option on."""
    from rl.advantages import counterfactual_lookahead_baseline
    from rl.recipes import centred
    from rl.vec_env import EconomyVecEnv
    exp = make_experiment("general", productivity_scale=0.02)
    base = EconomyVecEnv(exp, n_economies=2, seed=3)
    env = centred(base, -1.7)
    rng = np.random.default_rng(0)
    names = exp.observations
    weights = np.zeros(len(names))
    weights[[names.index("capital"), names.index("aggregate_capital"), names.index("log_tfp")]] = (3.0, -2.0, 5.0)

    def value(obs):
        return np.asarray(obs, dtype=float) @ weights + 0.5 * np.asarray(obs, dtype=float)[:, 0] ** 2

    obs = env.reset()
    rows, states = [], []
    for _ in range(4):
        actions = rng.uniform(-0.9, 0.9, size=(env.num_envs, 2)).astype(np.float32)
        states.append(base.state)
        nxt, rewards, dones, _ = env.step(actions)
        assert not dones.any()
        rows.append((obs, nxt, actions, rewards))
        obs = nxt
    o, n, a, r = (np.stack(x) for x in zip(*rows))
    same = counterfactual_lookahead_baseline(exp, o, a, a, r, exp.beta, value)
    np.testing.assert_allclose(same, r + exp.beta * core.next_state_values(exp, o, n, value), rtol=1e-5, atol=1e-5)
    mean = rng.uniform(-0.9, 0.9, size=a.shape)
    got = counterfactual_lookahead_baseline(exp, o, a, mean, r, exp.beta, value)
    households = exp.num_agents
    for t, state in enumerate(states):
        realised = core.step(exp, state, a[t].reshape(2, households, 2), np.random.default_rng(0))
        for household in (0, 4, 8):
            changed = a[t].reshape(2, households, 2).copy()
            changed[:, household] = mean[t].reshape(2, households, 2)[:, household]
            step = core.step(exp, state, changed, np.random.default_rng(0))
            next_obs = core.observe(exp, step.state)[:, household]
            columns = [e * households + household for e in range(2)]
            expected = core.next_state_values(exp, o[t, columns], next_obs, value)
            reward = r[t, columns] - realised.outcome.reward[:, household] + step.outcome.reward[:, household]
            np.testing.assert_allclose(got[t, columns], reward + exp.beta * expected, rtol=1e-5, atol=1e-5)
    assert np.abs(got - same).max() > 1e-3  # the mean actions matter
    run = tmp_path / "run"
    train(TrainConfig("general", "ppo", timesteps=9 * 64, n_steps=32, n_economies=2,
                      overrides={"productivity_scale": 0.02},
                      hyper_overrides={"expected_next_value": True, "mean_action_baseline": True,
                                       "gae_lambda_final": 0.0}), run)
    assert (run / "model.zip").is_file()


def test_with_own_next_capital_is_the_observation_of_the_changed_economy():
    """rl.advantages.with_own_next_capital against rl.core.observe of the economy in which one household's next
    capital is changed (the observation kernel's own aggregate, kappa-weighted), log_capital observed too."""
    from rl.advantages import with_own_next_capital
    exp = make_experiment("ks-het-marked", observations=("capital", "aggregate_capital", "aggregate_state",
                                                         "employed", "capital_productivity", "log_capital"))
    state = core.initial_state(exp, 2, np.random.default_rng(4))
    before = core.observe(exp, state)
    kappa = np.asarray(exp.capital_productivity, dtype=float)
    for household in (0, 9, 19):  # low, middle and high kappa
        capital = state.capital.copy()
        capital[:, household] *= 0.6
        after = core.observe(exp, state._replace(capital=capital))
        moved = with_own_next_capital(exp, before[:, household], capital[:, household], state.capital[:, household],
                                      np.full(2, kappa[household]))
        np.testing.assert_allclose(moved, after[:, household], rtol=1e-5, atol=1e-6)
