"""`judge`: the frozen local VLM asked whether the generated scene follows from the context.

The context and the prediction are shown as one clip (context first), with the question below; the reward is the
probability of "Yes" against "No" at the answer's first token (`mode: prob`, dense), or whether it is above 0.5
(`mode: binary`, the paper's pass/fail). Nothing leaves the machine."""

import numpy as np
import torch

from nsp.errors import NSPError
from nsp.rewards.base import Candidate, Scores, register
from nsp.understanding.context import chat_ids, token_types

QUESTION = ("The first part of this video is a scene; the second part is meant to show what happens next. "
            "Does the second part follow causally and visually from the first? Answer Yes or No.")


@register("judge")
class JudgeReward:
    def __init__(self, model=None, mode: str = "prob", question: str = QUESTION):
        if model is None:
            raise NSPError("reward judge needs the model (its frozen VLM is the judge)")
        if mode not in ("prob", "binary"):
            raise NSPError(f"reward judge: mode {mode!r} is not prob or binary")
        self.model, self.mode, self.question = model, mode, question
        tok = model.context_encoder.tokenizer
        self.yes, self.no = tok.encode("Yes", add_special_tokens=False)[0], tok.encode("No", add_special_tokens=False)[0]

    @torch.no_grad()
    def probability(self, context: np.ndarray | None, generated: np.ndarray) -> float:
        enc, cfg = self.model.context_encoder, self.model.config.vlm
        frames = generated if context is None else np.concatenate([context, generated])
        video = enc.video_input(frames, self.model.config.generator.fps, 4 * cfg.max_tokens)
        ids = torch.tensor([chat_ids(enc.tokenizer, cfg.family, self.question, video)])
        device = enc.queries.device
        out = enc.vlm(input_ids=ids.to(device), attention_mask=torch.ones_like(ids).to(device),
                      mm_token_type_ids=token_types(ids, enc.vlm.config).to(device),
                      pixel_values_videos=video.pixel_values_videos.to(device, enc.vlm.dtype),
                      video_grid_thw=video.video_grid_thw[None].to(device),
                      second_per_grid_ts=torch.tensor([video.second_per_grid_t]).to(device))
        logits = out.logits[0, -1, [self.yes, self.no]].float()
        return float(torch.softmax(logits, 0)[0])

    def __call__(self, candidates: list[Candidate]) -> Scores:
        p = np.array([self.probability(c.context, c.generated) for c in candidates])
        passed = p > 0.5
        return Scores(passed.astype(float) if self.mode == "binary" else p, passed)
