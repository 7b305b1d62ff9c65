"""Visual sentences (A, A', B) -> B': the tasks, the sentence layout, and datasets built from real shards."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nsp.data.sentences import TASKS, build_sentences, sentence, task_pair
from tests.conftest import random_frames, run_nsp


def test_each_task_transforms_a_pair_as_named():
    context, nxt = random_frames(9, 8, 12, seed=1), random_frames(9, 8, 12, seed=2)
    assert np.array_equal(task_pair("nsp", context, nxt)[1], nxt)
    assert np.array_equal(task_pair("mirror", context, nxt)[1][:, :, 0], context[:, :, -1])
    assert np.array_equal(task_pair("reverse", context, nxt)[1][0], context[-1])
    swapped = task_pair("colour_swap", context, nxt)[1]
    assert np.array_equal(swapped[..., 1], context[..., 0]) and np.array_equal(swapped[..., 0], context[..., 2])
    assert np.array_equal(task_pair("vflip", context, nxt)[1][:, 0], context[:, -1])  # top row from the bottom
    fast = task_pair("speed", context, nxt)[1]  # frames 0, 2, ..., 16 of the context followed by its next scene
    assert len(fast) == 9 and np.array_equal(fast[:5], context[::2]) and np.array_equal(fast[5:], nxt[1::2][:4])
    slow = task_pair("slow", context, nxt)[1]  # frames 0, 0, 1, 1, ..., 4 of the context
    assert np.array_equal(slow[::2], context[:5]) and np.array_equal(slow[1::2], context[:4])
    for task in TASKS:
        x, x2 = task_pair(task, context, nxt)
        assert x2.shape == context.shape and x2.flags.c_contiguous and np.array_equal(x, context)


def test_a_sentence_is_example_pair_then_query_and_reads_backwards_as_the_inverse():
    a, a_next, b, b_next = (random_frames(9, 8, 8, seed=s) for s in range(4))
    context, target = sentence("nsp", (a, a_next), (b, b_next))
    assert np.array_equal(context, np.concatenate([a, a_next, b])) and np.array_equal(target, b_next)
    context, target = sentence("nsp", (a, a_next), (b, b_next), inverse=True)  # the preceding scene from the next
    assert np.array_equal(context, np.concatenate([a_next, a, b_next])) and np.array_equal(target, b)
    context, target = sentence("reverse", (a, a_next), (b, b_next), inverse=True)
    assert np.array_equal(context[:9], a[::-1]) and np.array_equal(target, b)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    from nsp.data.synth import synthesize

    data = tmp_path_factory.mktemp("sent") / "synth"
    synthesize(data, {"train": 3, "val": 0, "test": 3}, seed=5, workers=1, progress=False, world="continuation")
    return data


def test_sentence_dataset_from_synthetic_pairs(synthetic, tmp_path):
    from nsp.data.loader import PairStream
    from nsp.data.oracle import judge
    from nsp.data.world import Scene

    out = tmp_path / "sentences"
    manifest = build_sentences(synthetic, out, {"train": 2, "val": 0, "test": 3}, ["nsp", "mirror"], inverse=True,
                               progress=False)
    assert manifest["tasks"] == ["nsp", "mirror", "nsp_inverse", "mirror_inverse"]
    assert manifest["splits"]["test"] == {"pairs": 12, "tasks": {t: 3 for t in manifest["tasks"]}}
    samples = list(PairStream(out, "test", shuffle=False))
    assert len(samples) == 12
    by_task = {}
    for s in samples:
        assert s.context.frames.shape == (27, 64, 64, 3) and s.next.frames.shape == (9, 64, 64, 3)
        assert s.meta["example"] != s.meta["query"] and s.meta["family"] == s.meta["task"]
        by_task.setdefault(s.meta["task"], []).append(s)
    assert {t: sorted(s.meta["query"] for s in v) for t, v in by_task.items()}["nsp"] == \
        sorted(s.meta["query"] for s in by_task["mirror"])  # every query meets every task
    for s in by_task["nsp"] + by_task["nsp_inverse"]:  # the oracle judges the next, or the preceding, scene
        assert judge(Scene.from_json(s.meta["scene"]), s.next.frames, clip=s.meta["clip"]).passed
    for s in by_task["mirror"]:
        assert "scene" not in s.meta  # no oracle for a transformed scene
        assert np.array_equal(s.next.frames, s.context.frames[18:, :, ::-1])  # B' = B mirrored


def test_example_pairs_as_images_with_a_video_query(synthetic, tmp_path):
    """UniVid's mixed contexts: A and A' are images (A's last frame held, A' the task applied to it), B a video."""
    from nsp.data.loader import PairStream

    out = tmp_path / "mixed"
    manifest = build_sentences(synthetic, out, {"test": 3}, ["vflip", "colour_swap"], progress=False,
                               example_images=True)
    assert manifest["example_images"] and manifest["tasks"] == ["vflip", "colour_swap"]
    for s in PairStream(out, "test", shuffle=False):
        a, a2, b = s.context.frames[:9], s.context.frames[9:18], s.context.frames[18:]
        assert (a == a[-1:]).all() and (a2 == a2[-1:]).all() and not (b == b[-1:]).all()  # images, then a video
        flip = s.meta["task"] == "vflip"
        assert np.array_equal(a2[0], a[0][::-1] if flip else a[0][..., [2, 0, 1]])
        assert np.array_equal(s.next.frames, b[:, ::-1] if flip else b[..., [2, 0, 1]]) and s.meta["example_image"]


def test_augmented_sentences_are_true_sentences_of_new_queries(synthetic, tmp_path):
    """--augment: each train sentence also mirrored and colour-rotated as a whole; each copy is the same task applied
    to a transformed query (so it is still a sentence of its task), and test splits are left as they are."""
    from nsp.data.loader import PairStream
    from nsp.data.sentences import SYMMETRIES

    out = tmp_path / "augmented"
    manifest = build_sentences(synthetic, out, {"train": 2, "test": 1}, ["vflip", "colour_swap", "mirror"],
                               progress=False, augment=True)
    copies = 1 + len(SYMMETRIES)
    assert manifest["splits"]["train"]["tasks"] == {t: 2 * copies for t in ("vflip", "colour_swap", "mirror")}
    assert manifest["splits"]["test"]["pairs"] == 3 and manifest["augment"] == sorted(SYMMETRIES)
    train = list(PairStream(out, "train", shuffle=False))
    assert len(train) == 6 * copies and len({s.meta["query"] for s in train}) == 2 * copies
    originals = {(s.meta["query"], s.meta["task"]): s for s in train if "symmetry" not in s.meta}
    for s in train:
        b = s.context.frames[18:]
        assert np.array_equal(s.next.frames, task_pair(s.meta["task"], b, b)[1])  # still its task applied to B
        if "symmetry" in s.meta:
            source = originals[(s.meta["query"].rsplit("-" + s.meta["symmetry"], 1)[0], s.meta["task"])]
            turn = SYMMETRIES[s.meta["symmetry"]]
            assert np.array_equal(s.context.frames, turn(source.context.frames))
            assert not np.array_equal(b, source.context.frames[18:])


def test_sentences_cli_and_its_errors(synthetic, tmp_path):
    out = tmp_path / "s"
    r = run_nsp("data", "sentences", "--data", synthetic, "--out", out, "--train", "1", "--val", "0", "--test", "1",
                "--tasks", "reverse,speed", "--augment")
    assert r.returncode == 0, r.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tasks"] == ["reverse", "speed"] and manifest["splits"]["train"]["pairs"] == 2 * 6
    bad = tmp_path / "bad"
    r = run_nsp("data", "sentences", "--data", synthetic, "--out", bad, "--tasks", "nsp,rotate")
    assert r.returncode == 2 and "--tasks: unknown task 'rotate'" in r.stderr and not bad.exists()
    r = run_nsp("data", "sentences", "--data", synthetic, "--out", out)
    assert r.returncode == 2 and "exists" in r.stderr


def test_predict_with_an_example_pair(tmp_path, clip_file, tiny_checkpoint):
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel
    from nsp.video.io import read_video, write_video

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", ["generator.context_clips=3", "generator.history_frames=9"]))
    ck = model.save_pretrained(tmp_path / "sentences_ck")
    frames = read_video(clip_file).frames
    a2 = write_video(tmp_path / "a2.mp4", frames[:, :, ::-1], 8.0)  # the example: "mirror it"
    out = tmp_path / "b2.mp4"
    r = run_nsp("predict", clip_file, "--example", clip_file, a2, "--checkpoint", ck, "--out", out, "--steps", "2")
    assert r.returncode == 0, r.stderr
    assert read_video(out).frames.shape == (9, 64, 64, 3)

    r = run_nsp("predict", clip_file, "--example", clip_file, a2, "--checkpoint", tiny_checkpoint, "--out",
                tmp_path / "x.mp4")
    assert r.returncode == 2 and "was not trained on visual sentences" in r.stderr and not (tmp_path / "x.mp4").exists()
    r = run_nsp("predict", clip_file, "--example", clip_file, tmp_path / "missing.mp4", "--checkpoint", ck, "--out",
                tmp_path / "y.mp4")
    assert r.returncode == 2 and "missing.mp4: file not found" in r.stderr


def test_sentence_report_recognises_the_task_from_the_prediction(synthetic, tmp_path):
    from nsp.data.loader import PairStream
    from nsp.evaluation.report import sentences_section
    from nsp.evaluation.sentences import sentence_report

    out = tmp_path / "sentences"
    build_sentences(synthetic, out, {"train": 0, "val": 0, "test": 3}, ["nsp", "mirror", "reverse"], inverse=True,
                    progress=False)
    pairs = list(PairStream(out, "test", shuffle=False))
    real = sentence_report(pairs, [p.next.frames for p in pairs])  # a perfect model
    assert real["tasks"] == ["mirror", "nsp", "reverse"] and real["chance"] == pytest.approx(1 / 3)
    assert real["task_accuracy"] == 1.0 and all(m["accuracy"] == 1.0 for m in real["by_task"].values())
    assert real["pair_accuracy"] == 1.0 and real["pair_chance"] == pytest.approx(1 / 9)
    inv = real["inverse"]["nsp_inverse"]
    assert inv["psnr"] == 100.0 and inv["closer_to_real_than_to_query"] == 1.0
    assert inv["oracle_pass_as_preceding"] == 1.0 and inv["oracle_pass_as_following"] < 1.0

    # a model that always mirrors, whatever the example pair: only the mirror sentences are recognised
    targets = {(p.meta["query"], p.meta["task"]): p.next.frames for p in pairs}
    always_mirror = [targets[(p.meta["query"], "mirror")] for p in pairs]
    r = sentence_report(pairs, always_mirror)
    assert r["confusion"]["reverse"]["mirror"] == 3 and r["confusion"]["nsp"]["mirror"] == 3
    assert r["by_task"]["mirror"]["accuracy"] == 1.0 and r["task_accuracy"] == pytest.approx(1 / 3)
    assert r["pair_accuracy"] == 0.0  # of any two tasks, at most the mirror one is recognised
    assert r["by_task"]["mirror"]["nearer_than_copy"] == 1.0 and real["by_task"]["nsp"]["nearer_than_copy"] == 1.0

    # a model that copies the query B: never nearer a task's result than B itself (the control)
    copied = sentence_report(pairs, [p.context.frames[-9:] for p in pairs])
    assert all(m["nearer_than_copy"] == 0.0 for m in copied["by_task"].values())
    text = "\n".join(sentences_section(r))
    assert "| reverse | 0.00 |" in text and "nsp_inverse" in text and "both recognised: 0.000" in text


def test_eval_on_a_sentence_dataset_reports_task_accuracy(synthetic, tmp_path):
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel

    data = tmp_path / "sentences"
    build_sentences(synthetic, data, {"train": 0, "val": 0, "test": 2}, ["mirror", "reverse"], progress=False)
    torch.manual_seed(0)
    ck = NSPModel.from_config(preset_config("tiny", ["generator.context_clips=3", "generator.history_frames=9"])
                              ).save_pretrained(tmp_path / "ck")
    out = tmp_path / "report"
    r = run_nsp("eval", "--checkpoint", ck, "--data", data, "--out", out, "--steps", "2")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["reward"] == "reference" and report["contexts"] == 4  # the oracle cannot judge a mirrored scene
    s = report["sentences"]
    assert s["tasks"] == ["mirror", "reverse"] and sum(sum(row.values()) for row in s["confusion"].values()) == 4
    assert 0 <= s["task_accuracy"] <= 1 and "Visual sentences" in (out / "REPORT.md").read_text()
