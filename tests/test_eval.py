"""The NSP benchmark: every metric on inputs with known answers, the evaluation loop and its report files."""

import json
from pathlib import Path

import numpy as np
import pytest

from nsp.evaluation import metrics
from tests.conftest import random_frames, run_nsp


def test_psnr_and_ssim_on_known_inputs():
    a = random_frames(3, 32, 32, seed=1)
    assert metrics.psnr(a, a) == 100.0
    assert metrics.ssim(a, a) == pytest.approx(1.0)
    b = np.clip(a.astype(int) + 10, 0, 255).astype(np.uint8)
    mse = np.mean((a.astype(float) - b) ** 2)
    assert metrics.psnr(a, b) == pytest.approx(10 * np.log10(255**2 / mse))
    # Structure destroyed (independent noise) scores far lower than a small brightness change.
    assert metrics.ssim(a, random_frames(3, 32, 32, seed=2)) < 0.1 < 0.9 < metrics.ssim(a, b)


def test_ssim_blur_is_the_edge_replicated_gaussian_window():
    # The blur as a matrix product equals the window applied tap by tap to the edge-padded image, including images
    # smaller than the window.
    sigma, radius = 1.5, 5
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * sigma**2))
    taps /= taps.sum()
    for h, w in [(16, 24), (7, 3)]:
        image = np.random.default_rng(h).random((2, h, w))
        padded = np.pad(image, [(0, 0), (radius, radius), (radius, radius)], mode="edge")
        expected = np.zeros_like(image)
        for i, a in enumerate(taps):
            for j, b in enumerate(taps):
                expected += a * b * padded[:, i:i + h, j:j + w]
        blurred = metrics.blur_matrix(h) @ image @ metrics.blur_matrix(w).T
        np.testing.assert_allclose(blurred, expected, rtol=1e-12, atol=1e-12)


def test_fidelity_resizes_and_retimes_the_reference():
    flat = np.full((9, 64, 64, 3), 120, np.uint8)
    out = metrics.fidelity(flat, np.full((5, 32, 48, 3), 120, np.uint8))
    assert out == {"psnr": 100.0, "ssim": pytest.approx(1.0)}


def test_continuity_compares_the_last_context_frame_with_the_first_predicted_one():
    context = random_frames(4, 32, 32, seed=3)
    continued = np.concatenate([context[-1:], random_frames(3, 32, 32, seed=4)])
    cut = random_frames(4, 32, 32, seed=5)
    good, bad = metrics.continuity(context, continued), metrics.continuity(context, cut)
    assert good["continuity_ssim"] == pytest.approx(1.0) and good["continuity_psnr"] == 100.0
    assert bad["continuity_ssim"] < 0.1


def test_diversity_is_zero_for_identical_samples():
    a = random_frames(2, 16, 16)
    assert metrics.diversity([a, a, a]) == pytest.approx(0.0, abs=1e-9)
    assert metrics.diversity([a, random_frames(2, 16, 16, seed=7)]) > 0.5
    assert np.isnan(metrics.diversity([a]))


def test_bootstrap_interval():
    assert metrics.bootstrap_ci([1.0] * 20) == (1.0, 1.0)
    values = np.random.default_rng(0).random(400) < 0.3
    lo, hi = metrics.bootstrap_ci(values)
    assert lo < values.mean() < hi and hi - lo < 0.12  # ~ +-1.96 * sqrt(0.21 / 400) = +-0.045
    assert metrics.bootstrap_ci(values, seed=1) != (lo, hi)  # a real resampling, not a formula


def test_paired_difference():
    before, after = np.array([0, 1, 0, 1, 0, 0] * 5, float), np.array([1, 1, 0, 1, 1, 0] * 5, float)
    d, lo, hi = metrics.paired_difference(before, after)
    assert d == pytest.approx(2 / 6) and 0 < lo < d < hi
    assert metrics.paired_difference(before, before) == (0.0, 0.0, 0.0)  # same clips: no change, zero width
    # Pairing is what narrows it: the same rates as independent samples give a wider interval.
    unpaired = np.subtract(*metrics.bootstrap_ci(after)[::-1]) + np.subtract(*metrics.bootstrap_ci(before)[::-1])
    assert hi - lo < unpaired
    with pytest.raises(ValueError, match="equal shapes"):
        metrics.paired_difference(before, after[:-1])


def test_frechet_distance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(500, 4))
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-8)
    shifted = a + np.array([3.0, 0, 0, 0])  # same covariance: the distance is the squared mean shift
    assert metrics.frechet_distance(a, shifted) == pytest.approx(9.0, rel=1e-6)
    scaled = a * 2.0  # covariances 1 vs 4 per dimension: 4 * (1 + 4 - 2 * 2) = 4
    assert metrics.frechet_distance(a, scaled) == pytest.approx(4 * np.var(a, axis=0, ddof=1).mean(), rel=0.05)


@pytest.fixture(scope="module")
def eval_data(tmp_path_factory):
    from nsp.data.synth import synthesize

    data = tmp_path_factory.mktemp("eval") / "synth"
    synthesize(data, {"train": 1, "val": 1, "test": 3}, seed=4, workers=1, progress=False, world="continuation")
    return data


def test_evaluate_is_batch_independent_and_scores_baselines(tiny_model, eval_data):
    from nsp.evaluation.run import EvalSettings, evaluate, load_pairs, predict
    from nsp.pipeline import NSPPipeline

    pipe = NSPPipeline(tiny_model)
    pairs = load_pairs(eval_data, "test", None)
    contexts = [(None, p.context) for p in pairs]
    one = predict(pipe, contexts, EvalSettings(samples=2, steps=2, batch_size=1))
    four = predict(pipe, contexts, EvalSettings(samples=2, steps=2, batch_size=4))
    assert [len(c) for c in one] == [2, 2, 2]
    for a, b in zip(one, four):  # sample k of context i is the same video whatever the batching
        for x, y in zip(a, b):
            assert np.abs(x.astype(int) - y.astype(int)).max() <= 1
    assert np.abs(one[0][0].astype(int) - one[0][1].astype(int)).max() > 0  # the K samples differ

    report, examples = evaluate(pipe, eval_data, EvalSettings(samples=2, steps=2, baselines=True), progress=False)
    m = report["methods"]
    assert set(m) == {"model", "no_context", "shuffled_context", "copy_last_frame", "real_next_scene"}
    assert m["real_next_scene"]["pass_rate"] == 1.0 and m["real_next_scene"]["psnr"] == 100.0
    assert m["model"]["clips"] == 6 and m["copy_last_frame"]["clips"] == 3
    assert m["model"]["diversity"] > 0 and m["copy_last_frame"]["diversity"] is None
    assert m["copy_last_frame"]["continuity_ssim"] > 0.99  # it starts exactly where the context ends
    assert report["settings"]["steps"] == 2 and report["efficiency"]["seconds_per_clip"] > 0
    assert len(examples) == 3 and examples[0][1].shape == pairs[0].next.frames.shape
    families = [p.meta["family"] for p in pairs]
    assert set(m["real_next_scene"]["by_family"]) == set(families)
    assert all(v == 1.0 for v in m["real_next_scene"]["by_family"].values())
    per_clip = report["per_clip"]  # context-major, K samples each: what a paired comparison of checkpoints needs
    assert per_clip["keys"] == [p.key for p in pairs] and len(per_clip["passed"]) == 6
    assert np.mean(per_clip["passed"]) == m["model"]["pass_rate"]


def test_oracle_judges_the_kth_scene_of_a_rollout(eval_data):
    from nsp.data.world import Scene, render_clip
    from nsp.evaluation.run import load_pairs
    from nsp.rewards import Candidate, build_reward

    reward = build_reward({"oracle": 1.0})
    for pair in load_pairs(eval_data, "test", None):
        scene = Scene.from_json(pair.meta["scene"])
        third = render_clip(scene, 3, len(pair.next.frames), pair.next.frames.shape[1])
        as_third, _ = reward([Candidate(third, meta=dict(pair.meta, clip=3))])
        as_next, _ = reward([Candidate(third, meta=pair.meta)])  # no "clip": judged as the next scene
        assert as_third.passed[0] and as_third.values[0] > 0.99
        if not np.array_equal(third, pair.next.frames):  # anything that still moves is in another place
            assert as_next.values[0] < as_third.values[0]


def test_a_clip_without_a_visible_ball_passes_when_empty():
    from nsp.data.oracle import judge, shows_a_ball
    from nsp.data.world import FAMILIES, sample_scene

    rng, cases = np.random.default_rng(0), {True: 0, False: 0}
    for family in FAMILIES:
        for _ in range(4):
            scene = sample_scene(rng, family)
            for k in range(1, 7):
                blank = np.full((9, 64, 64, 3), scene.background, np.uint8)  # nothing but the background
                shows = shows_a_ball(scene, 9, 64, k)
                cases[shows] += 1
                assert shows or family != "switch"  # the lamp is always there to be judged
                if not shows:
                    assert judge(scene, blank, clip=k).passed, (family, k)
    assert cases[True] and cases[False]  # both kinds occur in a rollout of 6 clips


def test_rollout_chains_clips_and_judges_each(tiny_model, eval_data, tmp_path):
    from nsp.evaluation.report import write_report
    from nsp.evaluation.run import EvalSettings, evaluate
    from nsp.model import NSPModel
    from nsp.pipeline import NSPPipeline

    pipe = NSPPipeline(tiny_model)
    report, examples = evaluate(pipe, eval_data, EvalSettings(steps=2, rollout=3), progress=False)
    chain = report["rollout"]
    assert [r["clip"] for r in chain] == [1, 2, 3]
    assert chain[0]["pass_rate"] == report["methods"]["model"]["pass_rate"]  # clip 1 is the usual prediction
    assert chain[0]["continuity_ssim"] == pytest.approx(report["methods"]["model"]["continuity_ssim"])
    for r in chain:
        assert 0 <= r["showing_a_ball"] <= 1 and (r["pass_rate_showing"] is None) == (r["showing_a_ball"] == 0)
        assert 0 <= r["pass_rate"] <= 1 and 0 <= r["score"] <= 1 and r["psnr"] > 0 and -1 <= r["continuity_ssim"] <= 1
    md = write_report(report, examples, tmp_path / "r")["markdown"]
    assert "| 3 |" in Path(md).read_text() and "Rollout: 3 clips chained" in Path(md).read_text()

    # with clean history the chain runs through it too (each clip's last latent frame is the next one's history)
    history = NSPModel.from_pretrained(tiny_model.save_pretrained(tmp_path / "ck"), ["generator.history_frames=1"])
    report, _ = evaluate(NSPPipeline(history), eval_data, EvalSettings(steps=2, rollout=2, limit=2), progress=False)
    assert [r["clip"] for r in report["rollout"]] == [1, 2]
    assert report["rollout"][1]["score"] != chain[1]["score"]  # another model, another chain


def test_eval_cli_writes_the_report(tiny_checkpoint, eval_data, tmp_path):
    out = tmp_path / "report"
    r = run_nsp("eval", "--checkpoint", tiny_checkpoint, "--data", eval_data, "--out", out, "--steps", "2",
                "--baselines", "--limit", "2", "--rollout", "2", "--history-frames", "1", "--bf16")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["reward"] == "oracle" and report["contexts"] == 2  # synthetic data: the oracle by default
    assert report["settings"]["bf16"] and "2 denoising steps in bf16" in (out / "REPORT.md").read_text()
    assert [c["clip"] for c in report["rollout"]] == [1, 2] and "rollout clip 2: pass rate" in r.stdout
    md = (out / "REPORT.md").read_text()
    for row in ("| model |", "| copy last frame |", "| shuffled context |", "| real next scene |", "Skipped: fvd"):
        assert row in md
    for png in ("contact_sheet.png", "pass_rates.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args, message", [
    (["--data", "/nonexistent"], "dataset directory not found"),
    (["--samples", "0"], "--samples 0: must be at least 1"),
    (["--rollout", "0"], "--rollout 0: must be at least 1"),
    (["--history-frames", "-1"], "--history-frames -1: must be 0 or more"),
])
def test_eval_cli_rejects_bad_input(tiny_checkpoint, eval_data, tmp_path, args, message):
    out = tmp_path / "report"
    base = {"--checkpoint": str(tiny_checkpoint), "--data": str(eval_data), "--out": str(out)}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    r = run_nsp("eval", *[x for kv in base.items() for x in kv])
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_path_ablation_changes_only_what_reaches_the_dit(tmp_path):
    import torch

    from nsp.config import preset_config
    from nsp.data.synth import synthesize
    from nsp.evaluation.run import DiTPath, EvalSettings, evaluate, load_pairs, predict
    from nsp.model import NSPModel
    from nsp.pipeline import NSPPipeline

    torch.manual_seed(0)
    pipe = NSPPipeline(NSPModel.from_config(preset_config("tiny", ["generator.history_frames=1"])))
    data = tmp_path / "cuts"
    synthesize(data, {"test": 4}, seed=5, workers=1, progress=False, world="cuts")
    pairs = load_pairs(data, "test", None)
    a, b = (None, pairs[0].context), (None, pairs[1].context)
    s = EvalSettings(steps=2)

    def first(contexts, path):
        return predict(pipe, contexts, s, path=path)[0][0].astype(int)

    # Nothing of the context reaches the DiT: the first prediction is the same whichever context is first.
    assert np.array_equal(first([a, b], DiTPath("null", False)), first([b, a], DiTPath("null", False)))
    pixels, condition = DiTPath("null", True), DiTPath("real", False)
    assert np.abs(first([a, b], pixels) - first([b, a], pixels)).max() > 0  # the history: the context's pixels
    assert np.abs(first([a, b], condition) - first([b, a], condition)).max() > 0  # the condition
    # shuffled: context i gets context i-1's condition, so [b, a] shuffled starts from a's condition with b's history
    assert np.array_equal(predict(pipe, [b, a], s, path=DiTPath("shuffled", False))[0][0],
                          predict(pipe, [a, b], s, path=DiTPath("real", False))[0][0])

    report, _ = evaluate(pipe, data, EvalSettings(steps=2, paths=True, baselines=True), progress=False)
    cells = {(c["condition"], c["history"]): c for c in report["paths"]["cells"]}
    assert set(cells) == {(c, h) for c in ("real", "null", "shuffled") for h in (True, False)}
    assert cells["real", True]["pass_rate"] == report["methods"]["model"]["pass_rate"]
    assert cells["real", True]["vs_real"]["change"] == 0.0
    assert set(report["paths"]["understanding_gain"]) == {"history", "no history"}
    assert cells["null", True]["pass_rate"] == report["methods"]["history_only"]["pass_rate"]
    assert report["methods"]["real_next_scene"]["pass_rate"] == 1.0
    failures = report["failures"]  # an untrained model fails every clip, each for at least one named reason
    assert sum(v["clips"] for v in failures.values()) == 4
    assert all(v["failed"] == v["clips"] and v["causes"] for v in failures.values())
