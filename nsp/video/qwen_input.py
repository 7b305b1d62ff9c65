"""Context clips -> Qwen-VL video inputs, without torchvision or qwen-vl-utils (neither imports on CPU here).

Two steps, each matching its reference exactly:
1. qwen-vl-utils' `fetch_video` policy: sample frames at `fps` (count a multiple of 2, within [min, max]) with
   `linspace(...).round()`, then resize every frame to sides that are multiples of patch*merge within a per-frame
   pixel budget, bicubic with antialias, rounded back to uint8 (what torchvision's resize does on uint8 tensors).
2. transformers' Qwen2-VL video processor: rescale, normalise, and patchify into `pixel_values_videos`
   (grid_t*grid_h*grid_w rows of C*temporal_patch*patch*patch values, in merge-window order) and `video_grid_thw`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from nsp.config import ContextVideoConfig

FRAME_FACTOR = 2  # qwen-vl-utils: frame counts are even (temporal patch of 2)
MAX_RATIO = 200
OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class VisionSpec:
    """The vision tower's input format, read from the model's config (and preprocessor config when present)."""

    patch_size: int = 14
    temporal_patch_size: int = 2
    merge_size: int = 2
    image_mean: tuple[float, float, float] = OPENAI_CLIP_MEAN
    image_std: tuple[float, float, float] = OPENAI_CLIP_STD

    @property
    def factor(self) -> int:
        return self.patch_size * self.merge_size


@dataclass
class VideoInput:
    """One clip ready for the VLM: exactly what Qwen2VLVideoProcessor returns for it, plus its timing."""

    pixel_values_videos: torch.Tensor  # (grid_t*grid_h*grid_w, C*tp*p*p) float32
    video_grid_thw: torch.Tensor  # (3,) long
    second_per_grid_t: float  # seconds covered by one temporal grid step (temporal_patch / sample fps)
    timestamps: tuple[float, ...]  # the time of each temporal grid step (Qwen3-VL writes them into the prompt)
    merge_size: int = 2

    @property
    def num_tokens(self) -> int:
        return int(self.video_grid_thw.prod()) // self.merge_size**2


def _round_by(x: float, f: int) -> int:
    return round(x / f) * f


def _ceil_by(x: float, f: int) -> int:
    return math.ceil(x / f) * f


def _floor_by(x: float, f: int) -> int:
    return math.floor(x / f) * f


def smart_resize(height: int, width: int, factor: int, min_pixels: int, max_pixels: int) -> tuple[int, int]:
    """Sides that are multiples of `factor`, area within [min_pixels, max_pixels], aspect ratio kept."""
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"aspect ratio must be below {MAX_RATIO}, got {max(height, width) / min(height, width):.1f}")
    h_bar = max(factor, _round_by(height, factor))
    w_bar = max(factor, _round_by(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = _floor_by(height / beta, factor)
        w_bar = _floor_by(width / beta, factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = _ceil_by(height * beta, factor)
        w_bar = _ceil_by(width * beta, factor)
    return h_bar, w_bar


def sample_frame_count(total_frames: int, video_fps: float, cfg: ContextVideoConfig) -> int:
    """qwen-vl-utils' `smart_nframes` (fps mode)."""
    min_frames = _ceil_by(cfg.min_frames, FRAME_FACTOR)
    max_frames = _floor_by(min(cfg.max_frames, total_frames), FRAME_FACTOR)
    nframes = total_frames / video_fps * cfg.fps
    nframes = min(min(max(nframes, min_frames), max_frames), total_frames)
    nframes = _floor_by(nframes, FRAME_FACTOR)
    if not FRAME_FACTOR <= nframes <= total_frames:
        raise ValueError(f"a context clip needs at least {FRAME_FACTOR} frames, got {total_frames}")
    return nframes


def frame_budget(nframes: int, factor: int, cfg: ContextVideoConfig, max_tokens: int) -> tuple[int, int]:
    """(min_pixels, max_pixels) per frame, as qwen-vl-utils derives them from token budgets."""
    min_pixels = cfg.min_tokens_per_frame * factor**2
    total_tokens = cfg.total_tokens if cfg.total_tokens is not None else max_tokens * 0.9
    total_pixels = total_tokens * factor**2
    max_pixels = max(min(cfg.max_tokens_per_frame * factor**2, total_pixels / nframes * FRAME_FACTOR),
                     int(min_pixels * 1.05))
    return min_pixels, int(max_pixels)


def sample_indices(total_frames: int, video_fps: float, cfg: ContextVideoConfig) -> np.ndarray:
    """The frames the VLM samples from a clip of `total_frames` at `video_fps` (evenly spaced, first and last)."""
    nframes = sample_frame_count(total_frames, video_fps, cfg)
    return torch.linspace(0, total_frames - 1, nframes).round().long().numpy()


def sample_and_resize(frames: np.ndarray, video_fps: float, cfg: ContextVideoConfig, spec: VisionSpec,
                      max_tokens: int) -> tuple[torch.Tensor, np.ndarray]:
    """(T, H, W, 3) uint8 -> (nframes, 3, h, w) uint8 at the model's size, and the sampled frame indices."""
    total = frames.shape[0]
    if total == 1:  # a still image: the temporal patch needs two frames
        frames, video_fps = np.concatenate([frames, frames]), video_fps
        total = 2
    idx = sample_indices(total, video_fps, cfg)
    nframes = len(idx)
    video = torch.from_numpy(np.ascontiguousarray(frames[idx])).permute(0, 3, 1, 2)
    min_pixels, max_pixels = frame_budget(nframes, spec.factor, cfg, max_tokens)
    h, w = smart_resize(video.shape[2], video.shape[3], spec.factor, min_pixels, max_pixels)
    # torchvision's resize on a uint8 tensor: bicubic with antialias in float, clamp, round, back to uint8.
    resized = F.interpolate(video.float(), size=(h, w), mode="bicubic", align_corners=False, antialias=True)
    return resized.clamp_(0, 255).round_().to(torch.uint8), idx


def patchify(video: torch.Tensor, spec: VisionSpec) -> tuple[torch.Tensor, torch.Tensor]:
    """(T, C, H, W) normalised float -> (patches, grid_thw), the layout of Qwen2VLVideoProcessor.patchify."""
    t, c, h, w = video.shape
    tp, p, m = spec.temporal_patch_size, spec.patch_size, spec.merge_size
    if pad := -t % tp:
        video = torch.cat([video, video[-1:].expand(pad, -1, -1, -1)])
        t += pad
    gt, gh, gw = t // tp, h // p, w // p
    patches = video.reshape(gt, tp, c, gh // m, m, p, gw // m, m, p)
    patches = patches.permute(0, 3, 6, 4, 7, 2, 1, 5, 8)  # (gt, gh/m, gw/m, m, m, C, tp, p, p)
    return patches.reshape(gt * gh * gw, c * tp * p * p), torch.tensor([gt, gh, gw])


def normalize(video_uint8: torch.Tensor, spec: VisionSpec) -> torch.Tensor:
    mean = torch.tensor(spec.image_mean).view(1, 3, 1, 1)
    std = torch.tensor(spec.image_std).view(1, 3, 1, 1)
    return (video_uint8.float() / 255.0 - mean) / std


def prepare_video(frames: np.ndarray, video_fps: float, cfg: ContextVideoConfig, spec: VisionSpec,
                  max_tokens: int) -> VideoInput:
    """A decoded clip -> the VLM's video input (frames sampled, resized, normalised, patchified)."""
    video, idx = sample_and_resize(frames, video_fps, cfg, spec, max_tokens)
    total = max(frames.shape[0], 2)
    sample_fps = len(idx) / total * video_fps
    pixels, grid = patchify(normalize(video, spec), spec)
    # Qwen3-VL's processor: frame times averaged over each temporal patch.
    tp = spec.temporal_patch_size
    times = np.concatenate([idx, np.repeat(idx[-1:], -len(idx) % tp)]) / video_fps
    timestamps = tuple(float((times[i] + times[i + tp - 1]) / 2) for i in range(0, len(times), tp))
    return VideoInput(pixels, grid, tp / sample_fps, timestamps, spec.merge_size)
