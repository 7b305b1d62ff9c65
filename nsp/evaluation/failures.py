"""Why predictions fail, per scene family, as the cut world's oracle says it (`cuts_oracle.CAUSES`): the ball not
drawn, drawn in the wrong place, shown where it should be hidden, a colour the shot does not have, the wrong lamp.

A pass rate says how often; this says what to fix: a family that fails on place (the model drew the ball, in the
wrong column) needs the condition carried into the drawing, one that fails on colour needs the colour read."""

from __future__ import annotations

from collections import Counter

import numpy as np

from nsp.data.cuts_oracle import CAUSES
from nsp.data.judge import judge_sample


def failure_causes(pairs: list, clips: list[np.ndarray]) -> dict | None:
    """{family: {clips, failed, causes: {cause: share of the failed clips with a failed frame of that cause}}} for
    the cut world's samples (`clips[i]` predicted for `pairs[i]`); None where no sample is of the cut world."""
    seen, failed, causes = Counter(), Counter(), {}
    for pair, clip in zip(pairs, clips):
        if "cut" not in pair.meta:
            continue
        family = pair.meta["family"]
        verdict = judge_sample(pair.meta, clip)
        seen[family] += 1
        if verdict.passed:
            continue
        failed[family] += 1
        why = {c for frame_ok, frame_causes in zip(verdict.frame_passed, verdict.causes) if not frame_ok
               for c in frame_causes}
        causes.setdefault(family, Counter()).update(why)
    if not seen:
        return None
    return {f: {"clips": seen[f], "failed": failed[f],
                "causes": {c: round(causes[f][c] / failed[f], 3) for c in CAUSES if causes.get(f, {}).get(c)}}
            for f in sorted(seen)}
