"""`nsp init`: an untrained checkpoint composed from a preset (also how users start from their own base models)."""

from __future__ import annotations

from pathlib import Path

from nsp.cli.args import OVERRIDES_HELP
from nsp.errors import NSPError


def add_parser(sub) -> None:
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
    p.set_defaults(handler=run)


def run(args) -> int:
    from nsp.config import preset_config

    config = preset_config(args.preset, args.overrides)
    out = Path(args.out)
    if out.exists() and not args.force:
        raise NSPError(f"--out {out}: already exists (use --force to replace it)")
    missing = [k for k, v in (("vlm.path", config.vlm.path), ("generator.path", config.generator.path)) if not v]
    if args.preset != "tiny" and missing and not args.random_weights:
        raise NSPError(f"preset {args.preset} composes real weights: give {' and '.join(f'{m}=DIR' for m in missing)} "
                       "(local snapshots), or --random-weights for random weights of the real shapes")
    import torch

    from nsp.model import NSPModel

    torch.manual_seed(args.seed)
    model = NSPModel.from_config(config)
    model.save_pretrained(out)
    report = model.parameter_report()
    print(f"wrote {out} (preset {config.preset}, {report['total']['parameters']:,} parameters, untrained)")
    return 0
