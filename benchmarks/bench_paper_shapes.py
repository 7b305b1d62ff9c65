"""The paper preset at full depth on a CPU, random weights in bf16: what each part costs in time and memory.

Two parts, each in a process of its own (its peak resident memory is its own):
  vlm  Qwen2.5-VL-7B (28 + 32 layers) reads a 5 s 360x640 context the way the paper samples it, and the queries and
       the connector turn it into the DiT's condition;
  dit  LTX-Video 2B (28 blocks) + its VAE: one prediction at reduced frames and size, then one SFT step (flow
       matching, backward, 8-bit AdamW, gradient checkpointing) on the DiT, queries and connector.
The whole model in one process needs about the sum of the two parts' weights, more than a 24 GiB machine holds beside
anything else; `build_peak_over_weights` checks that a random build costs its weights and not twice them (fp32 first).

    python -m benchmarks.run paper_shapes
    python -m benchmarks.bench_paper_shapes vlm      # one part, its record printed as JSON
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np

from benchmarks.common import REPO, result

NAME = "paper_shapes_cpu"
COMMAND = "python -m benchmarks.run paper_shapes"
FRAMES, HEIGHT, WIDTH, STEPS = 17, 256, 448, 4  # the prediction's reduced size (the paper: 65 x 480 x 832, 20 steps)


def _rss_gb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _build(overrides: list[str]) -> tuple[object, dict]:
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel

    torch.manual_seed(0)
    before, start = _rss_gb(), time.perf_counter()
    model = NSPModel.from_config(preset_config("paper", overrides))
    weights = sum(p.numel() * p.element_size() for p in model.parameters()) / 2**30
    record = {"build_s": round(time.perf_counter() - start, 1), "weights_gb": round(weights, 2),
              "build_peak_over_weights": round((_peak_gb() - before) / weights, 3)}
    return model, record


def part_vlm() -> dict:
    import torch

    from nsp.video.io import Clip

    # The VLM at full depth; a one-block DiT stands in for the generator, which this part does not measure.
    model, record = _build(["generator.depth=1", "generator.num_frames=9", "generator.height=64",
                            "generator.width=64"])
    record["vlm_parameters_b"] = round(sum(p.numel() for p in model.context_encoder.vlm.parameters()) / 1e9, 2)
    clip = Clip(np.random.default_rng(0).integers(0, 256, (120, 360, 640, 3), dtype=np.uint8), 24.0)
    start = time.perf_counter()
    batch = model.prepare_context(["a person walks to the door"], [clip])
    record["prepare_s"] = round(time.perf_counter() - start, 2)
    record["context_tokens"] = int(batch.input_ids.shape[1])
    start = time.perf_counter()
    with torch.no_grad():
        condition = model.condition(batch)
    record["read_context_s"] = round(time.perf_counter() - start, 1)
    record["condition_shape"] = list(condition.shape)
    record["peak_gb"] = round(_peak_gb(), 2)
    return record


def part_dit() -> dict:
    import torch

    from nsp.generation.ltx import frames_to_video
    from nsp.pipeline import NSPPipeline
    from nsp.video.io import Clip

    # The DiT and VAE at full depth; a one-layer VLM (its real width) stands in for the reader measured in `vlm`.
    model, record = _build(["vlm.depth=1", f"generator.num_frames={FRAMES}", f"generator.height={HEIGHT}",
                            f"generator.width={WIDTH}", f"sampling.steps={STEPS}"])
    record["dit_parameters_b"] = round(sum(p.numel() for p in model.generator.transformer.parameters()) / 1e9, 2)
    rng = np.random.default_rng(0)
    clip = Clip(rng.integers(0, 256, (48, 360, 640, 3), dtype=np.uint8), 24.0)
    start = time.perf_counter()
    frames = NSPPipeline(model)(clip, "a person walks to the door", progress=False).frames
    record["predict_s"] = round(time.perf_counter() - start, 1)
    record["predict"] = f"{FRAMES}x{HEIGHT}x{WIDTH}, {STEPS} steps, CFG {model.config.sampling.guidance}"
    assert frames.shape == (1, FRAMES, HEIGHT, WIDTH, 3)
    record["predict_peak_gb"] = round(_peak_gb(), 2)

    # The SFT step as the paper's recipe runs it on a GPU: 8-bit AdamW, gradient checkpointing in the DiT.
    from nsp.stages.config import OptimSection
    from nsp.stages.engine import build_optimizer

    model.set_trainable("sft")
    model.generator.transformer.enable_gradient_checkpointing()
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(OptimSection(name="adamw8bit", lr=1e-5), trained, 1e-5)
    target = rng.integers(0, 256, (1, FRAMES, HEIGHT, WIDTH, 3), dtype=np.uint8)
    grid = model.generator.latent_grid(FRAMES, HEIGHT, WIDTH)
    start = time.perf_counter()
    with torch.no_grad():
        latents = model.generator.encode(frames_to_video(target))
    batch = model.prepare_context(["a person walks to the door"], [clip])
    loss = model.flow_matching_loss(model.condition(batch), latents, 24.0, grid, torch.Generator().manual_seed(0))
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    record["sft_step_s"] = round(time.perf_counter() - start, 1)
    record["sft_tokens"] = int(np.prod(grid))
    record["trained_parameters_b"] = round(sum(p.numel() for p in trained) / 1e9, 2)
    record["sft_recipe"] = "8-bit AdamW (bitsandbytes), DiT gradient checkpointing, bf16 weights and gradients"
    record["peak_gb"] = round(_peak_gb(), 2)
    return record


PARTS = {"vlm": part_vlm, "dit": part_dit}


def run() -> list[dict]:
    parts = {}
    for name in PARTS:
        out = subprocess.run([sys.executable, "-m", "benchmarks.bench_paper_shapes", name], cwd=REPO, check=True,
                             capture_output=True, text=True).stdout
        parts[name] = json.loads(out.strip().splitlines()[-1])
        print(f"   {name}: {parts[name]}", flush=True)
    peak = max(p["peak_gb"] for p in parts.values())
    return [result(NAME, peak, "GB", 24.0, "lower", COMMAND, parts=parts,
                   note="value: the larger part's peak resident memory (each part in its own process); "
                        "random weights, bf16, full depth; the model whole needs about the sum of the parts' weights")]


if __name__ == "__main__":
    from nsp.environment import configure_command_process

    configure_command_process()
    print(json.dumps(PARTS[sys.argv[1]]()))
