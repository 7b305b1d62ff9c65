"""Stage 2, supervised fine-tuning on (preceding scene, next scene) pairs: the context is the preceding clip and/or
its caption, the target the next clip's latents; the loss is stage 1's."""

from __future__ import annotations

from nsp.stages.flow_stage import FlowStage


class SFTStage(FlowStage):
    name = "sft"

    def __init__(self, cfg, model, rank: int = 0, world_size: int = 1):
        super().__init__(cfg, model, rank, world_size)
        # Whether any of its contexts carries the text beside the clip: `predict` warns where none did.
        shares = [self.text_share(p) for p in cfg.phases]
        model.text_with_clip = bool(model.text_with_clip) or (cfg.data.context_clip > 0 and max(shares) > 0)

    def text_share(self, phase) -> float:
        """How often a context of `phase` carries its caption (the phase's own setting, else data.context_text)."""
        return self.cfg.data.context_text if phase.context_text is None else phase.context_text

    def make_batch(self, examples, rng, phase, train: bool):
        data = self.cfg.data
        share = self.text_share(phase)
        texts, videos = [], []
        for e in examples:
            clip = e.video is not None and (not train or rng.random() < data.context_clip)
            caption = e.meta.get("captions", {}).get("context")
            text = caption if caption and (rng.random() < share if train else share >= 0.5) \
                else None
            if not clip and text is None:  # never an empty context: fall back to the clip (or the caption)
                clip = e.video is not None
                text = None if clip else caption
            texts.append(text)
            videos.append(e.video if clip else None)
        return self.flow_batch(examples, texts, videos, "next", rng, train, data.prompt)
