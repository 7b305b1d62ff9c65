"""Scene-consistency rewards: does a generated next scene follow causally and visually from its context?

A registry by name; `build_reward({"oracle": 1.0, "reference": 0.5}, model)` combines several with weights. Every
reward scores a list of `Candidate`s with values in [0, 1]."""

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


def build_reward(spec: dict[str, float], model=None, **options) -> Combined:
    from nsp.errors import NSPError
    from nsp.rewards import http, judge, oracle, reference  # noqa: F401  (registration)

    parts = {}
    for name, weight in spec.items():
        if name not in REWARDS:
            raise NSPError(f"reward {name!r}: unknown (choose from {', '.join(sorted(REWARDS))})")
        parts[name] = (float(weight), REWARDS[name](model, **options.get(name, {})))
    if not parts:
        raise NSPError("no reward given (e.g. rl.rewards: {oracle: 1.0})")
    return Combined(parts)
