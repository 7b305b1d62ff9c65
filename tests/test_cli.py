"""The `nsp` command as a user runs it: a real subprocess, real files, real exit codes."""

import json

import pytest

from nsp.video.io import read_video
from tests.conftest import REPO, run_nsp


def test_help_for_every_command():
    for cmd in ([], ["info"], ["init"], ["predict"], ["serve"], ["demo"]):
        result = run_nsp(*cmd, "--help")
        assert result.returncode == 0 and "usage: nsp" in result.stdout


def test_info_json_describes_the_tiny_preset():
    result = run_nsp("info", "--preset", "tiny", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["components"]["vlm"]["class"] == "Qwen2_5_VLForConditionalGeneration"
    assert info["components"]["transformer"]["class"] == "LTXVideoTransformer3DModel"
    assert info["num_queries"] == 16 and info["components"]["connector"]["type"] == "mlp"
    assert info["stages"]["t2v_images"]["trainable_groups"] == ["queries", "connector"]
    assert info["video"]["latent_grid"] == [3, 8, 8]


def test_init_then_info_then_predict(tmp_path, clip_file):
    ck = tmp_path / "ck"
    result = run_nsp("init", "--preset", "tiny", "--out", ck, "connector.type=transformer")
    assert result.returncode == 0, result.stderr
    info = json.loads(run_nsp("info", "--checkpoint", ck, "--json").stdout)
    assert info["components"]["connector"]["class"] == "TransformerConnector"
    out = tmp_path / "next.mp4"
    result = run_nsp("predict", clip_file, "--checkpoint", ck, "--out", out, "--steps", "2", "--scenes", "2",
                     "--text", "what next")
    assert result.returncode == 0, result.stderr
    assert read_video(out).num_frames == 18  # two scenes of 9 frames
    again = tmp_path / "again.mp4"  # offloaded and tiled: the same video
    result = run_nsp("predict", clip_file, "--checkpoint", ck, "--out", again, "--steps", "2", "--scenes", "2",
                     "--text", "what next", "--offload", "--vae-tiling")
    assert result.returncode == 0, result.stderr
    assert again.read_bytes() == out.read_bytes()
    bf16 = tmp_path / "bf16.mp4"  # bf16 denoising: a video, and none of autocast's kernel notes on stderr
    result = run_nsp("predict", clip_file, "--checkpoint", ck, "--out", bf16, "--steps", "2", "--bf16")
    assert result.returncode == 0 and "Warning" not in result.stderr, result.stderr
    assert read_video(bf16).num_frames == 9


def test_init_paper_without_weights_is_refused(tmp_path):
    result = run_nsp("init", "--preset", "paper", "--out", tmp_path / "ck")
    assert result.returncode == 2
    assert "vlm.path=DIR" in result.stderr and not (tmp_path / "ck").exists()


@pytest.mark.parametrize("kind", ["missing", "empty", "text", "truncated"])
def test_predict_bad_input_exits_2_with_one_line_and_no_output(tmp_path, tiny_checkpoint, clip_file, kind):
    clip = tmp_path / f"{kind}.mp4"
    if kind == "empty":
        clip.write_bytes(b"")
    elif kind == "text":
        clip.write_text("not a video")
    elif kind == "truncated":
        clip.write_bytes(clip_file.read_bytes()[:300])
    out = tmp_path / "out.mp4"
    result = run_nsp("predict", clip, "--checkpoint", tiny_checkpoint, "--out", out)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and str(clip) in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == ([clip] if kind != "missing" else [])


def test_predict_without_checkpoint_explains_how_to_get_one(tmp_path, clip_file):
    result = run_nsp("predict", clip_file, "--out", tmp_path / "o.mp4", cwd=tmp_path)
    assert result.returncode == 2 and "make demo" in result.stderr


def test_package_lists_every_python_package():
    """pyproject lists packages by hand (the nsp.stages / nsp.connectors mapping); none may be forgotten."""
    import tomllib

    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    mapping = {"nsp": "nsp", "nsp.stages": "stages", "nsp.connectors": "connectors"}
    found = set()
    for package, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([package, *rel.parts]))
    assert found == listed
