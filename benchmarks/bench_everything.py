"""Everything is a video: classification and video question answering as next-frame prediction.

From scratch (the tiny preset with the shipped VAE and VLM; nothing to do with the demo run), in two steps with
stages/configs/everything_tiny.yaml: the text task alone first (`nsp data everything --tasks topics`, the recipe of
bench_topics_alone; it learns slowest, its answer being decided only at the highest noise levels), then from that
model every task (three rendered inputs: image, audio, text; three questions about a scene of the embedded world),
500 training samples per task, 60 test, each with its latent cache and `nsp train sft`; then `nsp eval` on the test
split, where each generated answer clip is read back as the nearest rendered label frame (as the model's VAE draws it).
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


TOPICS_FIRST = 2400  # steps on the text task alone; the six-task step takes the config's own
TOPICS_TRIED = [  # on the topics record: the same two steps, changed as said (AMD EPYC, 2 cores)
    {"what": "all six for 6000 steps after the text task alone", "topics": 0.783, "ci": [0.68, 0.88],
     "video_qa": 0.85, "shapes": 0.917, "chirps": 1.0},
    {"what": "all six for 3000 steps after the text task alone", "topics": 0.75, "ci": [0.63, 0.85],
     "video_qa": 0.678, "shapes": 0.7, "chirps": 0.983},
    {"what": "all six for 3000 steps from the tiny preset (the recipe before, 2-core Intel Xeon)", "topics": 0.333,
     "ci": [0.22, 0.45], "video_qa": 0.717, "shapes": 0.683, "chirps": 0.967},
    {"what": "the 6000-step model evaluated with guidance 6 instead of 3", "topics": 0.767, "ci": [0.67, 0.87],
     "video_qa": 0.867, "shapes": 0.733, "chirps": 0.983},
]


def phases(steps: int) -> str:
    return f"phases=[{{name: classify, steps: {steps}, trainable: [queries, connector, transformer]}}]"


def measure(root: Path) -> list[dict]:
    first = root / "topics"  # 1. the text task alone
    if not (first / "data" / "manifest.json").is_file():
        nsp("data", "everything", "--out", first / "data", "--tasks", "topics")
    topics_first = train_from_preset(first, first / "data", CONFIG, MODEL,
                                     train=(phases(TOPICS_FIRST), "run.val_every=600", "run.save_every=600"))
    data = root / "data"  # 2. every task, from that model
    if not (data / "manifest.json").is_file():
        nsp("data", "everything", "--out", data, "--tasks", ",".join(TASKS))
    report = train_from_preset(root, data, CONFIG, MODEL, train=("--init", first / "run" / "final",
                                                                 "run.val_every=500", "run.save_every=1000"))
    train = (f"nsp train sft --config {CONFIG} --data TOPICS --out FIRST data.cache=TOPICS_LATENTS "
             f"'{phases(TOPICS_FIRST)}'; nsp train sft --config {CONFIG} --data DATA --out RUN "
             f"data.cache=LATENTS --init FIRST/final")
    after_first = round(topics_first["classification"]["topics"]["accuracy"], 4)
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
                              confusion=c["confusion"], train_command=train,
                              **({"after_the_text_task_alone": after_first, "also_tried": TOPICS_TRIED}
                                 if task == "topics" else {})))
    return records


def run() -> list[dict]:
    return in_kept_or_temporary_dir("NSP_BENCH_EVERYTHING", measure)
