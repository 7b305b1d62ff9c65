"""Test-time scaling: N candidate next scenes, the one a reward scores best kept. The reward sees what a user has, the
context and the candidate, never the real next scene (the `judge`: a VLM asked whether the candidate follows)."""

from __future__ import annotations

import numpy as np

from nsp.rewards import Candidate

NEEDS_TRUTH = ("oracle", "reference")  # rewards that compare with the real next scene or its ground truth


def choose(reward, context: np.ndarray | None, candidates: list[np.ndarray]) -> tuple[int, list[float]]:
    """(index of the best candidate, every candidate's score) by `reward`, given only the context."""
    scores, _ = reward([Candidate(c, context, None, {}) for c in candidates])
    values = [float(v) for v in scores.values]
    return int(np.argmax(values)), values


def selection_reward(model, name: str = "judge", judge: str | None = None):
    """The reward that picks: `name` (a reward that needs no real next scene), with `judge` the judge VLM's
    directory (default: the model's own VLM)."""
    from nsp.errors import NSPError
    from nsp.rewards import build_reward

    if name in NEEDS_TRUTH:
        raise NSPError(f"selection reward {name}: it needs the real next scene; the pick is made from the context "
                       "and the candidate alone (judge, http)")
    options = {"judge": {"path": judge}} if name == "judge" and judge else {}
    return build_reward({name: 1.0}, model, **options)
