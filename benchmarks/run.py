"""`make bench`: run the CPU benchmarks, write benchmarks/results/<name>.json, regenerate benchmarks/RESULTS.md.

    python -m benchmarks.run                       # all
    python -m benchmarks.run generation_overhead   # those whose module name contains the word
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
from pathlib import Path

from benchmarks.common import RESULTS, meets_target, write_result
from nsp.environment import configure_command_process

HERE = Path(__file__).parent


def render_summary() -> str:
    lines = ["# Benchmark results", "",
             "Written by `make bench` (`python -m benchmarks.run`) from `benchmarks/results/*.json`; "
             "each row names the command that measured it and the device it ran on.", "",
             "| benchmark | value | target | met | device | date | command |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for path in sorted(RESULTS.glob("*.json")):
        r = json.loads(path.read_text())
        met = {True: "yes", False: "**no**", None: "-"}[meets_target(r)]
        target = "-" if r.get("target") is None else f"{'≤' if r['better'] == 'lower' else '≥'} {r['target']}"
        lines.append(f"| {r['name']} | {r['value']} {r['unit']} | {target} | {met} | {r['device']} | {r['date']} "
                     f"| `{r['command']}` |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("only", nargs="*", help="run only benchmarks whose module name contains one of these")
    args = parser.parse_args(argv)
    configure_command_process()  # a command of its own: the process settings `nsp` makes
    names = sorted(m.name for m in pkgutil.iter_modules([str(HERE)]) if m.name.startswith("bench_"))
    for name in names:
        if args.only and not any(word in name for word in args.only):
            continue
        print(f"== {name}", flush=True)
        for record in importlib.import_module(f"benchmarks.{name}").run():
            path = write_result(record)
            extra = {k: v for k, v in record.items() if k not in ("name", "command", "device", "date")}
            print(f"   {record['name']}: {json.dumps(extra)} -> {path}")
    (HERE / "RESULTS.md").write_text(render_summary())
    print(f"summary: {HERE / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
