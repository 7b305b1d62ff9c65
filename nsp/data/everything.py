"""Everything is a video: classification as next-frame prediction, on three small tasks the project generates.

Each sample is an ordinary pair (nsp/data/shards.py): the context is the input rendered as frames
(nsp/video/render.py), the next scene the answer's label rendered as a text frame (in the label's colour) and held. The model generates the
answer's frame; the answer is read back as the nearest rendered label frame (`nearest_label`).

    shapes   image   circle / square / triangle: a large filled shape of random colour, size and place on a random dark
                     background with noise
    chirps   audio   rising / falling / steady: a 2-second tone sweeping up or down (3-6x in frequency) or holding,
                     from a random pitch, random loudness, with a weak harmonic and noise
    topics   text    animal / food / vehicle: a short templated sentence (3 to 7 tokens) about one or two nouns of
                     the topic (8 per topic)

Video question answering (CLEVRER-like, on the embedded world, nsp/data/world.py): a scene's whole event (both
clips), then a question a token per frame; the answer is a label frame, as above. Not in the default set (--tasks):
    qa_last_colour   "which colour moves last?"  the colour of the ball moving at the end (7 colours)
    qa_event         "what happens?"             bounces / lands / hits / lights / hides (the scene's family)
    qa_end_side      "where does it end?"        left / middle / right: where that ball is on the last frame
Answers are balanced: each sample's scene is drawn until it has the answer its turn asks for.

Contexts are `frames * context_clips` frames at the model's `fps`, laid out for the VLM's frame sampling (`preset`'s
vlm.video): each rendered frame fills one temporal patch of the frames the VLM samples, shorter inputs start with
their first frame repeated, exactly as `nsp predict --image/--audio/--text-frames` lays them out
(`NSPPipeline.render_context`, `place_tokens`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from nsp.data.shards import ShardWriter, sample_members, write_manifest
from nsp.data.world import COLORS, Scene, render_clip, sample_scene, state_at
from nsp.errors import NSPError
from nsp.files import atomic_path
from nsp.video.io import encode_video
from nsp.video.render import AUDIO_SAMPLE_RATE as SAMPLE_RATE
from nsp.video.render import place_tokens, render_audio, render_image, render_text, render_token, slots_per_second


def draw_shape(rng: np.random.Generator, label: str, side: int = 96) -> np.ndarray:
    background = rng.integers(0, 80, 3)
    image = Image.new("RGB", (side, side), tuple(int(c) for c in background))
    colour = tuple(int(c) for c in rng.integers(120, 256, 3))
    r = rng.uniform(0.25, 0.4) * side  # large enough to span several of the VLM's patches
    cx, cy = rng.uniform(r + 2, side - r - 2, 2)
    draw = ImageDraw.Draw(image)
    if label == "circle":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif label == "square":
        draw.rectangle([cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9], fill=colour)
    else:
        draw.polygon([(cx, cy - r), (cx - r, cy + r * 0.8), (cx + r, cy + r * 0.8)], fill=colour)
    noisy = np.asarray(image, np.float32) + rng.normal(0, 8, (side, side, 3))
    return np.clip(noisy, 0, 255).astype(np.uint8)


def make_chirp(rng: np.random.Generator, label: str, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    ratio = {"rising": rng.uniform(3, 6), "falling": 1 / rng.uniform(3, 6), "steady": 1.0}[label]
    low, high = (150, 4000 / ratio) if ratio > 1 else (150 / ratio, 4000)
    start = np.exp(rng.uniform(np.log(low), np.log(high)))
    freq = start * ratio ** (t / seconds)
    phase = 2 * np.pi * np.cumsum(freq) / SAMPLE_RATE
    wave = rng.uniform(0.2, 0.8) * (np.sin(phase) + 0.2 * np.sin(2 * phase))
    return (wave + rng.normal(0, 0.02, t.size)).astype(np.float32)


NOUNS = {
    "animal": ["cat", "dog", "horse", "bird", "fish", "cow", "lion", "bear"],
    "food": ["bread", "apple", "rice", "cake", "soup", "egg", "pie", "cheese"],
    "vehicle": ["car", "bus", "train", "bike", "boat", "truck", "plane", "van"],
}
TEMPLATES = ["the {adj} {noun} is {place}", "a {noun} and a {noun2}", "i saw the {noun}", "my {adj} {noun}",
             "look at that {adj} {noun} {place}", "where is the {noun}", "the {noun} or the {noun2}",
             "we like a {adj} {noun}"]
ADJECTIVES = ["big", "small", "red", "old", "new", "green", "fast", "nice"]
PLACES = ["here", "outside", "at home", "in town", "near us", "over there"]


def make_sentence(rng: np.random.Generator, label: str) -> str:
    pick = lambda xs: xs[rng.integers(len(xs))]  # noqa: E731
    return pick(TEMPLATES).format(adj=pick(ADJECTIVES), noun=pick(NOUNS[label]), noun2=pick(NOUNS[label]),
                                  place=pick(PLACES))


TASKS = {  # task -> (modality, labels)
    "shapes": ("image", ["circle", "square", "triangle"]),
    "chirps": ("audio", ["rising", "falling", "steady"]),
    "topics": ("text", ["animal", "food", "vehicle"]),
    "qa_last_colour": ("video+text", list(COLORS)),
    "qa_event": ("video+text", ["bounces", "lands", "hits", "lights", "hides"]),
    "qa_end_side": ("video+text", ["left", "middle", "right"]),
}
DEFAULT_TASKS = ("shapes", "chirps", "topics")
QUESTIONS = {"qa_last_colour": "which colour moves last?", "qa_event": "what happens?",
             "qa_end_side": "where does it end?"}
EVENTS = dict(zip(TASKS["qa_event"][1], ("bounce", "fall", "collision", "switch", "occlusion")))


def last_mover(scene: Scene, tau: float) -> tuple[str, float]:
    """(colour, x) of the ball that moves last in the scene (after a collision, the one that was hit) at `tau`."""
    index = 1 if scene.family == "collision" else 0
    return scene.colors[index], state_at(scene, tau).balls[index][0]


def qa_scene(rng: np.random.Generator, task: str, label: str, frames: int) -> Scene:
    """A scene whose answer to `task`'s question is `label`."""
    end = 2 - 1 / frames  # the last frame of the event's second clip
    while True:
        scene = sample_scene(rng, EVENTS.get(label) if task == "qa_event" else None)
        if task == "qa_last_colour":
            index = 1 if scene.family == "collision" else 0
            others = [c for c in scene.colors if c != label]
            scene.colors = ([label] + others[:1])[:len(scene.colors)] if index == 0 else [others[0], label]
            return scene
        if task == "qa_event":
            return scene
        x = last_mover(scene, end)[1]
        if 0.05 < x < 0.95 and ["left", "middle", "right"][min(2, int(x * 3))] == label:
            return scene


def render_input(task: str, rng: np.random.Generator, label: str, size: int, slices_per_second: float,
                 frames: int = 9) -> tuple[np.ndarray, str, np.ndarray | None, dict]:
    """(rendered frames, a description of the input, the clip before them or None, more meta) for one sample of
    `task` with answer `label`."""
    modality = TASKS[task][0]
    if modality == "video+text":
        scene = qa_scene(rng, task, label, frames)
        event = np.concatenate([render_clip(scene, k, frames, size) for k in (0, 1)])
        return render_text(QUESTIONS[task], size, size), QUESTIONS[task], event, {"scene": scene.to_json()}
    if modality == "image":
        return render_image(draw_shape(rng, label), size, size), "an image", None, {}
    if modality == "audio":
        return (render_audio(make_chirp(rng, label), SAMPLE_RATE, size, size, slices_per_second), "2 s of audio",
                None, {})
    sentence = make_sentence(rng, label)
    return render_text(sentence, size, size), sentence, None, {}


# A label is its word in a colour of its own (by its place in the task's labels): glyphs alone hardly survive the
# tiny VAE, trained on the synthetic world (every label decodes to a similar smudge), colour does.
LABEL_COLOURS = [(255, 70, 70), (70, 255, 70), (70, 130, 255), (255, 230, 60), (230, 70, 255), (60, 230, 230)]


def label_frame(label: str, labels: list[str], height: int, width: int) -> np.ndarray:
    """A colour's name is drawn in that colour (seven of them); any other label in its place's colour."""
    colour = COLORS[label] if set(labels) <= set(COLORS) else LABEL_COLOURS[labels.index(label) % len(LABEL_COLOURS)]
    return render_token(label, height, width, colour)


def label_clip(label: str, labels: list[str], frames: int, size: int) -> np.ndarray:
    """The answer as the model should generate it: the label's frame, held."""
    return np.repeat(label_frame(label, labels, size, size)[None], frames, axis=0)


def nearest_label(prediction: np.ndarray, labels: list[str], drawn: dict[str, np.ndarray] | None = None) -> str:
    """The label whose rendered frame is nearest (mean squared error over all frames) to a generated clip; `drawn`:
    each label's clip as the model's VAE draws it (nsp/evaluation/classify.py), compared instead when given."""
    h, w = prediction.shape[1:3]
    pred = prediction.astype(np.float32)
    frames = drawn or {lab: label_frame(lab, labels, h, w) for lab in labels}
    return min(labels, key=lambda lab: float(np.mean((pred - frames[lab].astype(np.float32)) ** 2)))


def build_everything(out: str | Path, counts: dict[str, int], tasks: list[str] | None = None, seed: int = 0,
                     frames: int = 9, size: int = 64, fps: float = 8.0, context_clips: int = 4,
                     preset: str = "tiny", progress: bool = True) -> dict:
    """`counts[split]` samples per task, labels balanced (cycled), splits drawn from disjoint seeds."""
    from tqdm.auto import tqdm

    from nsp.config import preset_config
    from nsp.video.qwen_input import VisionSpec

    tasks = tasks or list(DEFAULT_TASKS)
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise NSPError(f"--tasks: unknown task {unknown[0]!r} (choose from {', '.join(TASKS)})")
    context_frames = frames * context_clips
    video, tp = preset_config(preset).vlm.video, VisionSpec().temporal_patch_size  # 2 in every Qwen-VL
    rate = slots_per_second(context_frames, fps, video, tp)
    manifest = {"kind": "everything", "tasks": {t: {"modality": TASKS[t][0], "labels": TASKS[t][1]} for t in tasks},
                "seed": seed, "frames": frames, "size": [size, size], "fps": fps, "context_clips": context_clips,
                "preset": preset, "splits": {}}
    total = sum(counts.values()) * len(tasks)
    with atomic_path(Path(out), is_dir=True) as tmp, \
            tqdm(total=total, desc="everything", unit="sample", disable=not progress, dynamic_ncols=True) as bar:
        for split_index, (split, n) in enumerate(counts.items()):
            if n == 0:
                continue
            written = {}
            with ShardWriter(tmp / split) as writer:
                for task_index, task in enumerate(tasks):
                    modality, labels = TASKS[task]
                    rng = np.random.default_rng([seed, split_index, task_index])
                    for i in range(n):
                        label = labels[i % len(labels)]
                        rendered, described, before, more = render_input(task, rng, label, size, rate, frames)
                        context = place_tokens(rendered, context_frames, fps, video, tp, before,
                                               hint=f"{task}: raise --context-clips")
                        meta = {"source": "everything", "task": task, "family": task, "modality": modality,
                                "label": label, "labels": labels, "input": described, "fps": fps, "frames": frames,
                                "size": [size, size], "captions": {}, **more}
                        writer.write(sample_members(f"{split}-{task}-{i:05d}", encode_video(context, fps, lossless=True),
                                                    encode_video(label_clip(label, labels, frames, size), fps, lossless=True),
                                                    meta))
                        bar.update()
                    written[task] = n
            manifest["splits"][split] = {"pairs": sum(written.values()), "tasks": written}
        write_manifest(tmp, manifest)
    return manifest
