"""Judge a clip of a synthetic sample with its own world's oracle (the continuation world's or the cut world's)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from nsp.data.cuts import CutScene
from nsp.data.cuts_oracle import judge_cut
from nsp.data.oracle import Judgement, judge
from nsp.data.world import Scene


def judge_sample(meta: dict, frames: np.ndarray, clip: int | None = None) -> Judgement | None:
    """`frames` judged as clip `clip` (default: the sample's `clip`, else 1, the next one) of the scene in `meta`;
    None where the sample has no synthetic ground truth."""
    clip = int(meta.get("clip", 1)) if clip is None else clip
    if "cut" in meta:
        return judge_cut(CutScene.from_json(meta["cut"]), frames, clip)
    if "scene" in meta:
        return judge(Scene.from_json(meta["scene"]), frames, clip)
    return None


JUDGE_NEGATIVES = ("counterfactual", "mismatched", "copy")
STILL = "a still frame"


@dataclass
class JudgeExample:
    """A candidate next clip for a context, whether it follows (the world's oracle's verdict), what kind it is, and
    (cut world) the judge's reasons in words: what the context says comes next; what the candidate shows."""

    frames: np.ndarray
    follows: bool
    kind: str  # real | counterfactual | mismatched | copy
    reasons: str | None = None  # e.g. "top red left; middle red left"

    @property
    def answer(self) -> str:
        verdict = "Yes" if self.follows else "No"
        return f"{self.reasons}. {verdict}" if self.reasons else verdict


def judge_example(pair, others: list, rng: np.random.Generator) -> JudgeExample:
    """What a judge learns from. Half are the real next shot (half of those degraded as a small VAE would); the rest
    are meant not to follow: the same shot with another outcome (counterfactual: another lane or way, or the mover in
    another colour; cut world only), another context's next shot (mismatched, from `others`), or the context's last
    frame held (copy). Whether it follows is the world's oracle's verdict (another context's shot sometimes shows the
    same outcome)."""
    from nsp.data.cuts import COLORS, outcome_words, outcomes, render_cut_clip
    from nsp.data.oracle import vae_like_degradation

    real = pair.next.frames
    cut = CutScene.from_json(pair.meta["cut"]) if "cut" in pair.meta else None
    shown = cut  # the scene whose next shot the candidate is (None: no scene's)
    if rng.random() < 0.5:
        kind, frames = "real", vae_like_degradation(real, rng) if rng.random() < 0.5 else real
    else:
        kinds = JUDGE_NEGATIVES if cut is not None else JUDGE_NEGATIVES[1:]
        kind = kinds[0] if len(kinds) == 3 and rng.random() < 0.5 else str(rng.choice(kinds[-2:]))
        if kind == "counterfactual":
            if cut.family != "lamp" and rng.random() < 0.5:
                colors = [c for c in COLORS if c not in (cut.color, cut.other)]
                shown = replace(cut, color=str(rng.choice(colors)))
            else:
                options = [o for o in outcomes(cut.family) if o != (cut.direction, cut.lane)
                           and (cut.family != "lamp" or o[1] != cut.lane)]
                direction, lane = options[int(rng.integers(len(options)))]
                shown = replace(cut, lane=lane, direction=cut.direction if cut.family == "lamp" else direction)
            frames = render_cut_clip(shown, 1, real.shape[0], real.shape[1])
        elif kind == "mismatched":
            candidates = [o for o in others if o.key != pair.key] or [pair]
            other = candidates[int(rng.integers(len(candidates)))]
            frames = other.next.frames
            shown = CutScene.from_json(other.meta["cut"]) if "cut" in other.meta else None
        else:
            frames, shown = np.repeat(pair.context.frames[-1:], real.shape[0], axis=0), None
        if rng.random() < 0.5:
            frames = vae_like_degradation(frames, rng)
    reasons = None
    if cut is not None:
        reasons = f"{outcome_words(cut)}; {outcome_words(shown) if shown is not None else STILL}"
    return JudgeExample(frames, judge_sample(pair.meta, frames).passed, kind, reasons)
