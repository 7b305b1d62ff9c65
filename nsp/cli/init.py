"""`nsp init`: an untrained checkpoint composed from a preset (also how users start from their own base models)."""

from __future__ import annotations

from pathlib import Path

from nsp.errors import NSPError


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
