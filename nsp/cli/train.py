"""`nsp train {vae,t2v,sft,rl}`: one engine, launched alone or under torchrun / deepspeed."""

from __future__ import annotations

import argparse

from nsp.cli.args import positive
from nsp.errors import NSPError


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train a stage: vae (tiny only), t2v, sft, rl",
                       description="Train one stage on DeepSpeed. Alone: `nsp train sft --config ...`; several "
                                   "processes: `torchrun --nproc_per_node N -m nsp.cli.main train ...` or "
                                   "`deepspeed --num_gpus N -m nsp.cli.main train ...` (see README).")
    p.add_argument("stage", choices=["vae", "vlm", "t2v", "sft", "rl"], help="which stage (vae, vlm: tiny only)")
    p.add_argument("--config", required=True, help="stage config YAML (examples: stages/configs/*.yaml)")
    p.add_argument("--data", help="dataset directory (sets data.path)")
    p.add_argument("--out", help="run directory (sets run.out)")
    p.add_argument("--init", help="checkpoint to start from (sets model.init)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its latest checkpoint")
    p.add_argument("--max-steps", type=positive, help="stop after this many steps (the run can be resumed later)")
    p.add_argument("--local_rank", "--local-rank", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides (e.g. optim.lr=3e-4)")
    p.set_defaults(handler=run)


def run(args) -> int:
    from nsp.stages.config import check_paths, load_train_config

    cfg = load_train_config(args.config, args.overrides, **{"data.path": args.data, "run.out": args.out,
                                                           "model.init": args.init})
    if cfg.stage != args.stage:
        raise NSPError(f"--config {args.config}: is a {cfg.stage!r} config, not {args.stage!r}")
    check_paths(cfg)  # everything is checked before any model is built

    from nsp.stages.engine import Trainer

    trainer = Trainer(cfg, resume=args.resume, max_steps=args.max_steps)
    try:
        trainer.run()
    finally:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            dist.destroy_process_group()
    return 0
