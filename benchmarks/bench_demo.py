"""The demo's numbers (issue: the NSP benchmark and the one-command demo) and, from the same run, RL's effect.

Runs `nsp demo` with its default plan (about 23 minutes on 2 CPU cores) in a temporary directory, or reads a finished
demo run given as NSP_BENCH_DEMO=DIR, and records:
    demo_pass_rate_tiny   the final model's oracle pass rate on the held-out test split (goal 0.9), with the stage
                          ablation, the baselines and the goal checks alongside
    demo_minutes          the demo's wall time (goal about 20 minutes)
    rl_pass_rate_tiny     +RL vs +SFT on the same held-out contexts and seeds (target: the SFT checkpoint's rate)

    python -m benchmarks.run demo
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import result

COMMAND = "make bench  # python -m benchmarks.run demo  (runs `nsp demo`)"
REPO = Path(__file__).resolve().parent.parent


def record(run: Path) -> list[dict]:
    summary = json.loads((run / "demo_report.json").read_text())
    ablation, goals = summary["ablation"], summary["goals"]
    final, sft = ablation["+RL"], ablation["+SFT"]
    brief = lambda m: {k: m[k] for k in ("pass_rate", "pass_rate_ci", "score", "score_ci", "psnr", "ssim")}  # noqa
    common = {"plan": summary["plan"], "timings_s": summary["timings_s"]}
    return [
        result("demo_pass_rate_tiny", round(final["pass_rate"], 4), "oracle pass rate, held-out test split", 0.9,
               "higher", COMMAND, ci=final["pass_rate_ci"], ablation={k: brief(v) for k, v in ablation.items()},
               baselines={k: brief(v) for k, v in summary["baselines"].items()}, goals=goals, **common),
        result("demo_minutes", summary["total_minutes"], "minutes (2 CPU cores)", 20, "lower", COMMAND, **common),
        result("rl_pass_rate_tiny", round(final["pass_rate"], 4), "oracle pass rate after RL, held-out test split",
               round(sft["pass_rate"], 4), "higher", COMMAND, before_rl=brief(sft), after_rl=brief(final),
               note="target: the SFT checkpoint's pass rate on the same contexts and seeds", **common),
    ]


def run() -> list[dict]:
    given = os.environ.get("NSP_BENCH_DEMO")
    if given:
        return record(Path(given))
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "nsp.cli.main", "demo", "--out", f"{tmp}/demo"], cwd=REPO, check=True)
        return record(Path(tmp) / "demo")
