"""Does the demo's own RL stage pay, on enough held-out contexts to tell?

On a finished demo run (NSP_BENCH_DEMO=DIR, else a fresh `nsp demo`), its +SFT and +RL checkpoints are evaluated on
at least 500 held-out contexts of its world (the demo's test split where it has that many, else fresh test scenes
none of which it trained or validated on), same contexts and starting noise, and compared clip by clip. Records:
    rl_demo_gain_tiny   lower end of the 95% paired interval of the pass-rate change +RL vs +SFT (target: the
                        change >= +0.05 with the interval above 0), with the change, the interval, the demo's RL
                        seconds and the reward-hacking watch of its RL run

    python -m benchmarks.run rl_demo_gain      # NSP_BENCH_RL_DEMO=DIR keeps (and reuses) the evaluations there
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.bench_rl import fresh_test_split
from benchmarks.common import in_kept_or_temporary_dir, nsp, on_demo_run, result

COMMAND = "python -m benchmarks.run rl_demo_gain"
CONTEXTS = 500


def measure(demo: Path, root: Path) -> list[dict]:
    from nsp.evaluation.ablation import reward_watch
    from nsp.evaluation.metrics import paired_difference

    plan = json.loads((demo / "plan.json").read_text())
    data = demo / "data"
    if plan["test"] < CONTEXTS:
        data = root / "data"
        if not (data / "manifest.json").is_file():
            fresh_test_split(demo, data, 2 * CONTEXTS)
    reports = {}
    for name in ("sft", "rl"):
        out = root / f"eval_{name}"
        if not (out / "report.json").is_file():
            nsp("eval", "--checkpoint", demo / name / "final", "--data", data, "--out", out,
                "--steps", plan["eval_steps"], "--seed", plan["seed"])
        reports[name] = json.loads((out / "report.json").read_text())
    before, after = (reports[k]["per_clip"] for k in ("sft", "rl"))
    gain, score = (paired_difference(before[k], after[k]) for k in ("passed", "score"))
    brief = lambda r: {k: r["methods"]["model"][k] for k in ("pass_rate", "pass_rate_ci", "score", "by_family")}  # noqa
    timings = json.loads((demo / "timings.json").read_text())
    return [result("rl_demo_gain_tiny", round(gain[1], 4), "lower end of the 95% paired interval of the held-out "
                   "pass-rate change +RL vs +SFT (the demo's own RL stage)", 0.0, "higher", COMMAND,
                   change=round(gain[0], 4), ci=[round(v, 4) for v in gain[1:]], change_target=0.05,
                   score_change=[round(v, 4) for v in score], contexts=len(before["passed"]),
                   rl_seconds=timings.get("rl"), rl_steps=plan["rl_steps"], before_rl=brief(reports["sft"]),
                   after_rl=brief(reports["rl"]), reward_watch=reward_watch(demo / "rl" / "metrics.jsonl"),
                   world=plan.get("world"))]


def run() -> list[dict]:
    return on_demo_run(lambda demo: in_kept_or_temporary_dir("NSP_BENCH_RL_DEMO", lambda root: measure(demo, root)))
