"""Classification as next-frame prediction, measured: the generated answer clip is read back as the nearest rendered
label frame of its task (nsp/data/everything.py); accuracy per task against chance (1 / number of labels), with a
bootstrap interval and a confusion matrix."""

from __future__ import annotations

import numpy as np

from nsp.data.everything import nearest_label
from nsp.evaluation import metrics


def classification_report(pairs: list, predictions: list[np.ndarray]) -> dict:
    """`pairs`: an everything split (meta: task, label, labels); `predictions`: one clip per pair, in order."""
    by_task: dict[str, dict] = {}
    for p, pred in zip(pairs, predictions):
        task, labels = p.meta["task"], p.meta["labels"]
        row = by_task.setdefault(task, {"labels": labels, "correct": [],
                                        "confusion": {a: {b: 0 for b in labels} for a in labels}})
        answer = nearest_label(pred, labels)
        row["correct"].append(answer == p.meta["label"])
        row["confusion"][p.meta["label"]][answer] += 1  # confusion[true label][answer read back]
    out = {}
    for task, row in sorted(by_task.items()):
        correct = np.array(row["correct"], dtype=np.float64)
        out[task] = {"accuracy": float(correct.mean()), "accuracy_ci": list(metrics.bootstrap_ci(correct)),
                     "chance": 1.0 / len(row["labels"]), "samples": len(correct), "confusion": row["confusion"]}
    return out
