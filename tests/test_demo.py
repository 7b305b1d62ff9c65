"""`nsp demo`: the whole chain on a minimal plan (every step really runs), resuming, and the goal checks."""

import json
import os
import re

import pytest

from nsp.cli.demo import GUIDANCE, SFT_CONTEXT_TEXT, THINK_TOKENS, DemoPlan, training_precision
from nsp.config import preset_config
from nsp.evaluation.ablation import goals, paired_gains
from tests.conftest import run_nsp

MINIMAL = ["train=24", "val=4", "test=6", "t2v_image_steps=2", "t2v_steps=3", "sft_steps=3", "rl_steps=1",
           "rl_contexts=8", "scratch_sft_steps=2", "eval_contexts=6", "eval_steps=2"]


def test_demo_runs_every_step_then_resumes(tmp_path):
    out = tmp_path / "demo"
    r = run_nsp("demo", "--out", out, *MINIMAL, "jobs=1", timeout=1200)  # ten steps, one after another
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads((out / "demo_report.json").read_text())
    assert set(summary["ablation"]) == {"pretrain-only", "+SFT", "+RL", "SFT without pretraining"}
    assert set(summary["baselines"]) == {"no_context", "shuffled_context", "copy_last_frame", "history_only",
                                         "real_next_scene"}
    assert summary["baselines"]["real_next_scene"]["pass_rate"] == 1.0
    assert len(summary["goals"]) == 5 and summary["world"] == "cuts"
    assert json.loads((out / "data" / "manifest.json").read_text())["world"] == "cuts"
    assert len(summary["paths"]["cells"]) == 6 and "history" in summary["paths"]["understanding_gain"]
    report = (out / "REPORT.md").read_text()
    assert "## Goals" in report and "| SFT without pretraining |" in report and "| copy last frame |" in report
    assert "## Which path carries the scene" in report and "| shuffled | no (zeros) |" in report
    assert set(summary["paired"]) == {"+SFT vs pretrain-only", "+RL vs +SFT", "SFT without pretraining vs +SFT"}
    assert "Pass rate by scene family" in report
    assert "## Reward hacking watch" in report and "| watch_judge |" in report and "| watch_reference |" in report
    assert set(summary["reward_watch"]) == {"reward", "pass_rate", "watch_judge", "watch_reference"}
    for name in ("context.mp4", "predicted_next.mp4", "real_next.mp4", "side_by_side.mp4", "side_by_side.png"):
        assert (out / "example" / name).stat().st_size > 0
    assert (out / "final").resolve() == (out / "rl" / "final").resolve()
    assert (out / "final" / "nsp_config.json").is_file()
    precision = training_precision(DemoPlan())  # bf16 where this machine has it natively, else fp32
    assert summary["precision"] == precision and f"precision {precision}" in report
    assert json.loads((out / "sft_scratch" / "config.json").read_text())["deepspeed"]["precision"] == precision
    for run in ("sft", "sft_scratch"):  # both SFT runs read the context from the clip alone, as it is evaluated
        assert json.loads((out / run / "config.json").read_text())["data"]["context_text"] == SFT_CONTEXT_TEXT["cuts"]
    for run in ("t2v", "sft", "rl", "sft_scratch"):
        evaluated = json.loads((out / "eval" / run / "report.json").read_text())
        # sampled in the precision the stages trained in (bf16 where the CPU has it natively)
        assert evaluated["contexts"] == 6 and evaluated["settings"]["bf16"] == (precision == "bf16")
        # every checkpoint samples (and is evaluated) with the world's guidance, not the tiny preset's
        meta = json.loads((out / run / "final" / "nsp_config.json").read_text())
        assert meta["model"]["sampling"]["guidance"] == GUIDANCE["cuts"] != preset_config("tiny").sampling.guidance
        # the VLM writes its words before the queries in every stage, and T2V wrote each caption there
        assert meta["model"]["vlm"]["think_tokens"] == THINK_TOKENS["cuts"] > 0
    assert json.loads((out / "t2v" / "config.json").read_text())["data"]["text_as_answer"]
    # +SFT was evaluated in its own step before RL (with jobs=2, where its chain's cores would idle), not again
    assert (out / "eval" / "sft" / "report.json").stat().st_mtime <= (out / ".done-sft_eval").stat().st_mtime \
        <= (out / "rl" / "config.json").stat().st_mtime
    rl = json.loads((out / "rl" / "config.json").read_text())
    assert rl["rl"]["guidance"] is None  # RL rolls out with the checkpoint's guidance, and
    # on fresh scenes without their captions, as evaluated: on SFT's own pairs every candidate passes alike
    assert rl["data"]["path"] == str(out / "data_rl") and not rl["rl"]["context_text"]
    # the demo's RL recipe: flow matching on the group's own samples, its search screened, its finds replayed, the
    # weights it writes averaged over its last steps (RL_RECIPES), in the demo's precision (only GRPO's ratio needs
    # fp32)
    assert (rl["rl"]["objective"], rl["rl"]["screen"], rl["rl"]["rollout_steps"], rl["rl"]["replay"]) == \
        ("awm", 2, 5, 1)
    assert rl["ema"] == {"decay": 0.9, "use_for_eval": True}
    assert rl["deepspeed"]["precision"] == precision
    assert "RL 1 (awm)" in report
    rl_data = json.loads((out / "data_rl" / "manifest.json").read_text())
    assert rl_data["splits"]["train"]["pairs"] == 8 and rl_data["disjoint_from"] == [str((out / "data").resolve())]

    again = run_nsp("demo", "--out", out, *MINIMAL, "jobs=1")
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("done earlier, skipped") == 10
    # the evaluation step again: only a checkpoint written after its report is evaluated again
    (out / ".done-eval").unlink()
    os.utime(out / "rl" / "final" / "nsp_config.json")  # as if RL had trained again
    reports = {run: out / "eval" / run / "report.json" for run in ("t2v", "sft", "rl", "sft_scratch")}
    before = {run: r.stat().st_mtime_ns for run, r in reports.items()}
    redone = run_nsp("demo", "--out", out, *MINIMAL, "jobs=1")
    assert redone.returncode == 0, redone.stderr[-2000:]
    assert [run for run, r in reports.items() if r.stat().st_mtime_ns != before[run]] == ["rl"]
    changed = run_nsp("demo", "--out", out, *MINIMAL, "jobs=1", "sft_steps=4")
    assert changed.returncode == 2 and "another plan" in changed.stderr


def test_demo_trains_the_ablation_beside_the_chain_by_default(tmp_path, all_cores):
    out = tmp_path / "demo"
    r = run_nsp("demo", "--out", out, *MINIMAL, "rl_steps=0", timeout=1200)  # jobs=2
    assert r.returncode == 0, r.stderr[-2000:]
    timings = json.loads((out / "timings.json").read_text())
    summary = json.loads((out / "demo_report.json").read_text())
    assert (out / "sft_scratch" / "final" / "nsp_config.json").is_file()
    assert json.loads((out / "eval" / "sft_scratch" / "report.json").read_text())["contexts"] == 6
    cores = all_cores
    if cores < 2:  # nothing to split: one step after another, as with jobs=1
        assert "sft_scratch_wait" not in timings
        return
    # it started with the SFT, in its own process on the second half of the cores, its output in a log
    assert "sft_scratch trains beside the next steps" in r.stdout
    assert f"1 process(es) on the CPU, {cores - cores // 2} thread(s) each" in (out / "sft_scratch.log").read_text()
    assert f"1 process(es) on the CPU, {cores} thread(s) each" in r.stdout  # T2V: all the cores
    assert f"1 process(es) on the CPU, {cores // 2} thread(s) each" in r.stdout  # SFT: the first half
    # then evaluated its checkpoint there, and pretrain-only's
    assert timings["sft_scratch_eval"] > 0 and "oracle pass rate" in (out / "sft_scratch.log").read_text()
    # the demo's wall time counts the wait for them, not their own time
    beside = timings["sft_scratch"] + timings["sft_scratch_eval"]
    assert summary["total_minutes"] == round((sum(timings.values()) - beside) / 60, 1)
    assert timings["sft_scratch_wait"] < beside
    again = run_nsp("demo", "--out", out, *MINIMAL, "rl_steps=0")
    assert again.returncode == 0 and again.stdout.count("done earlier, skipped") == 10


def test_demo_rejects_unknown_settings(tmp_path):
    r = run_nsp("demo", "--out", tmp_path / "d", "sft_stepz=3")
    assert r.returncode == 2 and "sft_stepz=3: unknown demo setting" in r.stderr
    r = run_nsp("demo", "--out", tmp_path / "d", "bf16=2")
    assert r.returncode == 2 and "bf16=2: expected 0 or 1" in r.stderr
    r = run_nsp("demo", "--out", tmp_path / "d", "jobs=3")
    assert r.returncode == 2 and "jobs=3: expected 1 or 2" in r.stderr
    r = run_nsp("demo", "--out", tmp_path / "d", "rl_recipe=ppo")
    assert r.returncode == 2 and "rl_recipe=ppo: expected one of awm, awm_full, grpo" in r.stderr
    assert not (tmp_path / "d").exists()


def _report(passed, baselines=None, gain=None):
    rate = sum(passed) / len(passed)
    methods = {"model": {"pass_rate": rate, "pass_rate_ci": (rate - 0.05, rate + 0.05)}}
    for name, b_ci in (baselines or {}).items():
        methods[name] = {"pass_rate": sum(b_ci) / 2, "pass_rate_ci": b_ci}
    paths = {"understanding_gain": {"history": {"change": gain[0], "ci": gain[1]}}} if gain else None
    return {"methods": methods, "per_clip": {"keys": list(range(len(passed))), "passed": passed}, "paths": paths}


SFT = [1] * 36 + [0] * 4  # 0.9


@pytest.mark.parametrize("final, scratch, baseline_ci, gain, expected", [
    (SFT, [1] * 10 + [0] * 30, (0.0, 0.1), (0.6, (0.5, 0.7)), [True] * 5),
    (SFT, [1] * 10 + [0] * 30, (0.0, 0.1), (0.1, (0.0, 0.2)), [True, False, True, True, True]),  # path unused
    (SFT, SFT, (0.0, 0.1), (0.6, (0.5, 0.7)), [True, True, False, True, True]),  # pretraining changed nothing
    (SFT, [1] * 10 + [0] * 30, (0.0, 0.87), (0.6, (0.5, 0.7)), [True, True, True, True, False]),  # a baseline overlaps
    ([1] * 28 + [0] * 12, [1] * 10 + [0] * 30, (0.0, 0.1), (0.6, (0.5, 0.7)), [False, True, True, True, True]),
])
def test_goals_are_judged_from_the_reports(final, scratch, baseline_ci, gain, expected):
    base = {n: baseline_ci for n in ("copy_last_frame", "no_context", "shuffled_context", "history_only")}
    reports = {"pretrain-only": _report([0] * 40), "+SFT": _report(SFT), "+RL": _report(final, base, gain),
               "SFT without pretraining": _report(scratch)}
    assert [ok for _, ok, _ in goals(reports)] == expected


def test_paired_gains_compare_the_same_clips():
    def report(passed, keys=("a", "b", "c", "d")):
        return {"per_clip": {"keys": list(keys), "passed": passed}}

    gains = paired_gains({"pretrain-only": report([0, 0, 0, 0]), "+SFT": report([1, 1, 0, 1]),
                          "+RL": report([1, 1, 1, 1]), "SFT without pretraining": report([1, 1, 0, 1], "wxyz")})
    assert gains["+SFT vs pretrain-only"]["pass_rate_change"] == 0.75
    assert gains["+RL vs +SFT"]["pass_rate_change"] == 0.25 and gains["+RL vs +SFT"]["ci"][0] == 0.0
    assert "SFT without pretraining vs +SFT" not in gains  # other contexts: no pairing possible


def test_a_step_beside_that_fails_or_cannot_start_stops_the_demo(tmp_path):
    from nsp.cli.demo import Beside
    from nsp.errors import NSPError

    def cannot_start():
        raise OSError("no such core")

    ran = []
    steps = [("train", lambda: ["no-such-command"]), ("evaluate", lambda: ran.append(1))]  # not reached
    for chain, message in ((steps, "step failed: nsp no-such-command (its output: "),
                           ([("train", cannot_start)], "step failed: a step beside: no such core")):
        beside = Beside(chain, set(os.sched_getaffinity(0)), tmp_path / "beside.log")
        with pytest.raises(NSPError, match=re.escape(message)):
            beside.wait()
    assert not ran
