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
        logits, cache, mask, position = self._read(ids, video)
        for _ in range(self.max_reason_tokens - 1 if self.think else 0):
            token = int(logits.argmax())
            if token in (self.yes, self.no):
                break
            # its reasons, one token at a time (each read over the cache), until it answers
            mask = torch.cat([mask, mask.new_ones((1, 1))], 1)
            hidden = self.vlm.model.language_model(
                input_ids=torch.tensor([[token]], device=mask.device), attention_mask=mask, position_ids=position,
                past_key_values=cache, use_cache=True).last_hidden_state
            logits, position = self.vlm.lm_head(hidden[0, -1]), position + 1
        return float(torch.softmax(logits[[self.yes, self.no]].float(), 0)[0])

    def _read(self, ids: list[int], video) -> tuple:
        """The question over the clip in one pass: (the next token's logits, the keys/values, the attention mask,
        the M-RoPE position of a token written next)."""
        device = next(self.vlm.parameters()).device
        ids = torch.tensor([ids], device=device)
        mask, types = torch.ones_like(ids), token_types(ids, self.vlm.config).to(device)
        grid, seconds = video.video_grid_thw[None].to(device), torch.tensor([video.second_per_grid_t]).to(device)
        positions, _ = self.vlm.model.get_rope_index(ids, mm_token_type_ids=types, video_grid_thw=grid,
                                                     second_per_grid_ts=seconds, attention_mask=mask)
        out = self.vlm.model(input_ids=ids, attention_mask=mask, position_ids=positions,
                             pixel_values_videos=video.pixel_values_videos.to(device, self.vlm.dtype),
                             video_grid_thw=grid, use_cache=True)
        return self.vlm.lm_head(out.last_hidden_state[0, -1]), out.past_key_values, mask, positions[:, :, -1:] + 1

    def __call__(self, candidates: list[Candidate]) -> Scores:
        p = np.array([self.probability(c.context, c.generated) for c in candidates])
        passed = p > 0.5
        return Scores(passed.astype(float) if self.mode == "binary" else p, passed)
