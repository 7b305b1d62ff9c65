"""`oracle`: the synthetic worlds' judge (nsp/data/oracle.py, cuts_oracle.py), dense score and pass/fail.

`mode: dense` rewards the score alone (how close every ball and lamp is to where the scene's rule puts them);
`mode: pass` adds the pass/fail the evaluation counts, so that within a group the candidates that pass stand apart
from those that nearly do (the score alone differs by a few hundredths between them)."""

import numpy as np

from nsp.data.judge import judge_sample
from nsp.errors import NSPError
from nsp.rewards.base import Candidate, Scores, register

MODES = ("dense", "pass")


@register("oracle")
class OracleReward:
    def __init__(self, model=None, mode: str = "dense"):
        if mode not in MODES:
            raise NSPError(f"reward oracle: mode {mode!r} is not one of {', '.join(MODES)}")
        self.mode = mode

    def __call__(self, candidates: list[Candidate]) -> Scores:
        scores, passed = [], []
        for c in candidates:
            # meta "clip": which scene after the context this is (a rollout's k-th; default 1, the next one)
            j = judge_sample(c.meta, c.generated)
            if j is None:
                raise NSPError("reward oracle: a sample has no synthetic scene (use it on `nsp data synth` data)")
            scores.append(j.score)
            passed.append(j.passed)
        scores, passed = np.array(scores), np.array(passed)
        if self.mode == "pass":
            scores = (scores + passed) / 2
        return Scores(scores, passed)
