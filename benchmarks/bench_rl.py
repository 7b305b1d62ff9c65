"""RL with enough signal: does GRPO raise the held-out pass rate of the demo's SFT checkpoint?

The demo's own RL step (40 cheap steps) is too small to tell from noise on 200 contexts. This runs the RL recipe that
does move the model, on a finished demo run (NSP_BENCH_DEMO=DIR, else a fresh `nsp demo`): dynamic sampling
(`rl.max_draws`: up to 40 contexts rolled out to find 8 groups whose rewards spread), one optimizer step per 8 groups,
the oracle's pass-aware reward, 2 x 16 steps (the second run from the first's final checkpoint with another data
seed; about 25 min on 2 CPU cores). Both checkpoints are evaluated on 1173 fresh held-out contexts (seed 0's first
1200 test scenes less those in the demo's train/val split), same contexts and noise, and compared clip by clip.
Records:
    rl_dynamic_pass_gain_tiny   lower end of the 95% paired interval of the pass-rate change +RL vs +SFT (> 0: a
                                real gain), with both rates, the score change and the per-family rates

    python -m benchmarks.run rl          # NSP_BENCH_RL=DIR keeps (and reuses) the runs there
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.common import in_kept_or_temporary_dir, nsp, on_demo_run, result

COMMAND = "python -m benchmarks.run rl"
RL_ARGS = ["rl.min_group_std=0.05", "rl.max_draws=40", "rl.contexts=8", "rl.updates_per_rollout=1", "optim.lr=5e-5",
           "rl.reward_options={oracle: {mode: pass}}",
           "phases=[{name: grpo, steps: 16, trainable: [queries, connector, transformer]}]"]


def fresh_test_split(demo: Path, out: Path, count: int = 1200) -> None:
    """Seed 0's first `count` test scenes of the demo's world, less any the demo trained or validated on."""
    import nsp.data.synth as synth
    from nsp.data.cuts import cut_key
    from nsp.data.world import scene_key

    plan = json.loads((demo / "plan.json").read_text())
    world = plan.get("world", "continuation")
    key = scene_key if world == "continuation" else cut_key
    seen = synth.draw_scenes({"test": plan["test"], "val": plan["val"], "train": plan["train"]}, plan["seed"], world)
    used = {key(s) for s in seen["train"] + seen["val"]}
    scenes = [s for s in synth.draw_scenes({"test": count}, plan["seed"], world)["test"] if key(s) not in used]
    synth.synthesize(out, {}, seed=plan["seed"], scenes={"test": scenes})


def measure(demo: Path, root: Path) -> list[dict]:
    from nsp.evaluation.metrics import paired_difference

    data = root / "data"
    if not (data / "manifest.json").is_file():
        fresh_test_split(demo, data)
    first, second = root / "rl_dyn8", root / "rl_dyn8b"
    for init, out, seed in ((demo / "sft" / "final", first, 0), (first / "final", second, 1)):
        if not (out / "final").is_dir():
            nsp("train", "rl", "--config", "stages/configs/rl_tiny.yaml", "--data", demo / "data", "--init", init,
                "--out", out, *RL_ARGS, f"run.seed={seed}")
    reports = {}
    for name, ck in (("sft", demo / "sft" / "final"), ("rl_dyn8b", second / "final")):
        out = root / f"eval_{name}"
        if not (out / "report.json").is_file():
            nsp("eval", "--checkpoint", ck, "--data", data, "--out", out, "--steps", 10, "--seed", 0)
        reports[name] = json.loads((out / "report.json").read_text())
    before, after = (reports[k]["per_clip"] for k in ("sft", "rl_dyn8b"))
    gain, score = (paired_difference(before[k], after[k]) for k in ("passed", "score"))
    brief = lambda r: {k: r["methods"]["model"][k] for k in ("pass_rate", "pass_rate_ci", "score", "by_family")}  # noqa
    return [result("rl_dynamic_pass_gain_tiny", round(gain[1], 4), "lower end of the 95% paired interval of the "
                   "held-out pass-rate change +RL vs +SFT (1173 contexts)", 0.001, "higher", COMMAND,
                   pass_rate_change=round(gain[0], 4), ci=[round(v, 4) for v in gain[1:]],
                   score_change=[round(v, 4) for v in score], before_rl=brief(reports["sft"]),
                   after_rl=brief(reports["rl_dyn8b"]), contexts=len(before["passed"]),
                   train_command="nsp train rl --config stages/configs/rl_tiny.yaml --data DEMO/data --init "
                                 "DEMO/sft/final --out RL1 " + " ".join(RL_ARGS) + "; the same --init RL1/final "
                                 "--out RL2 run.seed=1")]


def run() -> list[dict]:
    return on_demo_run(lambda demo: in_kept_or_temporary_dir("NSP_BENCH_RL", lambda root: measure(demo, root)))
