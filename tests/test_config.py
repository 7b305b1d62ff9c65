from pathlib import Path

import pytest

from nsp.config import parse_overrides, preset_config
from nsp.errors import NSPError


def test_presets_hold_the_documented_settings():
    tiny = preset_config("tiny")
    assert tiny.vlm.path is None and tiny.generator.path is None
    paper = preset_config("paper")
    assert paper.connector.num_queries == 256
    assert paper.connector.type == "mlp"
    assert paper.vlm.max_tokens == 1024
    assert (paper.generator.num_frames, paper.generator.height, paper.generator.width) == (65, 480, 832)
    assert (paper.sampling.steps, paper.sampling.guidance) == (20, 3.0)


def test_overrides_are_typed_and_nested():
    cfg = preset_config("tiny", ["sampling.steps=7", "vlm.path=/models/qwen", "connector.type=transformer",
                                 "sampling.guidance=1.5", "vlm.video.fps=3"])
    assert cfg.sampling.steps == 7 and isinstance(cfg.sampling.steps, int)
    assert cfg.vlm.path == "/models/qwen"
    assert cfg.connector.type == "transformer"
    assert cfg.sampling.guidance == 1.5
    assert cfg.vlm.video.fps == 3.0
    assert parse_overrides(["a.b=null"]) == {"a": {"b": None}}


def test_a_mapping_written_whole_replaces_and_a_dotted_key_changes_one_entry():
    """`rl.rewards={judge: 1.0}` trains on the judge alone (merged into rl_tiny's {oracle: 1.0} it silently trained on
    both); `rl.rewards.judge=1.0` adds the judge to the oracle."""
    from stages.config import load_train_config

    alone = load_train_config("rl_tiny", ["rl.rewards={judge: 1.0}", "rl.reward_options={judge: {mode: binary}}"])
    assert alone.rl.rewards == {"judge": 1.0} and alone.rl.reward_options == {"judge": {"mode": "binary"}}
    both = load_train_config("rl_tiny", ["rl.rewards.judge=0.5", "rl.reward_options.judge.mode=binary"])
    assert both.rl.rewards == {"oracle": 1.0, "judge": 0.5}
    assert both.rl.reward_options == {"oracle": {"mode": "dense"}, "judge": {"mode": "binary"}}


@pytest.mark.parametrize("override, message", [
    ("vlm.pth=/x", "vlm.pth: unknown key"),
    ("sampling.steps=many", "sampling.steps"),
    ("generator.num_frames=10", "8k+1"),
    ("generator.height=100", "multiple of 32"),
    ("novalue", "expected key=value"),
])
def test_bad_overrides_fail_with_a_clear_message(override, message):
    with pytest.raises(NSPError, match=message.replace("+", r"\+")):
        preset_config("tiny", [override])


def test_unknown_preset():
    with pytest.raises(NSPError, match="unknown preset"):
        preset_config("huge")


@pytest.mark.parametrize("path", sorted(p.name for p in Path("stages/configs").glob("*.yaml")))
def test_every_shipped_training_config_validates(path, tmp_path):
    """The commented example configs are documentation users copy: each must still load against the schema."""
    from stages.config import load_train_config

    (tmp_path / "data").mkdir()
    cfg = load_train_config(f"stages/configs/{path}", [f"data.path={tmp_path / 'data'}"])
    assert cfg.total_steps > 0 and cfg.data.path == str(tmp_path / "data")
