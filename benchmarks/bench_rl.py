"""Does RL raise the oracle pass rate on held-out contexts? GRPO (stages/configs/rl_tiny.yaml) from the SFT
checkpoint of the tiny training chain, on the synthetic world; pass rate and mean oracle score of deterministic
predictions (20 Euler steps, CFG 3) on the first N test contexts, before and after RL.

    python -m benchmarks.run rl          (set NSP_BENCH_SFT=CK to start from an existing SFT checkpoint and data:
                                          NSP_BENCH_DATA=DIR; otherwise the chain of bench_training runs first)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import result

COMMAND = "make bench  # python -m benchmarks.run rl"
REPO = Path(__file__).resolve().parent.parent
TINY_ASSETS = ["generator.vae_path=nsp:tiny_vae", "vlm.path=nsp:tiny_vlm"]


def nsp(*args) -> None:
    subprocess.run([sys.executable, "-m", "nsp.cli.main", *map(str, args)], cwd=REPO, check=True,
                   stdout=subprocess.DEVNULL)


def held_out(checkpoint: Path, data: Path, count: int = 64) -> dict:
    import torch

    from nsp.data.loader import PairStream
    from nsp.data.oracle import judge
    from nsp.data.world import Scene
    from nsp.pipeline import NSPPipeline

    pipe = NSPPipeline.from_pretrained(checkpoint)
    passed, scores = [], []
    for i, pair in enumerate(PairStream(data, "test", shuffle=False)):
        if i == count:
            break
        text = pair.meta.get("captions", {}).get("context")
        out = pipe(pair.context, text, num_inference_steps=20, guidance_scale=3.0, seed=i, progress=False)
        j = judge(Scene.from_json(pair.meta["scene"]), out.frames[0])
        passed.append(j.passed)
        scores.append(j.score)
        del out
    torch.cuda.empty_cache() if torch.cuda.is_available() else None
    return {"pass_rate": float(np.mean(passed)), "score": float(np.mean(scores)), "contexts": len(passed)}


def run() -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        sft, data = os.environ.get("NSP_BENCH_SFT"), os.environ.get("NSP_BENCH_DATA")
        if not (sft and data):
            data, init, latents = tmp / "synth", tmp / "init", tmp / "latents"
            nsp("data", "synth", "--out", data, "--train", 2000, "--val", 200, "--test", 200)
            nsp("init", "--preset", "tiny", "--out", init, *TINY_ASSETS)
            nsp("data", "cache", "--data", data, "--checkpoint", init, "--out", latents)
            nsp("train", "t2v", "--config", "stages/configs/t2v_tiny.yaml", f"data.cache={latents}", "--out", tmp / "t2v")
            nsp("train", "sft", "--config", "stages/configs/sft_tiny.yaml", f"data.cache={latents}",
                "--init", tmp / "t2v" / "final", "--out", tmp / "sft")
            sft = tmp / "sft" / "final"
        sft, data = Path(sft), Path(data)
        before = held_out(sft, data)
        start = time.perf_counter()
        nsp("train", "rl", "--config", "stages/configs/rl_tiny.yaml", "--data", data, "--init", sft, "--out", tmp / "rl")
        minutes = (time.perf_counter() - start) / 60
        after = held_out(tmp / "rl" / "final", data)
    return [result("rl_pass_rate_tiny", round(after["pass_rate"], 4), "oracle pass rate on held-out test contexts",
                   round(before["pass_rate"], 4), "higher", COMMAND, before_rl=before, after_rl=after,
                   rl_minutes=round(minutes, 1),
                   note="target: above the SFT checkpoint's pass rate (the value under `target`)")]
