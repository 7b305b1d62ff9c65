"""`nsp data synth | sentences | everything | build | inspect | cache`."""

from __future__ import annotations

import json
from pathlib import Path

from nsp.cli.args import count, fraction, positive, positive_float
from nsp.errors import NSPError


def add_parser(sub) -> None:
    p = sub.add_parser("data", help="datasets: synthetic world, pairs from real videos, inspection, latent cache",
                       description="Make and look at NSP datasets (webdataset shards of (preceding, next) pairs).")
    dsub = p.add_subparsers(dest="data_command", metavar="DATA_COMMAND", required=True)
    d = dsub.add_parser("synth", help="the embedded synthetic world as train/val/test shards",
                        description="Write a synthetic world, with its oracle, as train/val/test shards. "
                                    "Deterministic by seed; splits are disjoint.")
    d.add_argument("--out", required=True, help="dataset directory to write")
    d.add_argument("--world", choices=("cuts", "continuation"), default="cuts",
                   help="cuts: the next clip is another shot after a cut (four cut kinds; the NSP benchmark); "
                        "continuation: the next clip continues the shot (five rule families; history and rollout "
                        "benchmarks) (default cuts)")
    d.add_argument("--train", type=count, default=2000, help="training pairs (default 2000)")
    d.add_argument("--val", type=count, default=200, help="validation pairs (default 200)")
    d.add_argument("--test", type=count, default=200, help="test pairs (default 200)")
    d.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    d.add_argument("--frames", type=positive, default=9, help="frames per clip, 8k+1 (default 9)")
    d.add_argument("--size", type=positive, default=64, help="square side in pixels, a multiple of 32 (default 64)")
    d.add_argument("--fps", type=positive_float, default=8.0, help="frame rate (default 8)")
    d.add_argument("--start-clips", type=positive, default=1,
                   help="continuation world: training pairs start at clip 0, 1, ..., K-1 of their scene in turn, so "
                        "the model also learns what follows an event (for rollouts; val and test start at 0) "
                        "(default 1)")
    d.add_argument("--first-clip-too", action="store_true",
                   help="with --start-clips: a scene whose training pair starts later also gives its clip 0 -> 1 "
                        "pair, so every scene's event is learnt too (the first clip of a rollout)")
    d.add_argument("--disjoint-from", action="append", default=[], metavar="DATA",
                   help="a synthetic dataset of the same world none of whose scenes (any split) is drawn, e.g. RL "
                        "contexts that SFT never trained on (repeatable)")
    d.add_argument("--workers", type=positive, default=None, help="processes (default: up to 4)")
    d.add_argument("--force", action="store_true", help="replace --out if it holds something else")
    d = dsub.add_parser("sentences", help="visual sentences (A, A', B) -> B' from a pair dataset",
                        description="Turn a pair dataset (synthetic or built from real videos) into visual sentences "
                                    "(UniVid): the context is an example pair A, A' and a query B back to back, the "
                                    "target B'; the example pair defines the task (nsp, mirror, reverse, colour_swap, "
                                    "speed). Train on it with generator.context_clips=3 (see README).")
    d.add_argument("--data", required=True, help="the pair dataset to draw examples and queries from")
    d.add_argument("--out", required=True, help="sentence dataset directory to write")
    d.add_argument("--tasks", default="nsp,mirror,reverse,colour_swap,speed",
                   help="comma-separated tasks (default: these five; also vflip, a vertical flip, and slow, half the "
                        "speed, kept out of them as tasks to learn from a few sentences)")
    d.add_argument("--train", type=count, default=20, help="queries per task from the train split (default 20)")
    d.add_argument("--val", type=count, default=4, help="queries per task from the val split (default 4)")
    d.add_argument("--test", type=count, default=40, help="queries per task from the test split (default 40)")
    d.add_argument("--inverse", action="store_true", help="also each sentence read backwards (A', A, B') -> B")
    d.add_argument("--example-images", action="store_true",
                   help="the example pair as images (the last frame of A, held; A' the task applied to it), the "
                        "query a video: UniVid's mixed contexts")
    d.add_argument("--augment", action="store_true",
                   help="also write each train sentence mirrored and/or with its colours rotated (all four clips; "
                        "symmetries every task commutes with): more queries from the same few sentences")
    d.add_argument("--seed", type=int, default=0, help="seed for drawing the example pairs (default 0)")
    d.add_argument("--force", action="store_true", help="replace --out if it exists")

    d = dsub.add_parser("everything", help="classification and video QA tasks rendered as video",
                        description="Everything is a video: small tasks whose input is rendered as frames (shapes: "
                                    "an image; chirps: audio as spectrogram frames; topics: text, a token per frame; "
                                    "qa_*: a scene's event, then a question a token per frame) and whose answer is "
                                    "the label's text frame. Train on it with stages/configs/everything_tiny.yaml; "
                                    "nsp eval reads the answers back.")
    d.add_argument("--out", required=True, help="dataset directory to write")
    d.add_argument("--tasks", default="shapes,chirps,topics",
                   help="comma-separated tasks (default: the three classifications; also qa_last_colour, qa_event, "
                        "qa_end_side: questions about a scene of the embedded world, answered as a label frame)")
    d.add_argument("--train", type=count, default=500, help="samples per task in train (default 500)")
    d.add_argument("--val", type=count, default=12, help="samples per task in val (default 12)")
    d.add_argument("--test", type=count, default=60, help="samples per task in test (default 60)")
    d.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    d.add_argument("--frames", type=positive, default=9, help="frames of the answer clip, 8k+1 (default 9)")
    d.add_argument("--size", type=positive, default=64, help="square side in pixels, a multiple of 32 (default 64)")
    d.add_argument("--fps", type=positive_float, default=8.0, help="the model's frame rate (default 8)")
    d.add_argument("--context-clips", type=positive, default=4, help="context length in clips of --frames, as the "
                                                                 "model's generator.context_clips (default 4: the "
                                                                 "tiny VLM reads 8 tokens in it)")
    d.add_argument("--preset", default="tiny", help="the model preset whose VLM frame sampling (vlm.video) the "
                                                    "contexts are laid out for (default tiny)")
    d.add_argument("--force", action="store_true", help="replace --out if it exists")

    d = dsub.add_parser("build", help="NSP pairs from real videos (scene cuts -> consecutive scene pairs)",
                        description="Detect scene cuts (PySceneDetect), pair consecutive scenes as (preceding, "
                                    "next), resample to --frames at --fps, crop/resize to a size bucket, filter, and "
                                    "write shards. Re-running skips finished videos.")
    d.add_argument("inputs", nargs="+", metavar="VIDEO_OR_DIR", help="video files or directories (searched recursively)")
    d.add_argument("--out", required=True, help="dataset directory (created or resumed)")
    d.add_argument("--captions", help="JSON or JSONL file: video file name (or name#scene) -> caption")
    d.add_argument("--captioner", help="local VLM snapshot directory used to caption scenes without captions")
    d.add_argument("--frames", type=positive, default=9, help="frames per clip, 8k+1 (default 9)")
    d.add_argument("--size", default="64x64", help="size bucket(s) HxW, comma-separated; each video takes the bucket "
                                                   "closest to its aspect ratio (default 64x64)")
    d.add_argument("--fps", type=positive_float, default=8.0, help="frame rate of the clips (default 8)")
    d.add_argument("--val-fraction", type=fraction, default=0.05, help="share of videos held out as val (default 0.05)")
    d.add_argument("--min-motion", type=fraction, default=0.002, help="share of pixels changing between frames "
                                                                   "below which a scene is static (default 0.002)")
    d.add_argument("--max-similarity", type=fraction, default=0.97, help="scenes more similar than this are "
                                                                      "near-duplicates (default 0.97)")
    d.add_argument("--workers", type=positive, default=1, help="parallel processes (default 1)")
    d = dsub.add_parser("inspect", help="counts and a contact sheet of a few pairs",
                        description="Count pairs per split and write a contact sheet PNG (context | next).")
    d.add_argument("data", help="dataset directory")
    d.add_argument("--out", help="contact sheet PNG (default DATA/contact_sheet.png)")
    d.add_argument("--count", type=positive, default=8, help="pairs on the sheet (default 8)")
    d.add_argument("--split", help="split to show (default: the first present)")
    d.add_argument("--json", action="store_true", help="print machine-readable JSON")
    d = dsub.add_parser("cache", help="precompute VAE latents and VLM video inputs for training",
                        description="Encode every pair once with the checkpoint's VAE (latents of the next clip, "
                                    "the context clip and its first frame) and preprocess the context for the VLM, "
                                    "so training skips decoding and encoding.")
    d.add_argument("--data", required=True, help="dataset directory")
    d.add_argument("--checkpoint", required=True, help="checkpoint whose VAE and VLM input format to use")
    d.add_argument("--out", required=True, help="cache directory to write")
    d.add_argument("--split", action="append", help="split(s) to cache (default: all present)")
    d.add_argument("--batch-size", type=positive, default=8, help="clips per VAE batch (default 8)")
    d.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.set_defaults(handler=run)


def run(args) -> int:
    return {"synth": synth, "build": build, "inspect": inspect, "cache": cache,
            "sentences": sentences, "everything": everything}[args.data_command](args)


def split_counts(args, clips: bool = False) -> dict[str, int]:
    """--train/--val/--test (0 or more, checked while parsing); with `clips`, --size and --frames checked too."""
    counts = {"train": args.train, "val": args.val, "test": args.test}
    if clips and args.size % 32:
        raise NSPError(f"--size {args.size}: must be a multiple of 32")
    if clips and args.frames % 8 != 1:
        raise NSPError(f"--frames {args.frames}: must be 8k+1 (9, 17, 25, ...)")
    return counts


def synth(args) -> int:
    from nsp.data.synth import synthesize

    out = Path(args.out)
    counts = split_counts(args, clips=True)
    if out.exists() and not args.force:
        from nsp.data.shards import read_manifest

        old = read_manifest(out) if (out / "manifest.json").is_file() else {}
        same = old.get("world", "continuation") == args.world and old.get("seed") == args.seed and \
            old.get("frames") == args.frames and \
            old.get("size") == [args.size, args.size] and old.get("start_clips", 1) == args.start_clips and \
            old.get("first_clip_too", False) == args.first_clip_too and \
            {s: v.get("scenes", v["pairs"]) for s, v in old.get("splits", {}).items()} == counts and \
            old.get("disjoint_from", []) == [str(Path(d).resolve()) for d in args.disjoint_from]
        if same:
            print(f"{out}: already synthesised with these settings (use --force to redo)")
            return 0
        raise NSPError(f"--out {out}: exists with other contents (use --force to replace it)")
    manifest = synthesize(out, counts, seed=args.seed, frames=args.frames, size=args.size, fps=args.fps,
                          workers=args.workers, world=args.world, start_clips=args.start_clips,
                          disjoint_from=args.disjoint_from, first_clip_too=args.first_clip_too)
    print(f"wrote {out}: " + ", ".join(f"{s} {v['pairs']}" for s, v in manifest["splits"].items()) + " pairs")
    return 0


def sentences(args) -> int:
    from nsp.data.sentences import build_sentences
    from nsp.data.shards import read_manifest

    counts = split_counts(args)
    read_manifest(args.data)  # a missing or foreign --data fails before anything is written
    out = Path(args.out)
    if out.exists() and not args.force:
        raise NSPError(f"--out {out}: exists (use --force to replace it)")
    manifest = build_sentences(args.data, out, counts, [t.strip() for t in args.tasks.split(",") if t.strip()],
                               inverse=args.inverse, seed=args.seed, example_images=args.example_images,
                               augment=args.augment)
    print(f"wrote {out}: " + ", ".join(f"{s} {v['pairs']}" for s, v in manifest["splits"].items())
          + f" sentences ({', '.join(manifest['tasks'])})")
    return 0


def everything(args) -> int:
    from nsp.data.everything import build_everything

    counts = split_counts(args, clips=True)
    from nsp.config import PRESETS

    if args.preset not in PRESETS:
        raise NSPError(f"--preset {args.preset!r}: unknown (choose from {', '.join(PRESETS)})")
    out = Path(args.out)
    if out.exists() and not args.force:
        raise NSPError(f"--out {out}: exists (use --force to replace it)")
    manifest = build_everything(out, counts, [t.strip() for t in args.tasks.split(",") if t.strip()],
                                seed=args.seed, frames=args.frames, size=args.size, fps=args.fps,
                                context_clips=args.context_clips, preset=args.preset)
    print(f"wrote {out}: " + ", ".join(f"{s} {v['pairs']}" for s, v in manifest["splits"].items())
          + f" samples ({', '.join(manifest['tasks'])})")
    return 0


def build(args) -> int:
    from nsp.data.build import BuildOptions, build_dataset

    sizes = []
    for item in args.size.split(","):
        try:
            h, w = (int(v) for v in item.lower().split("x"))
        except ValueError:
            raise NSPError(f"--size {args.size}: expected HxW[,HxW...] such as 64x64 or 480x832,512x512") from None
        if h % 32 or w % 32 or h <= 0 or w <= 0:
            raise NSPError(f"--size {item}: height and width must be positive multiples of 32")
        sizes.append((h, w))
    if args.frames % 8 != 1:
        raise NSPError(f"--frames {args.frames}: must be 8k+1 (9, 17, 25, ...)")
    options = BuildOptions(frames=args.frames, sizes=sizes, fps=args.fps, captions=args.captions,
                           captioner=args.captioner, val_fraction=args.val_fraction, workers=args.workers,
                           min_motion=args.min_motion, max_similarity=args.max_similarity)
    manifest = build_dataset(args.inputs, Path(args.out), options)
    print(f"wrote {args.out}: {manifest['videos']['total']} videos, {manifest['scenes']} scenes, "
          f"{manifest['pairs']['total']} pairs, {sum(manifest['skipped_counts'].values())} skipped "
          f"({', '.join(f'{k} {v}' for k, v in manifest['skipped_counts'].items()) or 'none'})")
    return 0


def inspect(args) -> int:
    from nsp.data.inspect import inspect as run_inspect

    report = run_inspect(args.data, args.out, args.count, args.split)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['root']} ({report['kind']})")
    for split, c in report["splits"].items():
        print(f"  {split:<6} {c['pairs']:>7} pairs in {c['shards']} shard(s)")
    for reason, n in report["skipped"].items() if isinstance(report["skipped"], dict) else []:
        print(f"  skipped: {reason}: {n}")
    print(f"contact sheet: {report['contact_sheet']}")
    return 0


def cache(args) -> int:
    from nsp.data.cache import cache_dataset

    manifest = cache_dataset(args.data, args.checkpoint, args.out, splits=args.split, batch_size=args.batch_size,
                             device=args.device)
    print(f"wrote {args.out}: " + ", ".join(f"{s} {v}" for s, v in manifest["splits"].items()) + " cached pairs")
    return 0
