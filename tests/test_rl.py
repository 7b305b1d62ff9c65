"""Stage 3: the SDE policy's log-probabilities, reproducible rollouts, ratio 1 on the first update, and group
advantages computed over all ranks."""

import itertools
import json
import math
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from nsp.data.synth import synthesize
from nsp.generation.sde import gaussian_log_prob, sde_std, sde_step, step_kl
from nsp.stages.config import RLSection
from nsp.errors import NSPError
from nsp.stages.rl import conditional_velocity, group_advantages, interleave, join_samples
from tests.conftest import run_nsp


def test_sde_step_log_prob_is_the_gaussian_density():
    g = torch.Generator().manual_seed(0)
    x, v = torch.randn(4, 12, 6, generator=g), torch.randn(4, 12, 6, generator=g)
    for t, t_next in ((1.0, 0.9), (0.6, 0.45), (0.1, 0.0)):
        sample, log_prob, mean = sde_step(x, v, t, t_next, 0.7, 0.95, torch.Generator().manual_seed(1))
        std = sde_std(torch.tensor(t), torch.tensor(t_next), 0.7, 0.95)
        expected = torch.distributions.Normal(mean, std).log_prob(sample).flatten(1).mean(1)
        torch.testing.assert_close(log_prob, expected, rtol=1e-6, atol=1e-6)
        # Scoring a given sample gives the same number (what the policy update does).
        _, again, _ = sde_step(x, v, t, t_next, 0.7, 0.95, sample=sample)
        assert torch.equal(again, log_prob)


def test_vanishing_noise_is_the_euler_step_and_the_sde_keeps_the_marginals():
    x, v = torch.randn(2, 8, 3), torch.randn(2, 8, 3)
    sample, _, _ = sde_step(x, v, 0.5, 0.4, 1e-8, 0.95, torch.Generator().manual_seed(0))
    torch.testing.assert_close(sample, x + v * (0.4 - 0.5), rtol=1e-5, atol=1e-6)
    # Exact velocity of a point mass x0: from x_t = (1-t) x0 + t n, SDE steps stay on the bridge to x0 in expectation.
    x0, n = torch.randn(20000, 1), torch.randn(20000, 1)
    t, t_next = 0.6, 0.5
    xt = (1 - t) * x0 + t * n
    # The true velocity field of this Gaussian mixture at x_t is E[n - x0 | x_t]; with x0 ~ N(0,1) it is linear:
    var = (1 - t) ** 2 + t**2
    velocity = xt * (t - (1 - t)) / var
    stepped, _, _ = sde_step(xt, velocity, t, t_next, 0.7, 0.95, torch.Generator().manual_seed(3))
    expected_var = (1 - t_next) ** 2 + t_next**2
    assert abs(stepped.var().item() - expected_var) < 0.03


def test_gaussian_log_prob_is_per_element_mean():
    mean, std = torch.zeros(1, 5), torch.tensor(2.0)
    sample = torch.ones(1, 5)
    expected = -1 / 8 - math.log(2.0) - 0.5 * math.log(2 * math.pi)
    assert gaussian_log_prob(sample, mean, std).item() == pytest.approx(expected)


def test_step_kl_is_the_kl_of_the_two_steps_gaussians():
    g = torch.Generator().manual_seed(0)
    x, v, v_ref = (torch.randn(3, 10, 4, generator=g) for _ in range(3))
    for t, t_next in ((1.0, 0.9), (0.9, 0.7), (0.5, 0.4), (0.1, 0.0)):
        _, _, mean = sde_step(x, v, t, t_next, 0.7, 0.95, g)
        _, _, ref_mean = sde_step(x, v_ref, t, t_next, 0.7, 0.95, g)
        std = sde_std(torch.tensor(t), torch.tensor(t_next), 0.7, 0.95)
        exact = torch.distributions.kl_divergence(torch.distributions.Normal(mean, std),
                                                  torch.distributions.Normal(ref_mean, std)).flatten(1).mean(1)
        torch.testing.assert_close(step_kl(mean, ref_mean, t, t_next, 0.7, 0.95), exact, rtol=1e-5, atol=1e-7)


def test_interleaved_units_give_every_update_every_context():
    groups = [[("A", k) for k in range(5)], [("B", k) for k in range(5)]]
    order = interleave(groups, np.random.default_rng(0))
    assert sorted(order) == sorted(groups[0] + groups[1])
    for update in (order[:5], order[5:]):  # two updates per rollout
        assert {c for c, _ in update} == {"A", "B"}
    assert [k for c, k in order if c == "A"] != list(range(5))  # and the steps come shuffled


# ---- rollouts on a real tiny model ---------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=[0, 1], ids=["queries-only", "clean-history"])
def rl_stage(tmp_path_factory, request):
    from nsp.config import preset_config
    from nsp.model import NSPModel
    from nsp.stages.config import load_train_config
    from nsp.stages.rl import RLStage

    data = tmp_path_factory.mktemp("rl") / "synth"
    synthesize(data, {"train": 6, "val": 2, "test": 0}, seed=9, workers=1, progress=False, world="continuation")
    cfg = load_train_config("stages/configs/rl_tiny.yaml", [f"data.path={data}", "model.patch.vlm.path=null",
                                                             "model.patch.generator.vae_path=null", "rl.group_size=4", "rl.sampling_steps=4",
                                                             "rl.train_steps=2", "rl.contexts=1"])
    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", [f"generator.history_frames={request.param}"]))
    model.set_trainable("rl")
    return RLStage(cfg, model), data


def test_rollouts_sample_with_the_models_guidance_unless_told(rl_stage):
    """rl.guidance unset: the policy is trained as the checkpoint it writes will be sampled (sampling.guidance)."""
    from nsp.stages.rl import RLStage

    stage, _ = rl_stage
    assert stage.cfg.rl.guidance is None and stage.s.guidance == stage.model.config.sampling.guidance == 3.0
    told = stage.cfg.model_copy(update={"rl": stage.cfg.rl.model_copy(update={"guidance": 1.0})})
    assert RLStage(told, stage.model).s.guidance == 1.0


def test_rollout_with_a_fixed_seed_is_reproducible(rl_stage):
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    pair = next(iter(PairStream(data, "train", shuffle=False)))
    context = stage.read([pair])[0][0]
    a = stage.sample(context, 3, seed=42)
    b = stage.sample(context, 3, seed=42)
    c = stage.sample(context, 3, seed=43)
    assert np.array_equal(a[0], b[0]) and all(torch.equal(x, y) for x, y in zip(a[2], b[2]))
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (3, 9, 64, 64, 3) and len(a[2]) == 4 and a[3][-1] == 0.0


def test_a_short_rollout_tail_keeps_the_trained_steps_and_cuts_the_rest(rl_stage):
    """rl.tail_steps: after the last trained (noisy) step the reward's sample is finished in fewer Euler steps; what
    the update trains on (the states and log-probabilities up to there) is unchanged."""
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    context = stage.read([next(iter(PairStream(data, "train", shuffle=False)))])[0][0]
    try:
        full = stage.sample(context, 3, seed=4, noisy_steps=[0, 1])
        stage.s.tail_steps = 1
        short = stage.sample(context, 3, seed=4, noisy_steps=[0, 1])
    finally:
        stage.s.tail_steps = None
    assert len(full[1]) == 5 and len(short[1]) == 4  # 4 steps vs 2 trained + 1 for the rest, and the end
    assert all(torch.equal(a, b) for a, b in zip(full[1][:3], short[1][:3]))
    assert all(torch.equal(a, b) for a, b in zip(full[2][:2], short[2][:2]))
    assert short[0].shape == full[0].shape and not np.array_equal(short[0], full[0])


def test_first_policy_update_has_ratio_exactly_one(rl_stage):
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    pair = next(iter(PairStream(data, "train", shuffle=False)))
    units = stage.rollout_units(iter([pair]), seed=5)
    assert len(units) == 2  # one context x two trained denoising steps
    for unit in units:
        loss, metrics = stage.objective(unit)
        assert metrics["ratio"] == pytest.approx(1.0, abs=1e-5) and metrics["clip_fraction"] == 0.0
        loss.backward()  # gradients reach the trainable parts
    assert stage.model.context_encoder.queries.grad is not None


def test_keep_best_and_worst_train_only_those_and_average_over_them(rl_stage):
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    pair = next(iter(PairStream(data, "train", shuffle=False)))
    s = stage.s
    try:
        s.keep_best = s.keep_worst = 1  # of a group of 4
        units = stage.rollout_units(iter([pair]), seed=5)
        assert [u.x.shape[0] for u in units] == [2, 2] and all(u.loss_scale == 0.5 for u in units)
        assert all(torch.count_nonzero(u.advantage) == 2 for u in units)
        loss, metrics = stage.objective(units[0])
        assert metrics["ratio"] == pytest.approx(1.0, abs=1e-6)
        # ratio 1: the loss is minus the kept candidates' mean advantage
        assert float(loss.detach()) == pytest.approx(-float(units[0].advantage.mean()), abs=1e-5)
    finally:
        s.keep_best = s.keep_worst = 0


def test_noise_only_at_the_trained_steps_branches_the_group_there(rl_stage):
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    pair = next(iter(PairStream(data, "train", shuffle=False)))
    s = stage.s
    before = s.train_window, s.noise_only_trained
    try:
        s.train_window, s.noise_only_trained = (1, 3), True  # 2 trained steps of 4, drawn from steps 1-2
        assert [stage.trained_steps(seed) for seed in (1, 2)] == [[1, 2], [1, 2]]
        frames, states, log_probs, ts, *_ = stage.sample(stage.read([pair])[0][0], 3, seed=4, noisy_steps=[1, 2])
        assert [lp is None for lp in log_probs] == [True, False, False, True]
        assert states[1].shape[0] == 3 and torch.equal(states[1][0], states[1][2])  # one trajectory until step 1
        assert not torch.equal(states[2][0], states[2][2])  # where the candidates branch
        units = stage.rollout_units(iter([pair]), seed=5)
        assert sorted(u.t for u in units) == sorted(ts[1:3], reverse=False)  # the trained steps' times
        loss, metrics = stage.objective(units[0])
        assert metrics["ratio"] == pytest.approx(1.0, abs=1e-5)
        s.train_window = (0, 4)
        drawn = {tuple(stage.trained_steps(seed)) for seed in range(20)}
        assert len(drawn) > 1 and all(len(d) == 2 and 0 <= d[0] < d[1] < 4 for d in drawn)
    finally:
        s.train_window, s.noise_only_trained = before


def test_guidance_gradient_through_the_conditional_branch_only_or_both(rl_stage):
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    pair = next(iter(PairStream(data, "train", shuffle=False)))
    unit = stage.rollout_units(iter([pair]), seed=5)[0]
    unit.advantage = torch.tensor([1.0, -1.0, 0.5, -0.5])
    null = stage.model.null_condition
    grads = {}
    try:
        for mode in ("conditional", "both"):
            stage.s.guidance_grad = mode
            stage.model.zero_grad(set_to_none=True)
            loss, metrics = stage.objective(unit)
            loss.backward()
            assert metrics["ratio"] == pytest.approx(1.0, abs=1e-5)  # the same policy either way
            grads[mode] = (null.grad, stage.model.context_encoder.queries.grad.clone())
    finally:
        stage.s.guidance_grad = "conditional"
    assert grads["conditional"][0] is None or not grads["conditional"][0].any()  # nothing through the null branch
    assert grads["both"][0] is not None and grads["both"][0].abs().sum() > 0
    assert grads["conditional"][1].abs().sum() > 0


@pytest.mark.parametrize("objective", ["awm", "nft"])
def test_flow_matching_on_own_samples_pulls_toward_the_better_candidate(rl_stage, objective):
    """rl.objective awm / nft: the units hold the group's deterministic samples noised at the trained steps' levels
    with their flow-matching targets, and a descent step on the loss brings the model closer to the candidate with
    the higher advantage than to the one with the lower (nft: and a candidate without advantage adds no gradient at
    the sampling policy, whose velocity the unit keeps)."""
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    pair = next(iter(PairStream(data, "train", shuffle=False)))
    s, model = stage.s, stage.model
    saved = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        s.objective = objective
        units = stage.rollout_units(iter([pair]), seed=5)
        assert len(units) == 1 and units[0].old_log_prob is None and units[0].target is not None
        assert (units[0].old_velocity is not None) == (objective == "nft")
        # one unit: the four candidates at each of the two trained levels, level by level
        unit = units[0]
        t = unit.t
        assert len(t.unique()) == 2 and bool(((t > 0) & (t <= 1)).all())
        assert torch.equal(t[:4], t[:1].expand(4)) and torch.equal(t[4:], t[4:5].expand(4))
        assert unit.loss_scale == pytest.approx(1 / (4 * 2))  # the loss: the mean over candidates and levels
        # x_t = (1 - t) x0 + t noise and target = noise - x0: the same four final latents at both levels
        x0 = (unit.x - t[:, None, None] * unit.target).split(4)
        assert torch.allclose(x0[0], x0[1], atol=1e-4)
        assert not torch.allclose(x0[0][0], x0[0][1], atol=1e-3)  # each candidate from its own starting noise
        unit.advantage = torch.tensor([1.0, -1.0, 0.0, 0.0]).repeat(2)

        def fit(u) -> torch.Tensor:  # each candidate's flow-matching loss
            return (conditional_velocity(model, u).float() - u.target.float()).pow(2).flatten(1).mean(1)

        before = fit(unit).detach()
        if objective == "nft":  # no advantage anywhere: the loss is at its optimum, the sampling policy
            unit.advantage = torch.zeros(8)
            loss, _ = stage.objective(unit)
            model.zero_grad(set_to_none=True)
            loss.backward()
            assert max(float(p.grad.abs().max()) for p in model.parameters() if p.grad is not None) < 1e-6
            unit.advantage = torch.tensor([1.0, -1.0, 0.0, 0.0]).repeat(2)
        loss, metrics = stage.objective(unit)
        if objective == "awm":
            expected = (unit.advantage * before).sum() * unit.loss_scale
            assert float(loss.detach()) == pytest.approx(float(expected), rel=1e-4)
        model.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                if p.grad is not None:
                    p -= 1e-3 * p.grad
        after = fit(unit).detach()
        change = (after - before).view(2, 4).mean(0)  # each candidate's, over the two levels
        assert change[0] < 0 and change[0] < change[1]  # the better candidate fits better, the worse not as much
    finally:
        s.objective = "grpo"
        model.load_state_dict(saved)
        model.zero_grad(set_to_none=True)


def test_dynamic_sampling_draws_more_contexts_only_while_groups_are_flat(rl_stage):
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    s = stage.s
    try:
        s.max_draws, s.min_group_std = 3, 10.0  # no group spreads that much: all three drawn, one flat one trained
        pairs = iter(PairStream(data, "train", shuffle=False))
        units = stage.rollout_units(pairs, seed=5)
        assert len(units) == 2 and units[0].metrics["draws"] == 3
        assert all(torch.count_nonzero(u.advantage) == 0 for u in units)
        assert next(pairs).key == "train-000003"  # three consumed
        s.min_group_std = 0.0  # every group counts: the first is kept, no more drawn
        pairs = iter(PairStream(data, "train", shuffle=False))
        units = stage.rollout_units(pairs, seed=5)
        assert units[0].metrics["draws"] == 1 and next(pairs).key == "train-000001"
        assert torch.count_nonzero(units[0].advantage) > 0
    finally:
        s.max_draws, s.min_group_std = None, 0.0


def test_a_screen_rolls_out_the_rest_of_a_group_only_where_its_first_candidate_fails(rl_stage):
    """rl.screen: a context whose first candidates all pass is dropped unrolled (counted as a draw), up to max_draws;
    after that contexts are rolled out in full. The screen's candidates are the group's first. Contexts are screened
    screen_batch at a time: a batch's contexts past the one the rollout needs are drawn, not used."""
    from nsp.data.loader import PairStream
    from nsp.rewards import build_reward
    from nsp.rewards.base import REWARDS, Scores

    stage, data = rl_stage
    s, reward = stage.s, stage.reward
    REWARDS["test_pass_all"] = lambda model=None: lambda cs: Scores(np.ones(len(cs)), np.ones(len(cs), bool))
    try:
        s.max_draws, s.screen, s.screen_batch = 3, 1, 1
        pairs = iter(PairStream(data, "train", shuffle=False))
        units = stage.rollout_units(pairs, seed=5)  # the random model fails the oracle: rolled out at once
        assert units[0].metrics["draws"] == 1 and units[0].metrics["screened_out"] == 0
        assert [u.x.shape[0] for u in units] == [4, 4] and next(pairs).key == "train-000001"
        s.screen_batch = 3
        pairs = iter(PairStream(data, "train", shuffle=False))
        batched = stage.rollout_units(pairs, seed=5)  # three screened at once, the first of them used
        assert batched[0].metrics["draws"] == 3 and next(pairs).key == "train-000003"
        assert all(torch.allclose(a.x, b.x, atol=1e-4) for a, b in zip(units, batched))
        stage.reward = build_reward({"test_pass_all": 1.0})
        pairs = iter(PairStream(data, "train", shuffle=False))
        units = stage.rollout_units(pairs, seed=5)  # three screened out, the fourth rolled out in full
        assert units[0].metrics["draws"] == 4 and units[0].metrics["screened_out"] == 3
        assert [u.x.shape[0] for u in units] == [4, 4] and next(pairs).key == "train-000004"
        stage.reward = build_reward({"reference": 1.0}, stage.model)
        with pytest.raises(NSPError, match="rl.screen needs a reward with pass/fail"):
            stage.rollout_units(iter(PairStream(data, "train", shuffle=False)), seed=5)
    finally:
        s.screen, s.max_draws, s.screen_batch, stage.reward = 0, None, 8, reward
        del REWARDS["test_pass_all"]


def test_a_context_whose_group_spread_is_replayed_before_fresh_ones(rl_stage):
    """rl.replay 1: a context kept for its spread is drawn once more, in the next rollout, before the stream's next;
    one whose group was flat is not."""
    from nsp.data.loader import PairStream

    stage, data = rl_stage
    s = stage.s
    try:
        s.replay = 1
        pairs = iter(PairStream(data, "train", shuffle=False))
        stage.rollout_units(pairs, seed=5)
        assert [(pair.key, times) for pair, times in stage.replays] == [("train-000000", 0)]
        units = stage.rollout_units(pairs, seed=6)  # train-000000 again, then no more
        assert not stage.replays and next(pairs).key == "train-000001" and units[0].metrics["draws"] == 1
        s.min_group_std = 10.0  # no group spreads that much: nothing to replay
        stage.rollout_units(pairs, seed=7)
        assert not stage.replays
    finally:
        s.replay, s.min_group_std = 0, 0.0
        stage.replays.clear()

def test_contexts_sampled_together_are_each_sampled_as_alone(rl_stage):
    """sample_many: several contexts' candidates in one batch, each with its own noise, the branch of Flow-GRPO-Fast
    included: the same candidates as one `sample` each."""
    from nsp.data.loader import PairStream

    stage, data = rl_stage
    pairs = list(itertools.islice(PairStream(data, "train", shuffle=False), 2))
    contexts, histories = zip(*stage.read(pairs))
    for noisy in (None, [1, 2]):
        together = stage.sample_many([(c, h, n, seed) for c, h, n, seed in zip(contexts, histories, (2, 3), (4, 9))],
                                     noisy_steps=noisy)
        for (c, h, n, seed), got in zip(zip(contexts, histories, (2, 3), (4, 9)), together):
            alone = stage.sample(c, n, seed, history=h, noisy_steps=noisy)
            assert len(got[0]) == n and np.abs(got[0].astype(int) - alone[0].astype(int)).max() <= 1
            assert all(torch.allclose(a, b, atol=1e-4) for a, b in zip(got[1], alone[1]))
            assert all((a is None and b is None) or torch.allclose(a, b, atol=1e-3) for a, b in zip(got[2], alone[2]))


def test_joined_samples_are_one_group_with_the_first_candidates_first(rl_stage):
    stage, data = rl_stage
    from nsp.data.loader import PairStream

    context = stage.read([next(iter(PairStream(data, "train", shuffle=False)))])[0][0]
    first = stage.sample(context, 1, seed=4, noisy_steps=[1, 2])  # one trajectory until step 1, then branches
    rest = stage.sample(context, 2, seed=5, noisy_steps=[1, 2])
    frames, states, log_probs, ts, *_ = join_samples(first, rest)
    assert len(frames) == 3 and np.array_equal(frames[0], first[0][0]) and np.array_equal(frames[2], rest[0][1])
    assert all(x.shape[0] == 3 for x in states) and torch.equal(states[0][1], states[0][2])
    assert not torch.equal(states[0][0], states[0][1])  # each sample's own trajectory
    assert [lp is None for lp in log_probs] == [True, False, False, True] and log_probs[1].shape == (3,)
    assert ts == first[3]


def test_a_coarser_rollout_trains_the_sampling_schedules_levels(rl_stage):
    """rl.rollout_steps (awm, nft): the candidates come from a shorter deterministic rollout; the levels they are
    noised at are still the sampling_steps schedule's at the trained steps."""
    from nsp.data.loader import PairStream
    from nsp.stages.rl import DETERMINISTIC

    stage, data = rl_stage
    s = stage.s
    pair = next(iter(PairStream(data, "train", shuffle=False)))
    before = s.train_window
    try:
        s.objective, s.rollout_steps, s.train_window = "awm", 2, (1, 3)
        units = stage.rollout_units(iter([pair]), seed=5)
        (context, history), = stage.read([pair])
        states = stage.sample(context, 4, 5, noise_level=DETERMINISTIC, history=history, steps=2)[1]
        assert len(states) == 3  # two steps
        levels = stage.sigmas(s.sampling_steps, states[-1].shape[1])
        unit, = units
        assert sorted(unit.t.unique().tolist()) == pytest.approx(sorted(levels[1:3]))
        for x0 in (unit.x - unit.t[:, None, None] * unit.target).split(4):
            torch.testing.assert_close(x0, states[-1], atol=1e-4, rtol=1e-4)
    finally:
        s.rollout_steps, s.objective, s.train_window = None, "grpo", before


def _advantage_worker(rank: int, world: int, port: int, rewards: list[float], out: str):
    torch.distributed.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    settings = RLSection(group_size=len(rewards), keep_best=2, keep_worst=1)
    n = len(rewards) // world
    adv, group, keep = group_advantages(torch.tensor(rewards[rank * n:(rank + 1) * n]), settings, rank, world)
    with open(f"{out}.{rank}", "w") as f:
        json.dump({"adv": adv.tolist(), "group": group.tolist(), "keep": keep.tolist()}, f)
    torch.distributed.destroy_process_group()


def test_group_advantages_over_two_processes_equal_the_whole_group(tmp_path):
    rewards = [0.1, 0.9, 0.4, 0.4, 0.0, 0.7]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "adv")
    mp.spawn(_advantage_worker, args=(2, port, rewards, out), nprocs=2, join=True)
    parts = [json.load(open(f"{out}.{r}")) for r in range(2)]
    gathered = parts[0]["adv"] + parts[1]["adv"]
    single, _, keep = group_advantages(torch.tensor(rewards), RLSection(group_size=6, keep_best=2, keep_worst=1), 0, 1)
    assert parts[0]["keep"] + parts[1]["keep"] == keep.tolist() == [False, True, False, False, True, True]
    assert parts[0]["group"] == pytest.approx(rewards) and parts[1]["group"] == pytest.approx(rewards)
    assert gathered == pytest.approx(single.tolist(), abs=1e-6)
    r = torch.tensor(rewards)
    z = ((r - r.mean()) / (r.std() + 1e-4)).tolist()
    assert gathered[1] == pytest.approx(z[1]) and gathered[0] == pytest.approx(0.0)  # middle of the group: none
    assert gathered[4] == pytest.approx(z[4])  # the worst keeps its (negative) advantage


def test_groups_without_spread_get_no_advantage():
    settings = RLSection(group_size=4, min_group_std=0.05)
    flat, *_ = group_advantages(torch.tensor([0.90, 0.92, 0.91, 0.93]), settings, 0, 1)  # all pass: noise only
    assert flat.tolist() == [0.0] * 4
    mixed, *_ = group_advantages(torch.tensor([0.45, 0.95, 0.46, 0.96]), settings, 0, 1)  # two pass, two fail
    assert mixed[1] > 0 > mixed[0] and mixed.sum().abs() < 1e-5


def test_unscaled_advantages_let_a_group_with_spread_outweigh_one_without():
    settings = RLSection(group_size=4, scale_by_group_std=False)
    flat, *_ = group_advantages(torch.tensor([0.90, 0.92, 0.91, 0.93]), settings, 0, 1)
    mixed, *_ = group_advantages(torch.tensor([0.45, 0.95, 0.46, 0.96]), settings, 0, 1)
    # reward minus the group mean, no more
    assert flat.tolist() == pytest.approx([-0.015, 0.005, -0.005, 0.015], abs=1e-6)
    assert mixed.abs().max() > 10 * flat.abs().max()
    scaled, *_ = group_advantages(torch.tensor([0.90, 0.92, 0.91, 0.93]), RLSection(group_size=4), 0, 1)
    assert scaled.abs().max() > 1  # the default blows the same small spread up to unit size


def test_rl_cli_logs_rewards_ratio_and_curves(tmp_path):
    from nsp.data.synth import synthesize as synth

    data = tmp_path / "synth"
    synth(data, {"train": 6, "val": 2, "test": 0}, seed=1, workers=1, progress=False)
    init = tmp_path / "init"
    assert run_nsp("init", "--preset", "tiny", "--out", init).returncode == 0
    out = tmp_path / "rl"
    r = run_nsp("train", "rl", "--config", "stages/configs/rl_tiny.yaml", "--data", data, "--init", init, "--out", out,
                "model.patch.vlm.path=null", "model.patch.generator.vae_path=null", "rl.group_size=4",
                "rl.sampling_steps=4", "rl.train_steps=2", "rl.contexts=1",
                "rl.val_contexts=2", "run.val_every=2", "phases=[{name: grpo, steps: 2, trainable: [connector]}]",
                "rl.kl_beta=0.01", "rl.watch={reference: {}, judge: {path: 'nsp:tiny_judge_cuts'}}", "run.save_every=1")
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [row for row in rows if "ratio" in row]
    assert len(steps) == 2 and steps[0]["ratio"] == pytest.approx(1.0, abs=1e-5)
    assert {"reward_mean", "reward_std", "pass_rate", "clip_fraction", "kl"} <= set(steps[0])
    assert any("val_pass_rate" in row for row in rows)
    # Reward hacking watched: the same held-out samples scored by rewards the run does not train on.
    vals = [row for row in rows if "val_reward" in row]
    assert len(vals) == 2 and all(0 <= row["val_watch_judge"] <= 1 and "val_watch_reference" in row for row in vals)
    assert (out / "curves.png").is_file() and (out / "final" / "nsp_config.json").is_file()
    # The step-1 checkpoint as a model (the GRPO objective's weights mapped back to the model's names).
    r = run_nsp("export", out / "checkpoints" / "step-0000001", "--out", tmp_path / "step1")
    assert r.returncode == 0 and "rl run" in r.stdout and "(phase grpo, step 1)" in r.stdout, r.stderr[-2000:]
    from nsp.model import NSPModel

    step1, final = NSPModel.from_pretrained(tmp_path / "step1"), NSPModel.from_pretrained(out / "final")
    first, last = (m.connector.fc1.weight for m in (step1, final))
    assert first.shape == last.shape and not torch.equal(first, last)
