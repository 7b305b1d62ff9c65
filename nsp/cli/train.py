"""`nsp train {vae,t2v,sft,rl}`: one engine, launched alone or under torchrun / deepspeed."""

from __future__ import annotations

from nsp.errors import NSPError


def run(args) -> int:
    from nsp.stages.config import check_paths, load_train_config

    cfg = load_train_config(args.config, args.overrides, **{"data.path": args.data, "run.out": args.out,
                                                           "model.init": args.init})
    if cfg.stage != args.stage:
        raise NSPError(f"--config {args.config}: is a {cfg.stage!r} config, not {args.stage!r}")
    if args.max_steps is not None and args.max_steps < 1:
        raise NSPError(f"--max-steps {args.max_steps}: must be at least 1")
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
