"""`nsp export`: a training checkpoint (mid-run, any ZeRO stage) as a checkpoint predict / eval / --init take."""

from __future__ import annotations

from pathlib import Path

from nsp.errors import NSPError


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="turn a training checkpoint into one predict / eval / --init take",
                       description="Write the inference checkpoint (the format of a run's final/) of a training "
                                   "checkpoint: RUN_DIR takes its newest intact one, RUN_DIR/checkpoints/step-N that "
                                   "one. Any ZeRO stage and number of ranks; the EMA weights where the run evaluates "
                                   "with them.")
    p.add_argument("checkpoint", metavar="RUN_DIR_OR_STEP_DIR", help="a run directory or one of its checkpoints")
    p.add_argument("--out", required=True, help="checkpoint directory to write")
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(handler=run)


def run(args) -> int:
    out = Path(args.out)
    if out.exists() and not args.force:
        raise NSPError(f"--out {out}: already exists (use --force to replace it)")
    from nsp.stages.export import export_checkpoint

    written, what = export_checkpoint(args.checkpoint, out)
    print(f"nsp export: wrote {written} ({what})")
    return 0
