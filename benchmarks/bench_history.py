"""Clean history (Video-GPT) on the synthetic world: does it help continuity, and does a long rollout hold?

From a finished continuation demo run (NSP_BENCH_DEMO=DIR, made with `nsp demo world=continuation
history_source=clip t2v_steps=800 sft_steps=2400 scratch_sft_steps=2400`), SFT models with the demo's recipe, steps
and seeds, from its T2V unless said:
    history_1                the demo's SFT (one clean history latent frame; pairs are clip 0 -> clip 1)
    history_1_then_chained_noisy  the demo's SFT model, then FINETUNE_STEPS more as the next one is trained
                             (DIR/sft_then_chained_noisy)
    history_1_chained_noisy  trained on the same scenes' pairs from clip 0, 1, 2 or 3 on (`nsp data synth
                             --start-clips 4`: DIR/data_chained), with noise-augmented history (dit.history_noise:
                             the history noised at a random level in training, given at generator.history_sigma
                             when sampling; DIR/sft_history_chained_noisy); also sampled with clean history
    history_1_chained_noisy_first  the same, with every scene's clip-0 pair kept beside its later one (`nsp data
                             synth --start-clips 4 --first-clip-too`: DIR/data_chained_first): above, only one
                             scene in four taught the event, which the first clip of a rollout shows
                             (DIR/sft_history_chained_noisy_first)
    history_0                queries only (DIR/sft_history0)
all evaluated on the same 200 held-out contexts (clip 0 -> clip 1) with a 4-clip rollout (`nsp eval --rollout 4`).
Records:
    history_continuity_tiny  continuity SSIM of the next scene with its context, with history (target: without)
    history_rollout_tiny     how well a rollout holds: the 4th clip's pass rate over the 1st's, on the clips whose
                             real scene still shows a ball (target 0.8), for HEADLINE; every
                             model's per-clip pass rates with intervals, and the demo's model with clip 1 the real
                             one (teacher-forced: is clip 2 lost to drift, or never learnt?)

    NSP_BENCH_DEMO=runs/demo_continuation python -m benchmarks.run history
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmarks.common import nsp, on_demo_run, result
from nsp.evaluation.metrics import paired_difference

COMMAND = "NSP_BENCH_DEMO=DEMO python -m benchmarks.run history"
ROLLOUT = 4
HISTORY_NOISE = 0.5  # training: each row's history noised at a level drawn uniformly in [0, this]
HISTORY_SIGMA = 0.1  # sampling: the level the history is given at
FINETUNE_STEPS = 800  # the demo's SFT model, then this many steps on the chained pairs
# The model the record is about, chosen by measurement: of the chained models, the one whose 1st clip is not below
# the earlier bench's (FIRST_CLIP_BEFORE) with the 4th/1st ratio >= 0.8; without its clip-0 pairs the chained model
# held best (ratio above 1) but lost the 1st clip, which is where the event happens.
HEADLINE, FIRST_CLIP_BEFORE = "history_1_chained_noisy_first", 0.675


def measure(demo: Path) -> list[dict]:
    from nsp.cli.demo import Demo, DemoPlan, phases

    plan = DemoPlan(**json.loads((demo / "plan.json").read_text()))
    if plan.history_frames != 1 or plan.world != "continuation":
        raise SystemExit(f"{demo}: a continuation demo run with history_frames=1 is needed (it has world "
                         f"{plan.world}, history_frames {plan.history_frames})")
    run = Demo(demo, plan)
    recipe = phases(("pairs", plan.sft_steps, "queries, connector, transformer", 0.0))
    noisy = ([f"dit.history_noise={HISTORY_NOISE}"], (*run.sft_model(), f"generator.history_sigma={HISTORY_SIGMA}"))
    for name, first in (("chained", []), ("chained_first", ["--first-clip-too"])):
        data, latents = demo / f"data_{name}", demo / f"latents_{name}"
        if not (data / "manifest.json").is_file():  # the demo's scenes, training pairs from later clips too
            nsp("data", "synth", "--world", "continuation", "--out", data, "--train", plan.train, "--val", plan.val,
                "--test", plan.test, "--seed", plan.seed, "--start-clips", ROLLOUT, *first)
        if not (latents / "manifest.json").is_file():
            nsp("data", "cache", "--data", data, "--checkpoint", demo / "init", "--out", latents)
    t2v, rollouts = demo / "t2v" / "final", phases(("rollouts", FINETUNE_STEPS, "queries, connector, transformer", 0.0))
    trained = {  # name: (init, phases, overrides, model changes, latents)
        "sft_history_chained_noisy": (t2v, recipe, *noisy, demo / "latents_chained"),
        "sft_history_chained_noisy_first": (t2v, recipe, *noisy, demo / "latents_chained_first"),
        "sft_then_chained_noisy": (demo / "sft" / "final", rollouts, *noisy, demo / "latents_chained"),
        "sft_history0": (t2v, recipe, [], ("generator.history_frames=0",), None)}  # queries only
    runs = {"history_1": (demo / "sft" / "final", []),
            "history_1_then_chained_noisy": (demo / "sft_then_chained_noisy" / "final", []),
            "history_1_chained_noisy": (demo / "sft_history_chained_noisy" / "final", []),
            "history_1_chained_noisy_clean_at_inference": (demo / "sft_history_chained_noisy" / "final",
                                                           ["--history-sigma", "0"]),
            "history_1_chained_noisy_first": (demo / "sft_history_chained_noisy_first" / "final", []),
            "history_0": (demo / "sft_history0" / "final", [])}
    reports = {}
    for name, (checkpoint, extra) in runs.items():  # each model trained when first needed
        if checkpoint.parent.name in trained and not checkpoint.is_dir():
            init, steps, overrides, model, cache = trained[checkpoint.parent.name]
            run.train("sft", checkpoint.parent.name, init, steps, *overrides, model=model, cache=cache)
        out = demo / "eval_history" / name
        if not (out / "report.json").is_file():
            nsp("eval", "--checkpoint", checkpoint, "--data", demo / "data", "--out", out, "--limit",
                plan.eval_contexts, "--steps", plan.eval_steps, "--seed", plan.seed, "--rollout", ROLLOUT, *extra)
        reports[name] = json.loads((out / "report.json").read_text())

    forced = {name: teacher_forced(runs[name][0], demo / "data", plan, demo / "eval_history" / f"{name}_forced.json")
              for name in ("history_1", "history_1_then_chained_noisy", "history_1_chained_noisy",
                           "history_1_chained_noisy_first")}

    def brief(report: dict) -> dict:
        m = report["methods"]["model"]
        return {"pass_rate": m["pass_rate"], "pass_rate_ci": m["pass_rate_ci"], "continuity_ssim": m["continuity_ssim"],
                "continuity_psnr": m["continuity_psnr"], "psnr": m["psnr"],
                "rollout": [{k: r[k] for k in ("clip", "pass_rate", "pass_rate_ci", "showing_a_ball", "pass_rate_showing",
                                               "pass_rate_showing_ci", "continuity_ssim", "psnr")}
                            for r in report["rollout"]]}

    summary = {name: brief(r) for name, r in reports.items()}
    common = {"contexts": reports["history_1"]["contexts"], "eval_steps": plan.eval_steps,
              "sft_steps": plan.sft_steps, "history_noise": HISTORY_NOISE, "history_sigma": HISTORY_SIGMA,
              "models": summary,
              "finetune_steps": FINETUNE_STEPS,
              "note": "history_1: the demo's SFT (one clean history latent frame); history_1_then_chained_noisy: that "
                      "model, then FINETUNE_STEPS more on the chained pairs with noise-augmented history; "
                      "history_1_chained_noisy: the same "
                      "recipe on training pairs from clip 0-3 of the same scenes (nsp data synth --start-clips 4) "
                      "with noise-augmented history (dit.history_noise), sampled with the history at "
                      "generator.history_sigma; ..._clean_at_inference: that model given clean history; "
                      "history_0: the same SFT recipe with queries only"}
    with_h, without = summary["history_1"], summary["history_0"]
    a, b = (reports[n]["per_clip"] for n in ("history_1", "history_0"))
    assert a["keys"] == b["keys"]  # the same contexts and starting noise: compare clip by clip
    paired = {metric: dict(zip(("change", "ci_low", "ci_high"),
                               paired_difference(np.array(b[metric], float), np.array(a[metric], float))))  # a - b
              for metric in ("continuity_ssim", "passed")}
    showing = {n: [r["pass_rate_showing"] for r in s["rollout"]] for n, s in summary.items()}
    held = {n: round(rates[-1] / rates[0], 4) if rates[0] else None for n, rates in showing.items()}
    return [
        result("history_continuity_tiny", round(with_h["continuity_ssim"], 4),
               "continuity SSIM (context's last frame vs the next scene's first), held-out",
               round(without["continuity_ssim"], 4), "higher", COMMAND, paired_history_1_vs_0=paired, **common),
        result("history_rollout_tiny", held[HEADLINE],
               f"the {ROLLOUT}th chained clip's oracle pass rate over the 1st's, on held-out clips still showing a "
               "ball (trained on later clips too, noise-augmented history)", 0.8, "higher", COMMAND,
               headline_model=HEADLINE, first_clip=showing[HEADLINE][0],
               first_clip_target=FIRST_CLIP_BEFORE, first_clip_met=showing[HEADLINE][0] >= FIRST_CLIP_BEFORE,
               held_by_model=held,
               per_clip_pass_rate={n: [round(r["pass_rate"], 3) for r in s["rollout"]] for n, s in summary.items()},
               per_clip_pass_rate_showing_a_ball={n: [round(r, 3) for r in rates] for n, rates in showing.items()},
               per_clip_pass_rate_showing_a_ball_ci={n: [[round(v, 3) for v in r["pass_rate_showing_ci"]]
                                                         for r in s["rollout"]] for n, s in summary.items()},
               clip_2_from_the_real_clip_1=forced, **common),
    ]


def teacher_forced(checkpoint: Path, data: Path, plan, out: Path) -> dict:
    """Clip 2 predicted from the real clip 1 (not the model's): the pass rate on clips showing a ball, with its
    interval. Low here as in the rollout: clip 2 was never learnt, not lost to drift."""
    if not out.is_file():
        from nsp.evaluation.predict import EvalSettings, load_pairs
        from nsp.evaluation.rollout import rollout
        from nsp.pipeline import NSPPipeline
        from nsp.rewards import build_reward

        pipe = NSPPipeline.from_pretrained(checkpoint)
        pairs = load_pairs(data, "test", plan.eval_contexts)
        s = EvalSettings(limit=plan.eval_contexts, steps=plan.eval_steps, seed=plan.seed, rollout=2)
        clip_2 = rollout(pipe, pairs, [p.next.frames for p in pairs], s, build_reward({"oracle": 1.0}, pipe.model))[1]
        out.write_text(json.dumps({"pass_rate_showing": round(clip_2["pass_rate_showing"], 3),
                                   "ci": [round(v, 3) for v in clip_2["pass_rate_showing_ci"]]}) + "\n")
    return json.loads(out.read_text())


def run() -> list[dict]:
    return on_demo_run(measure, "world=continuation", "history_source=clip", "t2v_steps=800", "sft_steps=2400",
                       "scratch_sft_steps=2400")
