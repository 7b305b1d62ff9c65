"""Stage 1, text-to-video pretraining: caption -> VLM + queries -> connector -> DiT, flow matching on the clip's
latents. This is what teaches the DiT to read the connector instead of T5.

The paper's curriculum is the config's phases: first images (1-frame clips) with only the queries and connector
trained, then a mix of images and videos with the DiT trained too (`phase.images` is the share of image batches)."""

from __future__ import annotations

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
        prompt = self.cfg.data.prompt if self.cfg.data.prompt is not None else T2V_PROMPT
        return self.flow_batch(examples, texts, [None] * len(examples), target, rng, train, prompt)
