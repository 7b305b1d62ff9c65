"""The GPU figures at the paper's shapes, random weights: one prepared script (budget: 8 minutes on one H200).

  P1  NSP vs diffusers' LTXPipeline with its T5-XXL, on the same DiT and VAE: 65x480x832, 20 steps, CFG 3
      -> gpu_vs_ltx_pipeline (value: time ratio NSP/LTX, target <= 1.03; memory ratio, target <= 1.25)
  P2  a 121x512x768 next scene from a 5 s 360x640 context, the VLM's reading included
      -> gpu_next_scene_latency (value: seconds, target <= 2.5 on an H100-class GPU)
  P3  an SFT step (ZeRO-2, 8-bit AdamW, gradient checkpointing, bf16): time, peak memory, MFU, the VLM's share
      -> gpu_sft_step (value: MFU, target >= 0.40; the understanding path's share, target <= 0.10)

    python -m benchmarks.run gpu          # skipped where there is no GPU

The same code runs at tiny size on a CPU in the test suite (`run(size="tiny")`), so it is known to work when a GPU
is lent. Each figure is the second of two runs (the first warms kernels and allocators up).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import result

COMMAND = "python -m benchmarks.run gpu"
PROMPT = "a person walks to the door and opens it"
# Dense bf16 peak FLOP/s by GPU name (the vendor's datasheet figures, no sparsity), for MFU.
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A6000": 155e12}

SIZES = {
    "paper": {"model": [], "p1": (65, 480, 832), "p2": (121, 512, 768), "sft": (65, 480, 832), "steps": 20,
              "context": (120, 360, 640, 24.0),
              # T5-XXL's encoder (LTX-Video's text encoder): 24 layers, 4096 wide.
              "t5": {"d_model": 4096, "d_ff": 10240, "d_kv": 64, "num_heads": 64, "num_layers": 24,
                     "vocab_size": 32128, "feed_forward_proj": "gated-gelu"}},
    "tiny": {"model": ["vlm.dtype=float32", "generator.dtype=float32", "vlm.arch=tiny", "generator.arch=tiny",
                       "connector.num_queries=16", "vlm.max_tokens=256", "vlm.video.fps=4",
                       "vlm.video.min_tokens_per_frame=16", "vlm.video.max_tokens_per_frame=16"],
             "p1": (9, 64, 64), "p2": (17, 64, 64), "sft": (9, 64, 64), "steps": 2, "context": (16, 64, 64, 8.0),
             "t5": {"d_model": 64, "d_ff": 128, "d_kv": 16, "num_heads": 4, "num_layers": 2, "vocab_size": 32128,
                    "feed_forward_proj": "gated-gelu"}},
}


class Meter:
    """Seconds and peak device memory of a block, synchronised (CUDA); on a CPU, seconds only."""

    def __init__(self, device):
        import torch

        self.torch, self.cuda = torch, device.type == "cuda"

    def __call__(self, fn):
        if self.cuda:
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        out = fn()
        if self.cuda:
            self.torch.cuda.synchronize()
        peak = self.torch.cuda.max_memory_allocated() / 2**30 if self.cuda else None
        return out, time.perf_counter() - start, peak


def _context(size):
    from nsp.video.io import Clip

    frames, h, w, fps = SIZES[size]["context"]
    return Clip(np.random.default_rng(0).integers(0, 256, (frames, h, w, 3), dtype=np.uint8), fps)


def build(size: str, device):
    """The paper preset (or its tiny stand-in), random weights, built on the device directly."""
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel

    torch.manual_seed(0)
    with torch.device(device):
        return NSPModel.from_config(preset_config("paper", SIZES[size]["model"]))


def p1_vs_ltx_pipeline(model, size: str, device, meter: Meter) -> dict:
    import torch
    from diffusers import LTXPipeline
    from transformers import T5Config, T5EncoderModel

    from nsp.pipeline import NSPPipeline
    from nsp.understanding.tokenizer import build_tiny_tokenizer

    frames, height, width = SIZES[size]["p1"]
    steps, gen = SIZES[size]["steps"], model.generator
    dtype = gen.transformer.dtype
    with torch.device(device):
        t5 = T5EncoderModel._from_config(T5Config(**SIZES[size]["t5"]), dtype=dtype).eval()
    ltx = LTXPipeline(scheduler=gen.scheduler, vae=gen.vae, text_encoder=t5, tokenizer=build_tiny_tokenizer(),
                      transformer=gen.transformer)
    ltx.set_progress_bar_config(disable=True)
    nsp, clip = NSPPipeline(model), _context(size)
    args = dict(num_frames=frames, height=height, width=width, num_inference_steps=steps, guidance_scale=3.0)

    def run_ltx():
        return ltx(prompt=PROMPT, output_type="np", generator=torch.Generator(device).manual_seed(0), **args)

    def run_nsp():
        return nsp(clip, PROMPT, progress=False, seed=0, **args)

    out = {}
    # Each pipeline with only its own text/understanding model on the device.
    for name, fn, own, other in (("ltx", run_ltx, t5, model.context_encoder), ("nsp", run_nsp,
                                                                             model.context_encoder, t5)):
        other.to("cpu")
        own.to(device)
        for _ in range(2):
            _, seconds, peak = meter(fn)
        out[name] = {"seconds": round(seconds, 3), "peak_gb": None if peak is None else round(peak, 2)}
    model.context_encoder.to(device)
    ratio = lambda k: None if out["ltx"][k] is None else round(out["nsp"][k] / out["ltx"][k], 3)  # noqa: E731
    return {"video": f"{frames}x{height}x{width}, {steps} steps, CFG 3", **out, "time_ratio": ratio("seconds"),
            "memory_ratio": ratio("peak_gb")}


def p2_next_scene(model, size: str, meter: Meter) -> dict:
    from nsp.pipeline import NSPPipeline

    frames, height, width = SIZES[size]["p2"]
    steps, pipe, clip = SIZES[size]["steps"], NSPPipeline(model), _context(size)

    def predict():
        return pipe(clip, PROMPT, num_frames=frames, height=height, width=width, num_inference_steps=steps,
                    guidance_scale=3.0, progress=False, seed=0).frames

    for _ in range(2):
        video, seconds, peak = meter(predict)
    assert video.shape == (1, frames, height, width, 3)
    return {"video": f"{frames}x{height}x{width}, {steps} steps, CFG 3, from a {clip.frames.shape[0] / clip.fps:g} s "
                     f"{clip.frames.shape[1]}x{clip.frames.shape[2]} context",
            "seconds": round(seconds, 3), "peak_gb": None if peak is None else round(peak, 2)}


def p3_sft_step(model, size: str, device, meter: Meter, gpu: str) -> dict:
    import deepspeed
    import torch

    from nsp.generation.ltx import frames_to_video
    from nsp.stages.config import OptimSection, load_train_config
    from nsp.stages.engine import build_optimizer, deepspeed_config, setup_distributed

    setup_distributed()
    frames, height, width = SIZES[size]["sft"]
    cfg = load_train_config("sft_paper", ["deepspeed.config=stages/deepspeed/zero2.json", "data.batch_size=1"])
    gen = model.generator
    model.set_trainable("sft")
    gen.transformer.enable_gradient_checkpointing()
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = build_optimizer(OptimSection(name="adamw8bit", lr=1e-5), trained, 1e-5)
    engine, *_ = deepspeed.initialize(model=model, optimizer=optimizer, config=deepspeed_config(cfg, device, 1))
    clip, fps = _context(size), model.config.generator.fps
    target = np.random.default_rng(1).integers(0, 256, (1, frames, height, width, 3), dtype=np.uint8)
    grid = gen.latent_grid(frames, height, width)
    with torch.no_grad():
        latents = gen.encode(frames_to_video(target).to(device))
    batch = model.prepare_context([PROMPT], [clip]).to(device)

    def step():
        loss = engine(batch, latents, grid, fps, generator=torch.Generator(device).manual_seed(0))
        engine.backward(loss)
        engine.step()

    def understanding():  # the VLM's reading + queries + connector, forward and backward, alone
        model.condition(batch).float().sum().backward()
        model.zero_grad(set_to_none=True)

    for _ in range(2):
        _, seconds, peak = meter(step)
    for _ in range(2):
        _, vlm_seconds, _ = meter(understanding)
    # Model FLOPs: the DiT forward + backward (6 N T, self-attention 12 L T^2 d), the frozen VLM's forward over the
    # context (2 N T) and its query pass with grad (6 N Q). Gradient checkpointing's recompute is not counted.
    t = int(np.prod(grid))
    dit = gen.transformer.config
    n_dit = sum(p.numel() for p in gen.transformer.parameters())
    d = dit.num_attention_heads * dit.attention_head_dim
    vlm_lm = sum(p.numel() for n, p in model.context_encoder.vlm.named_parameters() if "visual" not in n)
    q = model.context_encoder.num_queries
    flops = 6 * n_dit * t + 12 * dit.num_layers * t * t * d + 2 * vlm_lm * batch.input_ids.shape[1] + 6 * vlm_lm * q
    peak_flops = next((v for k, v in PEAK_BF16.items() if k in gpu), None)
    return {"video": f"{frames}x{height}x{width} ({t} DiT tokens), batch 1",
            "recipe": "ZeRO-2, 8-bit AdamW (bitsandbytes), DiT gradient checkpointing, bf16",
            "seconds": round(seconds, 3), "peak_gb": None if peak is None else round(peak, 2),
            "model_tflop": round(flops / 1e12, 2),
            "mfu": None if peak_flops is None else round(flops / seconds / peak_flops, 3),
            "understanding_seconds": round(vlm_seconds, 3), "understanding_share": round(vlm_seconds / seconds, 3)}


def run(size: str = "paper", device: str | None = None) -> list[dict]:
    import torch

    if device is None and not torch.cuda.is_available():
        print("   no GPU here: skipped (the figures are measured where a GPU is lent)")
        return []
    device = torch.device(device or "cuda")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    meter = Meter(device)
    model = build(size, device)
    p1 = p1_vs_ltx_pipeline(model, size, device, meter)
    p2 = p2_next_scene(model, size, meter)
    p3 = p3_sft_step(model, size, device, meter, gpu)
    tag = "" if size == "paper" else f"_{size}"
    return [
        result(f"gpu_vs_ltx_pipeline{tag}", p1["time_ratio"], "x", 1.03, "lower", COMMAND, gpu=gpu, **p1,
               note="value: NSP's time over LTXPipeline's (T5-XXL) on the same DiT/VAE; memory_ratio target 1.25"),
        result(f"gpu_next_scene_latency{tag}", p2["seconds"], "s", 2.5, "lower", COMMAND, gpu=gpu, **p2),
        result(f"gpu_sft_step{tag}", p3["mfu"], "MFU", 0.40, "higher", COMMAND, gpu=gpu, **p3,
               note="value: model FLOPs utilisation; understanding_share target 0.10"),
    ]
