"""`nsp demo`: the whole chain on a minimal plan (every step really runs), resuming, and the goal checks."""

import json

import pytest

from nsp.cli.demo import DemoPlan, training_precision
from nsp.evaluation.ablation import goals, paired_gains
from tests.conftest import run_nsp

MINIMAL = ["train=24", "val=4", "test=6", "t2v_image_steps=2", "t2v_steps=3", "sft_steps=3", "rl_steps=1",
           "scratch_sft_steps=2", "eval_contexts=6", "eval_steps=2"]


def test_demo_runs_every_step_then_resumes(tmp_path):
    out = tmp_path / "demo"
    r = run_nsp("demo", "--out", out, *MINIMAL)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads((out / "demo_report.json").read_text())
    assert set(summary["ablation"]) == {"pretrain-only", "+SFT", "+RL", "SFT without pretraining"}
    assert set(summary["baselines"]) == {"no_context", "shuffled_context", "copy_last_frame", "real_next_scene"}
    assert summary["baselines"]["real_next_scene"]["pass_rate"] == 1.0
    assert [g["met"] for g in summary["goals"]].count(True) <= 3 and len(summary["goals"]) == 3
    report = (out / "REPORT.md").read_text()
    assert "## Goals" in report and "| SFT without pretraining |" in report and "| copy last frame |" in report
    assert set(summary["paired"]) == {"+SFT vs pretrain-only", "+RL vs +SFT", "SFT without pretraining vs +SFT"}
    assert "Pass rate by scene family" in report
    for name in ("context.mp4", "predicted_next.mp4", "real_next.mp4", "side_by_side.mp4", "side_by_side.png"):
        assert (out / "example" / name).stat().st_size > 0
    assert (out / "final").resolve() == (out / "rl" / "final").resolve()
    assert (out / "final" / "nsp_config.json").is_file()
    precision = training_precision(DemoPlan())  # bf16 where this machine has it natively, else fp32
    assert summary["precision"] == precision and f"precision {precision}" in report
    assert json.loads((out / "sft_scratch" / "config.json").read_text())["deepspeed"]["precision"] == precision
    for run in ("t2v", "sft", "rl", "sft_scratch"):
        assert json.loads((out / "eval" / run / "report.json").read_text())["contexts"] == 6

    again = run_nsp("demo", "--out", out, *MINIMAL)
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("done earlier, skipped") == 9
    changed = run_nsp("demo", "--out", out, *MINIMAL, "sft_steps=4")
    assert changed.returncode == 2 and "another plan" in changed.stderr


def test_demo_rejects_unknown_settings(tmp_path):
    r = run_nsp("demo", "--out", tmp_path / "d", "sft_stepz=3")
    assert r.returncode == 2 and "sft_stepz=3: unknown demo setting" in r.stderr
    r = run_nsp("demo", "--out", tmp_path / "d", "bf16=2")
    assert r.returncode == 2 and "bf16=2: expected 0 or 1" in r.stderr
    assert not (tmp_path / "d").exists()


def _report(rate, ci, baselines=None):
    methods = {"model": {"pass_rate": rate, "pass_rate_ci": ci}}
    for name, (b_rate, b_ci) in (baselines or {}).items():
        methods[name] = {"pass_rate": b_rate, "pass_rate_ci": b_ci}
    return {"methods": methods}


@pytest.mark.parametrize("rates, baseline_ci, expected", [
    ((0.5, 0.7, 0.95), (0.0, 0.1), [True, True, True]),
    ((0.5, 0.7, 0.6), (0.0, 0.1), [False, False, True]),  # RL made it worse
    ((0.5, 0.7, 0.8), (0.0, 0.75), [False, True, False]),  # a baseline's interval overlaps the model's
])
def test_goals_are_judged_from_the_reports(rates, baseline_ci, expected):
    final_ci = (rates[2] - 0.05, rates[2] + 0.05)
    base = {n: (baseline_ci[1] / 2, baseline_ci) for n in ("copy_last_frame", "no_context", "shuffled_context")}
    reports = {"pretrain-only": _report(rates[0], (0, 1)), "+SFT": _report(rates[1], (0, 1)),
               "+RL": _report(rates[2], final_ci, base)}
    assert [ok for _, ok, _ in goals(reports)] == expected


def test_paired_gains_compare_the_same_clips():
    def report(passed, keys=("a", "b", "c", "d")):
        return {"per_clip": {"keys": list(keys), "passed": passed}}

    gains = paired_gains({"pretrain-only": report([0, 0, 0, 0]), "+SFT": report([1, 1, 0, 1]),
                          "+RL": report([1, 1, 1, 1]), "SFT without pretraining": report([1, 1, 0, 1], "wxyz")})
    assert gains["+SFT vs pretrain-only"]["pass_rate_change"] == 0.75
    assert gains["+RL vs +SFT"]["pass_rate_change"] == 0.25 and gains["+RL vs +SFT"]["ci"][0] == 0.0
    assert "SFT without pretraining vs +SFT" not in gains  # other contexts: no pairing possible


def test_ordering_needs_each_stage_to_gain_beyond_noise():
    def report(passed):
        rate = sum(passed) / len(passed)
        return {"methods": {"model": {"pass_rate": rate, "pass_rate_ci": (rate, rate)}},
                "per_clip": {"keys": list(range(len(passed))), "passed": passed}}

    sft = [1] * 30 + [0] * 30
    reports = {"pretrain-only": report([0] * 60), "+SFT": report(sft)}
    reports["+RL"] = report(sft[:-1] + [1])  # one clip more: higher, but not beyond noise
    assert goals(reports)[1][1] is False and "paired changes" in goals(reports)[1][2]
    reports["+RL"] = report([1] * 50 + [0] * 10)  # 20 more clips pass, none fails that passed before
    assert goals(reports)[1][1] is True
