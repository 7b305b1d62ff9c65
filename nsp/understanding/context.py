"""Context understanding: the frozen VLM reads the context (prompt, clip, text); learnable queries appended after it
pull that understanding out as hidden states.

Because the VLM is frozen and causal, the context's keys and values do not depend on the queries. So the context
runs once without grad (`encode_context`, a KV cache) and only the query tokens run with grad (`query_states`).
`query_states_full` is the plain single forward over context + queries, kept as the reference it must equal. With
`vlm.think_tokens` the VLM first writes that many tokens of its answer into the cache, and the queries follow them;
given `answers` (T2V's captions, `data.text_as_answer`), those are written there instead of its own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from transformers import DynamicCache

from nsp.config import VLMConfig
from nsp.errors import NSPError
from nsp.understanding.tokenizer import CHAT_TEMPLATE
from nsp.video.qwen_input import VideoInput, VisionSpec, prepare_video

TEXT, IMAGE, VIDEO = 0, 1, 2  # mm_token_type_ids values (transformers needs them for 3-D M-RoPE positions)


@dataclass
class ContextBatch:
    """Tokenised contexts, left-padded so the queries line up at the end of every row."""

    input_ids: torch.Tensor  # (B, L)
    attention_mask: torch.Tensor  # (B, L)
    mm_token_type_ids: torch.Tensor  # (B, L)
    position_ids: torch.Tensor  # (3, B, L + num_queries): M-RoPE positions of context and queries
    pixel_values_videos: torch.Tensor | None = None  # all clips' patches, concatenated in batch order
    video_grid_thw: torch.Tensor | None = None  # (num_videos, 3)
    answer_ids: torch.Tensor | None = None  # (B, think): given answer tokens in place of the VLM's own (padded)
    answer_mask: torch.Tensor | None = None  # (B, think): 0 on the padding of answers shorter than think_tokens

    def to(self, device) -> "ContextBatch":
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return ContextBatch(*(move(getattr(self, f)) for f in self.__dataclass_fields__))

    @property
    def context_length(self) -> int:
        return self.input_ids.shape[1]


@dataclass
class ContextCache:
    """The context's per-layer keys/values (no grad), reusable for any number of query passes."""

    key_values: list[tuple[torch.Tensor, torch.Tensor]]
    attention_mask: torch.Tensor  # (B, L + think + num_queries)
    query_position_ids: torch.Tensor  # (3, B, num_queries)
    thought: torch.Tensor | None = None  # (B, think): the token ids the VLM wrote before the queries (think_tokens)

    def rows(self) -> list["ContextCache"]:
        """One cache per context: a batch read once, its rows reused apart (RL reads a screen's contexts together
        and queries each alone, at every rollout and update it takes part in). Each row owns its tensors (copies,
        not views), so a context that is dropped frees its keys and values whatever became of the others."""
        return [ContextCache([(k[i:i + 1].clone(), v[i:i + 1].clone()) for k, v in self.key_values],
                             self.attention_mask[i:i + 1].clone(), self.query_position_ids[:, i:i + 1].clone(),
                             None if self.thought is None else self.thought[i:i + 1].clone())
                for i in range(len(self.attention_mask))]


def chat_ids(tokenizer, family: str, text: str, video: VideoInput | None) -> list[int]:
    """A user turn ([clip] + text) and the assistant generation prompt, tokenised as the family's processor would."""
    content = ([{"type": "video"}] if video is not None else []) + [{"type": "text", "text": text}]
    template = tokenizer.chat_template or CHAT_TEMPLATE  # some snapshots keep it in the processor only
    chat = tokenizer.apply_chat_template([{"role": "user", "content": content}], chat_template=template,
                                         tokenize=False, add_generation_prompt=True)
    if video is not None:
        chat = chat.replace("<|video_pad|>", video_placeholder(family, video), 1)
    return tokenizer(chat, add_special_tokens=False)["input_ids"]


def video_placeholder(family: str, video: VideoInput) -> str:
    """The video's tokens as each family's processor writes them."""
    if family == "qwen3_vl":  # per temporal step: "<t seconds>" + its own vision block
        per_step = video.num_tokens // int(video.video_grid_thw[0])
        return "".join(f"<{t:.1f} seconds><|vision_start|>{'<|video_pad|>' * per_step}<|vision_end|>"
                       for t in video.timestamps)
    return "<|video_pad|>" * video.num_tokens


def token_types(ids: torch.Tensor, config) -> torch.Tensor:
    """mm_token_type_ids: 0 text, 1 image, 2 video (transformers needs them for 3-D M-RoPE positions)."""
    types = torch.zeros_like(ids)
    types[ids == config.video_token_id] = VIDEO
    types[ids == config.image_token_id] = IMAGE
    return types


class ContextEncoder(nn.Module):
    """Frozen VLM + N learnable query embeddings -> (B, N, vlm_hidden) query hidden states."""

    def __init__(self, vlm, tokenizer, spec: VisionSpec, cfg: VLMConfig, num_queries: int):
        super().__init__()
        self.vlm, self.tokenizer, self.spec, self.cfg = vlm, tokenizer, spec, cfg
        embed = vlm.get_input_embeddings().weight
        # Start the queries at the scale of real token embeddings, so the frozen layers see familiar magnitudes.
        self.queries = nn.Parameter(torch.randn(num_queries, embed.shape[1]) * embed.detach().float().std())
        # Plain ints, not the parameter's shape: under ZeRO-3 a partitioned parameter's shape is (0,).
        self.num_queries, self.hidden_size = num_queries, int(embed.shape[1])

    # ---- inputs -------------------------------------------------------------------------------------------------
    def video_input(self, frames: np.ndarray, fps: float, max_tokens: int | None = None) -> VideoInput:
        """Decoded frames (T, H, W, 3) as this VLM's video input: its frame policy and token budget (what is left of
        vlm.max_tokens once the queries, which follow the context in the same sequence, have their place)."""
        budget = max_tokens or self.cfg.max_tokens - self.num_queries
        return prepare_video(frames, fps, self.cfg.video, self.spec, budget)

    def prepare(self, texts: list[str | None], videos: list[VideoInput | None], prompt: str | None = None,
                answers: list[str] | None = None) -> ContextBatch:
        """Chat-formatted contexts: [clip] + "<prompt> <text>", then the generation prompt; queries follow.
        `answers`: each row's answer, its first vlm.think_tokens tokens written where the VLM's own would be."""
        if len(texts) != len(videos) or (answers is not None and len(answers) != len(texts)):
            raise ValueError(f"{len(texts)} texts, {len(videos)} videos, {len(answers or texts)} answers")
        prompt = self.cfg.prompt if prompt is None else prompt
        rows = [self._tokenize(prompt, text, video) for text, video in zip(texts, videos)]
        pad = self.tokenizer.pad_token_id
        length = max(len(r) for r in rows)
        ids = torch.full((len(rows), length), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, length - len(row):] = torch.tensor(row)
            mask[i, length - len(row):] = 1
        types = token_types(ids, self.vlm.config)
        clips = [v for v in videos if v is not None]
        pixels = torch.cat([v.pixel_values_videos for v in clips]) if clips else None
        grid = torch.stack([v.video_grid_thw for v in clips]) if clips else None
        seconds = torch.tensor([v.second_per_grid_t for v in clips]) if clips else None
        positions = self._positions(ids, mask, types, grid, seconds)
        return ContextBatch(ids, mask, types, positions, pixels, grid, *self._answers(answers))

    def _answers(self, answers: list[str] | None) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """Answers as (ids, mask), each cut or padded to vlm.think_tokens."""
        if answers is None:
            return None, None
        n = self.cfg.think_tokens
        if not n:
            raise NSPError("answers are written where the VLM's think tokens go: set vlm.think_tokens > 0")
        ids = torch.full((len(answers), n), self.tokenizer.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(answers), n), dtype=torch.long)
        for i, answer in enumerate(answers):
            row = self.tokenizer(answer, add_special_tokens=False)["input_ids"][:n]
            ids[i, :len(row)], mask[i, :len(row)] = torch.tensor(row, dtype=torch.long), 1
        return ids, mask

    def _tokenize(self, prompt: str, text: str | None, video: VideoInput | None) -> list[int]:
        ids = chat_ids(self.tokenizer, self.cfg.family, " ".join(s for s in (prompt, text) if s), video)
        over = len(ids) + self.cfg.think_tokens + self.num_queries - self.cfg.max_tokens
        if over > 0 and text:
            # Too long: shorten the free text (never the clip or the template) and tokenise again.
            text_ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            keep = len(text_ids) - over
            if keep > 0:
                return self._tokenize(prompt, self.tokenizer.decode(text_ids[:keep]), video)
        if len(ids) + self.cfg.think_tokens + self.num_queries > self.cfg.max_tokens:
            raise NSPError(f"context of {len(ids)} tokens + {self.cfg.think_tokens} think tokens + "
                           f"{self.num_queries} queries exceeds vlm.max_tokens="
                           f"{self.cfg.max_tokens} (lower vlm.video.max_tokens_per_frame or raise vlm.max_tokens)")
        return ids

    def _positions(self, ids, mask, types, grid, seconds) -> torch.Tensor:
        """M-RoPE positions for context + queries; the queries are text tokens after the context."""
        b, n = ids.shape[0], self.num_queries
        full_ids = torch.cat([ids, ids.new_full((b, n), self.tokenizer.pad_token_id)], 1)
        full_mask = torch.cat([mask, mask.new_ones((b, n))], 1)
        full_types = torch.cat([types, types.new_zeros((b, n))], 1)
        positions, _ = self.vlm.model.get_rope_index(full_ids, mm_token_type_ids=full_types, video_grid_thw=grid,
                                                     second_per_grid_ts=seconds, attention_mask=full_mask)
        return positions

    # ---- passes -------------------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_context(self, batch: ContextBatch) -> ContextCache:
        """Run the frozen VLM over the context once and keep its keys/values."""
        length = batch.context_length
        out = self.vlm.model(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                             position_ids=batch.position_ids[:, :, :length],
                             pixel_values_videos=batch.pixel_values_videos, video_grid_thw=batch.video_grid_thw,
                             use_cache=True)
        cache, mask, queries = out.past_key_values, batch.attention_mask, batch.position_ids[:, :, length:]
        thought = None
        if batch.answer_ids is not None:  # given answers, in one pass at the positions the VLM's own would take
            steps = torch.arange(batch.answer_ids.shape[1], device=queries.device)
            mask = torch.cat([mask, batch.answer_mask], 1)
            self.vlm.model.language_model(input_ids=batch.answer_ids, attention_mask=mask,
                                          position_ids=queries[:, :, :1] + steps, past_key_values=cache,
                                          use_cache=True)
            thought, queries = batch.answer_ids, queries + batch.answer_ids.shape[1]
        elif self.cfg.think_tokens:  # the answer's first tokens, greedily, each at the next text position
            hidden, written = out.last_hidden_state[:, -1:], []
            for step in range(self.cfg.think_tokens):
                token = self.vlm.lm_head(hidden).argmax(-1)
                written.append(token)
                mask = torch.cat([mask, mask.new_ones((len(mask), 1))], 1)
                hidden = self.vlm.model.language_model(
                    input_ids=token, attention_mask=mask, position_ids=queries[:, :, :1] + step,
                    past_key_values=cache, use_cache=True).last_hidden_state
            thought, queries = torch.cat(written, 1), queries + self.cfg.think_tokens
        kv = [(layer.keys, layer.values) for layer in cache.layers]
        full_mask = torch.cat([mask, mask.new_ones((len(mask), self.num_queries))], 1)
        return ContextCache(kv, full_mask, queries, thought)

    def query_states(self, cache: ContextCache) -> torch.Tensor:
        """Run only the query tokens over the cached context; gradients reach the query embeddings."""
        past = DynamicCache(config=self.vlm.config.text_config)
        for i, (k, v) in enumerate(cache.key_values):
            past.update(k, v, i)
        b = cache.attention_mask.shape[0]
        queries = self.queries.to(self.vlm.dtype).unsqueeze(0).expand(b, -1, -1)
        out = self.vlm.model.language_model(inputs_embeds=queries, attention_mask=cache.attention_mask,
                                            position_ids=cache.query_position_ids, past_key_values=past,
                                            use_cache=True)
        return out.last_hidden_state.float()

    def forward(self, context: ContextBatch | ContextCache) -> torch.Tensor:
        """Query states of the contexts, read now or (a `ContextCache`) read before."""
        return self.query_states(context if isinstance(context, ContextCache) else self.encode_context(context))

    def query_states_full(self, batch: ContextBatch) -> torch.Tensor:
        """Reference: one plain forward over context + queries (what `forward` must equal without think tokens)."""
        b, n = batch.input_ids.shape[0], self.num_queries
        mask = torch.cat([batch.attention_mask, batch.attention_mask.new_ones((b, n))], 1)
        embeds = self.vlm.get_input_embeddings()(batch.input_ids)
        queries = self.queries.to(embeds.dtype).unsqueeze(0).expand(b, -1, -1)
        # No input_ids: the model finds the video placeholders by their embedding (the queries never match it).
        out = self.vlm.model(inputs_embeds=torch.cat([embeds, queries], 1), attention_mask=mask,
                             position_ids=batch.position_ids, pixel_values_videos=batch.pixel_values_videos,
                             video_grid_thw=batch.video_grid_thw)
        return out.last_hidden_state[:, -n:].float()
