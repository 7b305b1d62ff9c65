"""Judge a clip of a synthetic sample with its own world's oracle (the continuation world's or the cut world's)."""

from __future__ import annotations

import numpy as np

from nsp.data.cuts import CutScene
from nsp.data.cuts_oracle import judge_cut
from nsp.data.oracle import Judgement, judge
from nsp.data.world import Scene


def judge_sample(meta: dict, frames: np.ndarray, clip: int | None = None) -> Judgement | None:
    """`frames` judged as clip `clip` (default: the sample's `clip`, else 1, the next one) of the scene in `meta`;
    None where the sample has no synthetic ground truth."""
    clip = int(meta.get("clip", 1)) if clip is None else clip
    if "cut" in meta:
        return judge_cut(CutScene.from_json(meta["cut"]), frames, clip)
    if "scene" in meta:
        return judge(Scene.from_json(meta["scene"]), frames, clip)
    return None


JUDGE_NEGATIVES = ("counterfactual", "mismatched", "copy")


def judge_example(pair, others: list, rng: np.random.Generator) -> tuple[np.ndarray, bool, str]:
    """What a judge learns from: (a candidate next clip for `pair`, whether it follows from the context, its kind).
    Half are the real next shot (half of those degraded as a small VAE would); the rest are meant not to: the same shot
    with another outcome (counterfactual: another lane or way, or the mover in another colour; cut world only), another
    context's next shot (mismatched, from `others`), or the context's last frame held (copy). Whether it follows is the
    world's oracle's verdict (another context's shot sometimes shows the same outcome)."""
    from dataclasses import replace

    from nsp.data.cuts import COLORS, outcomes, render_cut_clip
    from nsp.data.oracle import vae_like_degradation

    real = pair.next.frames
    if rng.random() < 0.5:
        frames = vae_like_degradation(real, rng) if rng.random() < 0.5 else real
        return frames, judge_sample(pair.meta, frames).passed, "real"
    kinds = JUDGE_NEGATIVES if "cut" in pair.meta else JUDGE_NEGATIVES[1:]
    kind = kinds[0] if len(kinds) == 3 and rng.random() < 0.5 else str(rng.choice(kinds[-2:]))
    if kind == "counterfactual":
        scene = CutScene.from_json(pair.meta["cut"])
        if scene.family != "lamp" and rng.random() < 0.5:
            colors = [c for c in COLORS if c not in (scene.color, scene.other)]
            other = replace(scene, color=str(rng.choice(colors)))
        else:
            options = [o for o in outcomes(scene.family) if o != (scene.direction, scene.lane)
                       and (scene.family != "lamp" or o[1] != scene.lane)]
            direction, lane = options[int(rng.integers(len(options)))]
            other = replace(scene, lane=lane, direction=scene.direction if scene.family == "lamp" else direction)
        frames = render_cut_clip(other, 1, real.shape[0], real.shape[1])
    elif kind == "mismatched":
        candidates = [o for o in others if o.key != pair.key] or [pair]
        frames = candidates[int(rng.integers(len(candidates)))].next.frames
    else:
        frames = np.repeat(pair.context.frames[-1:], real.shape[0], axis=0)
    if rng.random() < 0.5:
        frames = vae_like_degradation(frames, rng)
    return frames, judge_sample(pair.meta, frames).passed, kind
