"""Captions from a local VLM: the frozen understanding model, asked to describe a clip in one sentence."""

from __future__ import annotations

import numpy as np
import torch

from nsp.config import VLMConfig
from nsp.understanding.context import chat_ids, token_types
from nsp.understanding.vlm import build_vlm
from nsp.video.qwen_input import prepare_video

CAPTION_PROMPT = "Describe what happens in this video in one sentence."


class Captioner:
    def __init__(self, path: str, family: str = "qwen2_5_vl", max_new_tokens: int = 48, dtype: str = "float32"):
        self.cfg = VLMConfig(path=path, family=family, dtype=dtype, max_tokens=2048)
        self.model, self.tokenizer, self.spec = build_vlm(self.cfg)
        self.max_new_tokens = max_new_tokens

    @torch.no_grad()
    def __call__(self, frames: np.ndarray, fps: float, prompt: str = CAPTION_PROMPT) -> str:
        video = prepare_video(frames, fps, self.cfg.video, self.spec, self.cfg.max_tokens)
        ids = torch.tensor([chat_ids(self.tokenizer, self.cfg.family, prompt, video)])
        out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                  mm_token_type_ids=token_types(ids, self.model.config),
                                  pixel_values_videos=video.pixel_values_videos.to(self.model.dtype),
                                  video_grid_thw=video.video_grid_thw[None],
                                  second_per_grid_ts=torch.tensor([video.second_per_grid_t]),
                                  max_new_tokens=self.max_new_tokens, do_sample=False,
                                  pad_token_id=self.tokenizer.pad_token_id)
        text = self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        return " ".join(text.split())
