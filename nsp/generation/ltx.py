"""The generator: diffusers' LTX-Video DiT, its VAE and the flow-matching Euler scheduler.

Real weights come only from a local LTX-Video snapshot in diffusers layout (`transformer/`, `vae/`, `scheduler/`);
with no path, `arch` names an architecture built with random weights. The latent layout (packing, normalisation)
is LTXPipeline's own, reused rather than copied, so LTX-trained weights see exactly what they expect."""

from __future__ import annotations

import inspect
import pickle

import torch
from diffusers import AutoencoderKLLTXVideo, FlowMatchEulerDiscreteScheduler, LTXVideoTransformer3DModel
from diffusers.pipelines.ltx.pipeline_ltx import LTXPipeline
from torch import nn

from nsp.config import GeneratorConfig
from nsp.errors import NSPError
from nsp.local_models import resolve_local
from nsp.runtime import DTYPES, built_in

# LTX-Video's scheduler: resolution-dependent shift (mu from the token count) and a terminal sigma of 0.1.
LTX_SCHEDULER = {"base_image_seq_len": 1024, "base_shift": 0.95, "max_image_seq_len": 4096, "max_shift": 2.05,
                 "num_train_timesteps": 1000, "shift": 1.0, "shift_terminal": 0.1, "use_dynamic_shifting": True,
                 "time_shift_type": "exponential"}

GENERATOR_ARCHS: dict[str, dict] = {
    # 9x64x64 clips -> 16x3x8x8 latents (192 tokens); a 1.2 M-parameter DiT.
    "tiny": {
        "transformer": {"in_channels": 16, "out_channels": 16, "patch_size": 1, "patch_size_t": 1,
                        "num_attention_heads": 4, "attention_head_dim": 32, "cross_attention_dim": 128,
                        "num_layers": 4, "caption_channels": 64},
        # 0.66 M parameters: small enough to train on a CPU in minutes and to ship (nsp/assets/tiny_vae).
        "vae": {"latent_channels": 16, "block_out_channels": (16, 32), "decoder_block_out_channels": (16, 32),
                "down_block_types": ("LTXVideoDownBlock3D", "LTXVideoDownBlock3D"), "layers_per_block": (1, 1, 1),
                "decoder_layers_per_block": (1, 1, 1), "spatio_temporal_scaling": (True, True),
                "decoder_spatio_temporal_scaling": (True, True), "decoder_inject_noise": (False, False, False),
                "downsample_type": ("conv", "conv"), "upsample_residual": (False, False), "upsample_factor": (1, 1),
                "patch_size": 2, "patch_size_t": 1},
    },
    # LTX-Video 2B shapes (diffusers' defaults are the released model's), random weights.
    "ltx-video-2b": {"transformer": {}, "vae": {}},
    # LTX-Video 13B's DiT (0.9.7: 4096 wide, 48 blocks); its VAE keeps the 2B's latent space, built here as the 2B's.
    "ltx-video-13b": {"transformer": {"num_attention_heads": 32, "attention_head_dim": 128,
                                      "cross_attention_dim": 4096, "caption_channels": 4096, "num_layers": 48},
                      "vae": {}},
}

COMPONENTS = {"transformer": LTXVideoTransformer3DModel, "vae": AutoencoderKLLTXVideo,
              "scheduler": FlowMatchEulerDiscreteScheduler}


class LTXGenerator(nn.Module):
    """DiT + VAE + scheduler, with the latent bookkeeping of LTXPipeline."""

    def __init__(self, transformer: LTXVideoTransformer3DModel, vae: AutoencoderKLLTXVideo,
                 scheduler: FlowMatchEulerDiscreteScheduler):
        super().__init__()
        self.transformer, self.vae, self.scheduler = transformer, vae, scheduler

    @property
    def caption_channels(self) -> int:
        return self.transformer.config.caption_channels

    @property
    def spatial_ratio(self) -> int:
        return self.vae.spatial_compression_ratio

    @property
    def temporal_ratio(self) -> int:
        return self.vae.temporal_compression_ratio

    def latent_grid(self, num_frames: int, height: int, width: int) -> tuple[int, int, int]:
        return ((num_frames - 1) // self.temporal_ratio + 1, height // self.spatial_ratio, width // self.spatial_ratio)

    def pack(self, latents: torch.Tensor) -> torch.Tensor:
        c = self.transformer.config
        return LTXPipeline._pack_latents(latents, c.patch_size, c.patch_size_t)

    def unpack(self, tokens: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        c = self.transformer.config
        return LTXPipeline._unpack_latents(tokens, *grid, c.patch_size, c.patch_size_t)

    @torch.no_grad()
    def encode_latents(self, video: torch.Tensor, generator: torch.Generator | None = None,
                       sample: bool = True) -> torch.Tensor:
        """(B, 3, F, H, W) in [-1, 1] -> normalised latents (B, C, f, h, w); `sample=False` takes the mode."""
        dist = self.vae.encode(video.to(self.vae.dtype)).latent_dist
        latents = (dist.sample(generator) if sample else dist.mode()).float()
        return LTXPipeline._normalize_latents(latents, self.vae.latents_mean, self.vae.latents_std,
                                              self.vae.config.scaling_factor)

    def encode_clips(self, video: torch.Tensor, clip_frames: int) -> torch.Tensor:
        """A context of n clips of `clip_frames` each, back to back in time (a visual sentence: A, A', B) -> their
        latents (mode), each clip encoded on its own and concatenated in time: the VAE never mixes two clips in one
        latent frame, and a one-clip context is exactly `encode_latents`."""
        frames = video.shape[2]
        if frames <= clip_frames or frames % clip_frames:
            return self.encode_latents(video, sample=False)
        clips = video.unflatten(2, (frames // clip_frames, clip_frames)).transpose(1, 2).flatten(0, 1)
        latents = self.encode_latents(clips, sample=False)  # (B * n, C, f, h, w)
        return latents.unflatten(0, (video.shape[0], -1)).transpose(1, 2).flatten(2, 3)

    def encode(self, video: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """(B, 3, F, H, W) in [-1, 1] -> packed, normalised latent tokens (B, S, C) for the DiT."""
        return self.pack(self.encode_latents(video, generator))

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor, grid: tuple[int, int, int], decode_timestep: float = 0.05,
               decode_noise_scale: float = 0.025, generator: torch.Generator | None = None) -> torch.Tensor:
        """Packed latent tokens -> (B, 3, F, H, W) video in [-1, 1] (LTXPipeline's decode, timestep-aware VAEs too)."""
        latents = LTXPipeline._denormalize_latents(self.unpack(tokens, grid), self.vae.latents_mean,
                                                   self.vae.latents_std, self.vae.config.scaling_factor)
        timestep = None
        if self.vae.config.timestep_conditioning:
            where = generator.device if generator is not None else latents.device  # a CPU generator, CUDA latents
            noise = torch.randn(latents.shape, generator=generator, device=where, dtype=latents.dtype)
            latents = (1 - decode_noise_scale) * latents + decode_noise_scale * noise.to(latents.device)
            timestep = torch.full((latents.shape[0],), decode_timestep, device=latents.device, dtype=latents.dtype)
        return self.vae.decode(latents.to(self.vae.dtype), timestep, return_dict=False)[0].float()

    def velocity(self, tokens: torch.Tensor, sigma: torch.Tensor, condition: torch.Tensor,
                 grid: tuple[int, int, int], fps: float, condition_mask: torch.Tensor | None = None,
                 history: torch.Tensor | None = None, history_sigma: torch.Tensor | float = 0.0) -> torch.Tensor:
        """The DiT's flow velocity at noise level sigma in [0, 1] (the DiT takes timesteps as sigma * 1000).

        `history` (B, S_h, C): clean packed latent frames of the context placed before the noisy clip (Video-GPT's
        clean history). They take timestep 0, per token, as LTX's frame conditioning does, or `history_sigma`'s
        (a level, or one per row) where the history was given noised; they share the clip's 3-D positions (they come
        first in time); only the clip's velocity is returned."""
        dtype = self.transformer.dtype
        if condition_mask is None:
            condition_mask = torch.ones(condition.shape[:2], device=condition.device, dtype=torch.long)
        sigma = torch.as_tensor(sigma, dtype=torch.float32, device=tokens.device)
        timestep = (sigma * self.scheduler.config.num_train_timesteps).expand(tokens.shape[0])
        frames, n = grid[0], tokens.shape[1]
        if history is not None:
            frames += history.shape[1] // (grid[1] * grid[2])
            level = torch.as_tensor(history_sigma, dtype=torch.float32, device=tokens.device).expand(tokens.shape[0])
            level = (level * self.scheduler.config.num_train_timesteps)[:, None].expand(history.shape[:2])
            timestep = torch.cat([level, timestep[:, None].expand(-1, n)], 1)
            tokens = torch.cat([history.to(tokens.dtype), tokens], 1)
        out = self.transformer(hidden_states=tokens.to(dtype), encoder_hidden_states=condition.to(dtype),
                               timestep=timestep, encoder_attention_mask=condition_mask, num_frames=frames,
                               height=grid[1], width=grid[2],
                               rope_interpolation_scale=(self.temporal_ratio / fps, self.spatial_ratio,
                                                         self.spatial_ratio), return_dict=False)[0]
        return out[:, -n:].float()

    def history_tokens(self, context_latents: torch.Tensor, frames: int) -> torch.Tensor:
        """Normalised context latents (B, C, f, h, w) -> the last `frames` latent frames as packed tokens."""
        return self.pack(context_latents[:, :, -frames:])


def guided_velocity(gen: "LTXGenerator", tokens: torch.Tensor, sigma, condition: torch.Tensor, null: torch.Tensor,
                    guidance: float, grid: tuple[int, int, int], fps: float,
                    history: torch.Tensor | None = None, history_sigma: float = 0.0) -> torch.Tensor:
    """Classifier-free guidance: uncond + g * (cond - uncond), both in one DiT batch (unconditional rows first).
    The history, where given, is seen by both: guidance strengthens what the VLM condition adds to it."""
    if guidance <= 1.0:
        return gen.velocity(tokens, sigma, condition, grid, fps, history=history, history_sigma=history_sigma)
    both = gen.velocity(torch.cat([tokens, tokens]), sigma, torch.cat([null.to(condition.dtype), condition]), grid,
                        fps, history=None if history is None else torch.cat([history, history]),
                        history_sigma=history_sigma)
    uncond, cond = both.chunk(2)
    return uncond + guidance * (cond - uncond)


def frames_to_video(frames) -> torch.Tensor:
    """(B, T, H, W, 3) uint8 frames -> (B, 3, T, H, W) float in [-1, 1], the VAE's input."""
    frames = torch.as_tensor(frames)
    return frames.permute(0, 4, 1, 2, 3).float() / 127.5 - 1.0


def video_to_frames(video: torch.Tensor):
    """(B, 3, T, H, W) in [-1, 1] -> (B, T, H, W, 3) uint8 numpy frames."""
    frames = ((video.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    return frames.permute(0, 2, 3, 4, 1).cpu().numpy()


def build_generator(cfg: GeneratorConfig, sources: dict[str, tuple[str, str | None]] | None = None) -> LTXGenerator:
    """Load each component from `sources[name] = (dir, subfolder)`, else from `cfg.path`, else build `cfg.arch`."""
    sources = dict(sources or {})
    if cfg.vae_path and "vae" not in sources:
        sources["vae"] = (str(resolve_local(cfg.vae_path, "generator.vae_path")), None)
    if cfg.path:
        root = resolve_local(cfg.path, "generator.path")
        if not (root / "transformer" / "config.json").is_file():
            raise NSPError(f"generator.path={cfg.path}: not an LTX-Video snapshot in diffusers layout "
                           "(expected transformer/config.json, vae/, scheduler/)")
        for name in COMPONENTS:
            sources.setdefault(name, (str(root), name))
    parts = {name: _component(name, cfg, sources.get(name)) for name in COMPONENTS}
    if cfg.attention_backend:
        try:
            parts["transformer"].set_attention_backend(cfg.attention_backend)
        except (ValueError, RuntimeError, ImportError) as err:
            raise NSPError(f"generator.attention_backend={cfg.attention_backend}: {str(err).splitlines()[0]}") from None
    gen = LTXGenerator(parts["transformer"], parts["vae"], parts["scheduler"])
    gen.vae.requires_grad_(False).eval()  # the VAE is always frozen (trained once, separately, for tiny models)
    return gen


def _component(name: str, cfg: GeneratorConfig, source: tuple[str, str | None] | None):
    cls = COMPONENTS[name]
    if source is not None:
        path, subfolder = source
        try:
            if name == "scheduler":
                return cls.from_pretrained(path, subfolder=subfolder, local_files_only=True)
            return cls.from_pretrained(path, subfolder=subfolder, local_files_only=True, torch_dtype=DTYPES[cfg.dtype])
        except (OSError, ValueError, RuntimeError, pickle.UnpicklingError) as err:  # refused pickles among them
            where = f"{path}/{subfolder}" if subfolder else path
            raise NSPError(f"{where}: could not load the LTX {name} ({str(err).splitlines()[0][:200]})") from None
    if name == "scheduler":
        return cls(**LTX_SCHEDULER)
    if cfg.arch not in GENERATOR_ARCHS:
        raise NSPError(f"generator.arch={cfg.arch}: unknown architecture (choose from {', '.join(GENERATOR_ARCHS)})")
    arch = dict(GENERATOR_ARCHS[cfg.arch][name])
    if name == "transformer" and cfg.depth:
        full = arch.get("num_layers", inspect.signature(cls.__init__).parameters["num_layers"].default)
        arch["num_layers"] = min(cfg.depth, full)
    with built_in(DTYPES[cfg.dtype]):  # no fp32 copy first
        module = cls(**arch)
    return module
