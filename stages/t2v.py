"""Stage 1, text-to-video pretraining: caption -> VLM + queries -> connector -> DiT, flow matching on the clip's
latents. This is what teaches the DiT to read the connector instead of T5.

The paper's curriculum is the config's phases: first images (1-frame clips) with only the queries and connector
trained, then a mix of images and videos with the DiT trained too (`phase.images` is the share of image batches).

With `data.text_as_answer` the caption is not the user's words but the VLM's answer to the model's own prompt, where
`vlm.think_tokens` puts what the VLM says comes next at SFT; for a scene cut's next shot, the answer the tiny VLM
was taught (`cut_answer`: the outcome, then the caption)."""

from __future__ import annotations

from nsp.data.cuts import CutScene, cut_answer
from nsp.stages.flow_stage import FlowStage

T2V_PROMPT = "Generate a video of this scene:"


class T2VStage(FlowStage):
    name = "t2v"

    def make_batch(self, examples, rng, phase, train: bool):
        if train and rng.random() < phase.images and all("image" in e.latents for e in examples):
            target, caption = "image", "image"
        elif not train or rng.random() < 0.5 or any("context" not in e.latents for e in examples):
            target, caption = "next", "next"
        else:
            target, caption = "context", "context"
        texts = [e.meta.get("captions", {}).get(caption) or e.meta.get("captions", {}).get("next", "") for e in examples]
        videos = [None] * len(examples)
        if self.cfg.data.text_as_answer:
            answers = [cut_answer(CutScene.from_json(e.meta["cut"])) if target == "next" and "cut" in e.meta else text
                       for e, text in zip(examples, texts)]
            return self.flow_batch(examples, [None] * len(examples), videos, target, rng, train, self.cfg.data.prompt,
                                   answers)
        prompt = self.cfg.data.prompt if self.cfg.data.prompt is not None else T2V_PROMPT
        return self.flow_batch(examples, texts, videos, target, rng, train, prompt)
