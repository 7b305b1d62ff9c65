"""NSPPipeline: preceding scene (clip and/or text) -> the next scene, as one readable `__call__`.

    pipe = NSPPipeline.from_pretrained("runs/demo/final")
    out = pipe("clip.mp4", text="the ball hits the wall", num_inference_steps=20, guidance_scale=3.0, seed=0)
    write_video("next.mp4", out.frames[0], out.fps)

The denoising loop is LTXPipeline's (same latents, schedule, CFG and decode); only the condition differs: it comes
from the VLM + queries + connector instead of T5."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from nsp.generation.flow import inference_sigmas, timestep_shift
from nsp.generation.ltx import guided_velocity, video_to_frames
from nsp.errors import NSPError
from nsp.model import NSPModel
from nsp.video.frames import fit_context
from nsp.video.io import Clip, read_context_clip


@dataclass
class NSPPipelineOutput:
    frames: np.ndarray  # (B, T, H, W, 3) uint8
    fps: float


def progress_bar(iterable, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, leave=False, dynamic_ncols=True)


class NSPPipeline:
    def __init__(self, model: NSPModel):
        self.model = model.eval()
        self.offload_device: torch.device | None = None
        self.denoise_dtype: torch.dtype | None = None  # enable_bf16: the DiT's compute dtype (None: its weights')

    @classmethod
    def from_pretrained(cls, path: str | Path, device: str | torch.device | None = None,
                        overrides: list[str] | None = None) -> "NSPPipeline":
        """`overrides`: key=value model settings for inference (e.g. generator.history_frames=0)."""
        model = NSPModel.from_pretrained(path, overrides)
        return cls(model.to(device) if device else model)

    @property
    def device(self) -> torch.device:
        """Where the computation runs (with offloading: the GPU the parts visit, not the CPU they live on)."""
        return self.offload_device or self.model.context_encoder.queries.device

    def text_note(self, text_beside_clip: bool) -> str | None:
        """A warning where text goes beside a clip to a model whose training gave clips alone: outside what it
        learned, the text can mislead it (None: nothing to say)."""
        if text_beside_clip and self.model.text_with_clip is False:
            return ("this model's training never gave it text beside a clip (SFT data.context_text=0): text with a "
                    "clip is outside what it learned and may mislead it; give the clip alone")
        return None

    # ---- speed and memory switches (each gives the same videos, to rounding) ---------------------------------------
    def enable_model_cpu_offload(self, device: str | torch.device = "cuda") -> "NSPPipeline":
        """Keep the model in CPU memory and move each part to `device` only while it runs (the VLM, queries and
        connector for the context; the DiT for denoising; the VAE for history and decoding): the GPU then holds
        the largest part, not all of them (a 7B VLM and a 2B DiT on a 24 GB card)."""
        self.offload_device = torch.device(device)
        self.model.to("cpu")
        return self

    def enable_vae_tiling(self) -> "NSPPipeline":
        """Decode in overlapping tiles (LTX's VAE): long, large clips (65+ frames at 480x832) within GPU memory."""
        self.model.generator.vae.enable_tiling()
        return self

    def enable_bf16(self) -> "NSPPipeline":
        """Denoise under bf16 autocast (the DiT's matmuls and attention in bf16, its weights kept): what bf16 training
        sampled its rollouts with. Fast where the hardware has bf16 (GPUs; CPUs with AVX512-BF16 or AMX), emulated and
        slow elsewhere. The context's understanding and the decode stay in the weights' precision."""
        self.denoise_dtype = torch.bfloat16
        return self

    def denoising_precision(self):
        """bf16 autocast where enable_bf16 asked for it, else nothing (not every device type has autocast)."""
        if self.denoise_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.denoise_dtype)

    def compile_transformer(self, **options) -> "NSPPipeline":
        """`torch.compile` the DiT (compiled on its first call; `options` go to torch.compile, e.g. mode=...)."""
        self.model.generator.transformer.compile(**options)
        return self

    @contextlib.contextmanager
    def running(self, *modules: torch.nn.Module):
        """`modules` on the computing device for the block (offloading), back in CPU memory after it."""
        if self.offload_device is None:
            yield
            return
        for m in modules:
            m.to(self.offload_device)
        try:
            yield
        finally:
            for m in modules:
                m.to("cpu")

    @torch.no_grad()
    def __call__(self, video: str | Path | Clip | None = None, text: str | None = None, *,
                 num_inference_steps: int | None = None, guidance_scale: float | None = None,
                 num_frames: int | None = None, height: int | None = None, width: int | None = None,
                 num_videos: int = 1, seed: int | None = None, generator: torch.Generator | None = None,
                 progress: bool = True, callback: Callable[[int, int], None] | None = None) -> NSPPipelineOutput:
        model, cfg = self.model, self.model.config
        steps = num_inference_steps or cfg.sampling.steps
        guidance = cfg.sampling.guidance if guidance_scale is None else guidance_scale
        num_frames, height, width = (num_frames or cfg.generator.num_frames, height or cfg.generator.height,
                                     width or cfg.generator.width)
        if generator is None:
            generator = torch.Generator("cpu").manual_seed(0 if seed is None else seed)
        if steps < 2:
            raise ValueError(f"num_inference_steps must be at least 2 (LTX's schedule ends at sigma 0.1), got {steps}")
        if video is None and not text:
            raise ValueError("give a context clip, a text, or both")

        # 1. Understand the context: VLM + queries -> connector -> the DiT's condition.
        clip = self.fit_context(video)
        batch = model.prepare_context([text], [clip]).to(self.device)
        with self.running(model.context_encoder, model.connector):
            condition = model.condition(batch).repeat(num_videos, 1, 1)
        with self.running(model.generator.vae):
            history = model.encode_history([clip], generator)  # None unless the model sees context frames
        return self.generate(condition, num_frames=num_frames, height=height, width=width, num_inference_steps=steps,
                             guidance_scale=guidance, generator=generator, progress=progress, callback=callback,
                             history=None if history is None else history.repeat(num_videos, 1, 1))

    def rollout(self, video: str | Path | Clip | None = None, text: str | None = None, *, num_scenes: int = 1,
                seed: int = 0, callback: Callable[[int, int], None] | None = None, **kwargs) -> NSPPipelineOutput:
        """`num_scenes` next scenes one after another: the first predicted from `video`, each next one from the scene
        before it (seed + i for scene i). Frames (1, num_scenes * T, H, W, 3); `callback(step, steps)` counts the
        denoising steps of all scenes; `kwargs` go to `__call__`."""
        scenes, context = [], video
        for i in range(num_scenes):
            on_step = None if callback is None else (lambda s, n, i=i: callback(i * n + s, num_scenes * n))
            out = self(context, text, seed=seed + i, callback=on_step, **kwargs)
            scenes.append(out.frames[0])
            context = Clip(out.frames[0], out.fps)
        return NSPPipelineOutput(np.concatenate(scenes)[None], out.fps)

    def fit_context(self, video: str | Path | Clip | None, clips: int | None = None) -> Clip | None:
        """Any clip (file or decoded) -> a context like the training ones: the model's frame rate and frame count
        (`clips` clip lengths; default generator.context_clips), ending at the clip's last frame, centre-cropped and
        resized to the model's frame size."""
        if video is None:
            return None
        g = self.model.config.generator
        frames = g.num_frames * (clips or g.context_clips)
        if isinstance(video, (str, Path)):
            video = read_context_clip(video, g, clips)
        if video.fps == g.fps and video.frames.shape == (frames, g.height, g.width, 3):
            return video  # fitted already (a rolled-out scene, a context made by the caller): nothing to redo
        return Clip(fit_context(video.frames, video.fps, frames, g.height, g.width, g.fps), g.fps)

    def render_context(self, video: str | Path | Clip | None = None, *, image: str | Path | np.ndarray | None = None,
                       audio: str | Path | None = None, text_frames: str | None = None) -> Clip | None:
        """Everything is a video: any mix of a clip, an image (one frame), audio (spectrogram slices) and text (a
        frame per token), in that order, as one context (nsp/video/render.py): the rendered frames are laid out so
        each fills one temporal patch of the frames the VLM samples (`place_tokens`), the clip (its last frames) before
        them. Raises if the rendered inputs need more patches than the context has. A clip alone is `fit_context`'s."""
        if image is None and audio is None and not text_frames:
            return self.fit_context(video)
        from nsp.video.io import read_audio, read_image
        from nsp.video.render import (AUDIO_SAMPLE_RATE, place_tokens, render_audio, render_image, render_text,
                                      slots_per_second)

        cfg = self.model.config
        g, tp = cfg.generator, self.model.context_encoder.spec.temporal_patch_size
        length = g.num_frames * g.context_clips
        rendered = []
        if image is not None:
            rendered.append(render_image(read_image(image) if isinstance(image, (str, Path)) else image, g.height,
                                         g.width))
        if audio is not None:
            rate = slots_per_second(length, g.fps, cfg.vlm.video, tp)
            rendered.append(render_audio(read_audio(audio, AUDIO_SAMPLE_RATE), AUDIO_SAMPLE_RATE, g.height, g.width,
                                         rate))
        if text_frames:
            rendered.append(render_text(text_frames, g.height, g.width))
        before = None if video is None else self.fit_context(video).frames
        frames = place_tokens(np.concatenate(rendered), length, g.fps, cfg.vlm.video, tp, before)
        return Clip(frames, g.fps)

    def visual_sentence(self, example: tuple[str | Path | Clip, str | Path | Clip], query: str | Path | Clip) -> Clip:
        """The example pair (A, A') and the query B -> one context A, A', B, each fitted as a clip of its own: what a
        model trained on visual sentences (generator.context_clips=3) continues with B'."""
        g = self.model.config.generator
        if g.context_clips != 3:
            raise NSPError(f"this model reads contexts of {g.context_clips} clip(s); an example pair needs one "
                           "trained on visual sentences (generator.context_clips=3)")
        parts = [self.fit_context(x, clips=1) for x in (*example, query)]
        return Clip(np.concatenate([c.frames for c in parts]), g.fps)

    @torch.no_grad()
    def generate(self, condition: torch.Tensor, *, num_frames: int, height: int, width: int,
                 num_inference_steps: int, guidance_scale: float, generator: torch.Generator,
                 latents: torch.Tensor | None = None, history: torch.Tensor | None = None,
                 progress: bool = False, callback: Callable[[int, int], None] | None = None) -> NSPPipelineOutput:
        """Steps 2-4 from a ready condition (B, N, C): one video per row. `latents` (B, C, f, h, w): the starting
        noise, e.g. drawn per row with its own seed so that a row's video does not depend on its batch. `history`
        (B, S_h, C): clean context latent tokens before the clip (`NSPModel.encode_history`). `callback(step, steps)`
        runs after each denoising step (progress reports; raising in it stops the sampling)."""
        model, gen, cfg = self.model, self.model.generator, self.model.config
        steps, guidance, fps = num_inference_steps, guidance_scale, cfg.generator.fps
        num_videos = condition.shape[0]
        null = model.null(num_videos).to(self.device)
        # 2. Start from noise in LTX's latent layout.
        grid = gen.latent_grid(num_frames, height, width)
        shape = (num_videos, gen.transformer.config.in_channels, *grid)
        if latents is None:
            latents = torch.randn(shape, generator=generator, dtype=torch.float32)
        elif tuple(latents.shape) != shape:
            raise ValueError(f"latents: expected shape {shape}, got {tuple(latents.shape)}")
        latents = gen.pack(latents.to(self.device))

        # 3. Euler steps along the flow, with classifier-free guidance.
        gen.scheduler.set_timesteps(sigmas=inference_sigmas(steps), mu=timestep_shift(latents.shape[1],
                                    gen.scheduler.config), device=self.device)
        with self.running(gen.transformer), self.denoising_precision():
            for i, t in enumerate(progress_bar(gen.scheduler.timesteps, progress, "denoising")):
                sigma = t / gen.scheduler.config.num_train_timesteps
                velocity = guided_velocity(gen, latents, sigma, condition, null, guidance, grid, fps, history,
                                           cfg.generator.history_sigma)
                latents = gen.scheduler.step(velocity.float(), t, latents, return_dict=False)[0]
                if callback is not None:
                    callback(i + 1, len(gen.scheduler.timesteps))

        # 4. Decode to frames.
        with self.running(gen.vae):
            video_out = gen.decode(latents, grid, cfg.sampling.decode_timestep, cfg.sampling.decode_noise_scale,
                                   generator)
        return NSPPipelineOutput(video_to_frames(video_out), fps)
