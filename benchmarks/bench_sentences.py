"""Visual sentences (UniVid) on the synthetic world: does the example pair decide the transformation?

Sentences built from synthetic pairs (`nsp data synth`, or the demo's data with NSP_BENCH_DEMO=DIR): 300 queries per
task for training, 40 for testing, five tasks, each also read backwards. The tiny model learns the tasks in context
through the normal SFT stage (stages/configs/sentences_tiny.yaml: the three clips seen by the VLM and, clean, by the
DiT), then `nsp eval` on the test sentences. Records:
    sentences_task_accuracy_tiny  share of test sentences whose prediction is nearest to its own task's result of
                                  the same query (target: chance, 1 / 5), with per-task accuracy, the confusion
                                  matrix, the pair accuracy (the same query with two tasks' example pairs: both
                                  recognised; chance 1 / 25) and the inverse (backwards) sentences

    python -m benchmarks.run sentences          # NSP_BENCH_SENTENCES=DIR keeps (and reuses) the run there
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.common import in_kept_or_temporary_dir, nsp, result, train_from_preset

COMMAND = "python -m benchmarks.run sentences"
CONFIG = "stages/configs/sentences_tiny.yaml"
MODEL = ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm", "generator.context_clips=3",
         "generator.history_frames=9"]  # as the config composes it: the cache is made with the same VAE and VLM


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
                   train_command=f"nsp train sft --config {CONFIG} --data DATA --out RUN data.cache=LATENTS")]


def run() -> list[dict]:
    return in_kept_or_temporary_dir("NSP_BENCH_SENTENCES", measure)
