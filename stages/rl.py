"""Stage 3, reinforcement learning: GRPO for flow matching (as in Flow-GRPO / DanceGRPO) with a scene-consistency
reward. One rollout, for each of `contexts` contexts (the same on every rank), in four phases (`rollout_group`):

1. sample   a group of `group_size` candidates, spread over the ranks, with the SDE sampler (nsp/generation/sde.py:
            every denoising step a Gaussian with a log-probability) and CFG;
2. score    the reward of each candidate;
3. advantages  rewards gathered over the ranks and normalised within the group; with keep_best / keep_worst only
            those candidates are trained at all (the middle ones are dropped, and the loss is averaged over the kept);
4. units    (context, kept candidates, one denoising step) for the update, shuffled over contexts and steps.

The update: the clipped-ratio objective on each unit (`PolicyObjective`), optionally with the exact KL of each step's
Gaussian to the reference model's (the model RL started from), in `updates_per_rollout` optimizer steps: the first
has ratio 1 (to rounding), the next ones see the clip. With `rl.objective` awm or nft a unit is instead the kept
candidates' final latents noised afresh at each trained step's noise level (one unit per context), and the update is
their flow-matching loss weighted by their advantages (`PolicyObjective.matching`); the rollout is then the
deterministic sampler.
"""

from __future__ import annotations

import collections
import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nsp.data.loader import PairStream
from nsp.errors import NSPError
from nsp.generation.flow import add_noise, inference_sigmas, timestep_shift
from nsp.generation.ltx import guided_velocity, video_to_frames
from nsp.generation.sde import sde_step, step_kl
from nsp.rewards import Candidate, build_reward
from nsp.stages.base import Stage
from nsp.stages.config import RLSection
from nsp.understanding.context import ContextCache

DETERMINISTIC = 1e-6  # an SDE noise level at which a step is the Euler (ODE) step, to rounding


@dataclass
class Unit:
    """One micro-step of the policy update: one context's kept local candidates at one denoising step."""

    context: ContextCache  # read once by the frozen VLM (`RLStage.read`); only the queries run again
    x: torch.Tensor  # (g, S, C) at t
    x_next: torch.Tensor | None  # grpo: the sampled x at t_next
    old_log_prob: torch.Tensor | None  # grpo: (g,)
    advantage: torch.Tensor  # (g,)
    loss_scale: float  # world size / candidates kept in the whole group: the loss is their mean over all ranks (awm,
    # nft: and over the trained levels)
    t: float | torch.Tensor  # awm, nft: one level per row
    t_next: float | torch.Tensor  # grpo (awm, nft: t)
    t_cap: float  # grpo (awm, nft: 0)
    grid: tuple[int, int, int]
    fps: float
    metrics: dict
    history: torch.Tensor | None = None  # (g, S_h, C): clean context tokens (generator.history_frames)
    target: torch.Tensor | None = None  # awm, nft: x's flow-matching target (noise - the candidate's final latents)
    old_velocity: torch.Tensor | None = None  # nft: the sampling policy's conditional velocity at x


def policy_velocity(model, x: torch.Tensor, t: float, context: ContextCache | None, s: RLSection, grid, fps: float,
                    history: torch.Tensor | None, condition: torch.Tensor | None = None) -> torch.Tensor:
    """The guided velocity the policy samples with. Under a gradient with guidance_grad "conditional" (Flow-GRPO's
    choice) the unconditional branch runs without a graph: no gradient through it, and a backward over half the
    batch; else (rollouts, "both") the two branches run in one batch (the faster forward; the ratios of the first
    update then differ from 1 by rounding only). `condition`: the context's, where already computed (a rollout
    computes it once, not at every denoising step)."""
    g = x.shape[0]
    condition = model.condition(context) if condition is None else condition
    condition, null = condition.expand(g, -1, -1), model.null(g)
    gen, level = model.generator, model.config.generator.history_sigma
    if s.guidance <= 1.0 or s.guidance_grad == "both" or not torch.is_grad_enabled():
        return guided_velocity(gen, x, t, condition, null, s.guidance, grid, fps, history, level)
    with torch.no_grad():
        uncond = gen.velocity(x, t, null.to(condition.dtype), grid, fps, history=history, history_sigma=level)
    cond = gen.velocity(x, t, condition, grid, fps, history=history, history_sigma=level)
    return uncond + s.guidance * (cond - uncond)


class PolicyObjective(nn.Module):
    """What DeepSpeed trains in this stage: the model, with a forward that returns the update's loss (GRPO's clipped
    ratio, or with rl.objective awm / nft the flow matching on the group's own samples)."""

    def __init__(self, model, settings: RLSection, reference=None):
        super().__init__()
        self.model, self.s, self.reference = model, settings, reference

    def forward(self, unit: Unit):
        if self.s.objective != "grpo":
            return self.matching(unit)
        s = self.s
        v = policy_velocity(self.model, unit.x, unit.t, unit.context, s, unit.grid, unit.fps, unit.history)
        _, log_prob, mean = sde_step(unit.x, v, unit.t, unit.t_next, s.noise_level, unit.t_cap, sample=unit.x_next)
        ratio = torch.exp(log_prob - unit.old_log_prob)
        adv = unit.advantage
        per_candidate = torch.maximum(-adv * ratio, -adv * ratio.clamp(1 - s.clip_range, 1 + s.clip_range))
        loss = per_candidate.sum() * unit.loss_scale
        metrics = {"ratio": float(ratio.detach().mean()),
                   "clip_fraction": float(((ratio - 1).abs() > s.clip_range).float().mean())}
        if self.reference is not None and s.kl_beta > 0:
            with torch.no_grad():
                ref_v = policy_velocity(self.reference, unit.x, unit.t, unit.context, s, unit.grid, unit.fps,
                                        unit.history)
                _, _, ref_mean = sde_step(unit.x, ref_v, unit.t, unit.t_next, s.noise_level, unit.t_cap,
                                          sample=unit.x_next)
            kl = step_kl(mean, ref_mean, unit.t, unit.t_next, s.noise_level, unit.t_cap)
            loss = loss + s.kl_beta * kl.sum() * unit.loss_scale
            metrics["kl"] = float(kl.detach().mean())
        return loss, metrics

    def matching(self, unit: Unit):
        """Flow matching on the group's own samples. awm: each candidate's flow-matching loss on the conditional
        velocity at its noised final latents, weighted by its advantage (pulled toward the better candidates, pushed
        from the worse, without bound). nft: the loss of the implicit positive policy (1 - b) v_old + b v weighted by
        r = (1 + clip(advantage)) / 2 plus that of the negative one (1 + b) v_old - b v by 1 - r, whose optimum is
        v_old + (2r - 1) / b * (target - v_old): bounded, and v_old where the advantage is 0. With kl_beta, plus the
        squared distance to the reference model's velocity."""
        s, model = self.s, self.model
        v = conditional_velocity(model, unit)
        target = unit.target.float()
        per_candidate = mse(v, target)
        if s.objective == "awm":
            loss = (unit.advantage * per_candidate).sum() * unit.loss_scale
        else:
            r = (1 + unit.advantage.clamp(-1, 1)) / 2
            old, b, v = unit.old_velocity.float(), s.nft_beta, v.float()
            nft = r * mse((1 - b) * old + b * v, target) + (1 - r) * mse((1 + b) * old - b * v, target)
            loss = nft.sum() * unit.loss_scale
        metrics = {"matching_loss": float(per_candidate.detach().mean())}
        if self.reference is not None and s.kl_beta > 0:
            with torch.no_grad():
                ref_v = conditional_velocity(self.reference, unit)
            kl = mse(v, ref_v.float())
            loss = loss + s.kl_beta * kl.sum() * unit.loss_scale
            metrics["kl"] = float(kl.detach().mean())
        return loss, metrics


def mse(v: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per candidate: the mean squared error over all but the batch dimension."""
    return (v.float() - target).pow(2).flatten(1).mean(1)


def conditional_velocity(model, unit: Unit) -> torch.Tensor:
    """The DiT's velocity at the unit's x under the context's own condition (no guidance)."""
    g = unit.x.shape[0]
    condition = model.condition(unit.context).expand(g, -1, -1)
    return model.generator.velocity(unit.x, unit.t, condition, unit.grid, unit.fps, history=unit.history,
                                    history_sigma=model.config.generator.history_sigma)


class RLStage(Stage):
    name = "rl"
    state_prefix = ("model.", "")  # the GRPO objective holds the model
    has_val_loss = False  # its loss is GRPO's surrogate; validation measures the reward

    def __init__(self, cfg, model, rank: int = 0, world_size: int = 1):
        super().__init__(cfg, model, rank, world_size)
        self.s = cfg.rl
        if self.s.guidance is None:
            self.s = self.s.model_copy(update={"guidance": model.config.sampling.guidance})
        if self.s.group_size % world_size:
            raise NSPError(f"rl.group_size={self.s.group_size} must divide over {world_size} processes")
        if not cfg.data.path:
            raise NSPError("the rl stage samples contexts from a dataset: give --data DIR")
        if self.s.context_text:  # what `predict` warns about where no training did (NSPModel.text_with_clip)
            model.text_with_clip = True
        self.local = self.s.group_size // world_size
        if self.s.screen >= self.local:
            raise NSPError(f"rl.screen={self.s.screen} must be below the {self.local} candidates each process "
                           f"rolls out")
        self.reward = build_reward(self.s.rewards, model, **self.s.reward_options)
        self.watch = build_reward({name: 1.0 for name in self.s.watch}, model, **self.s.watch) if self.s.watch \
            else None
        reference = None
        if self.s.kl_beta > 0:  # the starting model, frozen (the VLM is shared, never copied)
            vlm = model.context_encoder.vlm
            model.context_encoder.vlm = None
            reference = copy.deepcopy(model).requires_grad_(False).eval()
            model.context_encoder.vlm = reference.context_encoder.vlm = vlm
        self.objective = PolicyObjective(model, self.s, reference)
        # rl.replay: (pair, times it may be replayed after this) of contexts whose groups spread, drawn before fresh
        self.replays: collections.deque = collections.deque()

    def module(self) -> nn.Module:
        return self.objective

    def micro_steps(self) -> int:
        """Units per optimizer step: contexts x trained denoising steps (awm, nft: contexts, their levels in one
        unit), split over the updates of one rollout."""
        units = self.s.contexts * (self._train_step_count() if self.s.objective == "grpo" else 1)
        if units % self.s.updates_per_rollout:
            raise NSPError(f"rl: {units} micro-steps per rollout do not split into updates_per_rollout="
                           f"{self.s.updates_per_rollout}")
        return units // self.s.updates_per_rollout

    def _train_step_count(self) -> int:
        return min(self.s.train_steps or self.s.sampling_steps, self.s.sampling_steps)

    # ---- contexts -------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def read(self, pairs: list) -> list[tuple[ContextCache, torch.Tensor | None]]:
        """Each pair's context as the frozen VLM reads it, with its think tokens (once per rollout: its screen, its
        group and its update units reuse that reading, only the queries run again), and the clean history the DiT
        sees; the pairs in one batch (a pass of the small VLM costs about as much for eight contexts as for one)."""
        model, enc = self.model, self.model.context_encoder
        texts = [pair.meta.get("captions", {}).get("context") if self.s.context_text else None for pair in pairs]
        videos = [enc.video_input(pair.context.frames, pair.context.fps) for pair in pairs]
        caches = model.read_context(enc.prepare(texts, videos).to(enc.queries.device)).rows()
        history = model.encode_history([pair.context for pair in pairs])
        return list(zip(caches, [None] * len(pairs) if history is None else history.split(1)))

    def train_batches(self, phase, rng, skip: int):
        # Every rank draws the same contexts (world_size=1 here); the group's candidates are what is split.
        self.stream = PairStream(self.cfg.data.path, "train", seed=self.cfg.run.seed, shuffle=True,
                                 shuffle_buffer=self.cfg.data.shuffle_buffer, repeat=True, skip=skip)
        pairs = iter(self.stream)
        while True:
            yield from self.rollout_units(pairs, seed=int(rng.integers(2**31)))

    def draw(self, pairs) -> tuple:
        """The next context and how many more times it may be replayed (rl.replay): a replayed one while there are
        any, else the next of `pairs`."""
        return self.replays.popleft() if self.replays else (next(pairs), self.s.replay)

    # ---- rollouts -------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, context: ContextCache, count: int, seed: int, noise_level: float | None = None,
               history: torch.Tensor | None = None, noisy_steps: list[int] | None = None, steps: int | None = None):
        """`count` candidates for one context with the SDE sampler: (frames, trajectory, log-probabilities, t values,
        t_cap, grid, fps). `noisy_steps`: the only steps that draw noise (their log-probability kept; None: all); the
        others are deterministic Euler steps, and the candidates are one trajectory, computed once, until the first
        noisy step, where they branch (Flow-GRPO-Fast). `steps`: of the schedule (None: rl.sampling_steps)."""
        return self.sample_many([(context, history, count, seed)], noise_level, noisy_steps, steps)[0]

    @torch.no_grad()
    def sample_many(self, requests: list[tuple], noise_level: float | None = None,
                    noisy_steps: list[int] | None = None, steps: int | None = None) -> list[tuple]:
        """`sample` for several contexts at once, each request (context, history, count, seed): their candidates go
        through the DiT and the VAE in one batch, each with its own noise (a request's results are those of `sample`
        alone, to the rounding of a larger batch)."""
        model, gen, s = self.model, self.model.generator, self.s
        g = model.config.generator
        grid = gen.latent_grid(g.num_frames, g.height, g.width)
        device = model.context_encoder.queries.device
        noise_level = s.noise_level if noise_level is None else noise_level
        steps = steps or s.sampling_steps
        noisy = set(range(steps) if noisy_steps is None else noisy_steps)
        counts = [count for _, _, count, _ in requests]
        generators = [torch.Generator().manual_seed(seed) for *_, seed in requests]
        channels = gen.transformer.config.in_channels
        xs = [gen.pack(torch.randn((1 if noisy_steps is not None else n, channels, *grid), generator=r).to(device))
              for n, r in zip(counts, generators)]
        ts = self.sigmas(steps, xs[0].shape[1])
        t_cap = ts[1]
        conditions = [model.condition(context) for context, *_ in requests]
        histories = [history for _, history, *_ in requests]
        states, log_probs = [[] for _ in requests], [[] for _ in requests]
        for k, (t, t_next) in enumerate(self.rollout_schedule(ts, noisy if noisy_steps is not None else None)):
            if k in noisy:  # the branch point, where a request's candidates are still one trajectory
                xs = [x.expand(n, -1, -1).clone() if x.shape[0] < n else x for x, n in zip(xs, counts)]
            rows = [x.shape[0] for x in xs]
            condition = torch.cat([c.expand(n, -1, -1) for c, n in zip(conditions, rows)])
            history = None if histories[0] is None else \
                torch.cat([h.expand(n, -1, -1) for h, n in zip(histories, rows)])
            v = policy_velocity(model, torch.cat(xs), t, None, s, grid, g.fps, history, condition)
            for i, (x, v_i) in enumerate(zip(xs, v.split(rows))):
                states[i].append(x)
                if k in noisy:
                    xs[i], log_prob, _ = sde_step(x, v_i, t, t_next, noise_level, t_cap, generators[i])
                else:
                    xs[i], log_prob = x + v_i * (t_next - t), None
                log_probs[i].append(log_prob)
        finals = [x.expand(n, -1, -1) for x, n in zip(xs, counts)]
        frames = video_to_frames(gen.decode(torch.cat(finals), grid))
        ends = np.cumsum([0, *counts])
        return [(frames[a:b], [*trajectory, final], lps, ts, t_cap, grid, g.fps)
                for a, b, trajectory, final, lps in zip(ends, ends[1:], states, finals, log_probs)]

    def sigmas(self, steps: int, tokens: int) -> list[float]:
        """The noise levels of a `steps`-step schedule for `tokens` latent tokens: steps + 1 values, the last 0."""
        scheduler = self.model.generator.scheduler
        scheduler.set_timesteps(sigmas=inference_sigmas(steps), mu=timestep_shift(tokens, scheduler.config))
        return [float(t) for t in scheduler.sigmas]

    def rollout_schedule(self, ts: list[float], noisy: set[int] | None) -> list[tuple[float, float]]:
        """The (t, t_next) steps of a rollout: every step of the schedule, or (rl.tail_steps, with noise only at the
        trained steps) after the last noisy one a few longer Euler steps over the same span."""
        steps = list(zip(ts, ts[1:]))
        if not self.s.tail_steps or not noisy:
            return steps
        last = max(noisy) + 1
        tail = ts[last:]
        if len(tail) - 1 <= self.s.tail_steps:
            return steps
        picks = np.linspace(0, len(tail) - 1, self.s.tail_steps + 1).round().astype(int)
        return steps[:last] + [(tail[a], tail[b]) for a, b in zip(picks, picks[1:])]

    def rollout_units(self, pairs, seed: int) -> list[Unit]:
        """One rollout: `contexts` groups from the iterator `pairs`, drawing up to `max_draws` contexts to find groups
        that spread (the same decision on every rank: it is made on the gathered group); short of them, flat ones
        fill in. With rl.screen, contexts (screen_batch at a time) whose first candidates all pass are dropped
        unrolled, up to max_draws; after that, contexts are rolled out in full until there are `contexts` groups."""
        s = self.s
        draws = max(s.max_draws or 0, s.contexts)
        kept, flat, screened_out, c = [], [], 0, 0
        while len(kept) < s.contexts and (c < draws or len(kept) + len(flat) < s.contexts):
            screening = s.screen and c < draws
            drawn = [self.draw(pairs) for _ in range(min(s.screen_batch, draws - c) if screening else 1)]
            batch = [(pair, seed + 1000 * (c + i)) for i, (pair, _) in enumerate(drawn)]
            screened = self.screen_contexts(batch) if screening else [None]
            c += len(batch)
            for (pair, pair_seed), (_, replays), rolled in zip(batch, drawn, screened):
                if len(kept) == s.contexts:  # the batch found more than the rollout needs
                    break
                if rolled is False:
                    screened_out += 1
                    continue
                units, spread = self.rollout_group(pair, pair_seed, rolled)
                (kept if spread >= s.min_group_std else flat).append(units)
                if spread >= s.min_group_std and replays:
                    self.replays.append((pair, replays - 1))
        groups = kept + flat[:s.contexts - len(kept)]
        for units in groups:
            units[0].metrics.update(draws=c, screened_out=screened_out)
        return interleave(groups, np.random.default_rng(seed))

    def rollout_options(self, seed: int) -> dict:
        """How the rollout of the context drawn with `seed` samples: awm, nft with the deterministic sampler in
        rl.rollout_steps; grpo with the SDE, with rl.noise_only_trained noise only at its trained steps."""
        s = self.s
        if s.objective != "grpo":
            return dict(noise_level=DETERMINISTIC, steps=s.rollout_steps)
        return dict(noisy_steps=self.trained_steps(seed) if s.noise_only_trained else None)

    def screen_contexts(self, batch: list[tuple]) -> list:
        """rl.screen: each (pair, seed)'s first `screen` candidates, sampled together (contexts whose rollouts sample
        alike in one batch); per context False where they all passed (on every rank), else (context, history, the
        screen's sample) for `rollout_group`."""
        prepared = self.read([pair for pair, _ in batch])
        options = [self.rollout_options(seed) for _, seed in batch]
        rolled = [None] * len(batch)
        for alike in dict.fromkeys(map(str, options)):
            at = [i for i, o in enumerate(options) if str(o) == alike]
            requests = [(*prepared[i], self.s.screen, batch[i][1] + 7919 * self.rank) for i in at]
            for i, sample in zip(at, self.sample_many(requests, **options[at[0]])):
                rolled[i] = sample
        return [False if self.screen_passed(sample[0], pair) else (*ready, sample)
                for (pair, _), ready, sample in zip(batch, prepared, rolled)]

    def rollout_group(self, pair, seed: int, screened: tuple | None = None) -> tuple[list[Unit], float]:
        """One context's group of candidates, scored: its trained units and the reward's spread over the group.
        `screened`: (context, history, sample) of its first candidates, from `screen_contexts`."""
        s = self.s
        trained, matching = self.trained_steps(seed), s.objective != "grpo"
        options = self.rollout_options(seed)
        # 1. sample: this rank's share of the group, every denoising step kept with its log-probability (awm,
        #    nft: the deterministic sampler from each candidate's own starting noise, as evaluation samples), after
        #    the screen's candidates where it was screened
        seed = seed + 7919 * self.rank
        if screened is None:
            (context, history), = self.read([pair])
            rolled = self.sample(context, self.local, seed, history=history, **options)
        else:  # (seed + 1 draws the matching units' noise: the rest's starting noise is its own)
            context, history, first = screened
            rolled = join_samples(first, self.sample(context, self.local - s.screen, seed + 2, history=history,
                                                     **options))
        frames, states, log_probs, ts, t_cap, grid, fps = rolled
        # 2. score
        scores = self.score(frames, pair)
        # 3. advantages, over the whole group (every rank's candidates); only the kept candidates are trained
        advantage, group, keep = self.advantages(torch.tensor(scores.values, dtype=torch.float32))
        metrics = {"reward_mean": float(group.mean()), "reward_std": float(group.std())}
        if scores.passed is not None:
            metrics["pass_rate"] = float(self.gather(torch.tensor(scores.passed, dtype=torch.float32)).mean())
        rows = keep.nonzero().flatten()
        kept_in_group = int(self.gather(keep.float()).sum())
        if len(rows) == 0:  # none of this rank's candidates is kept: one, with no advantage, keeps the ranks in step
            rows, advantage = torch.tensor([0]), torch.zeros_like(advantage)
        # 4. units: the kept candidates at each trained denoising step
        history = None if history is None else history.expand(len(rows), -1, -1)
        if matching:
            levels = self.sigmas(s.sampling_steps, states[-1].shape[1])
            return self.matching_units(context, states[-1][rows], advantage[rows], self.world_size / kept_in_group,
                                       [levels[k] for k in trained], grid, fps, metrics, history,
                                       seed), float(group.std())
        units = [Unit(context, states[k][rows], states[k + 1][rows], log_probs[k][rows],
                      advantage[rows].to(states[k].device), self.world_size / kept_in_group, ts[k], ts[k + 1], t_cap,
                      grid, fps, metrics, history) for k in trained]
        return units, float(group.std())

    def score(self, frames, pair):
        """The reward's scores of one context's candidates."""
        return self.reward([Candidate(f, pair.context.frames, pair.next.frames, pair.meta) for f in frames])[0]

    def screen_passed(self, frames, pair) -> bool:
        """Whether the screen's candidates, on every rank, all pass the reward."""
        scores = self.score(frames, pair)
        if scores.passed is None:
            raise NSPError(f"rl.screen needs a reward with pass/fail (oracle); {sorted(self.s.rewards)} has none")
        return bool(self.gather(torch.tensor(scores.passed, dtype=torch.float32)).all())

    def matching_units(self, context, x0: torch.Tensor, advantage: torch.Tensor, loss_scale: float,
                       levels: list[float], grid, fps: float, metrics: dict, history, seed: int) -> list[Unit]:
        """awm, nft: one unit, the candidates' final latents noised afresh at each trained step's noise level, with
        their flow-matching targets (nft: and the sampling policy's velocity there). The levels share one forward and
        backward (a larger batch runs faster per sample; at full size it holds twice the activations) and the loss is
        their mean: the gradient of a unit per level."""
        generator = torch.Generator().manual_seed(seed + 1)
        noise = torch.cat([torch.randn(x0.shape, generator=generator, dtype=x0.dtype) for _ in levels]).to(x0.device)
        t = torch.tensor(levels, dtype=x0.dtype, device=x0.device).repeat_interleave(len(x0))  # level by level
        clean = x0.repeat(len(levels), 1, 1)
        unit = Unit(context, add_noise(clean, noise, t), None, None, advantage.to(x0.device).repeat(len(levels)),
                    loss_scale / len(levels), t, t, 0.0, grid, fps, metrics,
                    None if history is None else history.repeat(len(levels), 1, 1), target=noise - clean)
        if self.s.objective == "nft":
            with torch.no_grad():
                unit.old_velocity = conditional_velocity(self.model, unit)
        return [unit]

    def trained_steps(self, seed: int) -> list[int]:
        """The denoising steps a rollout trains: drawn at random within rl.train_window (the same on every rank: the
        seed is the rollout's), else spread evenly over the trajectory."""
        s, n = self.s, self._train_step_count()
        if s.train_window is None:
            return sorted({int(k) for k in np.linspace(0, s.sampling_steps - 1, n).round()})
        first, end = s.train_window
        return sorted(int(k) for k in np.random.default_rng(seed).choice(np.arange(first, end), n, replace=False))

    def gather(self, local: torch.Tensor) -> torch.Tensor:
        return gather_group(local, self.world_size)

    def advantages(self, local_rewards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return group_advantages(local_rewards, self.s, self.rank, self.world_size)

    # ---- the update -----------------------------------------------------------------------------------------------
    def loss(self, engine, unit: Unit, generator) -> tuple[torch.Tensor, dict]:
        loss, metrics = engine(unit)
        return loss, {"loss": float(loss.detach()), **metrics, **unit.metrics}

    # ---- validation: held-out contexts, deterministic (ODE) sampling ---------------------------------------------
    def val_batches(self) -> list:
        if not self.s.val_contexts:
            return []
        stream = PairStream(self.cfg.data.path, "val", shuffle=False)
        pairs = []
        for pair in stream:
            pairs.append(pair)
            if len(pairs) == self.s.val_contexts:
                break
        return pairs

    def val_metrics(self, pairs) -> dict:
        requests = [(*read, 1, 10_000 + i) for i, read in enumerate(self.read(pairs))]
        samples = self.sample_many(requests, noise_level=DETERMINISTIC)
        candidates = [Candidate(frames[0], pair.context.frames, pair.next.frames, pair.meta)
                      for pair, (frames, *_) in zip(pairs, samples)]
        scores, each = self.reward(candidates)
        out = {"val_reward": float(np.mean(scores.values))}
        if scores.passed is not None:
            out["val_pass_rate"] = float(np.mean(scores.passed))
        if len(each) > 1:
            out.update({f"val_reward_{name}": float(np.mean(v)) for name, v in each.items()})
        if self.watch is not None:  # the same samples, judged by what is not trained on
            watched, parts = self.watch(candidates)
            out.update({f"val_watch_{name}": float(np.mean(v)) for name, v in parts.items()})
            if watched.passed is not None and "val_pass_rate" not in out:
                out["val_watch_pass_rate"] = float(np.mean(watched.passed))
        return out


def join_samples(a: tuple, b: tuple) -> tuple:
    """Two `sample` results for one context as one: candidates, every step's states and log-probabilities stacked
    (a state shared by a sample's candidates, before its branch point, is repeated for each)."""
    def stack(x, y):
        return None if x is None else torch.cat([x.expand(len(a[0]), -1, -1), y.expand(len(b[0]), -1, -1)])

    def stack_log_probs(x, y):
        return None if x is None else torch.cat([x, y])

    return ([*a[0], *b[0]], [stack(x, y) for x, y in zip(a[1], b[1])],
            [stack_log_probs(x, y) for x, y in zip(a[2], b[2])], *a[3:])


def interleave(groups: list[list[Unit]], rng: np.random.Generator) -> list[Unit]:
    """The rollout's units in update order: each context's steps shuffled, then the contexts taken in turn, so that
    each of the rollout's updates sees every context (not the first update context A and the second context B) and
    steps from all over the trajectory (the same order on every rank: `rng` is seeded alike)."""
    shuffled = [[units[i] for i in rng.permutation(len(units))] for units in groups]
    return [units[i] for i in range(max(map(len, shuffled), default=0)) for units in shuffled if i < len(units)]


def gather_group(local: torch.Tensor, world_size: int) -> torch.Tensor:
    """The whole group: every rank's candidates, in rank order."""
    dist = torch.distributed
    if world_size == 1 or not (dist.is_available() and dist.is_initialized()):
        return local
    parts = [torch.empty_like(local) for _ in range(world_size)]
    dist.all_gather(parts, local.contiguous())
    return torch.cat(parts)


def group_advantages(local_rewards: torch.Tensor, s: RLSection, rank: int, world_size: int
                     ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(advantages of this rank's candidates, the whole group's rewards, which of this rank's candidates are kept):
    centred (and by default scaled) by the whole group's statistics (all ranks); with keep_best / keep_worst only
    those are kept (and the middle of the group gets no advantage), else all."""
    group = gather_group(local_rewards, world_size)
    adv = group - group.mean()
    if s.scale_by_group_std:
        adv = (adv / (group.std() + 1e-4)).clamp(-s.advantage_clip, s.advantage_clip)
    if group.std() < s.min_group_std:
        adv = torch.zeros_like(adv)
    keep = torch.ones_like(group, dtype=torch.bool)
    if s.keep_best or s.keep_worst:
        order = torch.argsort(group, stable=True)
        keep = torch.zeros_like(group, dtype=torch.bool)
        keep[order[:s.keep_worst]] = True
        if s.keep_best:
            keep[order[-s.keep_best:]] = True
        adv = torch.where(keep, adv, torch.zeros_like(adv))
    n = len(local_rewards)
    mine = slice(rank * n, (rank + 1) * n)
    return adv[mine], group, keep[mine]
