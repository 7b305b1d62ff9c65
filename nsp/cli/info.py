"""`nsp info`: what a preset or checkpoint is made of."""

from __future__ import annotations

import json

from nsp.cli.args import OVERRIDES_HELP


def describe(model) -> dict:
    from nsp.model import STAGE_TRAINABLE

    cfg, gen, enc = model.config, model.generator, model.context_encoder
    counts = {name: v["parameters"] for name, v in model.parameter_report().items() if name != "total"}
    stages = {stage: {"trainable_groups": list(groups), "trainable_parameters": sum(counts[g] for g in groups)}
              for stage, groups in STAGE_TRAINABLE.items()}
    grid = gen.latent_grid(cfg.generator.num_frames, cfg.generator.height, cfg.generator.width)
    return {
        "preset": cfg.preset,
        "components": {
            "vlm": {"class": type(enc.vlm).__name__, "source": cfg.vlm.path or f"random:{cfg.vlm.arch}",
                    "hidden_size": enc.hidden_size, "frozen": True, "quantization": cfg.vlm.quantization},
            "connector": {"class": type(model.connector).__name__, "type": cfg.connector.type,
                          "in": enc.hidden_size, "out": gen.caption_channels},
            "transformer": {"class": type(gen.transformer).__name__,
                            "source": cfg.generator.path or f"random:{cfg.generator.arch}",
                            "caption_channels": gen.caption_channels},
            "vae": {"class": type(gen.vae).__name__, "frozen": True,
                    "compression": {"temporal": gen.temporal_ratio, "spatial": gen.spatial_ratio}},
            "scheduler": {"class": type(gen.scheduler).__name__},
        },
        "parameters": counts,
        "total_parameters": sum(counts.values()),
        "stages": stages,
        "num_queries": enc.num_queries,
        "null_condition": cfg.connector.null_condition,
        "video": {"num_frames": cfg.generator.num_frames, "height": cfg.generator.height,
                  "width": cfg.generator.width, "fps": cfg.generator.fps, "latent_grid": list(grid),
                  "latent_tokens": grid[0] * grid[1] * grid[2],
                  "constraints": "num_frames = 8k+1; height and width multiples of 32"},
        "context": {"max_tokens": cfg.vlm.max_tokens, "prompt": cfg.vlm.prompt,
                    "video_sampling": cfg.vlm.video.model_dump()},
        "sampling": cfg.sampling.model_dump(),
    }


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="describe a model: components, parameters, trainable sets, shapes",
                       description="Describe a preset or a checkpoint: component classes, parameter counts "
                                   "(trainable vs frozen per stage), queries, connector, frame/size constraints.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="tiny or paper (paper without weight paths: real shapes, nothing loaded)")
    src.add_argument("--checkpoint", help="an NSP checkpoint directory")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--config", action="store_true",
                   help="print the model config as YAML (the tree a training config's model.patch changes)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help=OVERRIDES_HELP)
    p.set_defaults(handler=run)


def run(args) -> int:
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel

    if args.checkpoint:
        model = NSPModel.from_pretrained(args.checkpoint, args.overrides)
    else:
        config = preset_config(args.preset, args.overrides)
        # Without local weights nothing needs real memory: build on the meta device and count.
        device = "cpu" if config.vlm.arch == "tiny" and config.generator.arch == "tiny" else "meta"
        with torch.device(device):
            model = NSPModel.from_config(config)
    if args.config:
        import yaml

        print(yaml.safe_dump(model.config.model_dump(mode="json"), sort_keys=False), end="")
        return 0
    info = describe(model)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    c = info["components"]
    print(f"preset        {info['preset']}")
    print(f"vlm           {c['vlm']['class']} ({c['vlm']['source']}), hidden {c['vlm']['hidden_size']}, frozen")
    print(f"queries       {info['num_queries']}")
    print(f"connector     {c['connector']['class']} ({c['connector']['type']}): "
          f"{c['connector']['in']} -> {c['connector']['out']}")
    print(f"transformer   {c['transformer']['class']} ({c['transformer']['source']})")
    print(f"vae           {c['vae']['class']}, frozen, compression t{c['vae']['compression']['temporal']} "
          f"x s{c['vae']['compression']['spatial']}")
    print("parameters    " + ", ".join(f"{k} {v:,}" for k, v in info["parameters"].items())
          + f" (total {info['total_parameters']:,})")
    for stage, s in info["stages"].items():
        print(f"  {stage:<11} trains {'+'.join(s['trainable_groups'])}: {s['trainable_parameters']:,}")
    v = info["video"]
    print(f"video         {v['num_frames']} frames {v['height']}x{v['width']} @ {v['fps']} fps -> latent "
          f"{v['latent_grid']} ({v['latent_tokens']} tokens); {v['constraints']}")
    return 0
