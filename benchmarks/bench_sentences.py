"""Visual sentences (UniVid) on the synthetic world: does the example pair decide the transformation, and can a
trained model learn a new task from 20 sentences?

Sentences built from synthetic pairs (`nsp data synth`, or the demo's data with NSP_BENCH_DEMO=DIR): 300 queries per
task for training, 40 for testing, five tasks, each also read backwards. The tiny model learns the tasks in context
through the normal SFT stage (stages/configs/sentences_tiny.yaml: the three clips seen by the VLM and, clean, by the
DiT), then `nsp eval` on the test sentences. Then, from that checkpoint, the same SFT stage (queries, connector and
DiT) learns `vflip` (a vertical flip, never seen) from 20 sentences, beside the same 20 queries under the five known
tasks. Both models are evaluated on 40 test queries under all six tasks (each prediction read as the task whose
result it is nearest, chance 1 / 6) and on mixed contexts: the example pair as images, the query a video. Records:
    sentences_task_accuracy_tiny      share of test sentences whose prediction is nearest to its own task's result of
                                      the same query (target: chance, 1 / 5), with per-task accuracy, the confusion
                                      matrix, the pair accuracy (the same query with two tasks' example pairs: both
                                      recognised; chance 1 / 25) and the inverse (backwards) sentences
    sentences_fewshot_new_task_tiny   the new task's accuracy after that (target 0.6), with the known tasks'
                                      accuracy before and after it, the mixed contexts', and the tasks' accuracy on
                                      the fine-tune's own training sentences (learnt, or only not generalised?)

    python -m benchmarks.run sentences          # NSP_BENCH_SENTENCES=DIR keeps (and reuses) the run there
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from benchmarks.common import in_kept_or_temporary_dir, nsp, result, train_from_preset
from nsp.data.sentences import DEFAULT_TASKS
from nsp.evaluation.metrics import bootstrap_ci

COMMAND = "python -m benchmarks.run sentences"
CONFIG = "stages/configs/sentences_tiny.yaml"
MODEL = ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm", "generator.context_clips=3",
         "generator.history_frames=9"]  # as the config composes it: the cache is made with the same VAE and VLM
NEW_TASK, SHOTS, FEWSHOT_STEPS, FEWSHOT_LR = "vflip", 20, 600, 3.0e-4
# A LoRA (rank 16) on the DiT alone, 300 steps at the stage's rate, had reached 0.10 on the new task (README).
FEWSHOT_TRAINABLE = "[queries, connector, transformer]"


def measure(root: Path) -> list[dict]:
    pairs, data = root / "pairs", root / "data"
    demo = os.environ.get("NSP_BENCH_DEMO")
    source = Path(demo) / "data" if demo else pairs
    if not (source / "manifest.json").is_file():
        nsp("data", "synth", "--world", "continuation", "--out", source)
    if not (data / "manifest.json").is_file():
        nsp("data", "sentences", "--data", source, "--out", data, "--train", 300, "--val", 4, "--test", 40,
            "--inverse")
    report = train_from_preset(root, data, CONFIG, MODEL)
    s = report["sentences"]
    above = s["task_accuracy_ci"][0] > s["chance"]
    return [result("sentences_task_accuracy_tiny", round(s["task_accuracy"], 4),
                   "share of test sentences whose prediction is nearest its own task's result", round(s["chance"], 4),
                   "higher", COMMAND, ci=s["task_accuracy_ci"], clearly_above_chance=above,
                   pair_accuracy=s["pair_accuracy"], pair_accuracy_ci=s["pair_accuracy_ci"],
                   pair_chance=s["pair_chance"], by_task=s["by_task"], confusion=s["confusion"], inverse=s["inverse"],
                   sentences=report["contexts"],
                   train_command=f"nsp train sft --config {CONFIG} --data DATA --out RUN data.cache=LATENTS"),
            few_shot(root, source)]


def few_shot(root: Path, source: Path) -> dict:
    """The new task from SHOTS sentences: a fine-tune of the sentence-trained checkpoint, measured before and after
    (and on its own training sentences, which tells not learnt from not generalised)."""
    tasks = ",".join([*DEFAULT_TASKS, NEW_TASK])
    shots, test, mixed = root / "fewshot_data", root / "six_tasks_test", root / "six_tasks_mixed_test"
    for out, extra in ((shots, ["--train", SHOTS, "--val", 2, "--test", 0]),
                       (test, ["--train", 0, "--val", 0, "--test", 40]),
                       (mixed, ["--train", 0, "--val", 0, "--test", 40, "--example-images"])):
        if not (out / "manifest.json").is_file():
            nsp("data", "sentences", "--data", source, "--out", out, "--tasks", tasks, *extra)
    latents, run = root / "fewshot_latents", root / "fewshot_run"
    if not (latents / "manifest.json").is_file():
        nsp("data", "cache", "--data", shots, "--checkpoint", root / "init", "--out", latents)
    if not (run / "final").is_dir():
        nsp("train", "sft", "--config", CONFIG, "--data", shots, "--out", run, "--init", root / "run" / "final",
            f"data.cache={latents}", f"optim.lr={FEWSHOT_LR}", "run.val_every=100", "run.save_every=100",
            f"phases=[{{name: fewshot, steps: {FEWSHOT_STEPS}, trainable: {FEWSHOT_TRAINABLE}}}]")
    reports = {}
    for model, checkpoint in (("before", root / "run" / "final"), ("after", run / "final")):
        for name, split in (("video", test), ("mixed", mixed)):
            out = root / "fewshot_eval" / f"{model}_{name}"
            if not (out / "report.json").is_file():
                nsp("eval", "--checkpoint", checkpoint, "--data", split, "--out", out, "--steps", 10)
            reports[(model, name)] = json.loads((out / "report.json").read_text())["sentences"]
    fit = root / "fewshot_eval" / "after_training_sentences"
    if not (fit / "report.json").is_file():
        nsp("eval", "--checkpoint", run / "final", "--data", shots, "--split", "train", "--out", fit, "--steps", 10)
    trained_on = json.loads((fit / "report.json").read_text())["sentences"]

    def known(r: dict) -> dict:  # the five trained tasks pooled: share recognised (the confusion's diagonal)
        c = r["confusion"]
        right = np.concatenate([np.repeat([1.0, 0.0], [c[t][t], sum(c[t].values()) - c[t][t]]) for t in DEFAULT_TASKS])
        return {"accuracy": round(float(right.mean()), 4), "ci": [round(v, 4) for v in bootstrap_ci(right)]}

    def brief(r: dict) -> dict:
        return {"new_task": r["by_task"][NEW_TASK]["accuracy"], "known_tasks": known(r),
                "by_task": {t: v["accuracy"] for t, v in r["by_task"].items()}, "confusion": r["confusion"]}

    after = reports[("after", "video")]
    return result("sentences_fewshot_new_task_tiny", round(after["by_task"][NEW_TASK]["accuracy"], 4),
                  f"share of test sentences of a task learnt from {SHOTS} sentences ({NEW_TASK}) whose prediction is "
                  "nearest its own task's result, of six tasks", 0.6, "higher", COMMAND, chance=round(1 / 6, 4),
                  shots=SHOTS, steps=FEWSHOT_STEPS, lr=FEWSHOT_LR, trainable=FEWSHOT_TRAINABLE,
                  test_sentences_per_task=after["by_task"][NEW_TASK]["sentences"],
                  before=brief(reports[("before", "video")]), after=brief(after),
                  mixed_contexts={"before": brief(reports[("before", "mixed")]),
                                  "after": brief(reports[("after", "mixed")])},
                  on_its_training_sentences=brief(trained_on),
                  note=f"{FEWSHOT_TRAINABLE} fine-tuned from the sentence-trained checkpoint, {FEWSHOT_STEPS} "
                       f"steps at lr {FEWSHOT_LR} on {SHOTS} queries under the six tasks ({SHOTS} {NEW_TASK} sentences, the rest "
                       "the known tasks' so they are kept); mixed_contexts: the example pair as images (the example's "
                       "last frame held), the query a video",
                  train_command=f"nsp train sft --config {CONFIG} --init SENTENCES_RUN/final --data FEWSHOT "
                                f"optim.lr={FEWSHOT_LR} phases=[{{name: fewshot, steps: {FEWSHOT_STEPS}, "
                                f"trainable: {FEWSHOT_TRAINABLE}}}]")


def run() -> list[dict]:
    return in_kept_or_temporary_dir("NSP_BENCH_SENTENCES", measure)
