"""Everything is a video: classification and video question answering as next-frame prediction.

From scratch (the tiny preset with the shipped VAE and VLM; nothing to do with the demo run): `nsp data everything`
with every task (three rendered inputs: image, audio, text; three questions about a scene of the embedded world),
500 training samples per task, 60 test, the latent cache, `nsp train sft` with stages/configs/everything_tiny.yaml,
then `nsp eval` on the test split, where each generated answer clip is read back as the nearest rendered label frame
(as the model's VAE draws it).
Records:
    everything_<task>_accuracy_tiny   per classification task, the share of test samples answered right (target:
                                      chance, 1/3; "clearly above" is the bootstrap interval's lower end above it)
    everything_video_qa_accuracy_tiny the share of held-out questions answered right, the three questions pooled
                                      (target: their mean chance), with each question's accuracy

    python -m benchmarks.run everything            # NSP_BENCH_EVERYTHING=DIR keeps (and reuses) the run there
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.common import in_kept_or_temporary_dir, nsp, result, train_from_preset
from nsp.data.everything import QUESTIONS, TASKS
from nsp.evaluation.metrics import bootstrap_ci

COMMAND = "python -m benchmarks.run everything"
CONFIG = "stages/configs/everything_tiny.yaml"
# As the config composes it: the cache is made with the same VAE and VLM.
MODEL = ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm_reader", "generator.context_clips=4",
         "vlm.max_tokens=320", "generator.history_frames=4"]


def measure(root: Path) -> list[dict]:
    data = root / "data"
    if not (data / "manifest.json").is_file():
        nsp("data", "everything", "--out", data, "--tasks", ",".join(TASKS))
    report = train_from_preset(root, data, CONFIG, MODEL)
    train = f"nsp train sft --config {CONFIG} --data DATA --out RUN data.cache=LATENTS"
    records = []
    by_question = {t: c for t, c in report["classification"].items() if t in QUESTIONS}
    if by_question:
        # each question's samples as right / wrong, from its confusion's diagonal
        right = np.concatenate([np.repeat([1.0, 0.0], [hits, c["samples"] - hits]) for c in by_question.values()
                                for hits in [sum(c["confusion"][lab][lab] for lab in c["confusion"])]])
        chance = float(np.mean([c["chance"] for c in by_question.values()]))
        ci = list(bootstrap_ci(right))
        records.append(result("everything_video_qa_accuracy_tiny", round(float(right.mean()), 4),
                              "share of held-out questions about a scene whose answer clip reads back as the right "
                              "label (three questions pooled)", round(chance, 4), "higher", COMMAND, ci=ci,
                              clearly_above_chance=ci[0] > chance, samples=int(right.size),
                              by_question={QUESTIONS[t]: {"accuracy": round(c["accuracy"], 4), "ci": c["accuracy_ci"],
                                                          "chance": round(c["chance"], 4), "samples": c["samples"],
                                                          "confusion": c["confusion"]}
                                           for t, c in by_question.items()},
                              train_command=train))
    for task, c in report["classification"].items():
        if task in QUESTIONS:
            continue
        records.append(result(f"everything_{task}_accuracy_tiny", round(c["accuracy"], 4),
                              "share of test samples whose answer clip reads back as the right label",
                              round(c["chance"], 4), "higher", COMMAND, ci=c["accuracy_ci"],
                              clearly_above_chance=c["accuracy_ci"][0] > c["chance"], samples=c["samples"],
                              confusion=c["confusion"], train_command=train))
    return records


def run() -> list[dict]:
    return in_kept_or_temporary_dir("NSP_BENCH_EVERYTHING", measure)
