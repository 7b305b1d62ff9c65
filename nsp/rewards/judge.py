"""`judge`: a frozen VLM asked whether the generated scene follows from the context; no ground truth needed.

The context and the prediction are shown as one clip (context first), with the question; the reward is the
probability of "Yes" against "No" at the answer's first token (`mode: prob`, dense), or whether it is above 0.5
(`mode: binary`, the paper's pass/fail). The judge is the model's own VLM, or with `path` another local one (the paper
judges with a separate VLM; for the tiny world, `nsp:tiny_judge_cuts`, trained to answer this question by
`stages/configs/judge_cuts_tiny.yaml`). Nothing leaves the machine."""

from __future__ import annotations

import json

import numpy as np
import torch

from nsp.errors import NSPError
from nsp.local_models import resolve_local
from nsp.rewards.base import Candidate, Scores, register
from nsp.understanding.context import chat_ids, token_types
from nsp.video.qwen_input import prepare_video

JUDGE_JSON = "nsp_judge.json"  # in a judge VLM's directory: {"think": true} where it says its reasons first
QUESTION = ("The first part of this video is a scene; the second part is meant to show what happens next. "
            "Does the second part follow causally and visually from the first? Answer Yes or No.")


def judge_inputs(tokenizer, spec, cfg, fps: float, context: np.ndarray | None, generated: np.ndarray,
                 question: str = QUESTION) -> tuple[list[int], object]:
    """(chat token ids, video input) of the question about `context` then `generated` (T, H, W, 3) frames, for a VLM
    with `tokenizer`, vision `spec` and config `cfg` (a VLMConfig): what the judge reads, and what it is trained on."""
    frames = generated if context is None else np.concatenate([context, generated])
    video = prepare_video(frames, fps, cfg.video, spec, 4 * cfg.max_tokens)
    return chat_ids(tokenizer, cfg.family, question, video), video


@register("judge")
class JudgeReward:
    """`think`: the judge first says its reasons, greedily (a tiny judge works a fact out where it says it), and the
    probability is read where it answers; a judge directory with an `nsp_judge.json` says how it answers."""

    max_reason_tokens = 64

    def __init__(self, model=None, mode: str = "prob", question: str = QUESTION, path: str | None = None,
                 think: bool | None = None):
        if model is None:
            raise NSPError("reward judge needs the model (its frozen VLM is the judge, or its config loads `path`)")
        if mode not in ("prob", "binary"):
            raise NSPError(f"reward judge: mode {mode!r} is not prob or binary")
        self.mode, self.question, self.fps = mode, question, model.config.generator.fps
        self.cfg = model.config.vlm
        if path is None:
            enc = model.context_encoder
            self.vlm, self.tokenizer, self.spec = enc.vlm, enc.tokenizer, enc.spec
        else:
            from nsp.understanding.vlm import build_vlm

            self.cfg = self.cfg.model_copy(update={"path": path, "quantization": "none"})
            self.vlm, self.tokenizer, self.spec = build_vlm(self.cfg)
            self.vlm.to(model.context_encoder.queries.device)
            manner = resolve_local(path, "judge path") / JUDGE_JSON
            if think is None and manner.is_file():
                think = bool(json.loads(manner.read_text()).get("think", False))
        self.think = bool(think)
        self.yes, self.no = (self.tokenizer.encode(w, add_special_tokens=False)[0] for w in ("Yes", "No"))

    @torch.no_grad()
    def probability(self, context: np.ndarray | None, generated: np.ndarray) -> float:
        ids, video = judge_inputs(self.tokenizer, self.spec, self.cfg, self.fps, context, generated, self.question)
        for _ in range(self.max_reason_tokens if self.think else 1):
            logits = self._next_token_logits(ids, video)
            token = int(logits.argmax())
            if not self.think or token in (self.yes, self.no):
                break
            ids = ids + [token]  # its reasons, one token at a time, until it answers
        return float(torch.softmax(logits[[self.yes, self.no]].float(), 0)[0])

    def _next_token_logits(self, ids: list[int], video) -> torch.Tensor:
        ids = torch.tensor([ids])
        device = next(self.vlm.parameters()).device
        out = self.vlm(input_ids=ids.to(device), attention_mask=torch.ones_like(ids).to(device),
                       mm_token_type_ids=token_types(ids, self.vlm.config).to(device),
                       pixel_values_videos=video.pixel_values_videos.to(device, self.vlm.dtype),
                       video_grid_thw=video.video_grid_thw[None].to(device),
                       second_per_grid_ts=torch.tensor([video.second_per_grid_t]).to(device))
        return out.logits[0, -1]

    def __call__(self, candidates: list[Candidate]) -> Scores:
        p = np.array([self.probability(c.context, c.generated) for c in candidates])
        passed = p > 0.5
        return Scores(passed.astype(float) if self.mode == "binary" else p, passed)
