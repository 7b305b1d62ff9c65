"""What every reward shares: the candidates it scores, the scores it returns, the registry by name, and the
weighted sum of several."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

REWARDS: dict[str, Callable] = {}


@dataclass
class Candidate:
    generated: np.ndarray  # (T, H, W, 3) uint8: the predicted next scene
    context: np.ndarray | None = None  # (T, H, W, 3) uint8: the preceding scene
    reference: np.ndarray | None = None  # (T, H, W, 3) uint8: the real next scene, where known
    meta: dict = field(default_factory=dict)  # the sample's metadata (synthetic: "scene")


@dataclass
class Scores:
    values: np.ndarray  # (N,) in [0, 1]
    passed: np.ndarray | None = None  # (N,) bool, for rewards that also judge pass/fail


def register(name: str):
    def add(factory):
        REWARDS[name] = factory
        return factory

    return add


class Combined:
    def __init__(self, parts: dict[str, tuple[float, Callable]]):
        self.parts = parts

    def __call__(self, candidates: list[Candidate]) -> tuple[Scores, dict[str, np.ndarray]]:
        total, each, passed = 0.0, {}, None
        weight_sum = sum(w for w, _ in self.parts.values())
        for name, (weight, reward) in self.parts.items():
            scores = reward(candidates)
            each[name] = scores.values
            total = total + weight * scores.values
            if scores.passed is not None and passed is None:
                passed = scores.passed
        return Scores(np.asarray(total) / weight_sum, passed), each
