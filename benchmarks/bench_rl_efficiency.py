"""RL made cheap: seconds per optimizer step and held-out gain per CPU-minute, the previous recipe against the fast
ones, side by side from the same SFT checkpoint of a demo run (NSP_BENCH_DEMO=DIR, else a fresh `nsp demo`), with
equal candidates (each rolls out 2 contexts x 8 candidates, 10 denoising steps, per 2 optimizer steps):

    previous  CFG 3, 5 of the 10 steps trained, noise at every step, the policy gradient through both CFG branches
    fast      CFG 3, 2 steps trained, drawn from the first 4 (where the shot's content is decided), noise only there,
              the group one trajectory until them (Flow-GRPO-Fast's branching), the gradient through the conditional
              branch only (Flow-GRPO)
    fast_tail the same, the rest of each rollout after the last trained step in 2 longer Euler steps (only the
              reward sees it)
    cfg_free  fast_tail rolled out with the checkpoint's own guidance (rl.guidance unset), the demo's recipe: the
              cut world's models sample best without CFG, so no unconditional pass (on a checkpoint that samples with
              CFG this is fast_tail again)

Each runs `rl_steps` optimizer steps with the demo's RL settings, then is evaluated like the demo's +SFT (its
held-out contexts, seed and steps: paired with `eval/sft`). Records:
    rl_efficiency_tiny   speed-up of an optimizer step, previous / cfg_free (target >= 3), with each recipe's seconds
                         per step, wall time, held-out pass-rate change vs +SFT (paired interval) and gain per minute

    python -m benchmarks.run rl_efficiency    # NSP_BENCH_RL_EFFICIENCY=DIR keeps (and reuses) the runs there
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from benchmarks.common import demo_sampled_in_bf16, in_kept_or_temporary_dir, nsp, on_demo_run, result

COMMAND = "python -m benchmarks.run rl_efficiency"
RECIPES = {
    "previous": ["rl.guidance=3.0", "rl.train_steps=5", "rl.train_window=null", "rl.noise_only_trained=false", "rl.guidance_grad=both"],
    "fast": ["rl.guidance=3.0", "rl.train_steps=2", "rl.train_window=[0, 4]", "rl.noise_only_trained=true",
             "rl.guidance_grad=conditional"],
    "fast_tail": ["rl.guidance=3.0", "rl.train_steps=2", "rl.train_window=[0, 4]", "rl.noise_only_trained=true",
                  "rl.guidance_grad=conditional", "rl.tail_steps=2"],
    "cfg_free": ["rl.train_steps=2", "rl.train_window=[0, 4]", "rl.noise_only_trained=true", "rl.tail_steps=2"],
}


def seconds_per_step(run: Path) -> float:
    """The mean time of an optimizer step, from the engine's log (logged every step: an RL step counts as one sample
    of `samples_per_s`); the first, which holds the start-up, left out. Steps that roll out and steps that only
    update alternate, so it is the mean of the times, not of the rates."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    times = [1 / r["samples_per_s"] for r in rows if "samples_per_s" in r][1:]
    return sum(times) / len(times) if times else float("nan")


def measure(demo: Path, root: Path) -> list[dict]:
    from nsp.cli.demo import TINY_ASSETS
    from nsp.evaluation.metrics import paired_difference

    plan = json.loads((demo / "plan.json").read_text())
    assets = TINY_ASSETS[plan["world"]]
    steps = plan["rl_steps"] or 40
    before = json.loads((demo / "eval" / "sft" / "report.json").read_text())["per_clip"]
    sampling = ["--bf16"] if demo_sampled_in_bf16(demo) else []  # as the demo's own +SFT report, paired with
    rl_data = demo / "data_rl" if (demo / "data_rl").is_dir() else demo / "data"  # the demo's RL contexts
    out: dict[str, dict] = {}
    for name, extra in RECIPES.items():
        run = root / name
        if not (run / "final").is_dir():
            start = time.perf_counter()
            nsp("train", "rl", "--config", "stages/configs/rl_tiny.yaml", "--data", rl_data, "--init",
                demo / "sft" / "final", "--out", run, *[f"model.patch.{a}" for a in assets], "rl.val_contexts=0",
                "run.log_every=1",
                f"run.seed={plan['seed']}", "run.save_every=1000",
                f"phases=[{{name: grpo, steps: {steps}, trainable: [queries, connector, transformer]}}]", *extra)
            (run / "wall_seconds").write_text(f"{time.perf_counter() - start:.1f}")
        report = run / "eval"
        if not (report / "report.json").is_file():
            nsp("eval", "--checkpoint", run / "final", "--data", demo / "data", "--out", report, "--limit",
                plan["eval_contexts"], "--steps", plan["eval_steps"], "--seed", plan["seed"], *sampling)
        after = json.loads((report / "report.json").read_text())["per_clip"]
        change, low, high = paired_difference(before["passed"], after["passed"])
        wall = float((run / "wall_seconds").read_text())
        out[name] = {"seconds_per_step": round(seconds_per_step(run), 3), "wall_seconds": wall,
                     "pass_rate_change": round(change, 4), "ci": [round(low, 4), round(high, 4)],
                     "gain_per_minute": round(change / (wall / 60), 4), "settings": extra}
    speedup = out["previous"]["seconds_per_step"] / out["cfg_free"]["seconds_per_step"]
    guidance = json.loads((demo / "sft" / "final" / "nsp_config.json").read_text())["model"]["sampling"]["guidance"]
    return [result("rl_efficiency_tiny", round(speedup, 2), "x faster optimizer step (previous / cfg_free recipe)",
                   3.0, "higher", COMMAND, recipes=out, rl_steps=steps, contexts=len(before["passed"]),
                   checkpoint_guidance=guidance, world=plan.get("world"),
                   note="equal candidates: 2 contexts x 8 per 2 optimizer steps, 10 denoising steps; pass-rate "
                        "change: +RL vs the demo's +SFT, paired on its held-out contexts, each sampled with the "
                        "checkpoint's guidance")]


def run() -> list[dict]:
    return on_demo_run(lambda demo: in_kept_or_temporary_dir("NSP_BENCH_RL_EFFICIENCY",
                                                              lambda root: measure(demo, root)))
