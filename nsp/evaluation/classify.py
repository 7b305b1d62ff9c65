"""Classification as next-frame prediction, measured: the generated answer clip is read back as the nearest rendered
label frame of its task (nsp/data/everything.py), as the model's own VAE draws it (`drawn_labels`); accuracy per task
against chance (1 / number of labels), with a bootstrap interval and a confusion matrix."""

from __future__ import annotations

import numpy as np
import torch

from nsp.data.everything import label_clip, nearest_label
from nsp.evaluation import metrics
from nsp.generation.ltx import frames_to_video, video_to_frames


@torch.no_grad()
def drawn_labels(pipe, labels: list[str]) -> dict[str, np.ndarray]:
    """Each label's clip as the model's VAE draws it (encoded, decoded; the decoder's noise seeded): the nearest a
    perfect answer can come. The shipped tiny VAE draws thin coloured glyphs poorly (the blue third label comes back
    greenish, nearer the green label's rendered frame than its own), so answers are compared with these; through a
    faithful VAE they are the rendered frames themselves."""
    gen, g, s = pipe.model.generator, pipe.model.config.generator, pipe.model.config.sampling
    clips = np.stack([label_clip(label, labels, g.num_frames, g.height) for label in labels])
    latents = gen.encode_latents(frames_to_video(clips).to(pipe.device), sample=False)
    video = gen.decode(gen.pack(latents), tuple(latents.shape[2:]), s.decode_timestep, s.decode_noise_scale,
                       torch.Generator("cpu").manual_seed(0))
    return dict(zip(labels, video_to_frames(video)))


def drawn_task_labels(pipe, pairs: list) -> dict[str, dict[str, np.ndarray]]:
    """Every task of an everything split: its labels as the model draws them."""
    tasks = {p.meta["task"]: p.meta["labels"] for p in pairs}
    return {task: drawn_labels(pipe, labels) for task, labels in tasks.items()}


def right_answers(pairs: list, drawn: dict[str, dict[str, np.ndarray]]):
    """A function telling, for one generated clip per pair (in order), which read back as the pair's own label (1.0)
    and which not (0.0): how the path ablation scores its cells on an everything split."""
    return lambda clips: np.array([nearest_label(c, p.meta["labels"], drawn[p.meta["task"]]) == p.meta["label"]
                                   for p, c in zip(pairs, clips)], dtype=np.float64)


def label_answerer(pipe, labels: list[str]):
    """`nsp predict --labels`: a function naming the label nearest to a generated clip, as the model's VAE draws
    each label (drawn once, here)."""
    drawn = drawn_labels(pipe, labels)
    return lambda clip: nearest_label(clip, labels, drawn)


def classification_report(pairs: list, predictions: list[np.ndarray],
                          drawn: dict[str, dict[str, np.ndarray]] | None = None) -> dict:
    """`pairs`: an everything split (meta: task, label, labels); `predictions`: one clip per pair, in order;
    `drawn[task]`: its labels as the model draws them (`drawn_labels`), else the rendered frames are compared."""
    by_task: dict[str, dict] = {}
    for p, pred in zip(pairs, predictions):
        task, labels = p.meta["task"], p.meta["labels"]
        row = by_task.setdefault(task, {"labels": labels, "correct": [],
                                        "confusion": {a: {b: 0 for b in labels} for a in labels}})
        answer = nearest_label(pred, labels, (drawn or {}).get(task))
        row["correct"].append(answer == p.meta["label"])
        row["confusion"][p.meta["label"]][answer] += 1  # confusion[true label][answer read back]
    out = {}
    for task, row in sorted(by_task.items()):
        correct = np.array(row["correct"], dtype=np.float64)
        out[task] = {"accuracy": float(correct.mean()), "accuracy_ci": list(metrics.bootstrap_ci(correct)),
                     "chance": 1.0 / len(row["labels"]), "samples": len(correct), "confusion": row["confusion"]}
    return out
