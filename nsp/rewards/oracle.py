"""`oracle`: the synthetic world's judge (nsp/data/oracle.py), dense score and pass/fail."""

import numpy as np

from nsp.data.oracle import judge
from nsp.data.world import Scene
from nsp.errors import NSPError
from nsp.rewards import Candidate, Scores, register


@register("oracle")
class OracleReward:
    def __init__(self, model=None):
        pass

    def __call__(self, candidates: list[Candidate]) -> Scores:
        scores, passed = [], []
        for c in candidates:
            if "scene" not in c.meta:
                raise NSPError("reward oracle: a sample has no synthetic scene (use it on `nsp data synth` data)")
            j = judge(Scene.from_json(c.meta["scene"]), c.generated)
            scores.append(j.score)
            passed.append(j.passed)
        return Scores(np.array(scores), np.array(passed))
