"""The `nsp` command. Parsers are cheap; each command's module (and torch & co.) is imported only when it runs."""

from __future__ import annotations

import argparse
import importlib
import sys

from nsp import __version__

OVERRIDES_HELP = "config overrides as dotted key=value (e.g. vlm.path=/models/Qwen2.5-VL-7B-Instruct sampling.steps=8)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nsp", description="Next Scene Prediction: generate the video of what happens after a clip.")
    parser.add_argument("--version", action="version", version=f"nsp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("info", help="describe a model: components, parameters, trainable sets, shapes",
                       description="Describe a preset or a checkpoint: component classes, parameter counts "
                                   "(trainable vs frozen per stage), queries, connector, frame/size constraints.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="tiny or paper (paper without weight paths: real shapes, nothing loaded)")
    src.add_argument("--checkpoint", help="an NSP checkpoint directory")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDES_HELP)
    p.set_defaults(module="nsp.cli.info")

    p = sub.add_parser("init", help="write an untrained checkpoint composed from a preset",
                       description="Compose a model from a preset and write it as an (untrained) checkpoint. tiny: "
                                   "everything random and embedded. paper: references the local Qwen2.5-VL and "
                                   "LTX-Video snapshots given as vlm.path=DIR generator.path=DIR.")
    p.add_argument("--preset", required=True, help="tiny or paper")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--seed", type=int, default=0, help="seed for the random initialisation (default 0)")
    p.add_argument("--random-weights", action="store_true",
                   help="paper preset only: real shapes with random weights instead of local snapshots")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDES_HELP)
    p.set_defaults(module="nsp.cli.init")

    p = sub.add_parser("predict", help="predict the next scene of a clip",
                       description="Generate the next scene after CLIP (mp4, mov, webm, mkv, avi; audio ignored).")
    p.add_argument("clip", help="the preceding scene, a video file")
    p.add_argument("--text", help="optional description added to the context")
    p.add_argument("--checkpoint", help="checkpoint directory (default: the demo's final checkpoint)")
    p.add_argument("--out", required=True, help="output video (.mp4, .mov, .mkv or .avi)")
    p.add_argument("--scenes", type=int, default=1, help="roll out N scenes, each one the next one's context")
    p.add_argument("--steps", type=int, help="denoising steps (default: the checkpoint's sampling.steps)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance scale (default: sampling.guidance)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0); same seed, same video")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    p.set_defaults(module="nsp.cli.predict")

    p = sub.add_parser("demo", help="the one-command demo (what `make demo` runs)",
                       description="Compose the tiny model and predict the next scene of a generated sample clip. "
                                   "Until training lands the model is UNTRAINED: the prediction is noise.")
    p.add_argument("--out", default="runs/demo", help="run directory (default runs/demo)")
    p.add_argument("--quick", action="store_true", help="fewer denoising steps")
    p.set_defaults(module="nsp.cli.demo")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own bars say what is happening
    from nsp.errors import NSPError

    try:
        return importlib.import_module(args.module).run(args) or 0
    except NSPError as err:
        print(f"nsp {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"nsp {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
