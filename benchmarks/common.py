"""What every benchmark shares: timing, the device description, and the result record (DESIGN.md's contract)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
REPO = Path(__file__).resolve().parent.parent


def device_description() -> str:
    import torch

    if torch.cuda.is_available():
        return f"cuda: {torch.cuda.get_device_name(0)}"
    model = platform.processor() or "cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"cpu: {model}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"


def median_seconds(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def result(name: str, value: float, unit: str, target: float | None, better: str, command: str, **extra) -> dict:
    return {"name": name, "value": value, "unit": unit, "target": target, "better": better, "command": command,
            "device": device_description(), "date": _dt.date.today().isoformat(), **extra}


def write_result(record: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{record['name']}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def meets_target(record: dict) -> bool | None:
    if record.get("target") is None:
        return None
    return record["value"] <= record["target"] if record["better"] == "lower" else record["value"] >= record["target"]


def nsp(*args) -> None:
    """Run the real `nsp` command from the repository root; a failure stops the benchmark."""
    subprocess.run([sys.executable, "-m", "nsp.cli.main", *map(str, args)], cwd=REPO, check=True)


def on_demo_run(measure, *plan: str) -> list[dict]:
    """`measure(demo_dir)` on the finished demo run named by NSP_BENCH_DEMO, or on a fresh `nsp demo` (20 to 40
    minutes on 2 CPU cores; `plan`: its key=value settings) in a temporary directory."""
    given = os.environ.get("NSP_BENCH_DEMO")
    if given:
        return measure(Path(given))
    with tempfile.TemporaryDirectory() as tmp:
        nsp("demo", "--out", f"{tmp}/demo", *plan)
        return measure(Path(tmp) / "demo")


def demo_sampled_in_bf16(demo: Path) -> bool:
    """Whether the demo run's own evaluation sampled in bf16 (`nsp eval --bf16`): measure its models the same way."""
    return json.loads((demo / "eval" / "rl" / "report.json").read_text())["settings"].get("bf16", False)


def train_from_preset(root: Path, data: Path, config: str, model: list[str], train: tuple[str, ...] = ()) -> dict:
    """The tiny preset with `model` overrides (as `config` composes them, so the cache matches) -> latent cache ->
    `nsp train sft --config config` (with `train`'s overrides) -> `nsp eval` on the test split: the report. Each step
    is kept under `root` and skipped when already there."""
    init, latents, run, out = (root / n for n in ("init", "latents", "run", "eval"))
    if not (init / "nsp_config.json").is_file():
        nsp("init", "--preset", "tiny", "--out", init, *model)
    if not (latents / "manifest.json").is_file():
        nsp("data", "cache", "--data", data, "--checkpoint", init, "--out", latents)
    if not (run / "final").is_dir():
        nsp("train", "sft", "--config", config, "--data", data, "--out", run, f"data.cache={latents}", *train)
    if not (out / "report.json").is_file():
        nsp("eval", "--checkpoint", run / "final", "--data", data, "--out", out, "--steps", 10)
    return json.loads((out / "report.json").read_text())


def in_kept_or_temporary_dir(variable: str, measure) -> list[dict]:
    """`measure(dir)` in the directory named by the environment `variable` (kept, reused), else a temporary one."""
    given = os.environ.get(variable)
    if given:
        return measure(Path(given))
    with tempfile.TemporaryDirectory() as tmp:
        return measure(Path(tmp))
