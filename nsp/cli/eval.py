"""`nsp eval`: the NSP benchmark on one checkpoint and one dataset split (see nsp/evaluation)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from nsp.cli.args import BF16_HELP, add_history_arguments, at_least, positive


def add_parser(sub) -> None:
    p = sub.add_parser("eval", help="the NSP benchmark: predict every context of a split and measure it",
                       description="Predict the next scene for every context of a split (fixed seeds, K samples per "
                                   "context, batched) and report scene consistency (pass rate and score by the "
                                   "reward, with bootstrap intervals), fidelity to the real next scene (PSNR, SSIM), "
                                   "continuity with the context, diversity and speed/memory. Writes report.json, "
                                   "REPORT.md, contact_sheet.png and pass_rates.png into --out.")
    p.add_argument("--checkpoint", required=True, help="checkpoint directory")
    p.add_argument("--data", required=True, help="dataset directory (`nsp data synth` or `nsp data build`)")
    p.add_argument("--out", required=True, help="directory for the report files")
    p.add_argument("--split", default="test", help="split to evaluate (default test)")
    p.add_argument("--reward", default=None, help="scene-consistency reward: oracle (synthetic data, the default "
                                                  "there) or judge (the local VLM, the default elsewhere)")
    p.add_argument("--samples", type=positive, default=1, help="K predictions per context (default 1; 2+ gives diversity)")
    p.add_argument("--limit", type=positive, help="only the first N contexts of the split")
    p.add_argument("--baselines", action="store_true", help="also copy-last-frame, no-context, shuffled-context, "
                                                            "history-only (models with clean history) and "
                                                            "real-next-scene")
    p.add_argument("--paths", action="store_true",
                   help="the path ablation: the condition from the VLM queries real / null / shuffled x the clean "
                        "history on / off (zeros), same contexts and noise, paired intervals (report.json 'paths')")
    p.add_argument("--best-of", type=positive, default=1,
                   help="test-time scaling: N candidates per context, the one --select scores best is the model's "
                        "prediction (reported against the first candidate alone; default 1)")
    p.add_argument("--select", default="judge", help="the reward that picks the best of N; it is given the context "
                                                     "and the candidate only (default judge)")
    p.add_argument("--judge", help="the judge VLM's directory for the judge reward (e.g. nsp:tiny_judge_cuts; "
                                   "default: the model's own VLM)")
    p.add_argument("--text", action="store_true", help="also give the samples' context captions")
    p.add_argument("--steps", type=at_least(2), help="denoising steps (default: the checkpoint's sampling.steps)")
    p.add_argument("--guidance", type=float, help="classifier-free guidance (default: the checkpoint's)")
    p.add_argument("--batch-size", type=positive, default=16, help="clips denoised together (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the starting noise (default 0)")
    p.add_argument("--rollout", type=positive, default=1,
                   help="also chain N clips from each context, each predicted from the one before, and report "
                        "every clip's pass rate and continuity (default 1: the next scene only)")
    add_history_arguments(p)
    p.add_argument("--device", help="torch device (default: cuda if available, else cpu)")
    p.add_argument("--bf16", action="store_true", help=BF16_HELP)
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=run)


def run(args) -> int:
    from nsp.cli.common import history_override
    from nsp.runtime import pick_device
    from nsp.data.shards import read_manifest
    from nsp.model import read_checkpoint_meta

    if args.best_of > 1 and args.samples > 1:
        from nsp.errors import NSPError

        raise NSPError(f"--best-of {args.best_of} with --samples {args.samples}: choose one (best-of keeps one "
                       "prediction per context)")
    manifest = read_manifest(args.data)  # bad inputs fail here, before any model is loaded
    read_checkpoint_meta(args.checkpoint)
    overrides = history_override(args.history_frames, args.history_sigma)
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
                            paths=args.paths, best_of=args.best_of, select=args.select, judge=args.judge)
    pipe = NSPPipeline.from_pretrained(args.checkpoint, device=pick_device(args.device),
                                       overrides=overrides)
    if args.bf16:
        pipe.enable_bf16()
    if note := pipe.text_note(args.text):
        print(f"warning: {args.checkpoint}: {note}", file=sys.stderr)
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
