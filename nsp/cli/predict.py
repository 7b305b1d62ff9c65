"""`nsp predict`: the next scene(s) of a clip, or of every clip in a directory, written as videos.

A clip of any container, size, frame rate and length becomes a context the way training contexts were made (see
nsp/video/frames.py: the model's frame rate, its last frames, a centre crop to the model's aspect ratio); the
prediction is written at the model's frame rate. With `--scenes N` each predicted scene is the next one's context."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from nsp.cli.args import BF16_HELP, add_history_arguments, at_least, positive
from nsp.errors import NSPError
from nsp.files import not_found

OUTPUT_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi")
INPUT_SUFFIXES = (".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg")


def jobs(source: Path | None, out: Path, force: bool) -> list[tuple[Path | None, Path]]:
    """(input clip, output video) pairs: one for a file (or for no clip), one per video file for a directory
    (existing outputs are kept, so an interrupted run over a directory resumes, unless `force`)."""
    if source is not None and not source.exists():
        raise not_found(source)
    if source is None or source.is_file():
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


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict the next scene of a clip (or of every clip in a directory)",
                       description="Generate the next scene after CLIP (mp4, mov, webm, mkv, avi; any size, frame "
                                   "rate and length; audio ignored). The clip's end is fitted to the model as its "
                                   "training contexts were: the model's frame rate, its last frames, a centre crop "
                                   "to the model's aspect ratio (no letterbox). Given a directory, predicts every "
                                   "video in it into the --out directory, keeping predictions already there. "
                                   "--image, --audio and --text-frames render other inputs as frames of the context "
                                   "(after the clip, in that order), for models trained on them (README, Everything "
                                   "is a video).")
    p.add_argument("clip", nargs="?", help="the preceding scene: a video file, or a directory of them (optional "
                                           "with --image, --audio, --text-frames or --text)")
    p.add_argument("--text", help="optional description added to the context")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the demo's, runs/demo/final, or "
                                        "$NSP_CHECKPOINT)")
    p.add_argument("--out", required=True, help="output video (.mp4, .mov, .mkv or .avi), or a directory when CLIP "
                                                "is one")
    p.add_argument("--example", nargs=2, metavar=("A", "A2"),
                   help="a visual sentence: the example pair A -> A2 (two clips) defines the task, and the model "
                        "continues CLIP the same way (needs a model trained with generator.context_clips=3)")
    p.add_argument("--image", help="everything is a video: an image file, rendered as one context frame")
    p.add_argument("--audio", help="an audio file (any FFmpeg reads), rendered as spectrogram frames")
    p.add_argument("--text-frames", metavar="TEXT", help="text rendered into the context, a token per frame (unlike "
                                                        "--text, which the VLM reads as text)")
    p.add_argument("--labels", nargs="+", metavar="LABEL", help="classification: print which of these labels' "
                                                                "rendered frames the prediction is nearest to")
    p.add_argument("--scenes", type=positive, default=1, help="roll out N scenes, each one the next one's context")
    p.add_argument("--side-by-side", action="store_true", help="write the context (as the model saw it) and the "
                                                               "prediction next to each other in one video")
    p.add_argument("--steps", type=at_least(2), help="denoising steps (default: the checkpoint's sampling.steps)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (default: sampling.guidance)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same video")
    p.add_argument("--best-of", type=positive, default=1,
                   help="test-time scaling: N candidates (seeds SEED..SEED+N-1), the one --reward scores best is "
                        "written (default 1)")
    p.add_argument("--reward", default="judge", help="the reward that picks the best of N, from the context and the "
                                                     "candidate alone (default judge: a VLM asked whether it follows)")
    p.add_argument("--judge", help="the judge VLM's directory (e.g. nsp:tiny_judge_cuts; default: the model's own "
                                   "VLM)")
    add_history_arguments(p)
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--offload", action="store_true", help="keep the model in CPU memory and move each part to the "
                   "device only while it runs (the paper preset on a 24 GB GPU)")
    p.add_argument("--vae-tiling", action="store_true", help="decode in tiles (long, large clips in less memory)")
    p.add_argument("--compile", action="store_true", help="torch.compile the DiT (slow first clip, faster after)")
    p.add_argument("--bf16", action="store_true", help=BF16_HELP)
    p.add_argument("--force", action="store_true", help="with a directory: redo predictions that already exist")
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.example and args.scenes > 1:
        raise NSPError("--example with --scenes: a visual sentence predicts one scene (B'); use --scenes 1")
    rendered = {"image": args.image, "audio": args.audio, "text_frames": args.text_frames}
    if args.clip is None and not any(rendered.values()) and not args.text:
        raise NSPError("nothing to predict from: give a clip, --image, --audio, --text-frames or --text")
    if any(rendered.values()) and args.example:
        raise NSPError("--example with --image/--audio/--text-frames: a visual sentence's context is three clips")
    source, out = (Path(args.clip) if args.clip else None), Path(args.out)
    if source is not None and source.is_dir() and any(rendered.values()):
        raise NSPError(f"{source}: --image/--audio/--text-frames go with one clip (or none), not a directory")
    todo = jobs(source, out, args.force)
    if not todo:
        print(f"nothing to do: every clip in {source} has its prediction in {out} (--force redoes them)")
        return 0

    from nsp.cli.common import history_override, resolve_checkpoint
    from nsp.config import validate_config
    from nsp.model import read_checkpoint_meta
    from nsp.runtime import pick_device
    from nsp.video.io import read_audio, read_context_clip, read_image

    checkpoint = resolve_checkpoint(args.checkpoint)
    overrides = history_override(args.history_frames, args.history_sigma)
    # Bad input fails here, before any model is loaded; each file is decoded once (only the end a context needs).
    generator = validate_config(read_checkpoint_meta(checkpoint)["model"], str(checkpoint)).generator
    decoded = {}
    if source is not None and source.is_file():
        decoded[source] = read_context_clip(source, generator, 1 if args.example else None)
    examples = [read_context_clip(x, generator, 1) for x in args.example or []]
    if args.image:
        read_image(args.image)
    if args.audio:
        read_audio(args.audio, max_seconds=1.0)

    from tqdm.auto import tqdm

    from nsp.pipeline import NSPPipeline
    from nsp.video.frames import side_by_side
    from nsp.video.io import write_video

    device = pick_device(args.device)
    pipe = NSPPipeline.from_pretrained(checkpoint, device=None if args.offload else device, overrides=overrides)
    if args.offload:
        pipe.enable_model_cpu_offload(device)
    if args.vae_tiling:
        pipe.enable_vae_tiling()
    if args.compile:
        pipe.compile_transformer()
    if args.bf16:
        pipe.enable_bf16()
    if args.example and pipe.model.config.generator.context_clips != 3:
        raise NSPError(f"--example: {checkpoint} was not trained on visual sentences (generator.context_clips="
                       f"{pipe.model.config.generator.context_clips}, needs 3; see README, Visual sentences)")
    if note := pipe.text_note(bool(args.text) and (source is not None or any(rendered.values()))):
        print(f"warning: {checkpoint}: {note}", file=sys.stderr)
    # the output folder only once the model is known to fit the inputs
    (out if source is not None and source.is_dir() else out.parent).mkdir(parents=True, exist_ok=True)
    failed = []
    steps = args.steps or pipe.model.config.sampling.steps
    if args.labels:
        from nsp.evaluation.classify import label_answerer

        answer = label_answerer(pipe, args.labels)
    if args.best_of > 1:
        from nsp.evaluation.best_of import choose, selection_reward

        select = selection_reward(pipe.model, args.reward, args.judge)
    bar = tqdm(total=len(todo) * args.scenes * steps * args.best_of, desc="predict", unit="step",
               dynamic_ncols=True)
    for clip_path, target in todo:
        bar.set_postfix(clip=(clip_path.name if clip_path else "-")[-30:])
        try:
            clip = decoded.get(clip_path, clip_path)
            context = pipe.visual_sentence(examples, clip) if args.example else pipe.render_context(clip, **rendered)
        except NSPError as err:
            if len(todo) == 1:
                raise
            failed.append(str(err))
            bar.update(args.scenes * steps)
            continue
        results = [pipe.rollout(context, args.text, num_scenes=args.scenes, seed=args.seed + k,
                                num_inference_steps=steps, guidance_scale=args.guidance, progress=False,
                                callback=lambda s, n: bar.update()) for k in range(args.best_of)]
        result = results[0]
        if args.best_of > 1:  # judged on the first scene after the context, as the model saw the context
            first = [r.frames[0][:len(r.frames[0]) // args.scenes] for r in results]
            best, scores = choose(select, None if context is None else context.frames, first)
            result = results[best]
            bar.write(f"best of {args.best_of}: seed {args.seed + best} ({args.reward} "
                      + ", ".join(f"{v:.2f}" for v in scores) + ")")
        video = result.frames[0]
        if args.side_by_side and context is not None:  # the context as the model saw it | the prediction
            video = side_by_side(context.frames, video)
        write_video(target, video, result.fps)
        bar.write(f"wrote {target} ({args.scenes} scene(s), {len(result.frames[0])} frames at "
                  f"{result.fps:g} fps{', side by side with the context' if args.side_by_side else ''})")
        if args.labels:
            first_scene = result.frames[0][:len(result.frames[0]) // args.scenes]
            bar.write(f"answer: {answer(first_scene)}")
    bar.close()
    for line in failed:
        print(f"skipped: {line}", file=sys.stderr)
    return 1 if failed else 0
