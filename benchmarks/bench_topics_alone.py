"""Everything is a video, the text task with a model of its own: is topics limited by sharing the model and its steps
with five other tasks (bench_everything), or by the understanding path itself?

The same recipe as bench_everything (stages/configs/everything_tiny.yaml, from the tiny preset with the reader VLM)
on `nsp data everything --tasks topics` alone: 500 training sentences per topic, 60 held out, STEPS steps. The
checkpoints along the way are exported and evaluated too (the learning curve), the final model once more with
stronger classifier-free guidance (what the condition adds, amplified), and its path ablation (`nsp eval --paths`:
the condition from the queries real / null / shuffled x the DiT's clean view of the rendered words on / off, each
cell's accuracy), which says what carries the topic. Record:
    everything_topics_alone_accuracy_tiny   share of held-out sentences whose answer clip reads back as the right
                                            topic (target 0.8, the issue's goal; chance 1/3), with the curve

    python -m benchmarks.run topics_alone        # NSP_BENCH_TOPICS=DIR keeps (and reuses) the run there
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.bench_everything import CONFIG, MODEL, TOPICS_FIRST, phases
from benchmarks.common import in_kept_or_temporary_dir, nsp, result, train_from_preset

COMMAND = "python -m benchmarks.run topics_alone"
STEPS, EVERY, STRONG_GUIDANCE = TOPICS_FIRST, 600, 6.0


def accuracy(report: dict) -> dict:
    c = report["classification"]["topics"]
    return {"accuracy": round(c["accuracy"], 4), "ci": c["accuracy_ci"], "confusion": c["confusion"]}


def evaluated(checkpoint: Path, data: Path, out: Path, *extra) -> dict:
    """`nsp eval` of `checkpoint` on the test split into `out` (kept, reused): the report."""
    if not (out / "report.json").is_file():
        nsp("eval", "--checkpoint", checkpoint, "--data", data, "--out", out, "--steps", 10, *extra)
    return json.loads((out / "report.json").read_text())


def measure(root: Path) -> list[dict]:
    data = root / "data"
    if not (data / "manifest.json").is_file():
        nsp("data", "everything", "--out", data, "--tasks", "topics")
    saving = (f"run.val_every={EVERY}", f"run.save_every={EVERY}", f"run.keep_last={STEPS // EVERY}")
    final = train_from_preset(root, data, CONFIG, MODEL, train=(phases(STEPS), *saving))
    curve = {}
    for saved in sorted((root / "run" / "checkpoints").glob("step-*")):  # every one the run kept, but the last
        step = int(saved.name.split("-")[1])
        if step >= STEPS:
            continue
        checkpoint = root / f"ck_{step:07d}"
        if not (checkpoint / "nsp_config.json").is_file():
            nsp("export", saved, "--out", checkpoint)
        curve[step] = accuracy(evaluated(checkpoint, data, root / f"eval_{step:07d}"))["accuracy"]
    curve[STEPS] = accuracy(final)["accuracy"]
    trained = root / "run" / "final"
    strong = evaluated(trained, data, root / f"eval_g{STRONG_GUIDANCE:g}", "--guidance", STRONG_GUIDANCE)
    cells = evaluated(trained, data, root / "eval_paths", "--paths")["paths"]["cells"]
    c = final["classification"]["topics"]
    return [result("everything_topics_alone_accuracy_tiny", round(c["accuracy"], 4),
                   "share of held-out sentences whose answer clip reads back as the right topic (a model trained on "
                   "the text task alone)", 0.8, "higher", COMMAND, ci=c["accuracy_ci"], chance=round(c["chance"], 4),
                   samples=c["samples"], confusion=c["confusion"], steps=STEPS, accuracy_by_step=curve,
                   guidance=final["settings"]["guidance"],
                   stronger_guidance={"guidance": STRONG_GUIDANCE, **accuracy(strong)},
                   accuracy_by_path={f"{cell['condition']} condition, history {'on' if cell['history'] else 'off'}":
                                     {"accuracy": round(cell["accuracy"], 4), "ci": cell["accuracy_ci"]}
                                     for cell in cells},
                   train_command=f"nsp train sft --config {CONFIG} --data DATA --out RUN data.cache=LATENTS "
                                 f"'{phases(STEPS)}'")]


def run() -> list[dict]:
    return in_kept_or_temporary_dir("NSP_BENCH_TOPICS", measure)
