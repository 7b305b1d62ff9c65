"""End-to-end tiny NSP generation vs diffusers' LTXPipeline(prompt_embeds=...) on the very same DiT, VAE and
scheduler, frames, size, steps and CFG, measured side by side (interleaved) in one run.

NSP's extra work is understanding the context (VLM + queries + connector); LTX alone is handed those embeddings
precomputed. Both start from an in-memory clip (no file decoding on either side)."""

from __future__ import annotations

import torch

from benchmarks.common import median_seconds, result

NAME = "generation_overhead_tiny"
COMMAND = "make bench  # python -m benchmarks.run generation_overhead"


def run(repeats: int = 7, steps: int = 20, guidance: float = 3.0) -> list[dict]:
    from diffusers import LTXPipeline

    from nsp.config import preset_config
    from nsp.model import NSPModel
    from nsp.pipeline import NSPPipeline
    from nsp.video.sample import moving_ball_clip

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny")).eval()
    g = model.config.generator
    clip = moving_ball_clip(g.num_frames, g.height, g.width, g.fps, seed=0)
    text = "a ball rolls to the right"
    nsp = NSPPipeline(model)
    gen = model.generator
    ltx = LTXPipeline(scheduler=gen.scheduler, vae=gen.vae, text_encoder=None, tokenizer=None,
                      transformer=gen.transformer)
    ltx.set_progress_bar_config(disable=True)
    with torch.no_grad():
        cond = model.condition(model.prepare_context([text], [clip]))
        null = model.null(1)
    mask = torch.ones(cond.shape[:2], dtype=torch.long)

    def run_nsp():
        with torch.no_grad():
            return nsp(clip, text, num_inference_steps=steps, guidance_scale=guidance, seed=0, progress=False)

    def run_ltx():
        return ltx(prompt_embeds=cond, prompt_attention_mask=mask, negative_prompt_embeds=null,
                   negative_prompt_attention_mask=mask, num_frames=g.num_frames, height=g.height, width=g.width,
                   frame_rate=g.fps, num_inference_steps=steps, guidance_scale=guidance,
                   generator=torch.Generator().manual_seed(0), output_type="np")

    run_nsp(), run_ltx()  # warm-up
    nsp_times, ltx_times = [], []
    for _ in range(repeats):  # interleaved, so drifts in machine load hit both alike
        nsp_times.append(median_seconds(run_nsp, 1)[0])
        ltx_times.append(median_seconds(run_ltx, 1)[0])
    nsp_s = sorted(nsp_times)[len(nsp_times) // 2]
    ltx_s = sorted(ltx_times)[len(ltx_times) // 2]
    return [result(NAME, round(nsp_s / ltx_s, 4), "x (NSP time / LTX time)", 1.10, "lower", COMMAND,
                   nsp_seconds=round(nsp_s, 4), ltx_seconds=round(ltx_s, 4), steps=steps, guidance=guidance,
                   frames=g.num_frames, size=f"{g.height}x{g.width}", repeats=repeats,
                   note="tiny preset, random weights; median of interleaved runs")]
