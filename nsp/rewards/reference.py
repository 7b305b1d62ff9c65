"""`reference`: likeness to the real next scene plus continuity with the context.

Likeness is the cosine similarity of the frozen VLM's own visual features (nsp/understanding/features.py): the
space in which the model understands scenes. Continuity compares the context's last frame with the prediction's
first on 32x32 grey thumbnails (a cut there is what a next scene must not look like)."""

import numpy as np
import torch
from PIL import Image

from nsp.errors import NSPError
from nsp.rewards.base import Candidate, Scores, register
from nsp.understanding.features import clip_features

LIKENESS_WEIGHT = 0.7


@register("reference")
class ReferenceReward:
    def __init__(self, model=None):
        if model is None:
            raise NSPError("reward reference needs the model (its VLM's vision tower)")
        self.model = model

    def features(self, frames: np.ndarray) -> torch.Tensor:
        return clip_features(self.model, frames)

    def __call__(self, candidates: list[Candidate]) -> Scores:
        values = []
        for c in candidates:
            if c.reference is None:
                raise NSPError("reward reference: a sample has no real next scene to compare with")
            a, b = self.features(c.generated), self.features(c.reference)
            likeness = float((torch.nn.functional.cosine_similarity(a, b, dim=0) + 1) / 2)
            continuity = 1.0 if c.context is None else _continuity(c.context[-1], c.generated[0])
            values.append(LIKENESS_WEIGHT * likeness + (1 - LIKENESS_WEIGHT) * continuity)
        return Scores(np.array(values))


def _continuity(a: np.ndarray, b: np.ndarray) -> float:
    thumb = lambda x: np.asarray(Image.fromarray(x).convert("L").resize((32, 32), Image.BILINEAR), np.float32)  # noqa
    return float(np.exp(-np.abs(thumb(a) - thumb(b)).mean() / 32.0))
