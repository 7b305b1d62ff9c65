"""The scene-cut oracle's validation (nsp/data/cuts_oracle.py): real next shots must pass, clean, VAE-degraded and
through the shipped tiny VAE; the same next shot with another outcome, another context's next shot and the
copy-last-frame continuation must fail. The headline value is the pass rate of VAE-degraded real next shots."""

from __future__ import annotations

import numpy as np

from benchmarks.common import result

NAME = "cuts_oracle_validation"
COMMAND = "python -m benchmarks.run cuts_oracle"


def through_tiny_vae(clips: np.ndarray) -> np.ndarray:
    """Clips (N, T, S, S, 3) encoded and decoded by the shipped tiny VAE of the cut world (what a model's output goes
    through)."""
    import torch

    from nsp.config import preset_config
    from nsp.generation.ltx import build_generator, frames_to_video, video_to_frames

    vae = build_generator(preset_config("tiny", ["generator.vae_path=nsp:tiny_vae_cuts"]).generator).vae.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(clips), 16):
            video = frames_to_video(clips[start:start + 16])
            out.append(video_to_frames(vae.decode(vae.encode(video).latent_dist.mode()).sample))
    return np.concatenate(out)


def run(count: int = 600) -> list[dict]:
    from nsp.data.cuts import CUT_FAMILIES, outcomes, render_cut_clip, sample_cut_scene
    from nsp.data.cuts_oracle import judge_cut
    from nsp.data.oracle import vae_like_degradation

    rng = np.random.default_rng(2026)
    scenes = [sample_cut_scene(rng, CUT_FAMILIES[i % len(CUT_FAMILIES)]) for i in range(count)]
    nexts = np.stack([render_cut_clip(s, 1, 9, 64) for s in scenes])
    rate = lambda js: round(float(np.mean([j.passed for j in js])), 4)  # noqa: E731

    def counterfactual(i: int, s):
        """The same scene (colour, backgrounds) with another of its family's outcomes, drawn from its own seed."""
        options = outcomes(s.family)
        mine = options.index((s.direction if s.family != "lamp" else 1, s.lane))
        other = sample_cut_scene(np.random.default_rng(i), s.family, (mine + 1 + i % (len(options) - 1)) % len(options))
        other.color, other.next_background = s.color, s.next_background
        return render_cut_clip(other, 1, 9, 64)

    clean = [judge_cut(s, n) for s, n in zip(scenes, nexts)]
    degraded = [judge_cut(s, vae_like_degradation(n, rng)) for s, n in zip(scenes, nexts)]
    vae = [judge_cut(s, n) for s, n in zip(scenes, through_tiny_vae(nexts))]
    other_outcome = [judge_cut(s, counterfactual(i, s)) for i, s in enumerate(scenes)]
    mismatched = [judge_cut(s, nexts[(i + 1) % count]) for i, s in enumerate(scenes)]
    same_family = [judge_cut(s, nexts[(i + len(CUT_FAMILIES)) % count]) for i, s in enumerate(scenes)]
    frozen = [judge_cut(s, np.repeat(render_cut_clip(s, 0, 9, 64)[-1:], 9, axis=0)) for s in scenes]
    by_family = lambda js: {f: rate([j for j, s in zip(js, scenes) if s.family == f]) for f in CUT_FAMILIES}  # noqa
    return [result(NAME, rate(degraded), "pass rate (real next shots, VAE-degraded)", 0.95, "higher", COMMAND,
                   real_clean=rate(clean), real_tiny_vae=rate(vae), real_degraded_per_family=by_family(degraded),
                   counterfactual=rate(other_outcome), counterfactual_per_family=by_family(other_outcome),
                   mismatched=rate(mismatched), mismatched_same_family=rate(same_family), copy_last_frame=rate(frozen),
                   scenes=count, note="counterfactual (the same next shot with another outcome), mismatched (another "
                   "context's next shot) and copy_last_frame must each stay <= 0.05")]
