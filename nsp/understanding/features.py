"""A clip's feature vector in the frozen VLM's own visual space: its vision tower's output, mean-pooled.

Used where two clips are compared by what they show rather than by their pixels (the `reference` reward, the
benchmark's Fréchet distance): insensitive to pixel noise and small shifts, and available wherever the model is."""

from __future__ import annotations

import numpy as np
import torch


@torch.no_grad()
def clip_features(model, frames: np.ndarray, fps: float | None = None) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (D,) float: the VLM vision tower's merged tokens, averaged."""
    enc = model.context_encoder
    video = enc.video_input(frames, fps or model.config.generator.fps)
    device = enc.queries.device
    out = enc.vlm.model.get_video_features(video.pixel_values_videos.to(device), video.video_grid_thw[None].to(device))
    return torch.cat(out.pooler_output).float().mean(0)
