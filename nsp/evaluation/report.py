"""The benchmark's files: report.json (machine-readable), REPORT.md (a table a person reads at a glance), a contact
sheet (context | prediction | real next scene) and a pass-rate plot with confidence intervals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from nsp.files import atomic_path
from nsp.plots import bar_plot
from nsp.video.frames import sheet

NAMES = {"model": "model", "no_context": "no context (prompt only)", "shuffled_context": "shuffled context",
         "copy_last_frame": "copy last frame", "real_next_scene": "real next scene",
         "first_candidate": "first candidate (no selection)"}


def fmt(value, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}f}"


def failed_line(family: str, v: dict) -> str:
    causes = ", ".join(f"{c.replace('_', ' ')} {fmt(x, 2)}" for c, x in v["causes"].items())
    return f"{family} {v['failed']} of {v['clips']}" + (f" ({causes})" if causes else "")


def ci(pair) -> str:
    return f"[{fmt(pair[0], 2)}, {fmt(pair[1], 2)}]"


def methods_table(methods: dict[str, dict], first_column: str = "method") -> list[str]:
    lines = [f"| {first_column} | pass rate | 95% CI | score | 95% CI | PSNR | SSIM | continuity SSIM | diversity |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, m in methods.items():
        lines.append(f"| {NAMES.get(name, name)} | {fmt(m['pass_rate'])} | {ci(m['pass_rate_ci'])} | "
                     f"{fmt(m['score'])} | {ci(m['score_ci'])} | {fmt(m['psnr'], 2)} | {fmt(m['ssim'])} | "
                     f"{fmt(m['continuity_ssim'])} | {fmt(m['diversity'])} |")
    return lines


def markdown(report: dict, title: str = "NSP benchmark") -> str:
    s, e = report["settings"], report["efficiency"]
    lines = [f"# {title}", "",
             f"Checkpoint `{report.get('checkpoint', '?')}` on `{report.get('data', '?')}` ({s['split']} split, "
             f"{report['contexts']} contexts × {s['samples']} sample(s), reward `{report['reward']}`, "
             f"{s['steps']} denoising steps{' in bf16' if s.get('bf16') else ''}, guidance {s['guidance']}).",
             "", "Pass rate and score: scene consistency by the reward; PSNR / SSIM: fidelity to the real next scene; "
             "continuity: the context's last frame vs the prediction's first; diversity: mean pairwise 1 − SSIM of "
             "the samples of one context. Intervals: 95% percentile bootstrap.", ""]
    lines += methods_table(report["methods"])
    fd = report["methods"]["model"].get("fd_vlm")
    families = report["methods"]["model"].get("by_family") or {}
    if families:
        lines += ["", "Model pass rate by scene family: " + ", ".join(f"{k} {fmt(v, 2)}" for k, v in families.items())
                  + "."]
    if report.get("failures"):
        lines += ["", "Why the model's predictions fail (the cut oracle; failed clips of each family, and the share of "
                      "them with a failed frame of each cause): "
                  + "; ".join(failed_line(f, v) for f, v in report["failures"].items()) + "."]
    if report.get("rollout"):
        lines += ["", f"Rollout: {len(report['rollout'])} clips chained from each context, each predicted from the "
                      "one before; clip k judged as the k-th scene after the context (continuity: its first frame "
                      "vs the previous clip's last).", "",
                  "| clip | pass rate | 95% CI | real scene shows a ball | pass rate there | 95% CI | score | "
                  "continuity SSIM | PSNR vs the real scene |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['clip']} | {fmt(r['pass_rate'])} | {ci(r['pass_rate_ci'])} | {fmt(r['showing_a_ball'], 2)} | "
                  f"{fmt(r['pass_rate_showing'])} | {ci(r['pass_rate_showing_ci'] or (None, None))} | "
                  f"{fmt(r['score'])} | {fmt(r['continuity_ssim'])} | {fmt(r['psnr'], 2)} |"
                  for r in report["rollout"]]
    if report.get("best_of"):
        b = report["best_of"]
        c = b["change_vs_first"]
        lines += ["", f"Best of {b['n']}: the model's prediction is the candidate `{b['select']}` scored best of {b['n']} "
                      f"(it sees the context and the candidate, not the real next scene); against the first candidate "
                      f"alone, paired: {c['change']:+.3f} [{c['ci_low']:.2f}, {c['ci_high']:.2f}]."]
    if report.get("paths"):
        lines += paths_section(report["paths"])
    if report.get("sentences"):
        lines += sentences_section(report["sentences"])
    if report.get("classification"):
        lines += classification_section(report["classification"])
    lines += ["", f"Fréchet distance of the predictions to the real next scenes in the VLM's visual-feature space "
                  f"(fd_vlm): {fmt(fd)}.",
              f"Efficiency: {e['seconds_per_clip']:.3f} s per clip (batch {e['batch_size']}, {e['device']}); "
              f"peak memory {e['peak_memory_gb']:.2f} GB ({e['memory']}).", ""]
    for name, why in report.get("skipped", {}).items():
        lines.append(f"Skipped: {name} — {why}.")
    return "\n".join(lines) + "\n"


def paths_section(paths: dict) -> list[str]:
    lines = ["", "Path ablation (the same contexts and starting noise; the condition from the VLM queries is this "
             "context's, the null condition or another context's; the clean history frames given or zeroed):", "",
             "| condition | history | pass rate | 95% CI | score | vs real + history (paired) | accuracy |",
             "|---|---|---|---|---|---|---|"]
    for c in paths["cells"]:
        history = {True: "yes", False: "no (zeros)", None: "-"}[c["history"]]
        v = c["vs_real"]
        accuracy = f"{fmt(c['accuracy'])} {ci(c['accuracy_ci'])}" if "accuracy" in c else "-"
        lines.append(f"| {c['condition']} | {history} | {fmt(c['pass_rate'])} | {ci(c['pass_rate_ci'])} | "
                     f"{fmt(c['score'])} | {v['change']:+.3f} {ci(v['ci'])} | {accuracy} |")
    gains = "; ".join(f"{k}: {g['change']:+.3f} {ci(g['ci'])}" for k, g in paths["understanding_gain"].items())
    lines += ["", f"Understanding gain (real minus null condition, paired): {gains}."]
    return lines


def sentences_section(r: dict) -> list[str]:
    lines = ["", f"Visual sentences: a prediction is *recognised* when, of what each task makes of the same query, "
                 f"its own task's result is the nearest. Accuracy {fmt(r['task_accuracy'])} "
                 f"{ci(r['task_accuracy_ci'] or (None, None))} (chance {fmt(r['chance'], 2)}). The same query with "
                 f"two tasks' example pairs, both recognised: {fmt(r['pair_accuracy'])} "
                 f"{ci(r['pair_accuracy_ci'] or (None, None))} (chance {fmt(r['pair_chance'], 2)}).", "",
             "| task | recognised | nearer than copying B | PSNR vs its B' | "
             + " | ".join(f"→ {u}" for u in r["tasks"]) + " |", "|---|---|---|---|" + "---|" * len(r["tasks"])]
    for t, m in r["by_task"].items():
        lines.append(f"| {t} | {fmt(m['accuracy'], 2)} | {fmt(m['nearer_than_copy'], 2)} | {fmt(m['psnr'], 2)} | "
                     + " | ".join(str(r["confusion"][t][u]) for u in r["tasks"]) + " |")
    if r["inverse"]:
        lines += ["", "Read backwards, (A', A, B') -> B: the inverse task.", "",
                  "| sentence | PSNR vs the real B | copying B' | closer to B than to B' | oracle: the scene before "
                  "| (control) the scene after |", "|---|---|---|---|---|---|"]
        for t, m in r["inverse"].items():
            lines.append(f"| {t} | {fmt(m['psnr'], 2)} | {fmt(m['psnr_copy_query'], 2)} | "
                         f"{fmt(m['closer_to_real_than_to_query'], 2)} | {fmt(m['oracle_pass_as_preceding'], 2)} | "
                         f"{fmt(m['oracle_pass_as_following'], 2)} |")
    return lines


def classification_section(r: dict) -> list[str]:
    lines = ["", "Everything is a video: each answer clip read back as the nearest rendered label frame of its task.",
             "", "| task | accuracy | 95% CI | chance | samples | confusion (true label: answers read back) |",
             "|---|---|---|---|---|---|"]
    for task, m in r.items():
        confusion = "; ".join(f"{a}: " + ", ".join(f"{b} {n}" for b, n in row.items())
                              for a, row in m["confusion"].items())
        lines.append(f"| {task} | {fmt(m['accuracy'])} | {ci(m['accuracy_ci'])} | {fmt(m['chance'], 2)} | "
                     f"{m['samples']} | {confusion} |")
    return lines


def write_report(report: dict, examples: list[tuple], out: str | Path, title: str = "NSP benchmark") -> dict:
    """Write the four files into `out`; returns their paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "report.json", "markdown": out / "REPORT.md", "contact_sheet": out / "contact_sheet.png",
             "plot": out / "pass_rates.png"}
    with atomic_path(paths["contact_sheet"]) as tmp:
        Image.fromarray(sheet([list(row) for row in examples])).save(tmp)
    bars = {NAMES.get(k, k): (m["pass_rate"], *m["pass_rate_ci"]) for k, m in report["methods"].items()}
    with atomic_path(paths["plot"]) as tmp:
        bar_plot(bars, f"{report['reward']} pass rate (95% CI)").save(tmp)
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(markdown(report, title))
    with atomic_path(paths["json"]) as tmp:  # last: its presence means the evaluation finished
        tmp.write_text(json.dumps(report, indent=2) + "\n")
    return {k: str(v) for k, v in paths.items()}
