"""Visual sentences, measured: does the example pair, not the query, decide what the model does?

A sentence dataset (nsp/data/sentences.py) holds every test query once per task. For a forward sentence (A, A', B)
of task t the prediction is compared (mean squared error over its frames) with what every task makes of the same
query, read from that query's other sentences; it is *recognised* when the nearest is task t's, and, as a control, counted when it is nearer task t's result than
the query B itself (copying B is the trivial answer, and some results, e.g. slow motion's, start as B does). Accuracy per task,
against chance 1 / number of tasks, and the confusion matrix say whether two example pairs give two
transformations; per query, the share of task pairs whose two predictions are both recognised says it directly
(chance 1 / tasks^2). A sentence read backwards, (A', A, B') -> B, asks for the inverse: its prediction is compared with
the real B and with the query B' itself (copying the query is the trivial answer); for nsp on synthetic data the
oracle judges it as the scene *before* B' and, as a control, as the scene after it."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from nsp.data.oracle import judge
from nsp.data.world import Scene
from nsp.evaluation import metrics


def mse(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2))


def sentence_report(pairs: list, predictions: list[np.ndarray]) -> dict:
    """`pairs`: a sentence split (context A, A', B; next B'); `predictions`: one clip per pair, in order."""
    targets = {}  # (query, task) -> the real B' of the forward sentence
    for p in pairs:
        if not p.meta["task"].endswith("_inverse"):
            targets[(p.meta["query"], p.meta["task"])] = p.next.frames
    tasks = sorted({t for _, t in targets})
    forward, inverse = {t: [] for t in tasks}, {}
    confusion = {t: {u: 0 for u in tasks} for t in tasks}
    by_query: dict = {}  # query -> task -> recognised
    for p, pred in zip(pairs, predictions):
        task = p.meta["task"]
        if task.endswith("_inverse"):
            b_next = p.context.frames[-len(pred):]  # the query B' (the sentence's last clip)
            row = {"psnr": metrics.psnr(pred, p.next.frames), "psnr_copy_query": metrics.psnr(b_next, p.next.frames),
                   "closer_to_real_than_to_query": mse(pred, p.next.frames) < mse(pred, b_next)}
            if "scene" in p.meta:  # nsp read backwards: is it the scene before B', or (control) the one after?
                scene = Scene.from_json(p.meta["scene"])
                row["oracle_pass_as_preceding"] = judge(scene, pred, clip=0).passed
                row["oracle_pass_as_following"] = judge(scene, pred, clip=2).passed
            inverse.setdefault(task, []).append(row)
            continue
        candidates = {u: targets[(p.meta["query"], u)] for u in tasks if (p.meta["query"], u) in targets}
        nearest = min(candidates, key=lambda u: mse(pred, candidates[u]))
        confusion[task][nearest] += 1
        by_query.setdefault(p.meta["query"], {})[task] = nearest == task
        query = p.context.frames[-len(pred):]  # B: copying it is the trivial answer, a control for every task
        forward[task].append({"recognised": nearest == task, "psnr": metrics.psnr(pred, p.next.frames),
                              "nearer_than_copy": mse(pred, p.next.frames) < mse(pred, query)})

    def mean(rows, key):
        values = [float(r[key]) for r in rows if key in r]
        return float(np.mean(values)) if values else None

    recognised = np.array([r["recognised"] for rows in forward.values() for r in rows], dtype=np.float64)
    # the same query, two example pairs of different tasks: did each give its own transformation?
    both = np.array([seen[t] and seen[u] for seen in by_query.values() for t, u in combinations(sorted(seen), 2)],
                    dtype=np.float64)
    return {
        "tasks": tasks,
        "chance": 1.0 / len(tasks) if tasks else None,
        "task_accuracy": float(recognised.mean()) if len(recognised) else None,
        "task_accuracy_ci": list(metrics.bootstrap_ci(recognised)) if len(recognised) else None,
        "pair_accuracy": float(both.mean()) if len(both) else None,
        "pair_accuracy_ci": list(metrics.bootstrap_ci(both)) if len(both) else None,
        "pair_chance": 1.0 / len(tasks) ** 2 if tasks else None,
        # nearer_than_copy: share of predictions nearer their task's result than the query B itself
        "by_task": {t: {"accuracy": mean(rows, "recognised"), "psnr": mean(rows, "psnr"),
                        "nearer_than_copy": mean(rows, "nearer_than_copy"), "sentences": len(rows)}
                    for t, rows in forward.items() if rows},
        "confusion": confusion,  # confusion[task][nearest task's result]
        "inverse": {t: {k: mean(rows, k) for k in ("psnr", "psnr_copy_query", "closer_to_real_than_to_query",
                                                   "oracle_pass_as_preceding", "oracle_pass_as_following")}
                    | {"sentences": len(rows)} for t, rows in sorted(inverse.items())},
    }
