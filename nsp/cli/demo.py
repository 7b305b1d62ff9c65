"""`nsp demo`: compose the tiny model and predict a next scene for a generated sample clip.

The demo does not run the training stages yet, so the model is untrained and its prediction is noise; this shows
the whole path (clip -> VLM + queries -> connector -> LTX DiT -> VAE -> mp4) runs end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path


def run(args) -> int:
    import numpy as np
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel
    from nsp.pipeline import NSPPipeline
    from nsp.video.io import write_video
    from nsp.video.sample import moving_ball_clip

    out = Path(args.out)
    config = preset_config("tiny")
    g = config.generator
    print("nsp demo: composing the tiny model (random weights: UNTRAINED, the prediction will be noise)")
    torch.manual_seed(0)
    model = NSPModel.from_config(config)
    checkpoint = model.save_pretrained(out / "untrained")
    clip = moving_ball_clip(g.num_frames, g.height, g.width, g.fps, seed=0)
    write_video(out / "context.mp4", clip.frames, clip.fps)
    start = time.perf_counter()
    steps = 4 if args.quick else config.sampling.steps
    result = NSPPipeline(model)(clip, "a ball rolls to the right", num_inference_steps=steps, seed=0)
    seconds = time.perf_counter() - start
    write_video(out / "next_scene.mp4", result.frames[0], result.fps)
    side = np.concatenate([clip.frames, result.frames[0]], axis=2)
    write_video(out / "side_by_side.mp4", side, result.fps)
    summary = {"trained": False, "checkpoint": str(checkpoint), "context": str(out / "context.mp4"),
               "prediction": str(out / "next_scene.mp4"), "side_by_side": str(out / "side_by_side.mp4"),
               "steps": steps, "seconds": round(seconds, 3), "frames": int(result.frames.shape[1])}
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"nsp demo: context clip      {summary['context']}")
    print(f"nsp demo: predicted scene   {summary['prediction']}  ({steps} steps, {seconds:.2f}s)")
    print(f"nsp demo: side by side      {summary['side_by_side']}")
    print("nsp demo: the model is UNTRAINED (the demo does not train yet; to train, see README > Training): "
          "the prediction is noise.")
    return 0
