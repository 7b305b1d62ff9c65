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

from pathlib import Path

from benchmarks.common import in_kept_or_temporary_dir, nsp, result, train_from_preset

COMMAND = "python -m benchmarks.run everything"
CONFIG = "stages/configs/everything_tiny.yaml"
# As the config composes it: the cache is made with the same VAE and VLM.
MODEL = ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm_reader", "generator.context_clips=4",
         "vlm.max_tokens=320", "generator.history_frames=4"]


def measure(root: Path) -> list[dict]:
    data = root / "data"
    if not (data / "manifest.json").is_file():
        nsp("data", "everything", "--out", data)
    report = train_from_preset(root, data, CONFIG, MODEL)
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
    return in_kept_or_temporary_dir("NSP_BENCH_EVERYTHING", measure)
