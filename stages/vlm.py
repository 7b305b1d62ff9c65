"""The tiny VLM's own stage: understanding pretraining on the synthetic world (tiny models only; a real Qwen-VL is
loaded pretrained and stays frozen).

A random VLM understands nothing: its hidden states at the query positions barely depend on the context (about 3 %
between contexts), so the DiT learns to ignore the condition. Real VLMs arrive pretrained; the tiny one gets this
pre-step. Next-token prediction on two tasks:
    clip  + "Describe the scene."  -> the scene's state at the clip's end (`world.describe_state`: positions, motion,
                                      structures; so the vision tower must read where things are and how they move)
    the context caption            -> the next caption (the world's rules, in words)
On the scene-cut world (`cuts.py`) the clip task is the model's own question: the context clip + the NSP prompt ->
what the next shot shows (`cut_answer`: the outcome in a few words, then the next shot's caption); so what comes after
the cut is in the VLM's states where the queries read them.
and, with `data.read_text` > 0, a third, reading (what a pretrained Qwen-VL can do and Everything is a video needs):
    random words rendered as frames (nsp/video/render.py, laid out as `nsp predict --text-frames` lays them
    out) + "Read the text."  -> the words (WORDS: everyday English, in random order)
and, with `data.judge` > 0, judging (the `judge` reward's question, asked as the reward asks it):
    the context, then a candidate next clip (`judge_example`: the real one, or another outcome, another context's,
    a copy) + "Does the second part follow ...?"  -> on the cut world its reasons first ("top red left; middle red
    left": what the context says comes next, what the candidate shows), then "Yes" or "No" as the world's oracle says
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from nsp.data.cuts import CutScene, cut_answer
from nsp.data.judge import judge_example
from nsp.data.loader import PairStream
from nsp.data.world import Scene, describe_state
from nsp.stages.base import Stage
from nsp.rewards.judge import judge_inputs
from nsp.understanding.context import chat_ids, token_types
from nsp.video.render import place_tokens, render_text, token_slots

DESCRIBE = "Describe the scene."
READ = "Read the text."
TEXT_TASK_SHARE = 0.3
# Everyday English words for the reading task: a stand-in for the text a pretrained VLM has read (any task's words
# among them, as in real pretraining; never a task's labels or its pairing of words to labels).
WORDS = """the a an and or but of to in on at by for with from up down over under near far here there this that is are
was be has had have do does did go goes went come came see saw look like likes want eat eats drink run runs walk sit
stand sleep play read write open close make take give get put find keep hold turn stop start move fly swim i you he
she it we they my your his her our their me him us them who what where when why how which big small old new red green
blue black white brown yellow pink grey long short tall low high fast slow hot cold warm wet dry soft hard good bad
nice happy sad loud quiet dark light clean dirty full empty heavy rich poor young cat dog horse bird fish cow lion bear
pig sheep goat duck mouse rabbit fox wolf tiger frog snake owl bread apple rice cake soup egg pie cheese milk tea meat
salad pasta bean corn pear plum lemon honey jam car bus train bike boat truck plane van ship taxi tram cart house home
room door window wall floor roof table chair bed lamp book box cup plate bag key phone clock tree flower grass leaf
river lake sea hill road street park garden field forest rock sand snow rain sun moon star sky town city shop school
church farm bank office market man woman boy girl child baby friend mother father king queen doctor teacher day night
morning evening week year time hour today now then soon never always again one two three four five six ten many few
some all no not very too also just only still outside inside behind""".split()


def random_words(rng: np.random.Generator, max_words: int) -> str:
    """3 to 7 (at most `max_words`) words drawn from WORDS."""
    n = int(rng.integers(min(3, max_words), min(7, max_words) + 1))
    return " ".join(WORDS[i] for i in rng.integers(len(WORDS), size=n))


class VLMCaptioning(nn.Module):
    """What DeepSpeed trains in this stage: the VLM, with a forward that returns the next-token loss."""

    def __init__(self, vlm):
        super().__init__()
        self.vlm = vlm

    def forward(self, batch: "TokenBatch") -> torch.Tensor:
        return self.vlm(input_ids=batch.input_ids, attention_mask=batch.attention_mask, labels=batch.labels,
                        mm_token_type_ids=batch.mm_token_type_ids, pixel_values_videos=batch.pixel_values_videos,
                        video_grid_thw=batch.video_grid_thw, second_per_grid_ts=batch.second_per_grid_ts).loss


@dataclass
class TokenBatch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    mm_token_type_ids: torch.Tensor
    pixel_values_videos: torch.Tensor | None
    video_grid_thw: torch.Tensor | None
    second_per_grid_ts: torch.Tensor | None


class VLMStage(Stage):
    name = "vlm"
    state_prefix = ("vlm.", "context_encoder.vlm.")

    def __init__(self, cfg, model, rank: int = 0, world_size: int = 1):
        super().__init__(cfg, model, rank, world_size)
        self.wrapper = VLMCaptioning(model.context_encoder.vlm)

    def module(self) -> nn.Module:
        return self.wrapper

    def set_trainable(self, phase) -> None:
        self.model.set_trainable(["vlm"])
        self.model.context_encoder.vlm.train()

    def _example(self, pair, rng: np.random.Generator, others: list | None = None
                 ) -> tuple[list[int], list[int], object]:
        """One example; `others`: the rest of its batch (the judge task's other contexts)."""
        enc, cfg = self.model.context_encoder, self.model.config.vlm
        tok = enc.tokenizer
        captions = pair.meta.get("captions", {})
        if self.cfg.data.judge and pair.context is not None and rng.random() < self.cfg.data.judge:
            example = judge_example(pair, others or [pair], rng)
            prompt, video = judge_inputs(tok, enc.spec, cfg, self.model.config.generator.fps, pair.context.frames,
                                         example.frames)
            target = example.answer
        elif self.cfg.data.read_text and rng.random() < self.cfg.data.read_text:  # 0: no draw, the recipe unchanged
            g, tp = self.model.config.generator, enc.spec.temporal_patch_size
            length = g.num_frames * g.context_clips
            target = random_words(rng, len(token_slots(length, g.fps, cfg.video, tp)))
            frames = place_tokens(render_text(target, g.height, g.width), length, g.fps, cfg.video, tp)
            video = enc.video_input(frames, g.fps)
            prompt = chat_ids(tok, cfg.family, READ, video)
        elif "cut" in pair.meta and pair.context is not None and rng.random() >= TEXT_TASK_SHARE:
            clip = pair.context
            video = enc.video_input(clip.frames, clip.fps)
            prompt = chat_ids(tok, cfg.family, cfg.prompt, video)
            target = cut_answer(CutScene.from_json(pair.meta["cut"]))
        elif "scene" in pair.meta and rng.random() >= TEXT_TASK_SHARE:
            use_next = rng.random() < 0.5 or pair.context is None
            clip = pair.next if use_next else pair.context
            video = enc.video_input(clip.frames, clip.fps)
            prompt = chat_ids(tok, cfg.family, DESCRIBE, video)
            size = clip.frames.shape[1]
            target = describe_state(Scene.from_json(pair.meta["scene"]), int(use_next), clip.num_frames, size)
        else:
            video, prompt = None, chat_ids(tok, cfg.family, captions.get("context", ""), None)
            target = captions.get("next", "")
        target_ids = tok(target, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        return prompt + target_ids, [-100] * len(prompt) + target_ids, video

    def _batch(self, pairs, rng) -> TokenBatch:
        rows = [self._example(p, rng, pairs) for p in pairs]
        length = max(len(ids) for ids, _, _ in rows)
        pad = self.model.context_encoder.tokenizer.pad_token_id
        ids = torch.full((len(rows), length), pad)
        labels = torch.full((len(rows), length), -100)
        mask = torch.zeros((len(rows), length), dtype=torch.long)
        for i, (row, lab, _) in enumerate(rows):  # right padding: the loss positions need no shifting
            ids[i, :len(row)], labels[i, :len(lab)], mask[i, :len(row)] = torch.tensor(row), torch.tensor(lab), 1
        videos = [v for _, _, v in rows if v is not None]
        device = self.model.context_encoder.queries.device
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return TokenBatch(move(ids), move(mask), move(labels), move(token_types(ids, self.wrapper.vlm.config)),
                          move(torch.cat([v.pixel_values_videos for v in videos])) if videos else None,
                          move(torch.stack([v.video_grid_thw for v in videos])) if videos else None,
                          move(torch.tensor([v.second_per_grid_t for v in videos])) if videos else None)

    def train_batches(self, phase, rng, skip: int):
        self.stream = PairStream(self.cfg.data.path, "train", seed=self.cfg.run.seed, shuffle=True,
                                 shuffle_buffer=self.cfg.data.shuffle_buffer, repeat=True, skip=skip,
                                 rank=self.rank, world_size=self.world_size)
        group = []
        for pair in self.stream:
            group.append(pair)
            if len(group) == self.cfg.data.batch_size:
                yield self._batch(group, rng)
                group = []

    def val_batches(self) -> list[TokenBatch]:
        rng = np.random.default_rng(1234)
        pairs = list(PairStream(self.cfg.data.path, "val", shuffle=False))
        n = self.cfg.data.batch_size
        return [self._batch(pairs[i:i + n], rng) for i in range(0, min(len(pairs), n * self.cfg.data.val_batches), n)]

    def loss(self, engine, batch: TokenBatch, generator) -> tuple[torch.Tensor, dict]:
        loss = engine(batch)
        return loss, {"loss": float(loss.detach())}

    def finish(self) -> None:
        self.model.context_encoder.vlm.eval()
