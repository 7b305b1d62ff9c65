"""The context-video path must match qwen-vl-utils' sampling policy and transformers' Qwen2-VL pixel layout."""

import ast
import importlib.util
import logging
import math
import os
import typing
from pathlib import Path

import numpy as np
import pytest
import torch

from nsp.config import ContextVideoConfig
from nsp.video.qwen_input import (VisionSpec, normalize, patchify, prepare_video, sample_frame_count,
                                  smart_resize)
from tests.conftest import random_frames


def qwen_vl_utils_policy():
    """qwen-vl-utils' pure policy functions, read from its installed source (its module imports torchvision at the
    top, which cannot be installed here), so the comparison is against the reference code itself."""
    spec = importlib.util.find_spec("qwen_vl_utils")
    source = Path(spec.submodule_search_locations[0], "vision_process.py").read_text()
    wanted = {"round_by_factor", "ceil_by_factor", "floor_by_factor", "smart_resize", "smart_nframes"}
    body = [node for node in ast.parse(source).body
            if (isinstance(node, ast.FunctionDef) and node.name in wanted)
            or (isinstance(node, ast.Assign) and not isinstance(node.value, ast.Dict)
                and all(isinstance(t, ast.Name) and t.id.isupper() for t in node.targets))]
    namespace = {"math": math, "os": os, "logger": logging.getLogger("qwen_vl_utils"),
                 **{name: getattr(typing, name) for name in ("Optional", "Union", "Tuple", "List", "Any", "Dict")}}
    exec(compile(ast.Module(body=body, type_ignores=[]), "vision_process.py", "exec"), namespace)
    return namespace


def test_smart_resize_matches_qwen_vl_utils():
    ref = qwen_vl_utils_policy()
    rng = np.random.default_rng(0)
    for _ in range(500):
        h, w = (int(x) for x in rng.integers(20, 2000, size=2))
        lo = int(rng.integers(4, 200)) * 28 * 28
        hi = lo + int(rng.integers(0, 1000)) * 28 * 28
        assert smart_resize(h, w, 28, lo, hi) == ref["smart_resize"](h, w, factor=28, min_pixels=lo, max_pixels=hi)


def test_frame_count_matches_qwen_vl_utils():
    ref = qwen_vl_utils_policy()
    for total in (2, 5, 9, 17, 48, 65, 300, 1200):
        for video_fps in (8.0, 23.976, 30.0):
            for fps, lo, hi in ((2.0, 4, 768), (4.0, 4, 16), (1.0, 2, 8)):
                cfg = ContextVideoConfig(fps=fps, min_frames=lo, max_frames=hi)
                try:
                    expected = ref["smart_nframes"]({"fps": fps, "min_frames": lo, "max_frames": hi}, total, video_fps)
                except ValueError:
                    with pytest.raises(ValueError):
                        sample_frame_count(total, video_fps, cfg)
                    continue
                assert sample_frame_count(total, video_fps, cfg) == expected


def test_patch_layout_matches_transformers_qwen2vl_processor():
    """A still clip (the same frame twice) must patchify exactly like transformers' Qwen2-VL image processor, which
    repeats an image over the temporal patch: this pins the (t, h/m, w/m, m, m, C, tp, p, p) ordering."""
    from PIL import Image
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    frame = random_frames(1, 56, 84, seed=3)[0]
    ref = Qwen2VLImageProcessorPil(do_resize=False)(images=[Image.fromarray(frame)], return_tensors="pt")
    spec = VisionSpec()
    video = torch.from_numpy(np.stack([frame, frame])).permute(0, 3, 1, 2)
    pixels, grid = patchify(normalize(video, spec), spec)
    assert grid.tolist() == ref["image_grid_thw"][0].tolist()
    assert pixels.shape == ref["pixel_values"].shape
    torch.testing.assert_close(pixels, ref["pixel_values"].float(), atol=1e-5, rtol=1e-5)


def test_prepare_video_shapes_and_timing():
    cfg = ContextVideoConfig(fps=2.0, min_tokens_per_frame=16, max_tokens_per_frame=64)
    frames = random_frames(48, 120, 160)  # 2 s at 24 fps -> 4 frames sampled
    v = prepare_video(frames, 24.0, cfg, VisionSpec(), max_tokens=1024)
    t, gh, gw = v.video_grid_thw.tolist()
    assert t == 2 and gh % 2 == 0 and gw % 2 == 0
    assert 16 <= gh * gw // 4 <= 64  # per-frame token budget respected
    assert v.pixel_values_videos.shape == (t * gh * gw, 3 * 2 * 14 * 14)
    assert v.num_tokens == t * gh * gw // 4
    assert v.second_per_grid_t == pytest.approx(2 / (4 / 48 * 24))  # temporal patch / sampled fps


@pytest.mark.skipif(importlib.util.find_spec("torchvision") is None, reason="torchvision not installable here "
                    "(STACK.md); runs where it is (GPU machines)")
def test_end_to_end_parity_with_qwen_vl_utils_and_transformers(tmp_path):
    from qwen_vl_utils import fetch_video
    from transformers import Qwen2VLVideoProcessor

    from nsp.video.io import read_video, write_video

    path = write_video(tmp_path / "clip.mp4", random_frames(30, 90, 120, seed=5), 15.0)
    cfg = ContextVideoConfig(fps=2.0)
    clip = read_video(path)
    ours = prepare_video(clip.frames, clip.fps, cfg, VisionSpec(), max_tokens=1024)
    frames, sample_fps = fetch_video({"video": str(path), "fps": 2.0, "total_pixels": 1024 * 0.9 * 28 * 28},
                                     return_video_sample_fps=True)
    ref = Qwen2VLVideoProcessor()(videos=[frames], do_resize=False, return_tensors="pt")
    assert ours.video_grid_thw.tolist() == ref["video_grid_thw"][0].tolist()
    torch.testing.assert_close(ours.pixel_values_videos, ref["pixel_values_videos"].float(), atol=1e-4, rtol=0)
    assert ours.second_per_grid_t == pytest.approx(2 / sample_fps)
