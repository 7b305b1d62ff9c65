"""The oracle: reads object states back from pixels and judges whether a next scene follows its preceding scene.

Given a scene's ground truth (`world.Scene`, stored with every synthetic sample) and a candidate next clip, it
classifies every pixel to the nearest colour of the world's palette, measures each ball's visible area and centroid
in every frame, and compares them with where the scene's rule puts them (and the lamp's state, for switches).
Nearest-palette classification and centroids are what keep it correct under the blur, noise and colour drift a
small VAE adds. It gives a dense score in [0, 1] (the RL reward) and a pass/fail (the evaluation's pass rate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nsp.data.world import (COLORS, GREY, LAMP_OFF, LAMP_ON, RADIUS, Scene, ball_masks, frame_times, lamp_box,
                            state_at)

TOLERANCE = 0.07  # centroid error allowed, canvas units (4.5 px at 64 px)
VISIBLE = 0.3  # a ball counts as visible when at least this share of its disc is
PASS_FRAMES = 0.8  # a clip passes when this share of its frames pass
PALETTE_NAMES = list(COLORS)


@dataclass
class Judgement:
    score: float  # dense, in [0, 1]
    passed: bool
    frame_passed: list[bool] = field(default_factory=list)
    balls: list[list[tuple[int, float, float]]] = field(default_factory=list)  # per frame: (area, x, y) per ball
    causes: list[list[str]] = field(default_factory=list)  # per frame: why it fails (the cut oracle's CAUSES)


def classify(frame: np.ndarray, background: tuple[int, int, int]) -> np.ndarray:
    """Index of the nearest reference colour per pixel: 0..6 the palette, 7 background, 8 grey, 9/10 lamp off/on."""
    refs = np.array([*COLORS.values(), background, GREY, LAMP_OFF, LAMP_ON], np.float32)
    d = ((frame[..., None, :].astype(np.float32) - refs) ** 2).sum(-1)
    return d.argmin(-1)


def read_balls(frame: np.ndarray, scene: Scene) -> list[tuple[int, float, float]]:
    """(visible area in pixels, centroid x, centroid y in canvas units) of each of the scene's balls."""
    labels = classify(frame, scene.background)
    size = frame.shape[0]
    out = []
    for color in scene.colors:
        ys, xs = np.nonzero(labels == PALETTE_NAMES.index(color))
        if len(xs) == 0:
            out.append((0, float("nan"), float("nan")))
        else:
            out.append((len(xs), (xs.mean() + 0.5) / size, (ys.mean() + 0.5) / size))
    return out


def lamp_is_on(frame: np.ndarray, scene: Scene) -> bool:
    size = frame.shape[0]
    x0, y0, x1, y1 = (round(v * size) for v in lamp_box(scene))
    inner = frame[y0 + 1:y1 - 1, x0 + 1:x1 - 1].reshape(-1, 3).astype(np.float32).mean(0)
    return np.linalg.norm(inner - LAMP_ON) < np.linalg.norm(inner - LAMP_OFF)


def judge(scene: Scene, frames: np.ndarray, clip: int = 1) -> Judgement:
    """Does `frames` (T, H, W, 3) uint8 show what the scene's rule says happens in clip `clip` (1: the next one)?"""
    if frames.ndim != 4 or frames.shape[1] != frames.shape[2]:
        raise ValueError(f"expected square (T, S, S, 3) frames, got {frames.shape}")
    size = frames.shape[1]
    full_area = np.pi * (RADIUS * size) ** 2
    scores, passed, seen = [], [], []
    for frame, tau in zip(frames, frame_times(len(frames), clip)):
        expected = state_at(scene, float(tau))
        masks = ball_masks(scene, expected, size)
        observed = read_balls(frame, scene)
        seen.append(observed)
        frame_ok = True
        for mask, (area, x, y) in zip(masks, observed):
            want = mask.sum()
            if want >= VISIBLE * full_area:
                ys, xs = np.nonzero(mask)
                err = np.hypot(x - (xs.mean() + 0.5) / size, y - (ys.mean() + 0.5) / size) if area else np.inf
                present = min(1.0, area / (0.5 * want))
                scores.append(present * float(np.exp(-0.5 * (err / TOLERANCE) ** 2)))
                frame_ok &= bool(area >= 0.4 * want and err <= TOLERANCE)
            else:  # hidden (behind the screen or off the canvas): it must not show up
                ok = area < VISIBLE * full_area
                scores.append(1.0 if ok else max(0.0, 1 - area / full_area))
                frame_ok &= ok
        if expected.lamp_on is not None:
            ok = lamp_is_on(frame, scene) == expected.lamp_on
            scores.append(float(ok))
            frame_ok &= ok
        passed.append(frame_ok)
    return Judgement(float(np.mean(scores)), float(np.mean(passed)) >= PASS_FRAMES, passed, seen)


def shows_a_ball(scene: Scene, num_frames: int, size: int, clip: int = 1) -> bool:
    """Whether any ball is visible (as `judge` counts it) in some frame of clip `clip`. Where none is (every ball
    behind the screen or off the canvas, no lamp), a clip of the empty background passes: such clips say little."""
    full_area = np.pi * (RADIUS * size) ** 2
    for tau in frame_times(num_frames, clip):
        state = state_at(scene, float(tau))
        if state.lamp_on is not None or any(m.sum() >= VISIBLE * full_area for m in ball_masks(scene, state, size)):
            return True
    return False


def vae_like_degradation(clip: np.ndarray, rng: np.random.Generator, sigma: float = 1.2, noise: float = 12.0,
                         drift: float = 10.0) -> np.ndarray:
    """What a small VAE does to a clip, for validating the oracle: Gaussian blur, pixel noise, a global colour drift."""
    radius = 3
    k = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    k /= k.sum()
    x = np.pad(clip.astype(np.float32), ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="edge")
    x = sum(w * x[:, i:i + clip.shape[1], :, :] for i, w in enumerate(k))
    x = sum(w * x[:, :, i:i + clip.shape[2], :] for i, w in enumerate(k))
    x = x + rng.normal(0, noise, x.shape) + rng.normal(0, drift, (1, 1, 1, 3))
    return np.clip(x, 0, 255).astype(np.uint8)
