"""`nsp data synth | sentences | everything | build | inspect | cache`."""

from __future__ import annotations

import json
from pathlib import Path

from nsp.config import PRESETS
from nsp.errors import NSPError


def run(args) -> int:
    return {"synth": synth, "build": build, "inspect": inspect, "cache": cache,
            "sentences": sentences, "everything": everything}[args.data_command](args)


def split_counts(args, clips: bool = False) -> dict[str, int]:
    """--train/--val/--test checked; with `clips`, --size and --frames too (a dataset that writes clips)."""
    counts = {"train": args.train, "val": args.val, "test": args.test}
    if any(v < 0 for v in counts.values()):
        raise NSPError(f"split sizes must be >= 0, got {counts}")
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
            old.get("size") == [args.size, args.size] and \
            {s: v["pairs"] for s, v in old.get("splits", {}).items()} == counts
        if same:
            print(f"{out}: already synthesised with these settings (use --force to redo)")
            return 0
        raise NSPError(f"--out {out}: exists with other contents (use --force to replace it)")
    manifest = synthesize(out, counts, seed=args.seed, frames=args.frames, size=args.size, fps=args.fps,
                          workers=args.workers, world=args.world)
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
                               inverse=args.inverse, seed=args.seed)
    print(f"wrote {out}: " + ", ".join(f"{s} {v['pairs']}" for s, v in manifest["splits"].items())
          + f" sentences ({', '.join(manifest['tasks'])})")
    return 0


def everything(args) -> int:
    from nsp.data.everything import build_everything

    counts = split_counts(args, clips=True)
    if args.context_clips < 1 or args.fps <= 0:
        raise NSPError("--context-clips and --fps must be positive")
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
