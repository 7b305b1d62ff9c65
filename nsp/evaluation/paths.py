"""`nsp eval --paths`: which path carries the scene to the DiT.

The same contexts and starting noise, with what reaches the DiT changed one input at a time: the condition from the
VLM queries is this context's (real), the learned null condition (null) or another context's (shuffled); the clean
history frames (where the model has them) are given or replaced by zeros. A model whose pass rate does not drop from
real to null reads the scene from somewhere else than its understanding path; the understanding gain (real minus
null, paired, at the same history setting) says how much that path carries. On an everything split each cell also
has its accuracy (answers read back as the right label), the measure there."""

from __future__ import annotations

import numpy as np

from nsp.evaluation import metrics
from nsp.evaluation.predict import REAL, DiTPath, judge_predictions, predict

CONDITIONS = ("real", "null", "shuffled")


def ablate(pipe, pairs: list, contexts: list, s, reward, known: dict[DiTPath, tuple[list, list[dict]]],
           progress=None, right=None) -> dict:
    """`known`: predictions for `contexts` made and judged already, by path, as (clips, judged rows) (the model's own
    at REAL; the history-only baseline's at the null condition), reused as those cells; `right`: where answers are
    classified, a function of one clip per pair -> 1.0 where it reads back right."""
    has_history = pipe.model.config.generator.history_frames > 0
    settings = (True, False) if has_history else (True,)
    passed, cells = {}, []
    for history in settings:
        for condition in CONDITIONS:
            path = DiTPath(condition, history)
            if path in known:
                clips, rows = known[path]
            else:  # a cell reports its pass rate and score only: no fidelity measures
                clips = predict(pipe, contexts, s, progress, path)
                rows, _ = judge_predictions(pairs, clips, reward, measures=False)
            passed[path] = np.array([r["passed"] for r in rows])
            cells.append({"condition": condition, "history": history if has_history else None,
                          "pass_rate": float(passed[path].mean()),
                          "pass_rate_ci": list(metrics.bootstrap_ci(passed[path])),
                          "score": float(np.mean([r["score"] for r in rows]))})
            if right is not None:
                correct = right([c[0] for c in clips])
                cells[-1].update(accuracy=float(correct.mean()), accuracy_ci=list(metrics.bootstrap_ci(correct)))
    for cell, path in zip(cells, passed):
        change, lo, hi = metrics.paired_difference(passed[REAL], passed[path])
        cell["vs_real"] = {"change": change, "ci": [lo, hi]}
    gains = {}
    for history in settings:
        null, real = passed[DiTPath("null", history)], passed[DiTPath("real", history)]
        change, lo, hi = metrics.paired_difference(null, real)
        gains["history" if history and has_history else "no history"] = {"change": change, "ci": [lo, hi]}
    return {"history_frames": pipe.model.config.generator.history_frames, "cells": cells,
            "understanding_gain": gains}


def extra_predictions(pipe, known: int = 1) -> int:
    """Predictions per context and sample the ablation adds to the `known` cells (for progress bars)."""
    return (6 if pipe.model.config.generator.history_frames > 0 else 3) - known
