"""Where a tiny SFT step's time goes, and what the frozen-VLM context reuse saves.

One SFT step at batch 8 (clip + text contexts, 9x64x64 targets), split into: the context pass (frozen VLM over
prompt + clip, no grad), the query pass (only the queries, with grad), the connector, the DiT's forward and
backward, the rest of the backward (connector + query pass) and the optimizer. Then the understanding part alone,
forward + backward, with the context reuse vs a plain full forward/backward over context + queries."""

from __future__ import annotations

import time

import numpy as np
import torch

from benchmarks.common import result

NAME = "sft_step_tiny"
COMMAND = "make bench  # python -m benchmarks.run sft_step"


def _timed(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run(repeats: int = 20, batch_size: int = 8) -> list[dict]:
    from nsp.config import preset_config
    from nsp.data.world import captions, render_clip, sample_scene
    from nsp.generation.ltx import frames_to_video
    from nsp.model import NSPModel
    from nsp.video.io import Clip

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny"))
    model.set_trainable("sft")
    rng = np.random.default_rng(0)
    scenes = [sample_scene(rng) for _ in range(batch_size)]
    clips = [Clip(render_clip(s, 0, 9, 64), 8.0) for s in scenes]
    batch = model.prepare_context([captions(s)["context"] for s in scenes], clips)
    with torch.no_grad():
        latents = model.generator.encode(frames_to_video(np.stack([render_clip(s, 1, 9, 64) for s in scenes])))
    grid = (3, 8, 8)
    enc = model.context_encoder
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    parts: dict[str, list[float]] = {k: [] for k in ("context_pass", "query_pass", "connector", "dit_forward",
                                                     "dit_backward", "query_connector_backward", "optimizer")}
    for i in range(repeats + 2):
        t = [time.perf_counter()]
        cache = enc.encode_context(batch)
        t.append(time.perf_counter())
        states = enc.query_states(cache)
        t.append(time.perf_counter())
        condition = model.connector(states)
        t.append(time.perf_counter())
        detached = condition.detach().requires_grad_()
        loss = model.flow_matching_loss(detached, latents, 8.0, grid, torch.Generator().manual_seed(i))
        t.append(time.perf_counter())
        loss.backward()
        t.append(time.perf_counter())
        condition.backward(detached.grad)
        t.append(time.perf_counter())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        t.append(time.perf_counter())
        if i >= 2:  # warm-up
            for name, a, b in zip(parts, t, t[1:]):
                parts[name].append(b - a)
    split = {k: round(float(np.median(v)) * 1000, 2) for k, v in parts.items()}

    def cached():
        enc.query_states(enc.encode_context(batch)).pow(2).mean().backward()

    def plain():
        enc.query_states_full(batch).pow(2).mean().backward()

    cached_s, plain_s = [], []
    for _ in range(repeats):  # interleaved
        cached_s.append(_timed(cached, 1))
        plain_s.append(_timed(plain, 1))
    ratio = float(np.median(plain_s) / np.median(cached_s))
    context_tokens = int(batch.input_ids.shape[1])
    return [
        result("sft_step_tiny_split", round(sum(split.values()), 2), "ms per step (sum of parts)", None, "lower",
               COMMAND, parts_ms=split, batch_size=batch_size, context_tokens=context_tokens,
               queries=enc.num_queries),
        result("context_reuse_saving_tiny", round(ratio, 3), "x (plain full fwd+bwd / cached context + query pass)",
               1.0, "higher", COMMAND, cached_ms=round(float(np.median(cached_s)) * 1000, 2),
               plain_ms=round(float(np.median(plain_s)) * 1000, 2), batch_size=batch_size,
               context_tokens=context_tokens, queries=enc.num_queries,
               note="understanding part only (VLM + queries), forward + backward to the queries"),
    ]
