"""`reference`: likeness to the real next scene plus continuity with the context.

Likeness is measured on the frozen VLM's own visual features (its vision tower, mean-pooled per clip, cosine
similarity): the space in which the model understands scenes, insensitive to pixel noise and small shifts, and
available wherever the model is. Continuity compares the context's last frame with the prediction's first on 32x32
grey thumbnails (a cut there is what a next scene must not look like)."""

import numpy as np
import torch
from PIL import Image

from nsp.errors import NSPError
from nsp.rewards import Candidate, Scores, register

LIKENESS_WEIGHT = 0.7


@register("reference")
class ReferenceReward:
    def __init__(self, model=None):
        if model is None:
            raise NSPError("reward reference needs the model (its VLM's vision tower)")
        self.model = model

    @torch.no_grad()
    def features(self, frames: np.ndarray) -> torch.Tensor:
        from nsp.video.qwen_input import prepare_video

        enc, cfg = self.model.context_encoder, self.model.config.vlm
        fps = self.model.config.generator.fps
        video = prepare_video(frames, fps, cfg.video, enc.spec, cfg.max_tokens)
        vlm = enc.vlm.model
        out = vlm.get_video_features(video.pixel_values_videos.to(enc.queries.device),
                                     video.video_grid_thw[None].to(enc.queries.device))
        return torch.cat(out.pooler_output).float().mean(0)

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
