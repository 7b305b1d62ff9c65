"""Clean history (Video-GPT) on the synthetic world: does it help continuity, and how fast does a rollout decay?

From a finished demo run (NSP_BENCH_DEMO=DIR; without it the demo is run first, about 20 minutes): the demo's SFT
checkpoint (one clean history frame) against the same SFT recipe with history_frames=0 (same T2V start, data, steps,
seeds; trained here into DIR/sft_history0, about 6 minutes), both evaluated on the same 200 held-out contexts with a
4-clip rollout (`nsp eval --rollout 4`). Records:
    history_continuity_tiny  continuity SSIM of the next scene with its context, with history (target: without)
    history_rollout_tiny     the oracle pass rate of each of 4 chained clips, with and without history

    NSP_BENCH_DEMO=runs/demo python -m benchmarks.run history
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.common import nsp, on_demo_run, result
from nsp.evaluation.metrics import paired_difference

COMMAND = "NSP_BENCH_DEMO=DEMO python -m benchmarks.run history"
ROLLOUT = 4



def measure(demo: Path) -> list[dict]:
    from nsp.cli.demo import Demo, DemoPlan, phases

    plan = DemoPlan(**json.loads((demo / "plan.json").read_text()))
    if plan.history_frames != 1:
        raise SystemExit(f"{demo}: a demo run with history_frames=1 is needed (it has {plan.history_frames})")
    if not (demo / "sft_history0" / "final").is_dir():  # the demo's SFT recipe, queries only
        Demo(demo, plan).train("sft", "sft_history0", demo / "t2v" / "final", "model.patch.generator.history_frames=0",
                               phases(("pairs", plan.sft_steps, "queries, connector, transformer", 0.0)))
    runs = {"history_1": (demo / "sft" / "final", []), "history_0": (demo / "sft_history0" / "final", []),
            "history_1_off_at_inference": (demo / "sft" / "final", ["--history-frames", "0"])}
    reports = {}
    for name, (checkpoint, extra) in runs.items():
        out = demo / "eval_history" / name
        if not (out / "report.json").is_file():
            nsp("eval", "--checkpoint", checkpoint, "--data", demo / "data", "--out", out, "--limit",
                plan.eval_contexts, "--steps", plan.eval_steps, "--seed", plan.seed, "--rollout", ROLLOUT, *extra)
        reports[name] = json.loads((out / "report.json").read_text())

    def brief(report: dict) -> dict:
        m = report["methods"]["model"]
        return {"pass_rate": m["pass_rate"], "pass_rate_ci": m["pass_rate_ci"], "continuity_ssim": m["continuity_ssim"],
                "continuity_psnr": m["continuity_psnr"], "psnr": m["psnr"],
                "rollout": [{k: r[k] for k in ("clip", "pass_rate", "pass_rate_ci", "showing_a_ball", "pass_rate_showing",
                                               "pass_rate_showing_ci", "continuity_ssim", "psnr")}
                            for r in report["rollout"]]}

    summary = {name: brief(r) for name, r in reports.items()}
    common = {"contexts": reports["history_1"]["contexts"], "eval_steps": plan.eval_steps,
              "sft_steps": plan.sft_steps, "models": summary,
              "note": "history_1: the demo's SFT (one clean history latent frame); history_0: the same SFT recipe "
                      "with queries only; history_1_off_at_inference: the history_1 model run without its history"}
    with_h, without = summary["history_1"], summary["history_0"]
    a, b = (reports[n]["per_clip"] for n in ("history_1", "history_0"))
    assert a["keys"] == b["keys"]  # the same contexts and starting noise: compare clip by clip
    paired = {metric: dict(zip(("change", "ci_low", "ci_high"),
                               paired_difference(np.array(b[metric], float), np.array(a[metric], float))))  # a - b
              for metric in ("continuity_ssim", "passed")}
    return [
        result("history_continuity_tiny", round(with_h["continuity_ssim"], 4),
               "continuity SSIM (context's last frame vs the next scene's first), held-out", 
               round(without["continuity_ssim"], 4), "higher", COMMAND, paired_history_1_vs_0=paired, **common),
        result("history_rollout_tiny", round(with_h["rollout"][-1]["pass_rate"], 4),
               f"oracle pass rate of the {ROLLOUT}th chained clip, held-out", None, "higher", COMMAND,
               per_clip_pass_rate={n: [round(r["pass_rate"], 3) for r in s["rollout"]] for n, s in summary.items()},
               per_clip_pass_rate_showing_a_ball={n: [round(r["pass_rate_showing"], 3) for r in s["rollout"]]
                                                  for n, s in summary.items()},
               **common),
    ]


def run() -> list[dict]:
    return on_demo_run(measure)
