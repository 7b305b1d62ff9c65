"""A generated sample clip (a ball crossing a plain background), for the demo and tests before any data exists."""

from __future__ import annotations

import numpy as np

from nsp.video.io import Clip


def moving_ball_clip(num_frames: int = 9, height: int = 64, width: int = 64, fps: float = 8.0, seed: int = 0) -> Clip:
    rng = np.random.default_rng(seed)
    background = rng.integers(20, 80, size=3)
    color = rng.integers(150, 256, size=3)
    radius = max(3, min(height, width) // 8)
    y0, x0 = rng.uniform(radius, height - radius), rng.uniform(radius, width / 2)
    vy, vx = rng.uniform(-0.3, 0.3) * height / (2 * num_frames), rng.uniform(0.5, 1) * width / (2 * num_frames)
    yy, xx = np.mgrid[:height, :width]
    frames = np.empty((num_frames, height, width, 3), np.uint8)
    for t in range(num_frames):
        cy, cx = y0 + vy * t, x0 + vx * t
        inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
        frames[t] = np.where(inside[..., None], color, background)
    return Clip(frames, fps)
