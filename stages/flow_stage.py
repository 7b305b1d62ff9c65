"""What the NSP stages (t2v, sft) share: examples -> batches of (context, target latents), the flow-matching loss
through the model's forward, fixed validation batches, and a contact sheet sampled on validation contexts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nsp.data.cache import LatentPair
from nsp.errors import NSPError
from nsp.generation.ltx import video_to_frames
from nsp.stages.base import Stage
from nsp.stages.examples import batches, example_stream
from nsp.understanding.context import ContextBatch

VAL_SEED = 1234


@dataclass
class FlowBatch:
    context: ContextBatch
    latents: torch.Tensor  # packed (B, S, C)
    grid: tuple[int, int, int]
    fps: float
    drop: torch.Tensor  # (B,) bool: train these rows with the null condition
    examples: list[LatentPair]
    target: str  # which latents are generated: "next", "context" or "image"
    history: torch.Tensor | None = None  # clean context latent tokens before the clip (generator.history_frames)


class FlowStage(Stage):
    def make_batch(self, examples: list[LatentPair], rng: np.random.Generator, phase, train: bool) -> FlowBatch:
        raise NotImplementedError

    def flow_batch(self, examples, texts, videos, target: str, rng, train: bool, prompt: str | None,
                   answers: list[str] | None = None) -> FlowBatch:
        model = self.model
        device = model.context_encoder.queries.device
        context = model.context_encoder.prepare(texts, videos, prompt, answers).to(device)
        latents = torch.stack([e.latents[target] for e in examples]).to(device)
        drop = torch.from_numpy(rng.random(len(examples)) < self.cfg.data.condition_dropout) if train else \
            torch.zeros(len(examples), dtype=torch.bool)
        fps = float(examples[0].meta.get("fps", model.config.generator.fps))
        return FlowBatch(context, model.generator.pack(latents), tuple(latents.shape[2:]), fps, drop, examples,
                         target, self.history(examples, videos, target))

    def history(self, examples, videos, target: str) -> torch.Tensor | None:
        """The clean history of each given context clip (zeros where a row's clip is not given): its last latent
        frames, or its last frame encoded on its own (`generator.history_source`)."""
        g = self.model.config.generator
        if not g.history_frames or target != "next" or all(v is None for v in videos):
            return None
        gen = self.model.generator
        if g.history_source == "last_frame" and any("last" not in e.latents for e in examples):
            raise NSPError("generator.history_source last_frame: the latent cache has no last-frame latents "
                           "(made by an older nsp); re-run `nsp data cache`")
        source = "last" if g.history_source == "last_frame" else "context"
        last = [e.latents[source][:, -g.history_frames:] for e in examples]
        rows = [x if v is not None else torch.zeros_like(x) for x, v in zip(last, videos)]
        return gen.pack(torch.stack(rows).to(self.model.context_encoder.queries.device))

    def train_batches(self, phase, rng: np.random.Generator, skip: int):
        self.stream, examples = example_stream(self.cfg.data, self.model, "train", shuffle=True,
                                               seed=self.cfg.run.seed, repeat=True, skip=skip, rank=self.rank,
                                               world_size=self.world_size)
        for group in batches(examples, self.cfg.data.batch_size):
            yield self.make_batch(group, rng, phase, train=True)

    def val_batches(self) -> list[FlowBatch]:
        if self.cfg.data.val_batches == 0:
            return []
        _, examples = example_stream(self.cfg.data, self.model, "val", shuffle=False, seed=0, repeat=False)
        rng = np.random.default_rng(VAL_SEED)
        out = []
        for group in batches(examples, self.cfg.data.batch_size):
            out.append(self.make_batch(group, rng, self.cfg.phases[-1], train=False))
            if len(out) == self.cfg.data.val_batches:
                break
        return out

    def loss(self, engine, batch: FlowBatch, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        loss = engine(batch.context, batch.latents, batch.grid, batch.fps, batch.drop, generator, batch.history,
                      self.cfg.dit.sigma_shift, self.cfg.dit.history_noise)
        return loss, {"loss": float(loss.detach())}

    @torch.no_grad()
    def contact_sheet(self, batches: list[FlowBatch], count: int = 4) -> np.ndarray | None:
        from nsp.pipeline import NSPPipeline
        from nsp.video.frames import sheet

        if not batches:
            return None
        model, batch = self.model, batches[0]
        n = min(count, len(batch.examples))
        rows_context = ContextBatch(*_take(batch.context, n))
        condition = model.condition(rows_context)
        f, h, w = batch.grid
        gen = model.generator
        frames = (f - 1) * gen.temporal_ratio + 1
        out = NSPPipeline(model).generate(condition, num_frames=frames, height=h * gen.spatial_ratio,
                                          width=w * gen.spatial_ratio, num_inference_steps=self.cfg.run.sample_steps,
                                          guidance_scale=model.config.sampling.guidance,
                                          generator=torch.Generator().manual_seed(VAL_SEED),
                                          history=model.noise_history(None if batch.history is None
                                                                      else batch.history[:n]))
        real = video_to_frames(gen.decode(batch.latents[:n], batch.grid))
        rows = []
        for i, e in enumerate(batch.examples[:n]):
            row = []
            if batch.target == "next" and "context" in e.latents and batch.context.pixel_values_videos is not None:
                row.append(video_to_frames(gen.decode(gen.pack(e.latents["context"][None].to(batch.latents.device)),
                                                      tuple(e.latents["context"].shape[1:])))[0])
            rows.append(row + [out.frames[i], real[i]])
        return sheet(rows)


def _take(context: ContextBatch, n: int):
    """The first n rows of a context batch (their clips' patches included)."""
    videos = context.video_grid_thw
    keep_patches = None
    if videos is not None:
        rows_with_video = (context.mm_token_type_ids[:n] == 2).any(1).sum().item()
        keep_patches = int(videos[:rows_with_video].prod(1).sum())
        videos = videos[:rows_with_video] if rows_with_video else None
    pixels = context.pixel_values_videos[:keep_patches] if keep_patches else None
    answers = [None if t is None else t[:n] for t in (context.answer_ids, context.answer_mask)]
    return (context.input_ids[:n], context.attention_mask[:n], context.mm_token_type_ids[:n],
            context.position_ids[:, :n], pixels, videos, *answers)
