"""Visual sentences (UniVid) on the synthetic world: does the example pair decide the transformation?

From a finished demo run (NSP_BENCH_DEMO=DIR; without it the demo is run first, about 20 minutes): sentences built
from the demo's synthetic pairs (20 queries per task for training, 40 for testing, five tasks, each also read
backwards), a few-shot LoRA on the DiT through the normal SFT stage from the demo's SFT checkpoint (the context is
now three clips, all seen clean: generator.context_clips=3, history_frames=9), then `nsp eval` on the test
sentences. Records:
    sentences_task_accuracy_tiny  share of test sentences whose prediction is nearest to its own task's result of
                                  the same query (target: chance, 1 / 5), with per-task accuracy, the confusion
                                  matrix and the inverse (backwards) sentences

    NSP_BENCH_DEMO=runs/demo python -m benchmarks.run sentences
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import nsp, on_demo_run, result

COMMAND = "NSP_BENCH_DEMO=DEMO python -m benchmarks.run sentences"
STEPS = 600
TRAIN = ["--config", "stages/configs/sft_tiny.yaml", "--resume",
         "model.overrides=[generator.vae_path=nsp:tiny_vae, vlm.path=nsp:tiny_vlm, generator.context_clips=3]",
         "model.history_frames=9", "dit.lora_rank=16", "data.context_text=0",
         f"phases=[{{name: sentences, steps: {STEPS}, trainable: [queries, connector, transformer]}}]"]



def measure(demo: Path) -> list[dict]:
    data, latents, run, out = (demo / n for n in ("sentences", "sentences_latents", "sft_sentences",
                                                  "eval_sentences"))
    if not (data / "manifest.json").is_file():
        nsp("data", "sentences", "--data", demo / "data", "--out", data, "--train", 20, "--val", 4, "--test", 40,
            "--inverse")
    if not (latents / "manifest.json").is_file():
        nsp("data", "cache", "--data", data, "--checkpoint", demo / "sft" / "final", "--out", latents)
    if not (run / "final").is_dir():
        nsp("train", "sft", *TRAIN, "--init", demo / "sft" / "final", "--out", run, f"data.cache={latents}")
    if not (out / "report.json").is_file():
        nsp("eval", "--checkpoint", run / "final", "--data", data, "--out", out, "--steps", 10)
    report = json.loads((out / "report.json").read_text())
    s = report["sentences"]
    return [result("sentences_task_accuracy_tiny", round(s["task_accuracy"], 4),
                   "share of test sentences whose prediction is nearest its own task's result", round(s["chance"], 4),
                   "higher", COMMAND, ci=s["task_accuracy_ci"], by_task=s["by_task"], confusion=s["confusion"],
                   inverse=s["inverse"], sentences=report["contexts"], lora_steps=STEPS,
                   train_command="nsp train sft " + " ".join(TRAIN) + " --init DEMO/sft/final --out RUN "
                                 "data.cache=LATENTS")]


def run() -> list[dict]:
    return on_demo_run(measure)
