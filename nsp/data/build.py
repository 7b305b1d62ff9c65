"""`nsp data build`: NSP pairs from real videos.

Per video: PySceneDetect finds the cuts; every two consecutive scenes make a (preceding, next) pair: the last
`frames` frames of the first scene and the first `frames` frames of the second, resampled to `fps`, centre-cropped
to the size bucket closest to the video's aspect ratio and resized. Pairs are filtered (scene too short, static,
near-duplicate across the cut) with the reason recorded. Each video's pairs go to one shard, written atomically
with a record of what happened (`videos/<id>.json`); a re-run skips videos that have a record, so an interrupted
build resumes. A video's id follows its path, size and modification time: when a source changes, its old pairs are
removed and it is built again. Byte-identical videos are built once (the others recorded as duplicates). The manifest
is rebuilt from the records at the end."""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from PIL import Image

from nsp.data.shards import sample_members, write_manifest
from nsp.errors import NSPError
from nsp.files import atomic_path, not_found
from nsp.video.io import encode_video

VIDEO_EXTENSIONS = {".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v", ".mpg", ".mpeg"}


@dataclass
class BuildOptions:
    frames: int = 9
    sizes: list[tuple[int, int]] = field(default_factory=lambda: [(64, 64)])
    fps: float = 8.0
    captions: str | None = None
    captioner: str | None = None
    val_fraction: float = 0.05
    workers: int = 1
    min_motion: float = 0.002  # share of pixels that change between frames below which a clip is static
    max_similarity: float = 0.97  # across-the-cut similarity above which a pair is a near-duplicate
    detector_threshold: float = 27.0  # PySceneDetect ContentDetector's default


def find_videos(inputs: list[str]) -> list[Path]:
    """Files as given (whatever their extension, so bad ones are reported) and video files under directories."""
    found = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in VIDEO_EXTENSIONS)
        else:
            found.append(p)
    return found


def video_id(path: Path) -> str:
    """Stable per file version: the resolved path, size and modification time."""
    try:
        st = path.stat()
        token = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    except OSError:
        token = str(path)
    return hashlib.sha1(token.encode()).hexdigest()[:16]


def content_hash(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def duplicates(videos: list[Path], built: set[str]) -> dict[Path, Path]:
    """{a video: the one with the same bytes that is built (`built`: ids done already, preferred) or comes first};
    only files of equal size are read."""
    by_size: dict[int, list[Path]] = {}
    for v in videos:
        by_size.setdefault(v.stat().st_size, []).append(v)
    out = {}
    for group in (g for g in by_size.values() if len(g) > 1):
        first: dict[str, Path] = {}
        for v in sorted(group, key=lambda v: video_id(v) not in built):
            out_of = first.setdefault(content_hash(v), v)
            if out_of is not v:
                out[v] = out_of
    return out


def remove_stale(out: Path, videos: list[Path]) -> int:
    """Delete the records and shards of earlier versions of these videos (same file, other size or time), and every
    duplicate record (duplicates are found again on each run: an original may have changed)."""
    current = {v.resolve(): video_id(v) for v in videos}
    removed = 0
    for record_file in (out / "videos").glob("*.json"):
        record = json.loads(record_file.read_text())
        source = Path(record["video"]).resolve()
        if "duplicate_of" in record or (source in current and record["id"] != current[source]):
            for split in ("train", "val"):
                (out / split / f"{record['id']}.tar").unlink(missing_ok=True)
            record_file.unlink()
            removed += 1
    return removed


def load_captions(path: str | None) -> dict[str, str]:
    """JSON {"name.mp4": "...", "name.mp4#2": "..."} or JSONL lines {"video": ..., "scene": k, "caption": ...}."""
    if not path:
        return {}
    p = Path(path)
    if not p.is_file():
        raise NSPError(f"--captions {path}: file not found")
    text = p.read_text()
    try:
        data = json.loads(text)
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    except json.JSONDecodeError:
        pass
    out = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            key = row["video"] + (f"#{row['scene']}" if row.get("scene") is not None else "")
            out[key] = str(row["caption"])
        except (json.JSONDecodeError, KeyError, TypeError):
            raise NSPError(f"--captions {path}: line {n} is not {{\"video\", \"caption\"[, \"scene\"]}} JSON") from None
    return out


def detect_scenes(path: Path, threshold: float) -> list[tuple[float, float]]:
    from scenedetect import ContentDetector, SceneManager, open_video

    video = open_video(str(path), backend="pyav")
    manager = SceneManager()
    manager.add_detector(ContentDetector(threshold=threshold))
    manager.detect_scenes(video)
    scenes = manager.get_scene_list(start_in_scene=True)
    return [(a.get_seconds(), b.get_seconds()) for a, b in scenes]


def bucket_for(height: int, width: int, sizes: list[tuple[int, int]]) -> tuple[int, int]:
    aspect = width / height
    return min(sizes, key=lambda s: abs(np.log(aspect / (s[1] / s[0]))))


def grab_frames(path: Path, times: list[float], size: tuple[int, int]) -> dict[float, np.ndarray]:
    """The frame nearest each requested time, centre-cropped to the bucket's aspect and resized (one decode pass)."""
    wanted = sorted(set(times))
    out: dict[float, np.ndarray] = {}
    h, w = size
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        previous = None
        i = 0
        for frame in container.decode(stream):
            t = float(frame.time or 0.0)
            while i < len(wanted) and t >= wanted[i]:
                pick = frame if previous is None or abs(t - wanted[i]) <= abs(previous[0] - wanted[i]) else previous[1]
                out[wanted[i]] = _crop_resize(pick.to_image(), h, w)
                i += 1
            if i == len(wanted):
                break
            previous = (t, frame)
        while i < len(wanted) and previous is not None:  # requests past the last frame: the last frame
            out[wanted[i]] = _crop_resize(previous[1].to_image(), h, w)
            i += 1
    return out


def _crop_resize(image: Image.Image, h: int, w: int) -> np.ndarray:
    iw, ih = image.size
    scale = max(w / iw, h / ih)
    cw, ch = round(w / scale), round(h / scale)
    left, top = (iw - cw) // 2, (ih - ch) // 2
    return np.asarray(image.crop((left, top, left + cw, top + ch)).resize((w, h), Image.BICUBIC).convert("RGB"))


def motion(frames: np.ndarray, level: float = 8.0) -> float:
    """Share of pixels whose grey level changes by more than `level` between consecutive frames (codec noise and
    flicker stay below it; anything that moves goes above)."""
    gray = frames.astype(np.float32).mean(-1)
    return float((np.abs(np.diff(gray, axis=0)) > level).mean()) if len(gray) > 1 else 0.0


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """1 - mean absolute difference of 32x32 grey thumbnails (1: identical)."""
    thumb = lambda x: np.asarray(Image.fromarray(x).convert("L").resize((32, 32), Image.BILINEAR), np.float32)  # noqa
    return 1.0 - float(np.abs(thumb(a) - thumb(b)).mean()) / 255.0


def process_video(path: Path, opt: BuildOptions, captions: dict[str, str], captioner=None) -> dict:
    """Everything for one video: its record and its pairs' shard members."""
    record = {"video": str(path), "id": video_id(path), "status": "ok", "scenes": 0, "pairs": 0, "skipped": []}
    try:
        clip_probe = read_video_header(path)
        scenes = detect_scenes(path, opt.detector_threshold)
    except NSPError as err:
        return {**record, "status": "skipped", "reason": f"unreadable: {err}"}, []
    except Exception as err:  # PySceneDetect / FFmpeg failures on damaged files
        return {**record, "status": "skipped", "reason": f"unreadable: {type(err).__name__}: {err}"[:300]}, []
    record["scenes"] = len(scenes)
    if len(scenes) < 2:
        return {**record, "status": "skipped", "reason": "single scene (no cut to pair across)"}, []
    size = bucket_for(clip_probe["height"], clip_probe["width"], opt.sizes)
    span = opt.frames / opt.fps
    windows = []
    for i in range(len(scenes) - 1):
        (a0, a1), (b0, b1) = scenes[i], scenes[i + 1]
        if a1 - a0 < span or b1 - b0 < span:
            record["skipped"].append({"pair": i, "reason": "too short"})
            continue
        before = [a1 - (opt.frames - k) / opt.fps for k in range(opt.frames)]
        after = [b0 + k / opt.fps for k in range(opt.frames)]
        windows.append((i, before, after))
    frames = grab_frames(path, [t for _, a, b in windows for t in a + b], size) if windows else {}
    split = "val" if int(record["id"], 16) % 10_000 < opt.val_fraction * 10_000 else "train"
    members = []
    for i, before, after in windows:
        context = np.stack([frames[t] for t in before])
        nxt = np.stack([frames[t] for t in after])
        if min(motion(context), motion(nxt)) < opt.min_motion:
            record["skipped"].append({"pair": i, "reason": "static"})
            continue
        if similarity(context[-1], nxt[0]) > opt.max_similarity:
            record["skipped"].append({"pair": i, "reason": "near-duplicate"})
            continue
        caps = {"context": _caption(path, i, captions), "next": _caption(path, i + 1, captions)}
        if captioner is not None:
            caps = {k: v or captioner(c, opt.fps) for (k, v), c in zip(caps.items(), (context, nxt))}
        key = f"{record['id']}_{i:04d}"
        meta = {"source": str(path), "fps": opt.fps, "frames": opt.frames, "size": list(size), "split": split,
                "times": {"context": [before[0], before[-1]], "next": [after[0], after[-1]],
                          "scenes": [list(scenes[i]), list(scenes[i + 1])]},
                "captions": {k: v for k, v in caps.items() if v}}
        members.append(sample_members(key, encode_video(context, opt.fps), encode_video(nxt, opt.fps), meta))
    record.update(pairs=len(members), split=split, size=list(size))
    return record, members


def read_video_header(path: Path) -> dict:
    """Open the file and check it has a decodable video stream (reads only the first frame)."""
    if not path.exists():
        raise not_found(path)
    if path.stat().st_size == 0:
        raise NSPError(f"{path}: empty file (0 bytes)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise NSPError(f"{path}: has no video stream")
            stream = container.streams.video[0]
            first = next(container.decode(stream), None)
            if first is None:
                raise NSPError(f"{path}: no decodable video frames")
            return {"height": first.height, "width": first.width}
    except av.error.FFmpegError as err:
        raise NSPError(f"{path}: not a readable video ({getattr(err, 'strerror', None) or err})") from None


def _caption(path: Path, scene: int, captions: dict[str, str]) -> str | None:
    return captions.get(f"{path.name}#{scene}") or captions.get(path.name) or captions.get(str(path))


def _work(args):
    path, opt, captions, out = args
    captioner = _worker_captioner(opt)
    record, members = process_video(path, opt, captions, captioner)
    if members:
        with atomic_path(out / record["split"] / f"{record['id']}.tar") as tmp:
            import webdataset as wds

            with wds.TarWriter(str(tmp)) as tar:
                for sample in members:
                    tar.write(sample)
    with atomic_path(out / "videos" / f"{record['id']}.json") as tmp:  # written last: the video is done
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return record


_CAPTIONER = None


def _worker_captioner(opt: BuildOptions):
    global _CAPTIONER
    if opt.captioner and _CAPTIONER is None:
        from nsp.understanding.captioner import Captioner

        _CAPTIONER = Captioner(opt.captioner)
    return _CAPTIONER


def build_dataset(inputs: list[str], out: Path, opt: BuildOptions, progress: bool = True) -> dict:
    from tqdm.auto import tqdm

    videos = find_videos(inputs)
    missing = [v for v in videos if not v.exists()]
    if missing:
        raise not_found(missing[0])
    if not videos:
        raise NSPError(f"no input videos found in {' '.join(inputs)}")
    if opt.captioner and not Path(opt.captioner).is_dir():
        raise NSPError(f"--captioner {opt.captioner}: not a local directory")
    captions = load_captions(opt.captions)
    out.mkdir(parents=True, exist_ok=True)
    (out / "videos").mkdir(exist_ok=True)
    remove_stale(out, videos)
    done = {p.stem for p in (out / "videos").glob("*.json")}
    copies = {c: o for c, o in duplicates(videos, done).items() if video_id(c) not in done}
    for copy, original in copies.items():
        record = {"video": str(copy), "id": video_id(copy), "status": "skipped", "scenes": 0, "pairs": 0,
                  "skipped": [], "reason": f"same content as {original}", "duplicate_of": str(original)}
        with atomic_path(out / "videos" / f"{record['id']}.json") as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")
    done |= {video_id(c) for c in copies}
    todo = [v for v in videos if video_id(v) not in done]
    jobs = [(v, opt, captions, out) for v in todo]
    with tqdm(total=len(videos), initial=len(videos) - len(todo), desc="build", unit="video",
              disable=not progress, dynamic_ncols=True) as bar:
        if opt.workers > 1 and len(jobs) > 1:
            with ProcessPoolExecutor(min(opt.workers, os.cpu_count() or 1)) as pool:
                for _ in pool.map(_work, jobs):
                    bar.update()
        else:
            for job in jobs:
                _work(job)
                bar.update()
    ids = {video_id(v) for v in videos}
    records = [json.loads(p.read_text()) for p in sorted((out / "videos").glob("*.json")) if p.stem in ids]
    manifest = summarize(records, opt)
    write_manifest(out, manifest)
    return manifest


def summarize(records: list[dict], opt: BuildOptions) -> dict:
    skipped = [{"item": r["video"], "reason": r["reason"]} for r in records if r["status"] == "skipped"]
    skipped += [{"item": f"{r['video']}#pair{s['pair']}", "reason": s["reason"]} for r in records for s in r["skipped"]]
    counts: dict[str, int] = {}
    for s in skipped:
        reason = s["reason"].split(":")[0]
        counts[reason] = counts.get(reason, 0) + 1
    pairs = {split: sum(r["pairs"] for r in records if r.get("split") == split) for split in ("train", "val")}
    return {"kind": "real", "frames": opt.frames, "fps": opt.fps, "sizes": [list(s) for s in opt.sizes],
            "videos": {"total": len(records), "used": sum(r["pairs"] > 0 for r in records),
                       "skipped": sum(r["status"] == "skipped" for r in records)},
            "scenes": sum(r["scenes"] for r in records),
            "pairs": {**pairs, "total": sum(pairs.values())},
            "splits": {split: {"pairs": n} for split, n in pairs.items() if n},
            "skipped_counts": counts, "skipped": skipped}
