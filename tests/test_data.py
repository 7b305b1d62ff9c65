"""Datasets on disk: synthetic shards, the streaming loader, the latent cache, inspection, pairs from real videos."""

import json
from itertools import islice

import numpy as np
import pytest
import torch

from nsp.data.loader import PairStream, bucket_batches
from nsp.data.oracle import judge
from nsp.data.synth import synthesize
from nsp.data.world import Scene, scene_key
from nsp.errors import NSPError
from nsp.video.io import write_video
from tests.conftest import run_nsp


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("data") / "synth"
    synthesize(out, {"train": 40, "val": 10, "test": 10}, seed=3, workers=2, progress=False, world="continuation")
    return out


def test_synth_writes_balanced_disjoint_splits_with_a_manifest(synth_dir):
    manifest = json.loads((synth_dir / "manifest.json").read_text())
    assert {s: v["pairs"] for s, v in manifest["splits"].items()} == {"test": 10, "val": 10, "train": 40}
    assert set(manifest["splits"]["train"]["families"].values()) == {8}
    keys = {split: {scene_key(Scene.from_json(p.meta["scene"])) for p in PairStream(synth_dir, split, shuffle=False)}
            for split in ("train", "val", "test")}
    assert len(keys["train"]) == 40
    assert not (keys["train"] & keys["val"]) and not (keys["train"] & keys["test"]) and not (keys["val"] & keys["test"])


def test_start_clips_trains_on_later_clips_of_the_same_scenes(synth_dir, tmp_path):
    """--start-clips K: the i-th training pair is its scene's clip i mod K -> the next one, judged as that clip; the
    scenes, val and test are those of the plain dataset."""
    from nsp.data.world import render_clip

    out = tmp_path / "chained"
    synthesize(out, {"train": 40, "val": 10, "test": 10}, seed=3, workers=1, progress=False, world="continuation",
               start_clips=3)
    plain, chained = (list(PairStream(d, "train", shuffle=False)) for d in (synth_dir, out))
    for i, (a, b) in enumerate(zip(plain, chained)):
        scene, k = Scene.from_json(b.meta["scene"]), i % 3
        assert a.meta["scene"] == b.meta["scene"] and b.meta.get("clip", 1) == k + 1
        assert np.array_equal(b.context.frames, render_clip(scene, k, 9, 64))
        assert np.array_equal(b.next.frames, render_clip(scene, k + 1, 9, 64))
        assert judge(scene, b.next.frames, clip=k + 1).passed and (b.meta["captions"] == {}) == (k > 0)
    for split in ("val", "test"):  # the NSP benchmark's pairs, unchanged
        assert [p.meta for p in PairStream(out, split, shuffle=False)] == \
            [p.meta for p in PairStream(synth_dir, split, shuffle=False)]
    both = tmp_path / "both"  # --first-clip-too: a later pair's scene gives its clip 0 -> 1 pair beside it
    synthesize(both, {"train": 40, "val": 10, "test": 10}, seed=3, workers=1, progress=False, world="continuation",
               start_clips=3, first_clip_too=True)
    pairs = list(PairStream(both, "train", shuffle=False))
    starts = [p.meta.get("clip", 1) - 1 for p in pairs]
    assert len(pairs) == 40 + sum(i % 3 > 0 for i in range(40)) and starts.count(0) == 40
    scenes = lambda ps: sorted(json.dumps(p.meta["scene"], sort_keys=True) for p in ps)  # noqa: E731
    assert scenes(p for p in pairs if p.meta.get("clip", 1) == 1) == scenes(plain)
    split = json.loads((both / "manifest.json").read_text())["splits"]["train"]
    assert (split["pairs"], split["scenes"], sum(split["families"].values())) == (len(pairs), 40, len(pairs))
    with pytest.raises(NSPError, match="--start-clips 2: only the continuation world"):
        synthesize(tmp_path / "cuts", {"train": 2}, workers=1, progress=False, world="cuts", start_clips=2)


def test_synth_is_deterministic_by_seed(synth_dir, tmp_path):
    again = tmp_path / "again"
    synthesize(again, {"train": 40, "val": 10, "test": 10}, seed=3, workers=1, progress=False, world="continuation")
    a = list(PairStream(synth_dir, "val", shuffle=False))
    b = list(PairStream(again, "val", shuffle=False))
    assert [p.meta for p in a] == [p.meta for p in b]
    assert all(np.array_equal(x.next.frames, y.next.frames) for x, y in zip(a, b))
    # Stored losslessly: the decoded frames are exactly the rendered ones.
    from nsp.data.world import render_clip

    assert np.array_equal(a[0].next.frames, render_clip(Scene.from_json(a[0].meta["scene"]), 1, 9, 64))
    other = tmp_path / "other"
    synthesize(other, {"train": 0, "val": 10, "test": 0}, seed=4, workers=1, progress=False, world="continuation")
    assert [p.meta["scene"] for p in PairStream(other, "val", shuffle=False)] != [p.meta["scene"] for p in a]


def test_stored_pairs_decode_and_pass_the_oracle(synth_dir):
    pairs = list(PairStream(synth_dir, "test", shuffle=False))
    assert pairs[0].context.frames.shape == (9, 64, 64, 3) and pairs[0].next.fps == 8.0
    assert all(judge(Scene.from_json(p.meta["scene"]), p.next.frames).passed for p in pairs)


def test_shards_are_standard_webdataset(synth_dir):
    import webdataset as wds

    samples = list(wds.WebDataset(str(synth_dir / "test" / "shard-00000.tar"), shardshuffle=False))
    assert len(samples) == 10 and {"context.mp4", "next.mp4", "json"} <= set(samples[0])


def test_loader_shuffles_deterministically_and_splits_across_ranks(synth_dir):
    def order(seed=1, **kw):
        return [p.key for p in PairStream(synth_dir, "train", seed=seed, shuffle_buffer=16, **kw)]

    first, again = order(), order()
    assert first == again and sorted(first) == sorted(order(seed=2)) and first != order(seed=2)
    ranks = [order(rank=r, world_size=2) for r in range(2)]
    assert not set(ranks[0]) & set(ranks[1]) and sorted(ranks[0] + ranks[1]) == sorted(first)
    repeated = [p.key for p in islice(PairStream(synth_dir, "val", repeat=True, seed=0), 25)]
    assert len(repeated) == 25 and set(repeated) == {p.key for p in PairStream(synth_dir, "val")}


def test_skip_resumes_the_stream_where_it_stopped(synth_dir):
    full = [p.key for p in islice(PairStream(synth_dir, "train", seed=4, repeat=True, shuffle_buffer=8), 60)]
    resumed = PairStream(synth_dir, "train", seed=4, repeat=True, shuffle_buffer=8, skip=45)
    assert [p.key for p in islice(resumed, 15)] == full[45:]
    assert resumed.position == 60 and resumed.stats["decoded"] == 15  # skipped samples were never decoded


# Under pytest-xdist the test worker has one core (conftest): two loader workers are the point here, not a mistake.
@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_loader_splits_across_dataloader_workers(synth_dir):
    loader = torch.utils.data.DataLoader(PairStream(synth_dir, "train", shuffle=False), batch_size=None,
                                         num_workers=2, collate_fn=lambda x: x)
    keys = [p.key for p in loader]
    assert sorted(keys) == sorted(p.key for p in PairStream(synth_dir, "train", shuffle=False))


def test_corrupt_samples_are_skipped_and_counted(synth_dir, tmp_path, caplog):
    import webdataset as wds

    good = next(iter(wds.WebDataset(str(synth_dir / "val" / "shard-00000.tar"), shardshuffle=False)))
    (tmp_path / "val").mkdir()
    with wds.TarWriter(str(tmp_path / "val" / "bad.tar")) as tar:
        tar.write({**good, "__key__": "ok"})
        tar.write({**good, "__key__": "broken", "next.mp4": b"not a video"})
        tar.write({"__key__": "partial", "json": good["json"]})
    stream = PairStream(tmp_path, "val", shuffle=False)
    with caplog.at_level("WARNING", logger="nsp.data"):
        kept = [p.key for p in stream]
    assert kept == ["ok"] and stream.stats == {"decoded": 1, "corrupt": 2, "corrupt_shards": 0}
    assert "skipped 2 corrupt samples of 3" in caplog.text


def test_bucketing_groups_same_sized_clips():
    from types import SimpleNamespace

    items = [SimpleNamespace(size=s, i=i) for i, s in enumerate([(9, 64, 64), (9, 32, 64), (9, 64, 64), (9, 32, 64),
                                                                  (9, 64, 64)])]
    batches = list(bucket_batches(items, 2))
    assert [[x.i for x in b] for b in batches] == [[0, 2], [1, 3], [4]]
    assert all(len({x.size for x in b}) == 1 for b in batches)


def test_cache_stores_latents_and_context_inputs(synth_dir, tiny_checkpoint, tiny_model, tmp_path):
    from nsp.data.cache import CachedStream, cache_dataset

    cache_dataset(synth_dir, tiny_checkpoint, tmp_path / "cache", splits=["val"], batch_size=4, progress=False)
    cached = list(CachedStream(tmp_path / "cache", "val", shuffle=False, model=tiny_model))
    pairs = list(PairStream(synth_dir, "val", shuffle=False))
    assert [c.key for c in cached] == [p.key for p in pairs]
    c, p = cached[0], pairs[0]
    assert c.latents["next"].shape == (16, 3, 8, 8) and c.latents["image"].shape == (16, 1, 8, 8)
    from nsp.generation.ltx import frames_to_video

    expected = tiny_model.generator.encode_latents(frames_to_video(p.next.frames[None]), sample=False)[0]
    torch.testing.assert_close(c.latents["next"], expected, atol=1e-5, rtol=1e-5)
    assert c.video.video_grid_thw.tolist() == [2, 8, 8]
    assert c.meta["captions"] == p.meta["captions"]


def test_cache_refuses_another_vae(synth_dir, tiny_checkpoint, tmp_path):
    from nsp.config import preset_config
    from nsp.data.cache import CachedStream, cache_dataset
    from nsp.model import NSPModel

    cache_dataset(synth_dir, tiny_checkpoint, tmp_path / "cache", splits=["test"], progress=False)
    other = NSPModel.from_config(preset_config("tiny", ["vlm.video.fps=2"]))
    with pytest.raises(NSPError, match="another VAE or VLM input format"):
        CachedStream(tmp_path / "cache", "test", model=other)


def test_data_cli_synth_inspect(tmp_path):
    out = tmp_path / "ds"
    result = run_nsp("data", "synth", "--out", out, "--train", "10", "--val", "5", "--test", "5", "--workers", "1")
    assert result.returncode == 0, result.stderr
    again = run_nsp("data", "synth", "--out", out, "--train", "10", "--val", "5", "--test", "5")
    assert again.returncode == 0 and "already" in again.stdout
    clash = run_nsp("data", "synth", "--out", out, "--train", "11")
    assert clash.returncode == 2 and "--force" in clash.stderr
    report = json.loads(run_nsp("data", "inspect", out, "--json", "--count", "3").stdout)
    assert report["splits"]["train"]["pairs"] == 10
    from PIL import Image

    sheet = Image.open(report["contact_sheet"])
    assert sheet.size[0] > sheet.size[1] > 0
    bad = run_nsp("data", "inspect", tmp_path / "nothing")
    assert bad.returncode == 2 and "not found" in bad.stderr


# ---- real videos ----------------------------------------------------------------------------------------------------
def _scene(n, h, w, background, color, seed):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:h, :w]
    x0, y0 = rng.uniform(10, w - 30), rng.uniform(10, h - 30)
    frames = np.empty((n, h, w, 3), np.uint8)
    for t in range(n):
        frames[t] = background
        frames[t][(xx - x0 - t % 60) ** 2 + (yy - y0 - 0.3 * t) ** 2 < 100] = color
    return frames


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    three = [_scene(48, 96, 128, (200, 30, 30), (255, 255, 0), 0), _scene(48, 96, 128, (20, 160, 40), (0, 0, 255), 1),
             _scene(48, 96, 128, (30, 40, 200), (255, 255, 255), 2)]
    write_video(d / "three_scenes.mp4", np.concatenate(three), 24.0)
    flat = lambda v: np.full((48, 64, 64, 3), v, np.uint8)  # noqa: E731
    write_video(d / "static.mp4", np.concatenate([flat(100), flat(220)]), 24.0)
    write_video(d / "short.mkv", np.concatenate([_scene(20, 64, 64, (200, 30, 30), (255, 255, 0), 3),
                                                 _scene(48, 64, 64, (20, 160, 40), (0, 0, 255), 4)]), 24.0)
    (d / "empty.mp4").write_bytes(b"")
    (d / "notes.mp4").write_text("not a video")
    data = (d / "three_scenes.mp4").read_bytes()
    (d / "truncated.mp4").write_bytes(data[: len(data) // 3])
    import av

    with av.open(str(d / "audio.mp4"), "w", format="mp4") as c:
        s = c.add_stream("aac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in [*s.encode(frame), *s.encode()]:
            c.mux(packet)
    (d / "captions.json").write_text(json.dumps({"three_scenes.mp4#0": "a yellow ball on red",
                                                 "three_scenes.mp4": "balls on coloured backgrounds"}))
    return d


def test_build_pairs_consecutive_scenes_and_reports_every_skip(video_dir, tmp_path):
    from nsp.data.build import BuildOptions, build_dataset

    opt = BuildOptions(sizes=[(64, 64), (64, 96)], captions=str(video_dir / "captions.json"), val_fraction=0.0)
    manifest = build_dataset([str(video_dir)], tmp_path / "real", opt, progress=False)
    assert manifest["videos"]["total"] == 7  # captions.json is not a video file
    assert manifest["pairs"]["total"] == 2 and manifest["scenes"] >= 7
    reasons = {s["item"].split("/")[-1]: s["reason"] for s in manifest["skipped"]}
    assert reasons["empty.mp4"].startswith("unreadable") and "empty" in reasons["empty.mp4"]
    assert reasons["notes.mp4"].startswith("unreadable") and reasons["audio.mp4"].startswith("unreadable")
    assert reasons["truncated.mp4"].startswith("unreadable")
    assert reasons["static.mp4#pair0"] == "static" and reasons["short.mkv#pair0"] == "too short"
    pairs = list(PairStream(tmp_path / "real", "train", shuffle=False))
    assert [p.next.frames.shape for p in pairs] == [(9, 64, 96, 3)] * 2  # 4:3 video -> the 2:3 bucket, cropped
    first = pairs[0]
    assert first.meta["captions"] == {"context": "a yellow ball on red", "next": "balls on coloured backgrounds"}
    # The preceding clip is the end of scene 0 (red), the next clip the start of scene 1 (green).
    assert first.context.frames[-1, 5, 5, 0] > 150 and first.next.frames[0, 5, 5, 1] > 120
    ctx_end, next_start = first.meta["times"]["context"][1], first.meta["times"]["next"][0]
    assert 0 < next_start - ctx_end < 0.3 and abs(next_start - 2.0) < 0.1


def test_build_resumes_without_redoing_finished_videos(video_dir, tmp_path):
    from nsp.data.build import BuildOptions, build_dataset

    out = tmp_path / "real"
    opt = BuildOptions(sizes=[(64, 64)], val_fraction=0.0)
    first = build_dataset([str(video_dir / "three_scenes.mp4")], out, opt, progress=False)
    shard = next((out / "train").glob("*.tar"))
    stamp = shard.stat().st_mtime_ns
    second = build_dataset([str(video_dir / "three_scenes.mp4"), str(video_dir / "static.mp4")], out, opt,
                           progress=False)
    assert shard.stat().st_mtime_ns == stamp  # not rewritten
    assert second["pairs"]["total"] == first["pairs"]["total"] and second["videos"]["total"] == 2


def test_build_cli_with_workers_and_bad_arguments(video_dir, tmp_path):
    result = run_nsp("data", "build", video_dir, "--out", tmp_path / "o", "--workers", "2", "--size", "64x64")
    assert result.returncode == 0, result.stderr
    assert "2 pairs" in result.stdout
    bad = run_nsp("data", "build", video_dir, "--out", tmp_path / "o2", "--size", "60x64")
    assert bad.returncode == 2 and "multiples of 32" in bad.stderr
    none = run_nsp("data", "build", tmp_path / "missing_dir", "--out", tmp_path / "o3")
    assert none.returncode == 2


def test_captioner_runs_a_local_vlm(hf_snapshots, clip):
    from nsp.understanding.captioner import Captioner

    text = Captioner(str(hf_snapshots[0]), max_new_tokens=5)(clip.frames, clip.fps)
    assert isinstance(text, str)


def test_motion_and_similarity_filters():
    from nsp.data.build import motion, similarity

    rng = np.random.default_rng(0)
    still = np.repeat(rng.integers(0, 255, (1, 32, 32, 3), dtype=np.uint8), 5, axis=0)
    noisy_still = np.clip(still.astype(int) + rng.integers(-3, 4, still.shape), 0, 255).astype(np.uint8)
    moving = np.stack([np.roll(still[0], 4 * t, axis=1) for t in range(5)])
    assert motion(still) == 0.0 and motion(noisy_still) < 0.002 < motion(moving)
    assert similarity(still[0], noisy_still[0]) > 0.97  # a "cut" between these is a near-duplicate
    assert similarity(still[0], 255 - still[0]) < 0.7


def test_build_rebuilds_a_changed_video_and_builds_identical_videos_once(video_dir, tmp_path):
    import os
    import shutil

    from nsp.data.build import BuildOptions, build_dataset

    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(video_dir / "three_scenes.mp4", src / "a.mp4")
    shutil.copy(video_dir / "three_scenes.mp4", src / "same_as_a.mp4")  # the same bytes under another name
    out, opt = tmp_path / "real", BuildOptions(sizes=[(64, 64)], val_fraction=0.0)
    first = build_dataset([str(src)], out, opt, progress=False)
    reasons = {s["item"].split("/")[-1]: s["reason"] for s in first["skipped"]}
    assert first["pairs"]["total"] == 2 and reasons["same_as_a.mp4"].startswith("same content as")
    # The source changes (another video written over it): its old pairs go, the new ones are built, and its former
    # copy, no longer one, is built in its own right.
    shutil.copy(video_dir / "short.mkv", src / "a.mp4")
    os.utime(src / "a.mp4", ns=(1, 1))
    second = build_dataset([str(src)], out, opt, progress=False)
    assert len(list(PairStream(out, "train", shuffle=False))) == second["pairs"]["total"] == 2
    assert {r["reason"] for r in second["skipped"]} == {"too short"}  # a.mp4 now: short.mkv's one pair
    assert len(list((out / "videos").glob("*.json"))) == 2 and len(list((out / "train").glob("*.tar"))) == 1


def test_unreadable_shards_are_skipped_and_counted_and_a_split_with_nothing_readable_is_one_line(tmp_path):
    from nsp.data.synth import synthesize

    synthesize(tmp_path / "d", {"train": 6}, seed=0, workers=1, progress=False, world="cuts")
    split = tmp_path / "d" / "train"
    good = sorted(split.glob("*.tar"))
    (split / "zero.tar").write_bytes(b"")
    (split / "text.tar").write_text("not a tar archive\n")
    data = good[0].read_bytes()
    (split / "cut.tar").write_bytes(data[: len(data) // 2])  # a truncated copy: what was read of it counts
    stream = PairStream(tmp_path / "d", "train", shuffle=False)
    pairs = list(stream)
    assert len(pairs) >= 6 and stream.stats["corrupt_shards"] >= 2
    for shard in good:
        shard.unlink()
    for bad in split.glob("*.tar"):
        bad.write_bytes(b"")
    with pytest.raises(NSPError, match="train: nothing readable") as err:
        list(PairStream(tmp_path / "d", "train", repeat=True))
    assert "\n" not in str(err.value)
