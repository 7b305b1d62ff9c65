"""Do stages 1 and 2 learn? The tiny preset on the synthetic world, with the shipped tiny VAE:

    nsp data synth --out DATA --train 2000 --val 200 --test 200
    nsp init --preset tiny --out INIT generator.vae_path=nsp:tiny_vae vlm.path=nsp:tiny_vlm
    nsp data cache --data DATA --checkpoint INIT --out LATENTS
    nsp train t2v --config stages/configs/t2v_tiny.yaml data.cache=LATENTS --out T2V
    nsp train sft --config stages/configs/sft_tiny.yaml data.cache=LATENTS --init T2V/final --out SFT

Recorded: the validation loss (fixed batches, fixed noise) of the untrained model, after t2v and after sft, on the
t2v validation task (caption -> next clip) and on the sft one ((clip, caption) -> next clip)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import result

COMMAND = "make bench  # python -m benchmarks.run training (runs the five commands in the module docstring)"
REPO = Path(__file__).resolve().parent.parent
TINY_ASSETS = ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm"]  # the shipped pretrained tiny parts


def nsp(*args) -> None:
    subprocess.run([sys.executable, "-m", "nsp.cli.main", *map(str, args)], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)


def val_loss(stage_name: str, config: str, checkpoint: Path | None, latents: Path) -> float:
    """The stage's validation loss for a checkpoint (None: the untrained tiny model), as the engine computes it."""
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel
    from nsp.stages import STAGES
    from nsp.stages.config import load_train_config
    from nsp.stages.engine import validation_loss

    cfg = load_train_config(REPO / config, [f"data.cache={latents}"])
    if checkpoint is None:
        torch.manual_seed(cfg.run.seed)
        model = NSPModel.from_config(preset_config("tiny", TINY_ASSETS))
    else:
        model = NSPModel.from_pretrained(checkpoint)
    stage = STAGES[stage_name](cfg, model.eval())
    return validation_loss(stage, stage.val_batches())


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, init, latents = tmp / "synth", tmp / "init", tmp / "latents"
        start = time.perf_counter()
        nsp("data", "synth", "--world", "continuation", "--out", data, "--train", 2000, "--val", 200, "--test", 200)
        nsp("init", "--preset", "tiny", "--out", init, *TINY_ASSETS)
        nsp("data", "cache", "--data", data, "--checkpoint", init, "--out", latents)
        nsp("train", "t2v", "--config", "stages/configs/t2v_tiny.yaml", f"data.cache={latents}", "--out", tmp / "t2v")
        t2v_minutes = (time.perf_counter() - start) / 60
        nsp("train", "sft", "--config", "stages/configs/sft_tiny.yaml", f"data.cache={latents}",
            "--init", tmp / "t2v" / "final", "--out", tmp / "sft")
        total_minutes = (time.perf_counter() - start) / 60
        losses = {}
        for task, config in (("t2v", "stages/configs/t2v_tiny.yaml"), ("sft", "stages/configs/sft_tiny.yaml")):
            losses[task] = {
                "untrained": val_loss(task, config, None, latents),
                "after_t2v": val_loss(task, config, tmp / "t2v" / "final", latents),
                "after_sft": val_loss(task, config, tmp / "sft" / "final", latents),
            }
        curves = {name: [json.loads(line) for line in (tmp / name / "metrics.jsonl").read_text().splitlines()
                         if "val_loss" in line] for name in ("t2v", "sft")}
    rounded = {t: {k: round(v, 4) for k, v in d.items()} for t, d in losses.items()}
    return [
        result("t2v_val_loss_tiny", rounded["t2v"]["after_t2v"], "flow-matching val loss (caption -> clip)",
               round(0.8 * rounded["t2v"]["untrained"], 4), "lower", COMMAND, untrained=rounded["t2v"]["untrained"],
               after_sft=rounded["t2v"]["after_sft"], minutes=round(t2v_minutes, 1),
               curve=[(c["step"], round(c["val_loss"], 4)) for c in curves["t2v"]],
               note="target: clearly below the untrained model (80 % of its loss)"),
        result("sft_val_loss_tiny", rounded["sft"]["after_sft"], "flow-matching val loss ((clip, text) -> next clip)",
               round(0.8 * rounded["sft"]["untrained"], 4), "lower", COMMAND, untrained=rounded["sft"]["untrained"],
               after_t2v=rounded["sft"]["after_t2v"], minutes_total=round(total_minutes, 1),
               curve=[(c["step"], round(c["val_loss"], 4)) for c in curves["sft"]],
               note="target: clearly below the untrained model (80 % of its loss)"),
    ]
