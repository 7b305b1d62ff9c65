"""Everything is a video: renderers, the three classification tasks, reading answers back, predict and eval on them."""

from __future__ import annotations

import json
import wave

import numpy as np
import pytest

from conftest import run_nsp
from nsp.config import preset_config
from nsp.data.everything import DEFAULT_TASKS, TASKS, build_everything, label_clip, make_chirp, nearest_label
from nsp.errors import NSPError
from nsp.video.qwen_input import sample_indices
from nsp.video.render import place_tokens, render_audio, render_image, render_text, render_token, token_slots


def write_wav(path, samples: np.ndarray, rate: int, channels: int = 1):
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        w.writeframes(np.repeat(pcm, channels).tobytes())
    return path


def ink(frame: np.ndarray) -> tuple[int, int]:
    """(rows, columns) that have any lit pixel."""
    lit = frame[..., 0] > 0
    return int(lit.any(1).sum()), int(lit.any(0).sum())


def test_text_is_a_frame_per_token_in_a_fixed_width_font_filling_the_frame():
    frames = render_text("a cat  sat\ton mats", 64, 96)
    assert frames.shape == (5, 64, 96, 3) and frames.dtype == np.uint8
    assert np.array_equal(frames[1], render_token("cat", 64, 96))
    # fixed width: the first letter's cell is the same whatever the second letter is
    assert np.array_equal(render_token("ab", 64, 96)[:, :40], render_token("aw", 64, 96)[:, :40])
    assert ink(frames[4])[1] >= 88  # "mats" is scaled to fill the width...
    assert ink(render_token("elephant", 64, 96))[0] < 0.6 * ink(frames[1])[0]  # ...so a longer word is smaller
    assert not np.array_equal(frames[1], frames[2])
    with pytest.raises(ValueError, match="no tokens"):
        render_text("  ", 64, 64)


def test_audio_is_spectrogram_frames_with_pitch_going_up_the_frame():
    rng = np.random.default_rng(0)
    peaks = {}
    for label in ("rising", "falling", "steady"):
        frames = render_audio(make_chirp(rng, label), 16000, 64, 64, slices_per_second=4.0)
        assert frames.shape == (8, 64, 64, 3)  # 2 s at 4 frames per second
        peaks[label] = [int(np.argmax(f[..., 0].astype(float).mean(1))) for f in frames]  # brightest row
    assert all(a > b for a, b in zip(peaks["rising"], peaks["rising"][1:]))  # row 0 is the top: high pitch
    assert all(a < b for a, b in zip(peaks["falling"], peaks["falling"][1:]))
    assert max(peaks["steady"]) - min(peaks["steady"]) <= 1


def vlm_patches(frames: np.ndarray) -> list[np.ndarray]:
    """The frames the VLM samples from a context (tiny preset), in its temporal patches (pairs)."""
    idx = sample_indices(len(frames), 8.0, preset_config("tiny").vlm.video)
    return [frames[idx[i:i + 2]] for i in range(0, len(idx), 2)]


def seen_by_vlm(frames: np.ndarray, rendered: np.ndarray) -> list[list[int]]:
    """For each temporal patch, which of the (distinct) rendered frames its two frames show (-1: none)."""
    find = lambda f: next((k for k, r in enumerate(rendered) if np.array_equal(f, r)), -1)  # noqa: E731
    return [[find(a), find(b)] for a, b in vlm_patches(frames)]


def test_image_is_one_centre_cropped_frame():
    image = np.zeros((40, 120, 3), np.uint8)
    image[:, 40:80] = 255  # the centre square of a wide image
    frame = render_image(image, 32, 32)
    assert frame.shape == (1, 32, 32, 3) and frame.min() == 255


def test_rendered_frames_each_fill_one_temporal_patch_of_what_the_vlm_samples():
    video = preset_config("tiny").vlm.video
    words = render_text("where is the big red bread now", 64, 64)  # 7 tokens, the 36-frame context holds 8
    assert len(token_slots(36, 8.0, video, 2)) == 8
    context = place_tokens(words, 36, 8.0, video, 2)
    # every patch shows one token on both its frames, every token is seen, in order, the first repeated before them
    assert seen_by_vlm(context, words) == [[0, 0], [0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6]]
    assert np.array_equal(context[-1], words[-1])
    clip = np.full((20, 64, 64, 3), 7, np.uint8)
    mixed = place_tokens(words[:3], 36, 8.0, video, 2, before=clip)
    assert seen_by_vlm(mixed, words)[-3:] == [[0, 0], [1, 1], [2, 2]] and (mixed[:23] == 7).all()
    with pytest.raises(NSPError, match="9 rendered frames .* the context holds 8"):
        place_tokens(render_text("a b c d e f g h i", 64, 64), 36, 8.0, video, 2)
    with pytest.raises(NSPError, match="the context holds 7 after the clip"):
        place_tokens(render_text("a b c d e f g h", 64, 64), 36, 8.0, video, 2, before=clip)


def test_reading_audio_and_images_and_their_errors(tmp_path):
    from PIL import Image

    from nsp.video.io import read_audio, read_image

    t = np.arange(22050) / 22050
    path = write_wav(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 22050, channels=2)
    samples = read_audio(path, 16000)
    assert samples.dtype == np.float32 and abs(len(samples) - 16000) < 400 and 0.4 < np.abs(samples).max() < 0.6
    assert len(read_audio(path, 16000, max_seconds=0.5)) == 8000
    Image.fromarray(np.full((10, 20, 3), 7, np.uint8)).save(tmp_path / "x.png")
    assert read_image(tmp_path / "x.png").shape == (10, 20, 3)
    (tmp_path / "bad.wav").write_bytes(b"not audio at all" * 10)
    (tmp_path / "empty.png").write_bytes(b"")
    for call, pattern in [(lambda: read_audio(tmp_path / "bad.wav"), "bad.wav: not a readable audio file"),
                          (lambda: read_audio(tmp_path / "x.png"), "x.png: has no audio stream"),
                          (lambda: read_audio(tmp_path / "none.wav"), "none.wav: file not found"),
                          (lambda: read_image(path), "tone.wav: not a readable image"),
                          (lambda: read_image(tmp_path / "empty.png"), "empty.png: empty file")]:
        with pytest.raises(NSPError, match=pattern):
            call()


def test_everything_dataset_renders_inputs_and_label_frames_that_read_back(tmp_path):
    from nsp.data.loader import PairStream
    from nsp.data.shards import read_manifest

    out = tmp_path / "everything"
    build_everything(out, {"train": 6, "val": 0, "test": 3}, progress=False)
    manifest = read_manifest(out)
    assert manifest["kind"] == "everything" and manifest["splits"]["test"]["tasks"] == {t: 3 for t in DEFAULT_TASKS}
    pairs = list(PairStream(out, "train", shuffle=False))
    assert len(pairs) == 18
    for task in DEFAULT_TASKS:
        modality, labels = TASKS[task]
        mine = [p for p in pairs if p.meta["task"] == task]
        assert [p.meta["label"] for p in mine] == labels * 2 and {p.meta["modality"] for p in mine} == {modality}
    for p in pairs:
        assert p.context.frames.shape == (36, 64, 64, 3) and p.next.frames.shape == (9, 64, 64, 3)
        assert np.array_equal(p.next.frames, label_clip(p.meta["label"], p.meta["labels"], 9, 64))  # lossless
        assert nearest_label(p.next.frames, p.meta["labels"]) == p.meta["label"]
    text = next(p for p in pairs if p.meta["task"] == "topics")
    tokens = render_text(text.meta["input"], 64, 64)
    patches = vlm_patches(text.context.frames)  # the VLM sees every token, each on a whole temporal patch
    assert all(np.array_equal(a, b) for a, b in patches)
    assert np.array_equal(np.stack([a for a, _ in patches]), np.concatenate([tokens[:1]] * (8 - len(tokens)) + [tokens]))
    image = next(p for p in pairs if p.meta["task"] == "shapes")
    assert (image.context.frames == image.context.frames[:1]).all()  # one frame, repeated to the context's length
    with pytest.raises(NSPError, match="unknown task 'smell'"):
        build_everything(tmp_path / "x", {"test": 1}, ["smell"], progress=False)
    with pytest.raises(NSPError, match="4 rendered frames .* the context holds 2 .chirps: raise --context-clips"):
        build_everything(tmp_path / "y", {"test": 1}, ["chirps"], context_clips=1, progress=False)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_video_questions_are_answered_by_the_scene_they_show(tmp_path):
    """Video QA: the scene's whole event, then the question a token per frame; the answer is what the scene does."""
    from nsp.data.everything import QUESTIONS, last_mover
    from nsp.data.loader import PairStream
    from nsp.data.world import COLORS, Scene, render_clip

    out = tmp_path / "qa"
    build_everything(out, {"train": 7}, list(QUESTIONS), progress=False)
    pairs = list(PairStream(out, "train", shuffle=False))
    families = {"bounces": "bounce", "lands": "fall", "hits": "collision", "lights": "switch", "hides": "occlusion"}
    for task, question in QUESTIONS.items():
        mine = [p for p in pairs if p.meta["task"] == task]
        labels = TASKS[task][1]
        assert [p.meta["label"] for p in mine] == (labels * 7)[:7]  # balanced: every answer in turn
        for p in mine:
            scene = Scene.from_json(p.meta["scene"])
            colour, x = last_mover(scene, 2 - 1 / 9)
            truth = {"qa_last_colour": colour, "qa_event": {v: k for k, v in families.items()}[scene.family],
                     "qa_end_side": ["left", "middle", "right"][min(2, int(x * 3))]}[task]
            assert p.meta["label"] == truth and p.meta["input"] == question
            tokens = render_text(question, 64, 64)
            patches = vlm_patches(p.context.frames)
            assert np.array_equal(np.stack([a for a, _ in patches[-len(tokens):]]), tokens)  # the question last
            event = np.concatenate([render_clip(scene, k, 9, 64) for k in (0, 1)])
            first = next(i for i, f in enumerate(p.context.frames) if np.array_equal(f, tokens[0]))
            assert np.array_equal(p.context.frames[first - 1], event[-1])  # the event's end just before it
            assert nearest_label(p.next.frames, labels) == p.meta["label"]
    colour = next(p for p in pairs if p.meta["task"] == "qa_last_colour")
    assert tuple(colour.next.frames[0].reshape(-1, 3).max(0)) == COLORS[colour.meta["label"]]  # its own colour


def test_answers_are_read_back_against_the_labels_as_the_shipped_vae_draws_them():
    from nsp.evaluation.classify import drawn_labels
    from nsp.model import NSPModel
    from nsp.pipeline import NSPPipeline

    pipe = NSPPipeline(NSPModel.from_config(preset_config("tiny", ["generator.vae_path=nsp:tiny_vae"])))
    labels = TASKS["shapes"][1]
    drawn = drawn_labels(pipe, labels)
    again = drawn_labels(pipe, labels)
    assert all(drawn[lab].shape == (9, 64, 64, 3) and np.array_equal(drawn[lab], again[lab]) for lab in labels)
    # why: even a perfect answer, the label clip itself through the VAE, reads back wrong against the rendered
    # frames for the blue third label (it comes back greenish, nearer the green second label)
    assert [nearest_label(drawn[lab], labels) for lab in labels] == ["circle", "square", "square"]
    rng = np.random.default_rng(0)
    for lab in labels:  # against the drawn labels, a noisy drawn answer reads back as its own label
        noisy = np.clip(drawn[lab].astype(float) + rng.normal(0, 20, drawn[lab].shape), 0, 255).astype(np.uint8)
        assert nearest_label(noisy, labels, drawn) == lab


def test_classification_report_reads_answers_back(tmp_path):
    from nsp.data.loader import PairStream
    from nsp.evaluation.classify import classification_report, right_answers
    from nsp.evaluation.report import classification_section

    out = tmp_path / "everything"
    build_everything(out, {"test": 3}, progress=False)
    pairs = list(PairStream(out, "test", shuffle=False))
    perfect = classification_report(pairs, [p.next.frames for p in pairs])
    assert set(perfect) == set(DEFAULT_TASKS)
    assert all(r["accuracy"] == 1.0 and r["chance"] == pytest.approx(1 / 3) and r["samples"] == 3
               for r in perfect.values())
    # a noisy, blurred answer of the wrong label: read back as that label
    rng = np.random.default_rng(0)
    wrong = []
    for p in pairs:
        labels = p.meta["labels"]
        other = labels[(labels.index(p.meta["label"]) + 1) % 3]
        noisy = label_clip(other, labels, 9, 64).astype(float) * 0.6 + rng.normal(40, 30, (9, 64, 64, 3))
        wrong.append(np.clip(noisy, 0, 255).astype(np.uint8))
    r = classification_report(pairs, wrong)
    assert all(m["accuracy"] == 0.0 for m in r.values())
    assert r["shapes"]["confusion"]["circle"]["square"] == 1 and r["chirps"]["confusion"]["steady"]["rising"] == 1
    assert "| topics | 0.000 |" in "\n".join(classification_section(r))
    # the path ablation's per-pair scoring: right where the clip reads back as the pair's own label
    drawn = {p.meta["task"]: {lab: label_clip(lab, p.meta["labels"], 9, 64) for lab in p.meta["labels"]} for p in pairs}
    right = right_answers(pairs, drawn)
    assert right([p.next.frames for p in pairs]).tolist() == [1.0] * len(pairs)
    assert right(wrong).tolist() == [0.0] * len(pairs)


@pytest.fixture(scope="module")
def everything_checkpoint(tmp_path_factory):
    import torch

    from nsp.model import NSPModel

    torch.manual_seed(0)
    model = NSPModel.from_config(preset_config("tiny", ["generator.context_clips=4", "generator.history_frames=4",
                                                             "vlm.max_tokens=320"]))
    return model.save_pretrained(tmp_path_factory.mktemp("everything") / "ck")


def test_render_context_mixes_a_clip_an_image_audio_and_text(everything_checkpoint, clip, tmp_path):
    from PIL import Image

    from nsp.pipeline import NSPPipeline

    pipe = NSPPipeline.from_pretrained(everything_checkpoint)
    image = np.zeros((64, 64, 3), np.uint8)
    image[:, :, 1] = 200
    Image.fromarray(image).save(tmp_path / "green.png")
    t = np.arange(4000) / 16000  # 0.25 s: one spectrogram slice
    audio = write_wav(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 1000 * t), 16000)
    context = pipe.render_context(clip, image=tmp_path / "green.png", audio=audio, text_frames="is it")
    f = context.frames
    assert context.fps == 8.0 and f.shape == (36, 64, 64, 3)
    spectrum = f[-10]  # the image, the spectrogram slice, "is", "it": the last four of the VLM's 8 temporal patches
    assert spectrum.mean() > 0 and not np.array_equal(spectrum, image)
    rendered = [image, spectrum, render_token("is", 64, 64), render_token("it", 64, 64)]
    assert seen_by_vlm(f, rendered) == [[-1, -1]] * 4 + [[0, 0], [1, 1], [2, 2], [3, 3]]
    assert np.array_equal(f[:19], pipe.fit_context(clip).frames[-19:])  # the clip's end before them
    assert pipe.render_context(clip).frames.shape == (36, 64, 64, 3)
    with pytest.raises(NSPError, match="10 rendered frames .* the context holds 8"):
        pipe.render_context(text_frames=" ".join(["w"] * 10))


def test_predict_from_an_image_audio_and_text_frames(everything_checkpoint, clip_file, tmp_path):
    from PIL import Image

    from nsp.video.io import read_video

    Image.fromarray(np.full((50, 70, 3), 128, np.uint8)).save(tmp_path / "grey.png")
    audio = write_wav(tmp_path / "chirp.wav", make_chirp(np.random.default_rng(0), "rising"), 16000)
    out = tmp_path / "answer.mp4"
    r = run_nsp("predict", "--image", tmp_path / "grey.png", "--text-frames", "which shape", "--checkpoint",
                everything_checkpoint, "--out", out, "--steps", "2", "--labels", "circle", "square", "triangle",
                "--side-by-side")
    assert r.returncode == 0, r.stderr
    answer = [line for line in r.stdout.splitlines() + r.stderr.splitlines() if line.startswith("answer: ")]
    assert len(answer) == 1 and answer[0].split(": ")[1] in ("circle", "square", "triangle")
    assert read_video(out).frames.shape == (36, 64, 130, 3)  # context | prediction
    r = run_nsp("predict", "--audio", audio, "--checkpoint", everything_checkpoint, "--out", tmp_path / "a.mp4",
                "--steps", "2")
    assert r.returncode == 0, r.stderr
    assert read_video(tmp_path / "a.mp4").frames.shape == (9, 64, 64, 3)

    for args, message in [((), "nothing to predict from"),
                          (("--audio", tmp_path / "grey.png"), "grey.png: has no audio stream"),
                          (("--image", audio), "chirp.wav: not a readable image"),
                          ((tmp_path, "--image", tmp_path / "grey.png"), "not a directory"),
                          (("--text-frames", " ".join(["w"] * 12)), "the context holds 8")]:
        bad = tmp_path / "bad" / "x.mp4"
        r = run_nsp("predict", *args, "--checkpoint", everything_checkpoint, "--out", bad, "--steps", "2")
        assert r.returncode == 2 and message in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()[-1]) < 300 and not bad.exists()


def test_eval_on_everything_reports_accuracy_per_task(everything_checkpoint, tmp_path):
    data = tmp_path / "everything"
    r = run_nsp("data", "everything", "--out", data, "--train", "0", "--val", "0", "--test", "2", "--tasks",
                "shapes,chirps,topics,qa_event")
    assert r.returncode == 0, r.stderr
    r = run_nsp("data", "everything", "--out", data, "--test", "1")
    assert r.returncode == 2 and "exists" in r.stderr
    out = tmp_path / "report"
    r = run_nsp("eval", "--checkpoint", everything_checkpoint, "--data", data, "--out", out, "--steps", "2",
                "--paths")
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["reward"] == "reference" and report["contexts"] == 8
    c = report["classification"]
    assert set(c) == {*DEFAULT_TASKS, "qa_event"} and all(m["samples"] == 2 and 0 <= m["accuracy"] <= 1 for m in c.values())
    # each path-ablation cell is scored as answers too; the model's own cell is the classification above
    cells = {(cell["condition"], cell["history"]): cell for cell in report["paths"]["cells"]}
    assert len(cells) == 6 and all(0 <= cell["accuracy"] <= 1 for cell in cells.values())
    assert cells[("real", True)]["accuracy"] == pytest.approx(np.mean([m["accuracy"] for m in c.values()]))
    assert "| accuracy |" in (out / "REPORT.md").read_text()
    assert "shapes: accuracy" in r.stdout and "Everything is a video" in (out / "REPORT.md").read_text()


def test_the_shipped_reader_vlm_reads_rendered_words_the_base_tiny_vlm_does_not():
    import torch

    from nsp.model import NSPModel
    from nsp.stages.config import TrainConfig
    from nsp.stages.vlm import WORDS, VLMStage

    cfg = TrainConfig(stage="vlm", phases=[{"name": "read", "steps": 1, "trainable": ["vlm"]}],
                      data={"read_text": 1.0})
    losses = {}
    for vlm in ("tiny_vlm", "tiny_vlm_reader"):
        model = NSPModel.from_config(preset_config("tiny", [f"vlm.path=nsp:{vlm}", "generator.context_clips=4"]))
        stage = VLMStage(cfg, model)
        rng = np.random.default_rng(0)  # the same reading examples for both
        ids, labels, video = stage._example(type("Pair", (), {"meta": {}})(), rng)
        words = stage.model.context_encoder.tokenizer.decode([t for t in labels if t >= 0], skip_special_tokens=True)
        assert 3 <= len(words.split()) <= 7 and set(words.split()) <= set(WORDS)
        assert video.video_grid_thw.tolist() == [8, 8, 8]  # 16 sampled frames: 8 temporal patches of 112x112
        rng = np.random.default_rng(1)
        with torch.no_grad():
            losses[vlm] = float(stage.wrapper.eval()(stage._batch([type("Pair", (), {"meta": {}})()] * 16, rng)))
    assert losses["tiny_vlm_reader"] < 0.5 * losses["tiny_vlm"], losses
