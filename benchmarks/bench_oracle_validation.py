"""The oracle's validation on many scenes: real next scenes (clean and VAE-degraded) must pass, mismatched ones and
the copy-last-frame continuation must fail. The headline value is the pass rate of degraded real next scenes."""

from __future__ import annotations

import numpy as np

from benchmarks.common import result

NAME = "oracle_validation"
COMMAND = "make bench  # python -m benchmarks.run oracle"


def run(count: int = 500) -> list[dict]:
    from nsp.data.oracle import judge, vae_like_degradation
    from nsp.data.world import FAMILIES, render_clip, sample_scene

    rng = np.random.default_rng(2026)
    scenes = [sample_scene(rng, FAMILIES[i % len(FAMILIES)]) for i in range(count)]
    nexts = [render_clip(s, 1, 9, 64) for s in scenes]
    rate = lambda js: round(float(np.mean([j.passed for j in js])), 4)  # noqa: E731
    clean = [judge(s, n) for s, n in zip(scenes, nexts)]
    degraded = [judge(s, vae_like_degradation(n, rng)) for s, n in zip(scenes, nexts)]
    mismatched = [judge(s, nexts[(i + 1) % count]) for i, s in enumerate(scenes)]
    same_family = [judge(s, nexts[(i + len(FAMILIES)) % count]) for i, s in enumerate(scenes)]
    frozen = [judge(s, np.repeat(render_clip(s, 0, 9, 64)[-1:], 9, axis=0)) for s in scenes]
    per_family = {f: rate([d for d, s in zip(degraded, scenes) if s.family == f]) for f in FAMILIES}
    return [result(NAME, rate(degraded), "pass rate (real next scenes, VAE-degraded)", 0.95, "higher", COMMAND,
                   real_clean=rate(clean), real_degraded_per_family=per_family, mismatched=rate(mismatched),
                   mismatched_same_family=rate(same_family), copy_last_frame=rate(frozen), scenes=count,
                   note="mismatched / same-family / copy-last-frame must stay near 0 (target <= 0.3)")]
