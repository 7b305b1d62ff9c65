"""Fitting decoded frames (T, H, W, 3) uint8 to a size, a frame rate and a length.

A user's clip becomes a context the way training contexts were made: the model's frame rate, its last `num_frames`
frames (the scene ends where the next one begins), and its frame size by a centre crop to the model's aspect ratio
and a resize. A crop, not a letterbox: the model never saw black bars, and would read them as part of the scene. And clips laid out
to be looked at: side by side, or as a contact sheet."""

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


def center_crop(frames: np.ndarray, aspect: float) -> np.ndarray:
    """The largest centred window of width / height = `aspect`."""
    h, w = frames.shape[1:3]
    if w > round(h * aspect):
        crop = max(1, round(h * aspect))
        x0 = (w - crop) // 2
        return frames[:, :, x0:x0 + crop]
    crop = max(1, round(w / aspect))
    y0 = (h - crop) // 2
    return frames[:, y0:y0 + crop]


def resample(frames: np.ndarray, fps_in: float, fps_out: float) -> np.ndarray:
    """The nearest frame at each tick of `fps_out`, counted back from the last frame (so the last frame stays last:
    it is where the next scene begins)."""
    if abs(fps_in - fps_out) < 1e-6:
        return frames
    duration = (len(frames) - 1) / fps_in
    count = int(np.floor(duration * fps_out + 1e-6)) + 1
    times = duration - np.arange(count)[::-1] / fps_out
    return frames[np.clip(np.round(times * fps_in), 0, len(frames) - 1).astype(int)]


def fit_context(frames: np.ndarray, fps: float, num_frames: int, height: int, width: int, target_fps: float
                ) -> np.ndarray:
    """Any clip -> the model's context: `num_frames` frames at `target_fps`, ending with the clip's last frame,
    centre-cropped to width / height and resized to (height, width)."""
    picked = last_frames(resample(frames, fps, target_fps), num_frames)
    return resize_frames(center_crop(picked, width / height), height, width)


def side_by_side(*clips: np.ndarray, gap: int = 2) -> np.ndarray:
    """Clips of equal height next to each other, frame by frame (a shorter clip holds its last frame), with a
    `gap`-pixel white line between them."""
    length = max(len(c) for c in clips)
    parts = []
    for i, c in enumerate(clips):
        if i:
            parts.append(np.full((length, c.shape[1], gap, 3), 255, np.uint8))
        parts.append(np.concatenate([c, np.repeat(c[-1:], length - len(c), axis=0)]) if len(c) < length else c)
    return np.concatenate(parts, axis=2)


def sheet(rows: list[list[np.ndarray]], frames_per_clip: int = 5, gap: int = 4) -> np.ndarray:
    """A grid image: one row per list of clips (T, H, W, 3), each clip shown as evenly spaced frames."""
    out = []
    for clips in rows:
        parts = []
        for frames in clips:
            idx = np.linspace(0, len(frames) - 1, min(frames_per_clip, len(frames))).round().astype(int)
            parts.append(np.concatenate(list(frames[idx]), axis=1))
            parts.append(np.full((frames.shape[1], gap, 3), 255, np.uint8))
        out.append(np.concatenate(parts[:-1], axis=1))
    width = max(r.shape[1] for r in out)
    out = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in out]
    return np.concatenate(out, axis=0)
