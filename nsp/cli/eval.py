"""`nsp eval`: the NSP benchmark on one checkpoint and one dataset split (see nsp/evaluation)."""

from __future__ import annotations

import json
from pathlib import Path

from nsp.errors import NSPError


def run(args) -> int:
    for name in ("samples", "batch_size"):
        if getattr(args, name) < 1:
            raise NSPError(f"--{name.replace('_', '-')} {getattr(args, name)}: must be at least 1")
    if args.limit is not None and args.limit < 1:
        raise NSPError(f"--limit {args.limit}: must be at least 1")
    if args.rollout < 1:
        raise NSPError(f"--rollout {args.rollout}: must be at least 1")
    if args.steps is not None and args.steps < 2:
        raise NSPError(f"--steps {args.steps}: must be at least 2")

    from nsp.cli.common import history_override, pick_device
    from nsp.data.shards import read_manifest
    from nsp.model import read_checkpoint_meta

    manifest = read_manifest(args.data)  # bad inputs fail here, before any model is loaded
    read_checkpoint_meta(args.checkpoint)
    overrides = history_override(args.history_frames)
    # the oracle on the synthetic world; on visual sentences (mostly transformed scenes it cannot judge) the
    # similarity to the real B' (and to the label frame on everything-is-a-video tasks); the local VLM judge on
    # real videos
    reward = args.reward or {"synthetic": "oracle", "sentences": "reference",
                             "everything": "reference"}.get(manifest.get("kind"), "judge")

    from nsp.evaluation.report import write_report
    from nsp.evaluation.run import EvalSettings, evaluate
    from nsp.pipeline import NSPPipeline

    settings = EvalSettings(split=args.split, reward=reward, samples=args.samples, limit=args.limit,
                            steps=args.steps, guidance=args.guidance, text=args.text, baselines=args.baselines,
                            batch_size=args.batch_size, seed=args.seed, rollout=args.rollout,
                            paths=args.paths)
    pipe = NSPPipeline.from_pretrained(args.checkpoint, device=pick_device(args.device),
                                       overrides=overrides)
    report, examples = evaluate(pipe, args.data, settings)
    report = {"checkpoint": str(Path(args.checkpoint).resolve()), "data": str(Path(args.data).resolve()), **report}
    paths = write_report(report, examples, args.out)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        m = report["methods"]["model"]
        lo, hi = m["pass_rate_ci"]
        print(f"{reward} pass rate {m['pass_rate']:.3f} [{lo:.2f}, {hi:.2f}], score {m['score']:.3f}, "
              f"PSNR {m['psnr']:.2f}, SSIM {m['ssim']:.3f} on {report['contexts']} contexts")
        for r in report["rollout"] or []:
            print(f"  rollout clip {r['clip']}: pass rate {r['pass_rate']:.3f}, continuity SSIM "
                  f"{r['continuity_ssim']:.3f}")
        for c in (report["paths"] or {}).get("cells", []):
            history = {True: ", history", False: ", no history", None: ""}[c["history"]]
            print(f"  path {c['condition']}{history}: pass rate {c['pass_rate']:.3f} "
                  f"[{c['pass_rate_ci'][0]:.2f}, {c['pass_rate_ci'][1]:.2f}]")
        for task, c in (report["classification"] or {}).items():
            print(f"  {task}: accuracy {c['accuracy']:.3f} [{c['accuracy_ci'][0]:.2f}, {c['accuracy_ci'][1]:.2f}] "
                  f"(chance {c['chance']:.3f}, {c['samples']} samples)")
        print(f"wrote {paths['markdown']}, {paths['json']}, {paths['contact_sheet']}, {paths['plot']}")
    return 0
