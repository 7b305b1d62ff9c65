"""Fitting decoded frames (T, H, W, 3) uint8 to a size and a length."""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """(T, h, w, 3) uint8 -> (T, height, width, 3), bilinear; unchanged if already that size."""
    if frames.shape[1:3] == (height, width):
        return frames
    return np.stack([np.asarray(Image.fromarray(f).resize((width, height), Image.BILINEAR)) for f in frames])


def last_frames(frames: np.ndarray, count: int) -> np.ndarray:
    """The last `count` frames, the first one repeated in front when the clip is shorter."""
    if len(frames) >= count:
        return frames[-count:]
    return np.concatenate([np.repeat(frames[:1], count - len(frames), axis=0), frames])
