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
