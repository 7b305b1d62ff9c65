"""`nsp predict`: the next scene(s) of a clip, written as a video."""

from __future__ import annotations

from pathlib import Path

from nsp.errors import NSPError

OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi")


def run(args) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise NSPError(f"--out {out}: unsupported extension (use {', '.join(OUTPUT_SUFFIXES)})")
    if args.scenes < 1:
        raise NSPError(f"--scenes {args.scenes}: must be at least 1")
    if args.steps is not None and args.steps < 2:
        raise NSPError(f"--steps {args.steps}: must be at least 2")

    from nsp.cli.common import pick_device, resolve_checkpoint
    from nsp.video.io import read_video

    clip = read_video(args.clip)  # bad input fails here, before any model is loaded
    checkpoint = resolve_checkpoint(args.checkpoint)

    import numpy as np

    from nsp.pipeline import NSPPipeline
    from nsp.video.io import Clip, write_video

    pipe = NSPPipeline.from_pretrained(checkpoint, device=pick_device(args.device))
    scenes = []
    context = clip
    for i in range(args.scenes):
        result = pipe(context, args.text, num_inference_steps=args.steps, guidance_scale=args.guidance,
                      seed=args.seed + i)
        scenes.append(result.frames[0])
        context = Clip(result.frames[0], result.fps)  # each prediction is the next scene's context
    write_video(out, np.concatenate(scenes), result.fps)
    print(f"wrote {out} ({args.scenes} scene(s), {sum(len(s) for s in scenes)} frames at {result.fps:g} fps)")
    return 0
