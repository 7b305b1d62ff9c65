"""Shared fixtures: tiny, randomly initialised instances of the real classes (never mocks)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
REPO = Path(__file__).resolve().parents[1]
ALL_CORES = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []


def pytest_configure(config):
    """Under pytest-xdist each worker keeps to its own share of the cores, and so does every `nsp` process its tests
    start (each sizes its threads by the cores it may use): two workers would otherwise run twice as many threads as
    there are cores, and threads that wait for each other spinning then slow each other down several times."""
    worker, count = os.environ.get("PYTEST_XDIST_WORKER"), int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker and count > 1 and len(ALL_CORES) >= count:
        share = ALL_CORES[int(worker.removeprefix("gw")) % count::count]
        os.sched_setaffinity(0, share)
        if "torch" in sys.modules:  # its thread pool may already be sized
            sys.modules["torch"].set_num_threads(len(share))


@pytest.fixture
def all_cores():
    """A test of how work is split over the machine's cores gets all of them, not its worker's share (yields how
    many)."""
    if not ALL_CORES:
        yield 1
        return
    mine = os.sched_getaffinity(0)
    os.sched_setaffinity(0, ALL_CORES)
    try:
        yield len(ALL_CORES)
    finally:
        os.sched_setaffinity(0, mine)


@pytest.fixture(scope="session")
def tiny_model():
    import torch

    from nsp.config import preset_config
    from nsp.model import NSPModel

    torch.manual_seed(0)
    return NSPModel.from_config(preset_config("tiny"))


@pytest.fixture(scope="session")
def clip():
    from nsp.video.sample import moving_ball_clip

    return moving_ball_clip(9, 64, 64, 8.0, seed=1)


@pytest.fixture(scope="session")
def clip_file(tmp_path_factory, clip) -> Path:
    from nsp.video.io import write_video

    return write_video(tmp_path_factory.mktemp("clips") / "context.mp4", clip.frames, clip.fps)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, tiny_model) -> Path:
    return tiny_model.save_pretrained(tmp_path_factory.mktemp("ck") / "tiny")


def run_nsp(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the real `nsp` entry point in a subprocess. The timeout only catches a hang: CI machines are several times
    slower than a workstation when the other test worker is busy too."""
    return subprocess.run([sys.executable, "-m", "nsp.cli.main", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd or REPO, timeout=timeout)


def random_frames(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="session")
def hf_snapshots(tmp_path_factory):
    """Tiny Qwen2.5-VL and LTX-Video snapshots in the real Hugging Face directory layouts (as downloaded snapshots
    look): the `paper` preset's loading code reads them exactly as it reads the real 7B / 2B ones."""
    import torch
    from diffusers import LTXPipeline
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

    from nsp.config import preset_config
    from nsp.generation.ltx import build_generator
    from nsp.understanding.vlm import build_vlm

    root = tmp_path_factory.mktemp("snapshots")
    torch.manual_seed(123)
    cfg = preset_config("tiny")
    vlm, tokenizer, _ = build_vlm(cfg.vlm)
    vlm.save_pretrained(root / "Qwen2.5-VL-tiny")
    tokenizer.save_pretrained(root / "Qwen2.5-VL-tiny")
    Qwen2VLImageProcessorPil().save_pretrained(root / "Qwen2.5-VL-tiny")
    gen = build_generator(cfg.generator)
    LTXPipeline(scheduler=gen.scheduler, vae=gen.vae, text_encoder=None, tokenizer=None,
                transformer=gen.transformer).save_pretrained(root / "LTX-Video-tiny")
    return root / "Qwen2.5-VL-tiny", root / "LTX-Video-tiny"


def paper_overrides(qwen, ltx) -> list[str]:
    """The paper preset pointed at the tiny snapshots, with sizes scaled down to match them."""
    return [f"vlm.path={qwen}", f"generator.path={ltx}", "vlm.dtype=float32", "generator.dtype=float32",
            "connector.num_queries=8", "generator.num_frames=9", "generator.height=64", "generator.width=64",
            "generator.fps=8", "vlm.max_tokens=256", "vlm.video.min_tokens_per_frame=4",
            "vlm.video.max_tokens_per_frame=16", "vlm.video.fps=4", "sampling.steps=2"]
