"""Scene-consistency rewards: does a generated next scene follow causally and visually from its context?

A registry by name; `build_reward({"oracle": 1.0, "reference": 0.5}, model)` combines several with weights. Every
reward scores a list of `Candidate`s with values in [0, 1]."""

from __future__ import annotations

from nsp.rewards.base import REWARDS, Candidate, Combined, Scores, register

__all__ = ["REWARDS", "Candidate", "Combined", "Scores", "register", "build_reward"]


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
