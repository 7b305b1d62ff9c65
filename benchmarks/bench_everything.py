"""Everything is a video: classification as next-frame prediction on three rendered tasks (image, audio, text).

From scratch (the tiny preset with the shipped VAE and VLM; nothing to do with the demo run): `nsp data everything`
(500 training samples per task, 60 test), the latent cache, `nsp train sft` with stages/configs/everything_tiny.yaml,
then `nsp eval` on the test split, where each generated answer clip is read back as the nearest rendered label frame
(as the model's VAE draws it).
Records, per task:
    everything_<task>_accuracy_tiny   share of test samples answered right (target: chance, 1/3; "clearly above"
                                      is the bootstrap interval's lower end above it)

    python -m benchmarks.run everything            # NSP_BENCH_EVERYTHING=DIR keeps (and reuses) the run there
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from benchmarks.common import nsp, result

COMMAND = "python -m benchmarks.run everything"
CONFIG = "stages/configs/everything_tiny.yaml"
MODEL = ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm_reader", "generator.context_clips=4",
         "vlm.max_tokens=320", "generator.history_frames=4"]  # as the config composes it: the cache is made with the same VAE and VLM


def measure(root: Path) -> list[dict]:
    data, init, latents, run, out = (root / n for n in ("data", "init", "latents", "run", "eval"))
    if not (data / "manifest.json").is_file():
        nsp("data", "everything", "--out", data)
    if not (init / "nsp_config.json").is_file():
        nsp("init", "--preset", "tiny", "--out", init, *MODEL)
    if not (latents / "manifest.json").is_file():
        nsp("data", "cache", "--data", data, "--checkpoint", init, "--out", latents)
    if not (run / "final").is_dir():
        nsp("train", "sft", "--config", CONFIG, "--data", data, "--out", run, f"data.cache={latents}")
    if not (out / "report.json").is_file():
        nsp("eval", "--checkpoint", run / "final", "--data", data, "--out", out, "--steps", 10)
    report = json.loads((out / "report.json").read_text())
    records = []
    for task, c in report["classification"].items():
        records.append(result(f"everything_{task}_accuracy_tiny", round(c["accuracy"], 4),
                              "share of test samples whose answer clip reads back as the right label",
                              round(c["chance"], 4), "higher", COMMAND, ci=c["accuracy_ci"],
                              clearly_above_chance=c["accuracy_ci"][0] > c["chance"], samples=c["samples"],
                              confusion=c["confusion"], train_command=f"nsp train sft --config {CONFIG} --data DATA "
                                                                      "--out RUN data.cache=LATENTS"))
    return records


def run() -> list[dict]:
    given = os.environ.get("NSP_BENCH_EVERYTHING")
    if given:
        return measure(Path(given))
    with tempfile.TemporaryDirectory() as tmp:
        return measure(Path(tmp))
