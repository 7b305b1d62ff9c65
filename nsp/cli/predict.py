"""`nsp predict`: the next scene(s) of a clip, or of every clip in a directory, written as videos.

A clip of any container, size, frame rate and length becomes a context the way training contexts were made (see
nsp/video/frames.py: the model's frame rate, its last frames, a centre crop to the model's aspect ratio); the
prediction is written at the model's frame rate. With `--scenes N` each predicted scene is the next one's context."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from nsp.errors import NSPError

OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi")
INPUT_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg")


def jobs(source: Path, out: Path, force: bool) -> list[tuple[Path, Path]]:
    """(input clip, output video) pairs: one for a file, one per video file for a directory (existing outputs are
    kept, so an interrupted run over a directory resumes, unless `force`)."""
    if not source.exists():
        raise NSPError(f"{source}: file not found")
    if source.is_file():
        if out.suffix.lower() not in OUTPUT_SUFFIXES:
            raise NSPError(f"--out {out}: unsupported extension (use {', '.join(OUTPUT_SUFFIXES)})")
        return [(source, out)]
    clips = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in INPUT_SUFFIXES)
    if not clips:
        raise NSPError(f"{source}: no video files ({', '.join(INPUT_SUFFIXES)})")
    if out.exists() and not out.is_dir():
        raise NSPError(f"--out {out}: is a file; a directory of clips needs an output directory")
    stems = Counter(p.stem for p in clips)  # a.mp4 and a.mov must not write the same a.mp4
    pairs = [(p, out / (f"{p.stem}.mp4" if stems[p.stem] == 1 else f"{p.name}.mp4")) for p in clips]
    return pairs if force else [(p, o) for p, o in pairs if not o.exists()]


def run(args) -> int:
    if args.scenes < 1:
        raise NSPError(f"--scenes {args.scenes}: must be at least 1")
    if args.steps is not None and args.steps < 2:
        raise NSPError(f"--steps {args.steps}: must be at least 2")
    source, out = Path(args.clip), Path(args.out)
    todo = jobs(source, out, args.force)
    if not todo:
        print(f"nothing to do: every clip in {source} has its prediction in {out} (--force redoes them)")
        return 0

    from nsp.cli.common import pick_device, resolve_checkpoint
    from nsp.video.io import read_video

    if source.is_file():
        read_video(source, last_seconds=1.0)  # bad input fails here, before any model is loaded
    checkpoint = resolve_checkpoint(args.checkpoint)

    import numpy as np
    from tqdm.auto import tqdm

    from nsp.pipeline import NSPPipeline
    from nsp.video.frames import side_by_side
    from nsp.video.io import Clip, write_video

    pipe = NSPPipeline.from_pretrained(checkpoint, device=pick_device(args.device))
    (out if source.is_dir() else out.parent).mkdir(parents=True, exist_ok=True)
    failed = []
    bar = tqdm(total=len(todo) * args.scenes, desc="predict", unit="scene", dynamic_ncols=True)
    for clip_path, target in todo:
        bar.set_postfix(clip=clip_path.name[-30:])
        try:
            context = first = pipe.fit_context(clip_path)
        except NSPError as err:
            if len(todo) == 1:
                raise
            failed.append(str(err))
            bar.update(args.scenes)
            continue
        scenes = []
        for i in range(args.scenes):
            result = pipe(context, args.text, num_inference_steps=args.steps, guidance_scale=args.guidance,
                          seed=args.seed + i, progress=False)
            scenes.append(result.frames[0])
            context = Clip(result.frames[0], result.fps)  # each prediction is the next scene's context
            bar.update()
        video = np.concatenate(scenes)
        if args.side_by_side:  # the context (as the model saw it, holding its last frame) | the prediction
            video = side_by_side(first.frames, video)
        write_video(target, video, result.fps)
        bar.write(f"wrote {target} ({args.scenes} scene(s), {sum(len(s) for s in scenes)} frames at "
                  f"{result.fps:g} fps{', side by side with the context' if args.side_by_side else ''})")
    bar.close()
    for line in failed:
        print(f"skipped: {line}", file=sys.stderr)
    return 1 if failed else 0
