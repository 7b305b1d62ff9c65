"""The oracle of the scene-cut world: does a next shot show what the context's scene says comes after the cut?

It judges what a viewer would, tolerant of rendering detail: which balls appear and in which colour, where they are
(coarsely: heights are a quarter of the frame apart) and so which way they move, that nothing else appears (drawing
the context's resting ball, or a ball of another colour, fails), and which lamp is lit. Every pixel is classified to
the nearest of the palette, the grey of structures, the lamps' two states and the frame's own background (its median
colour: a next shot's background is the model's to choose within its family's tint).
"""

from __future__ import annotations

import numpy as np

from nsp.data.cuts import R_CLOSE, R_WIDE, CutScene, shot_state, visible_masks
from nsp.data.oracle import PASS_FRAMES, VISIBLE, Judgement
from nsp.data.world import COLORS, GREY, LAMP_OFF, LAMP_ON, frame_times

TOLERANCE = 0.1  # centroid error allowed, canvas units: less than half the distance between two heights
PALETTE = list(COLORS)
BACKGROUND, STRUCTURE, OFF, ON = range(len(PALETTE), len(PALETTE) + 4)


def classify(frame: np.ndarray) -> np.ndarray:
    """Per pixel: 0..6 the palette, then background (the frame's median colour), grey, lamp off, lamp on."""
    background = np.median(frame.reshape(-1, 3), axis=0)
    refs = np.array([*COLORS.values(), background, GREY, LAMP_OFF, LAMP_ON], np.float32)
    return ((frame[..., None, :].astype(np.float32) - refs) ** 2).sum(-1).argmin(-1)


def lamp_state(labels: np.ndarray, box: tuple[float, float, float, float]) -> int:
    """What the inside of a lamp's box mostly shows: OFF, ON, or something else (no lamp drawn there)."""
    size = labels.shape[0]
    x0, y0, x1, y1 = (round(v * size) for v in box)
    inner = labels[y0 + 1:y1 - 1, x0 + 1:x1 - 1]
    return int(np.bincount(inner.ravel(), minlength=ON + 1).argmax())


# Why a frame fails, as a viewer would say it: a ball that should show is not drawn (or too little of it), is drawn in
# the wrong place, shows where it should be hidden; a ball of a colour the shot does not have; the wrong lamp lit.
CAUSES = ("ball_missing", "ball_misplaced", "ball_not_hidden", "extra_colour", "lamp_wrong")


def judge_frame(scene: CutScene, frame: np.ndarray, tau: float) -> tuple[list[float], bool, set[str]]:
    """Per-check scores in [0, 1], whether the frame passes, and the causes (of CAUSES) where it does not."""
    size = frame.shape[0]
    state = shot_state(scene, tau)
    labels = classify(frame)
    scores, causes = [], set()
    expected = {color for color, *_ in state.balls}
    for (color, _, _, r), mask in zip(state.balls, visible_masks(state, size)):
        full, want = np.pi * (r * size) ** 2, int(mask.sum())
        ys, xs = np.nonzero(labels == PALETTE.index(color))
        area = len(xs)
        if want >= VISIBLE * full:
            wy, wx = np.nonzero(mask)
            err = np.hypot((xs.mean() - wx.mean()) / size, (ys.mean() - wy.mean()) / size) if area else np.inf
            scores.append(min(1.0, area / (0.5 * want)) * float(np.exp(-0.5 * (err / TOLERANCE) ** 2)))
            if area < 0.4 * want:
                causes.add("ball_missing")
            elif err > TOLERANCE:
                causes.add("ball_misplaced")
        else:  # hidden or out of the frame: it must not show up
            scores.append(max(0.0, 1 - area / full) if area >= VISIBLE * full else 1.0)
            if area >= VISIBLE * full:
                causes.add("ball_not_hidden")
    smallest = np.pi * ((R_WIDE if tau < 1 else R_CLOSE) * size) ** 2
    for color in set(PALETTE) - expected:  # nothing else appears
        area = int((labels == PALETTE.index(color)).sum())
        scores.append(1.0 if area < VISIBLE * smallest else max(0.0, 1 - area / smallest))
        if area >= VISIBLE * smallest:
            causes.add("extra_colour")
    for box, on in state.lamps:
        right = lamp_state(labels, box) == (ON if on else OFF)
        scores.append(float(right))
        if not right:
            causes.add("lamp_wrong")
    return scores, not causes, causes


def judge_cut(scene: CutScene, frames: np.ndarray, clip: int = 1) -> Judgement:
    """Does `frames` (T, S, S, 3) uint8 show shot `clip` (1: the next shot, after the cut) of `scene`?"""
    if frames.ndim != 4 or frames.shape[1] != frames.shape[2]:
        raise ValueError(f"expected square (T, S, S, 3) frames, got {frames.shape}")
    scores, passed, causes = [], [], []
    for frame, tau in zip(frames, frame_times(len(frames), clip)):
        s, ok, why = judge_frame(scene, frame, float(tau))
        scores += s
        passed.append(ok)
        causes.append(sorted(why))
    return Judgement(float(np.mean(scores)), float(np.mean(passed)) >= PASS_FRAMES, passed, causes=causes)
