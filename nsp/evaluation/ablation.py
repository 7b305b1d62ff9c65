"""The demo's report: the stage ablation and the baselines side by side, and whether the demo's goals were met.

Reads the `nsp eval` reports the demo wrote (eval/<run>/report.json) and says plainly what was reached: the final
pass rate against the goal, whether the understanding path carries the scene (the path ablation), whether each
training stage earns its place (paired changes: T2V pretraining, SFT; RL is reported), and every baseline below the
final model with non-overlapping confidence intervals."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from nsp.evaluation.metrics import paired_difference
from nsp.evaluation.report import ci, fmt, methods_table, paths_section

GOAL_PASS_RATE = {"cuts": 0.8, "continuation": 0.9}
GOAL_UNDERSTANDING_GAIN = 0.4  # real minus null condition, same history setting (the path ablation)
ABLATION = {"pretrain-only": "t2v", "+SFT": "sft", "+RL": "rl", "SFT without pretraining": "sft_scratch"}
FINAL = "rl"
STEPS = [("+SFT", "pretrain-only"), ("+RL", "+SFT"), ("SFT without pretraining", "+SFT")]  # (after, before)
BASELINES = ("copy_last_frame", "no_context", "shuffled_context", "history_only")
WORLD_WORDS = {"cuts": "scene-cut world (the next clip is another shot, after a cut)",
               "continuation": "continuation world (the next clip continues the shot)"}


def load_reports(out: Path) -> dict[str, dict]:
    reports = {}
    for label, run in ABLATION.items():
        path = out / "eval" / run / "report.json"
        if path.is_file():
            reports[label] = json.loads(path.read_text())
    return reports


def understanding_gain(report: dict) -> dict | None:
    """The path ablation's real-minus-null change at the model's own history setting (None: not measured)."""
    gains = (report.get("paths") or {}).get("understanding_gain") or {}
    return gains.get("history") or gains.get("no history")


def goals(reports: dict[str, dict], world: str = "cuts") -> list[tuple[str, bool, str]]:
    """(goal, met, what was measured) for the demo's goals."""
    final = reports["+RL"]["methods"]
    model = final["model"]
    target = GOAL_PASS_RATE[world]
    out = [(f"final oracle pass rate >= {target}", model["pass_rate"] >= target,
            f"{fmt(model['pass_rate'])} {ci(model['pass_rate_ci'])}")]
    gain = understanding_gain(reports["+RL"])
    out.append((f"the understanding path carries the scene: real vs null condition >= +{GOAL_UNDERSTANDING_GAIN}, "
                "paired interval above 0", bool(gain) and gain["change"] >= GOAL_UNDERSTANDING_GAIN
                and gain["ci"][0] > 0, f"{gain['change']:+.3f} {ci(gain['ci'])}" if gain else "not measured"))
    paired = paired_gains(reports)
    scratch = paired.get("SFT without pretraining vs +SFT")
    out.append(("T2V pretraining matters: SFT without it below +SFT, paired interval below 0",
                bool(scratch) and scratch["ci"][1] < 0,
                f"{scratch['pass_rate_change']:+.3f} {ci(scratch['ci'])}" if scratch else "not measured"))
    sft = paired.get("+SFT vs pretrain-only")
    out.append(("pretrain-only < +SFT, paired interval above 0", bool(sft) and sft["ci"][0] > 0,
                f"{sft['pass_rate_change']:+.3f} {ci(sft['ci'])}" if sft else "not measured"))
    below = [(name, final[name]["pass_rate_ci"][1] < model["pass_rate_ci"][0]) for name in BASELINES
             if name in final]
    out.append(("every baseline below the final model, outside the 95% intervals", bool(below) and all(
        ok for _, ok in below), ", ".join(f"{n}: {'below' if ok else 'NOT clearly below'}" for n, ok in below)))
    return out


def paired_gains(reports: dict[str, dict]) -> dict[str, dict]:
    """What each stage changed, clip by clip: every checkpoint was evaluated on the same contexts from the same
    starting noise, so the paired difference of pass rates has a much tighter interval than two separate rates."""
    out = {}
    for after, before in STEPS:
        a, b = (reports.get(k, {}).get("per_clip") for k in (before, after))
        if a and b and a["keys"] == b["keys"] and len(a["passed"]) == len(b["passed"]):
            d, lo, hi = paired_difference(a["passed"], b["passed"])
            out[f"{after} vs {before}"] = {"pass_rate_change": d, "ci": [lo, hi]}
    return out


def reward_watch(metrics: Path) -> dict[str, tuple[float, float]]:
    """The RL run's validation measures, first and last: the trained reward, pass rate and the watched rewards."""
    if not metrics.is_file():
        return {}
    vals = [m for m in map(json.loads, metrics.read_text().splitlines()) if "val_reward" in m]
    if len(vals) < 2:
        return {}
    keys = [k for k in vals[0] if k.startswith("val_") and k in vals[-1]]
    order = sorted(keys, key=lambda k: (k != "val_reward", k != "val_pass_rate", k.startswith("val_watch"), k))
    return {k.removeprefix("val_"): (vals[0][k], vals[-1][k]) for k in order}


def wall_seconds(timings: dict) -> float:
    """The demo's wall time from its steps' times: a step that ran beside the others (`nsp demo jobs=2`, timed with
    a `<step>_wait` entry), and the evaluations that followed it there (`<step>_eval`), count only for the time the
    demo waited for them."""
    return sum(v for k, v in timings.items() if f"{k.removesuffix('_eval')}_wait" not in timings)


def demo_report(out: Path, plan, timings: dict) -> tuple[dict, str]:
    reports = load_reports(out)
    if "+RL" not in reports:
        raise FileNotFoundError(f"{out}/eval/{FINAL}/report.json: the final evaluation is missing")
    final = reports["+RL"]
    world = plan.world
    met = goals(reports, world)
    summary = {"plan": asdict(plan), "timings_s": timings, "total_minutes": round(wall_seconds(timings) / 60, 1),
               "ablation": {k: r["methods"]["model"] for k, r in reports.items()},
               "paired": paired_gains(reports),
               "baselines": {k: v for k, v in final["methods"].items() if k != "model"},
               "paths": final.get("paths"), "world": world,
               "goals": [{"goal": g, "met": ok, "measured": m} for g, ok, m in met],
               "efficiency": final["efficiency"]}
    s = final["settings"]
    sft_config = out / "sft" / "config.json"  # what the training really ran with
    precision = json.loads(sft_config.read_text())["deepspeed"]["precision"] if sft_config.is_file() else "?"
    summary["precision"] = precision
    lines = ["# nsp demo", "",
             f"The tiny model trained on the synthetic {WORLD_WORDS[world]} on this machine in "
             f"{summary['total_minutes']} min "
             f"(T2V {plan.t2v_image_steps}+{plan.t2v_steps} steps, SFT {plan.sft_steps}, RL {plan.rl_steps} "
             f"({plan.rl_recipe}); {plan.train} training pairs; precision {precision}), then evaluated on "
             f"{final['contexts']} held-out "
             f"test contexts ({s['steps']} denoising steps, guidance {s['guidance']}, reward `{final['reward']}`).", "",
             (f"From SFT on, the DiT sees the context's last {plan.history_frames} latent frame(s) clean before the "
              "noisy next scene (`generator.history_frames`, Video-GPT's clean history) as well as the VLM queries; "
              "the pretrain-only checkpoint has no history (T2V has no context clip)." if plan.history_frames else
              "The context reaches the DiT only through the VLM queries (the paper's design)."), "",
             "![context | prediction | real next scene](example/side_by_side.png)", "",
             "`example/`: a held-out context clip, the predicted next scene and the real one (mp4), side by side.",
             "", "## Goals", "", "| goal | met | measured |", "|---|---|---|"]
    lines += [f"| {g} | {'yes' if ok else 'no'} | {m} |" for g, ok, m in met]
    if final.get("paths"):
        lines += ["", "## Which path carries the scene (the final model)"]
        lines += paths_section(final["paths"])
    lines += ["", "## Stage ablation (the model, each checkpoint)", ""]
    lines += methods_table({k: r["methods"]["model"] for k, r in reports.items()}, "checkpoint")
    if summary["paired"]:
        lines += ["", "Pass-rate change, clip by clip (same contexts, same starting noise; 95% paired bootstrap; an "
                      "interval that excludes 0 is a real change between these checkpoints; it leaves out the "
                      "training's own spread: another training seed, or another thread count, moves a tiny "
                      "checkpoint by as much as the stage effects here, see the README):", ""]
        lines += [f"- {k}: {v['pass_rate_change']:+.3f} {ci(v['ci'])}" for k, v in summary["paired"].items()]
    families = {k: r["methods"]["model"].get("by_family") for k, r in reports.items()}
    if any(families.values()):
        names = sorted({f for fam in families.values() if fam for f in fam})
        lines += ["", "Pass rate by scene family:", "", "| checkpoint | " + " | ".join(names) + " |",
                  "|---|" + "---|" * len(names)]
        lines += [f"| {k} | " + " | ".join(fmt((fam or {}).get(n), 2) for n in names) + " |"
                  for k, fam in families.items()]
    watch = reward_watch(out / "rl" / "metrics.jsonl")
    if watch:
        summary["reward_watch"] = watch
        lines += ["", "## Reward hacking watch (the RL run's held-out validation contexts)", "",
                  "Trained on the first row's reward; the others are only measured. A trained reward that rises while "
                  "the others fall would be the policy gaming its reward.", "",
                  "| measure | before RL | after RL | change |", "|---|---|---|---|"]
        lines += [f"| {k} | {a:.3f} | {b:.3f} | {b - a:+.3f} |" for k, (a, b) in watch.items()]
    lines += ["", "## Baselines (against the final model)", ""]
    lines += methods_table(final["methods"])
    e = final["efficiency"]
    lines += ["", f"Sampling: {e['seconds_per_clip']:.3f} s per clip on {e['device']} (batch {e['batch_size']}); "
                  f"peak memory {e['peak_memory_gb']:.2f} GB ({e['memory']}).", "",
              "Time per step (s): " + ", ".join(f"{k} {v}" for k, v in timings.items()) + "."
              + (" A step with a `_wait` entry trained beside the others (jobs=2), then evaluated checkpoints there "
                 "(its `_eval` entry); only the wait adds to the total."
                 if any(k.endswith("_wait") for k in timings) else ""), "",
              "Each checkpoint's own report (with its contact sheet and plot): `eval/<run>/REPORT.md`."]
    return summary, "\n".join(lines) + "\n"
