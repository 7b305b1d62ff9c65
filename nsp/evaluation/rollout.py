"""`nsp eval --rollout N`: clip after clip from each context, and how fast scene consistency decays along the way.

Clip 1 is the model's usual prediction from the real context; clip k+1 is predicted from clip k alone (as
`nsp predict --scenes N` does; with clean history where the model has it, the history is clip k's last latent
frames). Clip k is judged as the k-th scene after the context: the synthetic world's oracle knows where everything
is at any time (the candidate's meta "clip": k), and the real k-th scene is rendered from the sample's scene for PSNR.
Continuity is each clip's first frame against the last frame of the clip before it. On synthetic data the pass rate
is also given on the clips whose real scene still shows a ball (late clips are often empty, and pass when empty)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nsp.data.oracle import shows_a_ball
from nsp.data.world import Scene, render_clip
from nsp.evaluation import metrics
from nsp.evaluation.predict import predict
from nsp.rewards import Candidate
from nsp.video.io import Clip


def real_scene(meta: dict, k: int, like: np.ndarray) -> np.ndarray | None:
    """The real k-th scene after the context, where the sample is synthetic (None for real videos)."""
    if "scene" not in meta:
        return None
    return render_clip(Scene.from_json(meta["scene"]), k, len(like), like.shape[1])


def rollout(pipe, pairs: list, first: list[np.ndarray], s, reward, progress=None) -> list[dict]:
    """Per clip k = 1..s.rollout: pass rate (95% CI), score, continuity with the clip before, PSNR against the real
    k-th scene (None where it is not known). `first`: the model's clip-1 prediction for every pair."""
    fps = pipe.model.config.generator.fps
    previous, clips, out = [p.context.frames for p in pairs], first, []
    for k in range(1, s.rollout + 1):
        if k > 1:
            settings = replace(s, samples=1, seed=s.seed + 7919 * k)  # each clip of the chain its own noise
            previous, clips = clips, [c[0] for c in predict(pipe, [(None, Clip(c, fps)) for c in clips], settings,
                                                            progress)]
        references = [p.next.frames if k == 1 else real_scene(p.meta, k, c) for p, c in zip(pairs, clips)]
        scores, _ = reward([Candidate(c, prev, ref, dict(p.meta, clip=k))
                            for c, prev, ref, p in zip(clips, previous, references, pairs)])
        passed = (scores.passed if scores.passed is not None else scores.values >= 0.5).astype(np.float64)
        known = [(c, r) for c, r in zip(clips, references) if r is not None]
        # Late in a rollout many synthetic scenes are empty (balls gone off the canvas or at rest out of sight), and
        # an empty prediction passes there: the pass rate on the clips that still show a ball is the telling one.
        showing = np.array([shows_a_ball(Scene.from_json(p.meta["scene"]), len(c), c.shape[1], k)
                            if "scene" in p.meta else True for p, c in zip(pairs, clips)])
        out.append({
            "clip": k, "pass_rate": float(passed.mean()), "pass_rate_ci": list(metrics.bootstrap_ci(passed)),
            "showing_a_ball": float(showing.mean()),
            "pass_rate_showing": float(passed[showing].mean()) if showing.any() else None,
            "pass_rate_showing_ci": list(metrics.bootstrap_ci(passed[showing])) if showing.any() else None,
            "score": float(np.mean(scores.values)),
            "continuity_ssim": float(np.mean([metrics.continuity(p, c)["continuity_ssim"]
                                              for p, c in zip(previous, clips)])),
            "psnr": float(np.mean([metrics.psnr(c, r) for c, r in known])) if known else None,
        })
    return out
