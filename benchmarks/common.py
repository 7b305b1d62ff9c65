"""What every benchmark shares: timing, the device description, and the result record (DESIGN.md's contract)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


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
