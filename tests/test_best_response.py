"""validation.best_response: agents against the best response to their own law of motion, on their own states.

Checked on rules whose answer is known, not on trained agents: the price-impact benchmark rule played by all N
households must be (nearly) a best response to the law its own play generates and meet its Euler equation along its
own path, a rule that consumes 5 percent more than the benchmark must show that excess against the best response,
and one that consumes 10 percent more only while unemployed must show it in the unemployed households' realised
Euler residual.  Reduced sizes (a 2,000-household solve
of 600 periods, 4 economies x 400 kept periods) keep the test to seconds; the tolerances below do not depend on them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from econ.economy import action_to_fraction, fraction_to_action
from econ.experiments import make_experiment
from validation import best_response as br
from validation.krusell_smith import KSBenchmarkActor, price_impact_benchmark
from validation.welfare import Scenario

SOLVER = dict(num_households=2_000, num_periods=600)
SETTINGS = dict(n_periods=400, burn_in=200, n_economies=4)

CONSISTENCY_TOL = 0.0005
"""The benchmark rule against the best response to the law its own play generates in N-household economies: within a
third of the scorecard's consumption-fraction tolerance (0.0015), or the scorecard's chat_bias rows would judge the
benchmark's law-of-motion approximation rather than the agents."""

EULER_SLACK = 0.005
"""The benchmark rule's realised Euler residual along its own panel must lie within its 2-sd band plus 0.005: the
solver meets the private Euler equation to 3e-3 off the grid (tests/test_finite_n.py), rounded up for the law of
motion's forecast error in 20-household economies."""

EXCESS_UNEMPLOYED = 1.10
"""The second negative control consumes 10 percent more only while unemployed: when the spell ends (with probability
0.5 to 0.7) consumption today is 10 percent high against tomorrow's, so the unemployed households' realised residual
rises by 5 to 7 percent, far beyond its band; the employed households' falls only through the 4 to 5 percent of them
who lose their job (about -0.5 percent), at least five times less."""

EXCESS = 1.05
"""The negative control consumes 5 percent more than the benchmark: about +0.0085 at a fraction of 0.17 (employed)
and +0.0098 at 0.195 (unemployed), six times CONSISTENCY_TOL, so the check must see it against the best response."""


@pytest.fixture(scope="module")
def ks():
    experiment = make_experiment("ks")
    return experiment, price_impact_benchmark(experiment, **SOLVER)


def _scaled(actor, factor):
    def scaled(obs):
        chat = action_to_fraction(np.asarray(actor(obs), dtype=float)[:, 0])
        return fraction_to_action(factor * chat).reshape(-1, 1)
    return scaled


def test_the_benchmark_rule_is_a_best_response_to_its_own_play(ks):
    experiment, solution = ks
    check = br.check_run(KSBenchmarkActor(experiment, solution), experiment, "benchmark", settings=SETTINGS,
                         solver_options=SOLVER)
    assert set(check.fractions) == {(0, True), (0, False)} and check.types == ("all",)
    for group, (agents_br, bench_br, agents_bench) in check.gaps().items():
        assert abs(agents_bench) < 1e-6, group  # the agents are the benchmark rule (float32 observations)
        assert abs(bench_br) < CONSISTENCY_TOL, (group, bench_br)
    assert set(check.alm) == {"good", "bad"} and check.welfare is None
    assert check.euler["agents"] == check.euler["benchmark"]  # the same rule on the same shocks
    for group, (mean, band) in check.euler["benchmark"].items():
        assert abs(mean) < band + EULER_SLACK, (group, mean, band)
    table = br.format_check(check)
    assert "| all | unemployed |" in table and "agents - BR" in table and "realised Euler residual" in table


def test_overconsuming_while_unemployed_shows_in_the_realised_euler_residual(ks):
    experiment, solution = ks
    benchmark = KSBenchmarkActor(experiment, solution)
    column = experiment.observations.index("employed")
    scaled = _scaled(benchmark, EXCESS_UNEMPLOYED)

    def model(obs):
        employed = np.asarray(obs)[:, column] > 0.5
        return np.where(employed[:, None], benchmark(obs), scaled(obs))

    check = br.check_run(model, experiment, "unemployed excess", settings=SETTINGS, solver_options=SOLVER)
    unemployed, band = check.euler["agents"][(0, False)]
    assert unemployed - band > EULER_SLACK, (unemployed, band)
    employed, _ = check.euler["agents"][(0, True)]
    assert abs(employed) < unemployed / 5, (employed, unemployed)


def test_a_rule_that_overconsumes_shows_it_against_the_best_response(ks):
    experiment, solution = ks
    model = _scaled(KSBenchmarkActor(experiment, solution), EXCESS)
    check = br.check_run(model, experiment, "excess", settings=SETTINGS, solver_options=SOLVER,
                         welfare=Scenario(n_economies=2, burn_in=50, horizon=60))
    for group, f in check.fractions.items():
        agents_br, _, _ = check.gaps()[group]
        assert agents_br > (EXCESS - 1.0) * f["best response"] - CONSISTENCY_TOL, (group, agents_br)
    # switching to either rule is measured per type, for both rules
    assert set(check.welfare) == {"benchmark", "best response"}
    assert all(len(gains) == 1 for gains in check.welfare.values())
    assert "to the best response:" in br.format_check(check)


def test_the_command_line_writes_every_number_as_json(tmp_path, capsys):
    """The shipped ks policy, printed and written: groups, gaps, Euler residuals of both rules (every 25th period
    compared, not the default 5th: the same numbers on fewer states, a fifth of the time)."""
    out = tmp_path / "check.json"
    assert br.main(["ks", "--sample-every", "25", "--out", str(out)]) == 0
    assert "| all | unemployed |" in capsys.readouterr().out
    report = json.loads(out.read_text())
    (run,) = report["runs"]
    assert report["experiment"] == "ks" and set(run["fractions"]) == {"all, employed", "all, unemployed"}
    assert set(run["realised_euler"]) == {"agents", "benchmark"} and run["welfare_unilateral"] is None
    gap = run["gaps"]["all, unemployed"]
    assert gap["agents - benchmark"] == pytest.approx(gap["agents - best response"] - gap["benchmark - best response"])


def test_bad_input_is_refused(ks, capsys):
    experiment, solution = ks
    with pytest.raises(ValueError, match="experiment must be one of"):
        br.check_run(None, make_experiment("general"), "x")
    with pytest.raises(ValueError, match="sample_every must be an integer >= 1"):
        br.check_run(KSBenchmarkActor(experiment, solution), experiment, "x", sample_every=0)
    for argv, message in ((["ks", "--economies", "1"], "--economies must be an integer >= 2"),
                          (["ks", "--sample-every", "0"], "--sample-every must be an integer >= 1"),
                          (["ks", "--model", "/nonexistent/run"], "error:")):
        with pytest.raises(SystemExit) as info:
            br.main(argv)
        assert info.value.code == 2 and message in capsys.readouterr().err


class _QuadraticCritics(torch.nn.Module):
    """Twin critics whose smaller Q peaks at ``peak(o)``: Q_1 = -(a - peak)^2, Q_2 = Q_1 + 0.1."""

    def __init__(self, peak):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))  # a parameter, as SB3's critics have (dtype, device)
        self.peak = peak

    def forward(self, obs, actions):
        q = -self.scale * (actions - self.peak(obs)) ** 2
        return q, q + 0.1


def test_the_critic_optimum_is_found_to_half_the_refined_step():
    """The optimum of a known Q, anywhere in the box including its edges, within half the refined grid's step."""
    critics = _QuadraticCritics(lambda obs: torch.clamp(obs[:, :1], -1.0, 1.0))
    peaks = np.concatenate([np.linspace(-1.0, 1.0, 97), [0.123456, -0.98765, 1.5, -2.0]])
    observations = np.stack([peaks, np.zeros_like(peaks)], axis=1)
    found = br.critic_optimum(br.actor_objective(_Model(critics)), observations)
    step = (2.0 / (br.CRITIC_GRID - 1)) / ((br.CRITIC_REFINE - 1) / 2)
    assert np.max(np.abs(found - np.clip(peaks, -1.0, 1.0))) <= step / 2 + 1e-7
    assert br.actor_objective(lambda obs: obs) is None and br.actor_objective(critics) is None  # not a model
    with pytest.raises(ValueError, match=r"observations must have shape \(M, d\)"):
        br.critic_optimum(br.actor_objective(_Model(critics)), peaks)


class _Model:
    def __init__(self, critic):
        self.critic = critic


def test_the_critic_optimum_follows_the_q_each_actor_climbs():
    """SAC's actor climbs the smaller critic by default, the critics' mean with critic_pessimism 0; TD3's (and
    DDPG's) the first critic.  Twin quadratics peaking at -0.5 and +0.5 with heights 0 and 0.2: each objective's
    optimum, worked out by hand."""
    from stable_baselines3 import TD3
    from rl.sac import combine_critics

    class Twins(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, obs, actions):
            return -self.scale * (actions + 0.5) ** 2, 0.2 - self.scale * (actions - 0.5) ** 2

        def q1_forward(self, obs, actions):
            return self.forward(obs, actions)[0]

    observations = np.zeros((3, 2), dtype=np.float32)
    sac = _Model(Twins())
    mean = _Model(Twins())
    mean.critic_pessimism = 0.0
    td3 = TD3.__new__(TD3)  # only its class and critic are read
    td3.critic = Twins()
    # min(q1, q2): q1 - q2 = -2a - 0.2, so the minimum is q2 (rising up to 0.5) left of a = -0.1 and q1 (falling
    # right of -0.5) right of it: argmax -0.1.  mean: derivative -(a + 0.5) - (a - 0.5) = -2a: argmax 0.
    # q1: argmax -0.5
    step = (2.0 / (br.CRITIC_GRID - 1)) / ((br.CRITIC_REFINE - 1) / 2)
    for model, expected in ((sac, -0.1), (mean, 0.0), (td3, -0.5)):
        found = br.critic_optimum(br.actor_objective(model), observations)
        assert np.max(np.abs(found - expected)) <= step / 2 + 1e-7, (type(model).__name__, found)
    values = torch.tensor([[1.0, 3.0], [-2.0, 0.0]])
    assert torch.equal(combine_critics(values), torch.tensor([[1.0], [-2.0]]))
    assert torch.allclose(combine_critics(values, 0.0), torch.tensor([[2.0], [-1.0]]))
    assert torch.allclose(combine_critics(values, 0.25), torch.tensor([[1.75], [-1.25]]))


def test_a_model_with_critics_gets_their_optimum_beside_the_three_rules(ks):
    """A rule whose critics peak at the consumption fraction 0.2 everywhere: the fourth column reads 0.2 in every
    group, and the agents' distance to it is the rule's own distance to 0.2."""
    experiment, solution = ks
    benchmark = KSBenchmarkActor(experiment, solution)
    target = float(fraction_to_action(0.2))

    class WithCritics:
        critic = _QuadraticCritics(lambda obs: torch.full((obs.shape[0], 1), target))

        def __call__(self, obs):
            return benchmark(obs)

    check = br.check_run(WithCritics(), experiment, "critics", settings=SETTINGS, solver_options=SOLVER)
    assert check.has_critic
    for group, f in check.fractions.items():
        assert f[br.CRITIC_RULE] == pytest.approx(0.2, abs=3e-4), group
        actor_gap, critic_gap = check.critic_gaps()[group]
        assert actor_gap == pytest.approx(f["agents"] - 0.2, abs=3e-4)
    assert "critic optimum - BR" in br.format_check(check)
    assert set(check.as_dict()["critic_gaps"]["all, employed"]) == {"agents - critic optimum",
                                                                    "critic optimum - best response"}
    plain = br.check_run(benchmark, experiment, "plain", settings=SETTINGS, solver_options=SOLVER)
    assert not plain.has_critic and plain.as_dict()["critic_gaps"] is None
    assert "critic optimum" not in br.format_check(plain)


LOG_VALUE_WEIGHT = 2.0
"""The value V(o) = A log k' read by the lookahead test: with log utility the lookahead log(chat a) + beta A log((1 -
chat) a) peaks at chat = 1 / (1 + beta A), 0.345 at beta 0.95 (a closed form, whatever the wealth, the shocks and the
others' capital)."""


def test_the_lookahead_of_a_state_value_peaks_where_the_closed_form_says(ks):
    """PPO's column: with a value that reads only the household's own next capital, V = A log(k' / scale), the
    one-step lookahead's maximum is 1 / (1 + beta A) for every household and state, to the refined grid's step
    (0.00025), and check_run reports it as the critic optimum beside the three rules."""
    experiment, solution = ks
    benchmark = KSBenchmarkActor(experiment, solution)
    own = experiment.observations.index("capital")

    class Policy:
        @staticmethod
        def predict_values(obs):
            return LOG_VALUE_WEIGHT * torch.log(obs[:, own:own + 1])

    class WithValue:
        policy = Policy()

        def __call__(self, obs):
            return benchmark(obs)

    expected = 1.0 / (1.0 + experiment.beta * LOG_VALUE_WEIGHT)
    assert br.has_state_value(WithValue()) and not br.has_state_value(benchmark)
    from rl.rollout import simulate_agents
    panel = simulate_agents(benchmark, experiment, n_periods=3, burn_in=5, n_economies=2)
    fractions = br.lookahead_fractions(WithValue(), panel, range(3))
    assert fractions.shape == (3, 2, experiment.num_agents)
    np.testing.assert_allclose(fractions, expected, atol=2.5e-4)
    check = br.check_run(WithValue(), experiment, "value", settings=SETTINGS, solver_options=SOLVER, sample_every=50)
    assert check.has_critic
    for group, f in check.fractions.items():
        assert f[br.CRITIC_RULE] == pytest.approx(expected, abs=2.5e-4), group
