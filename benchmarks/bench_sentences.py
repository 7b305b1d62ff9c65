"""Visual sentences (UniVid) on the synthetic world: does the example pair decide the transformation, and can a
trained model learn a new task from 20 sentences?

Sentences built from synthetic pairs (`nsp data synth`, or the demo's data with NSP_BENCH_DEMO=DIR): 300 queries per
task for training, 40 for testing, five tasks, each also read backwards. The tiny model learns the tasks in context
through the normal SFT stage (stages/configs/sentences_tiny.yaml: the three clips seen by the VLM and, clean, by the
DiT), then `nsp eval` on the test sentences. Then, from that checkpoint, the same SFT stage (queries, connector and
DiT) learns a task it never saw from 20 sentences, beside the same 20 queries under the five known tasks: `vflip` (a
vertical flip) and `slow` (half speed), each from the 20 sentences as they are and augmented (`--augment`: each also
mirrored and colour-rotated as a whole), one fine-tune each. The models are evaluated on 40 test queries under the six
tasks (each prediction read as the task whose result it is nearest, chance 1 / 6; as a control, whether it is nearer
that result than the query itself), on their own training sentences, and, for the headline, on mixed contexts (the
example pair as images, the query a video). Records:
    sentences_task_accuracy_tiny      share of test sentences whose prediction is nearest to its own task's result of
                                      the same query (target: chance, 1 / 5), with per-task accuracy, the confusion
                                      matrix, the pair accuracy (the same query with two tasks' example pairs: both
                                      recognised; chance 1 / 25) and the inverse (backwards) sentences
    sentences_fewshot_new_task_tiny   the headline new task's accuracy after its fine-tune (target 0.6); every new
                                      task and recipe before and after, with the known tasks' accuracy, and on the
                                      fine-tune's own training sentences (learnt, or only not generalised?)

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
NEW_TASKS, SHOTS, TEST_QUERIES, FEWSHOT_STEPS, FEWSHOT_LR = ("vflip", "slow"), 20, 40, 600, 3.0e-4
# A LoRA (rank 16) on the DiT alone, 300 steps at the stage's rate, had reached 0.10 on vflip (README).
FEWSHOT_TRAINABLE = "[queries, connector, transformer]"
HEADLINE = "slow_augmented"  # chosen by measurement (README): the record's value is this run's new-task accuracy


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
    """Each new task from SHOTS sentences: a fine-tune of the sentence-trained checkpoint per task (and per recipe,
    plain or augmented), measured before and after, with mixed contexts, and on its own training sentences (which
    tells not learnt from not generalised)."""
    runs = dict(learn_new_task(root, source, task, augment) for task in NEW_TASKS for augment in (False, True))
    head = runs[HEADLINE]
    return result("sentences_fewshot_new_task_tiny", head["after"]["new_task"],
                  f"share of test sentences of a task learnt from {SHOTS} sentences ({HEADLINE}) whose prediction is "
                  "nearest its own task's result, of six tasks", 0.6, "higher", COMMAND, chance=round(1 / 6, 4),
                  headline=HEADLINE, shots=SHOTS, steps=FEWSHOT_STEPS, lr=FEWSHOT_LR, trainable=FEWSHOT_TRAINABLE,
                  test_sentences_per_task=TEST_QUERIES, by_new_task=runs,
                  note=f"{FEWSHOT_TRAINABLE} fine-tuned from the sentence-trained checkpoint, {FEWSHOT_STEPS} steps at "
                       f"lr {FEWSHOT_LR} on {SHOTS} queries under six tasks (the five known and one new, so the known "
                       "are kept), one fine-tune per new task; '_augmented': the same sentences also mirrored and "
                       "colour-rotated as a whole (`nsp data sentences --augment`); nearer_than_copy: share of the "
                       "new task's predictions nearer its result than the query itself; mixed_contexts: the example "
                       "pair as images (the example's last frame held), the query a video",
                  train_command=f"nsp train sft --config {CONFIG} --init SENTENCES_RUN/final --data FEWSHOT "
                                f"optim.lr={FEWSHOT_LR} phases=[{{name: fewshot, steps: {FEWSHOT_STEPS}, "
                                f"trainable: {FEWSHOT_TRAINABLE}}}]")


def learn_new_task(root: Path, source: Path, task: str, augment: bool) -> tuple[str, dict]:
    """(the run's name, its measurements): the name is also its directory under `root`."""
    name = task + ("_augmented" if augment else "")
    here, tests = root / name, root / task  # the test splits and the model before do not depend on the recipe
    headline = name == HEADLINE  # mixed contexts are measured for the headline's model
    splits = {here / "shots": ["--train", SHOTS, "--val", 2, "--test", 0, *(["--augment"] if augment else [])],
              tests / "test": ["--train", 0, "--val", 0, "--test", TEST_QUERIES]}
    if headline:
        splits[tests / "mixed_test"] = ["--train", 0, "--val", 0, "--test", TEST_QUERIES, "--example-images"]
    for out, extra in splits.items():
        if not (out / "manifest.json").is_file():
            nsp("data", "sentences", "--data", source, "--out", out, "--tasks", ",".join([*DEFAULT_TASKS, task]),
                *extra)
    shots, latents, run = here / "shots", here / "latents", here / "run"
    if not (latents / "manifest.json").is_file():
        nsp("data", "cache", "--data", shots, "--checkpoint", root / "init", "--out", latents)
    if not (run / "final").is_dir():
        nsp("train", "sft", "--config", CONFIG, "--data", shots, "--out", run, "--init", root / "run" / "final",
            f"data.cache={latents}", f"optim.lr={FEWSHOT_LR}", "run.val_every=100", "run.save_every=100",
            f"phases=[{{name: fewshot, steps: {FEWSHOT_STEPS}, trainable: {FEWSHOT_TRAINABLE}}}]")

    def evaluated(out: Path, checkpoint: Path, data: Path, *split: str) -> dict:
        if not (out / "report.json").is_file():
            nsp("eval", "--checkpoint", checkpoint, "--data", data, *split, "--out", out, "--steps", 10)
        r = json.loads((out / "report.json").read_text())["sentences"]
        c = r["confusion"]  # the five known tasks pooled: share recognised (the confusion's diagonal)
        right = np.concatenate([np.repeat([1.0, 0.0], [c[t][t], sum(c[t].values()) - c[t][t]]) for t in DEFAULT_TASKS])
        return {"new_task": r["by_task"][task]["accuracy"],
                "new_task_nearer_than_copy": r["by_task"][task]["nearer_than_copy"],
                "known_tasks": {"accuracy": round(float(right.mean()), 4),
                                "ci": [round(v, 4) for v in bootstrap_ci(right)]},
                "by_task": {t: v["accuracy"] for t, v in r["by_task"].items()}, "confusion": c}

    before, after = root / "run" / "final", run / "final"  # the sentence-trained model; the fine-tuned one
    measured = {"task": task, "augmented": augment, "before": evaluated(tests / "eval_before", before, tests / "test"),
                "after": evaluated(here / "eval", after, tests / "test"),
                "on_its_training_sentences": evaluated(here / "eval_train", after, shots, "--split", "train")}
    if headline:
        measured["mixed_contexts"] = {"before": evaluated(tests / "eval_mixed_before", before, tests / "mixed_test"),
                                      "after": evaluated(here / "eval_mixed", after, tests / "mixed_test")}
    return name, measured


def run() -> list[dict]:
    return in_kept_or_temporary_dir("NSP_BENCH_SENTENCES", measure)
