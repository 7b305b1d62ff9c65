"""Stage 3, reinforcement learning: GRPO for flow matching (as in Flow-GRPO / DanceGRPO) with a scene-consistency
reward.

Each rollout takes `contexts` contexts (the same on every rank) and samples a group of `group_size` candidates per
context, spread over the ranks, with the SDE sampler (nsp/generation/sde.py: every denoising step a Gaussian with a
log-probability) and CFG. The reward scores them; rewards are gathered over the ranks, normalised within each group
(advantages), optionally only the best-k and worst-k keep theirs. The policy update is the clipped-ratio objective
over (a subset of) the denoising steps, optionally with a KL to the reference (the model RL started from), in
`updates_per_rollout` optimizer steps: the first has ratio exactly 1, the next ones see the clip.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nsp.data.loader import PairStream
from nsp.errors import NSPError
from nsp.generation.flow import inference_sigmas, timestep_shift
from nsp.generation.ltx import guided_velocity, video_to_frames
from nsp.generation.sde import sde_step
from nsp.rewards import Candidate, build_reward
from nsp.stages.base import Stage
from nsp.stages.config import RLSection
from nsp.understanding.context import ContextBatch


@dataclass
class Unit:
    """One micro-step of the policy update: one context's local candidates at one denoising step."""

    context: ContextBatch
    x: torch.Tensor  # (g, S, C) at t
    x_next: torch.Tensor  # the sampled x at t_next
    old_log_prob: torch.Tensor  # (g,)
    advantage: torch.Tensor  # (g,)
    t: float
    t_next: float
    t_cap: float
    grid: tuple[int, int, int]
    fps: float
    metrics: dict
    history: torch.Tensor | None = None  # (g, S_h, C): clean context tokens (generator.history_frames)


class GRPOObjective(nn.Module):
    """What DeepSpeed trains in this stage: the model, with a forward that returns the clipped GRPO loss."""

    def __init__(self, model, settings: RLSection, reference=None):
        super().__init__()
        self.model, self.s, self.reference = model, settings, reference

    def forward(self, unit: Unit):
        model, s = self.model, self.s
        g = unit.x.shape[0]
        condition = model.condition(unit.context).expand(g, -1, -1)
        v = guided_velocity(model.generator, unit.x, unit.t, condition, model.null(g), s.guidance, unit.grid, unit.fps,
                            unit.history)
        _, log_prob, mean = sde_step(unit.x, v, unit.t, unit.t_next, s.noise_level, unit.t_cap, sample=unit.x_next)
        ratio = torch.exp(log_prob - unit.old_log_prob)
        adv = unit.advantage
        loss = torch.maximum(-adv * ratio, -adv * ratio.clamp(1 - s.clip_range, 1 + s.clip_range)).mean()
        metrics = {"ratio": float(ratio.detach().mean()),
                   "clip_fraction": float(((ratio - 1).abs() > s.clip_range).float().mean())}
        if self.reference is not None and s.kl_beta > 0:
            with torch.no_grad():
                ref = self.reference
                ref_cond = ref.condition(unit.context).expand(g, -1, -1)
                ref_v = guided_velocity(ref.generator, unit.x, unit.t, ref_cond, ref.null(g), s.guidance,
                                        unit.grid, unit.fps, unit.history)
                _, _, ref_mean = sde_step(unit.x, ref_v, unit.t, unit.t_next, s.noise_level, unit.t_cap,
                                          sample=unit.x_next)
            std2 = (s.noise_level**2) * max(unit.t, 1e-6) * (unit.t - unit.t_next)  # the step's variance scale
            kl = ((mean - ref_mean) ** 2).flatten(1).mean(1) / (2 * std2)
            loss = loss + s.kl_beta * kl.mean()
            metrics["kl"] = float(kl.detach().mean())
        return loss, metrics


class RLStage(Stage):
    name = "rl"
    has_val_loss = False  # its loss is GRPO's surrogate; validation measures the reward

    def __init__(self, cfg, model, rank: int = 0, world_size: int = 1):
        super().__init__(cfg, model, rank, world_size)
        self.s = cfg.rl
        if self.s.group_size % world_size:
            raise NSPError(f"rl.group_size={self.s.group_size} must divide over {world_size} processes")
        if not cfg.data.path:
            raise NSPError("the rl stage samples contexts from a dataset: give --data DIR")
        self.local = self.s.group_size // world_size
        self.reward = build_reward(self.s.rewards, model, **self.s.reward_options)
        reference = None
        if self.s.kl_beta > 0:  # the starting model, frozen (the VLM is shared, never copied)
            vlm = model.context_encoder.vlm
            model.context_encoder.vlm = None
            reference = copy.deepcopy(model).requires_grad_(False).eval()
            model.context_encoder.vlm = reference.context_encoder.vlm = vlm
        self.objective = GRPOObjective(model, self.s, reference)

    def module(self) -> nn.Module:
        return self.objective

    def micro_steps(self) -> int:
        """Units per optimizer step: contexts x trained denoising steps, split over the updates of one rollout."""
        units = self.s.contexts * self._train_step_count()
        if units % self.s.updates_per_rollout:
            raise NSPError(f"rl: {units} micro-steps per rollout do not split into updates_per_rollout="
                           f"{self.s.updates_per_rollout}")
        return units // self.s.updates_per_rollout

    def _train_step_count(self) -> int:
        return min(self.s.train_steps or self.s.sampling_steps, self.s.sampling_steps)

    # ---- contexts -------------------------------------------------------------------------------------------------
    def _context(self, pair):
        enc = self.model.context_encoder
        video = enc.video_input(pair.context.frames, pair.context.fps)
        text = pair.meta.get("captions", {}).get("context") if self.s.context_text else None
        return enc.prepare([text], [video]).to(enc.queries.device)

    def train_batches(self, phase, rng, skip: int):
        # Every rank draws the same contexts (world_size=1 here); the group's candidates are what is split.
        self.stream = PairStream(self.cfg.data.path, "train", seed=self.cfg.run.seed, shuffle=True,
                                 shuffle_buffer=self.cfg.data.shuffle_buffer, repeat=True, skip=skip)
        pairs = iter(self.stream)
        while True:
            yield from self.rollout_units(pairs, seed=int(rng.integers(2**31)))

    # ---- rollouts -------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, context: ContextBatch, count: int, seed: int, noise_level: float | None = None,
               history: torch.Tensor | None = None):
        """`count` candidates for one context with the SDE sampler: (frames, trajectory, t values, t_cap, grid, fps)."""
        model, gen, s = self.model, self.model.generator, self.s
        g = model.config.generator
        grid = gen.latent_grid(g.num_frames, g.height, g.width)
        generator = torch.Generator().manual_seed(seed)
        device = model.context_encoder.queries.device
        noise_level = s.noise_level if noise_level is None else noise_level
        condition = model.condition(context).expand(count, -1, -1)
        null = model.null(count)
        x = gen.pack(torch.randn((count, gen.transformer.config.in_channels, *grid), generator=generator).to(device))
        gen.scheduler.set_timesteps(sigmas=inference_sigmas(s.sampling_steps),
                                    mu=timestep_shift(x.shape[1], gen.scheduler.config))
        ts = [float(t) for t in gen.scheduler.sigmas]  # steps + 1 values, the last one 0
        t_cap = ts[1]
        states, log_probs = [x], []
        for t, t_next in zip(ts, ts[1:]):
            v = guided_velocity(gen, x, t, condition, null, s.guidance, grid, g.fps,
                                None if history is None else history.expand(count, -1, -1))
            x, log_prob, _ = sde_step(x, v, t, t_next, noise_level, t_cap, generator)
            states.append(x)
            log_probs.append(log_prob)
        frames = video_to_frames(gen.decode(x, grid))
        return frames, states, log_probs, ts, t_cap, grid, g.fps

    def rollout_units(self, pairs, seed: int) -> list[Unit]:
        """One rollout: `contexts` groups from the iterator `pairs`, drawing up to `max_draws` contexts to find groups
        that spread (the same decision on every rank: it is made on the gathered group); short of them, flat ones
        fill in."""
        s = self.s
        kept, flat = [], []
        for c in range(max(s.max_draws or 0, s.contexts)):
            units, spread = self.rollout_group(next(pairs), seed + 1000 * c)
            (kept if spread >= s.min_group_std else flat).append(units)
            if len(kept) == s.contexts:
                break
        groups = kept + flat[:s.contexts - len(kept)]
        for units in groups:
            units[0].metrics["draws"] = c + 1
        return [u for units in groups for u in units]

    def rollout_group(self, pair, seed: int) -> tuple[list[Unit], float]:
        """One context's group of candidates, scored: its trained units and the reward's spread over the group."""
        s = self.s
        trained = np.linspace(0, s.sampling_steps - 1, self._train_step_count()).round().astype(int)
        context, history = self._context(pair), self.model.encode_history([pair.context])
        frames, states, log_probs, ts, t_cap, grid, fps = self.sample(context, self.local, seed + 7919 * self.rank,
                                                                      history=history)
        candidates = [Candidate(f, pair.context.frames, pair.next.frames, pair.meta) for f in frames]
        scores, _ = self.reward(candidates)
        advantage, group = self.advantages(torch.tensor(scores.values, dtype=torch.float32))
        metrics = {"reward_mean": float(group.mean()), "reward_std": float(group.std())}
        if scores.passed is not None:
            metrics["pass_rate"] = float(self.gather(torch.tensor(scores.passed, dtype=torch.float32)).mean())
        history = None if history is None else history.expand(self.local, -1, -1)
        units = [Unit(context, states[k], states[k + 1], log_probs[k], advantage.to(states[k].device), ts[k],
                      ts[k + 1], t_cap, grid, fps, metrics, history) for k in trained]
        return units, float(group.std())

    def gather(self, local: torch.Tensor) -> torch.Tensor:
        return gather_group(local, self.world_size)

    def advantages(self, local_rewards: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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
        values, passed = [], []
        for i, pair in enumerate(pairs):
            frames = self.sample(self._context(pair), 1, seed=10_000 + i, noise_level=1e-6,
                                 history=self.model.encode_history([pair.context]))[0]
            scores, _ = self.reward([Candidate(frames[0], pair.context.frames, pair.next.frames, pair.meta)])
            values.append(float(scores.values[0]))
            if scores.passed is not None:
                passed.append(bool(scores.passed[0]))
        out = {"val_reward": float(np.mean(values))}
        if passed:
            out["val_pass_rate"] = float(np.mean(passed))
        return out


def gather_group(local: torch.Tensor, world_size: int) -> torch.Tensor:
    """The whole group: every rank's candidates, in rank order."""
    dist = torch.distributed
    if world_size == 1 or not (dist.is_available() and dist.is_initialized()):
        return local
    parts = [torch.empty_like(local) for _ in range(world_size)]
    dist.all_gather(parts, local.contiguous())
    return torch.cat(parts)


def group_advantages(local_rewards: torch.Tensor, s: RLSection, rank: int, world_size: int
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """Advantages of this rank's candidates, centred (and by default scaled) by the whole group's statistics (all
    ranks); with keep_best / keep_worst, the middle of the group gets none."""
    group = gather_group(local_rewards, world_size)
    adv = group - group.mean()
    if s.scale_by_group_std:
        adv = (adv / (group.std() + 1e-4)).clamp(-s.advantage_clip, s.advantage_clip)
    if group.std() < s.min_group_std:
        adv = torch.zeros_like(adv)
    if s.keep_best or s.keep_worst:
        order = torch.argsort(group, stable=True)
        keep = torch.zeros_like(group, dtype=torch.bool)
        keep[order[:s.keep_worst]] = True
        if s.keep_best:
            keep[order[-s.keep_best:]] = True
        adv = torch.where(keep, adv, torch.zeros_like(adv))
    n = len(local_rewards)
    return adv[rank * n:(rank + 1) * n], group
