import math

import pytest
import torch

from nsp.config import ConnectorConfig
from nsp.connectors import CONNECTORS, build_connector
from nsp.errors import NSPError


@pytest.mark.parametrize("kind", ["mlp", "transformer"])
def test_connector_shapes_and_output_normalisation(kind):
    torch.manual_seed(0)
    connector = build_connector(ConnectorConfig(type=kind, num_heads=4), in_dim=48, out_dim=96)
    x = torch.randn(2, 16, 48) * 100  # Qwen-like: hidden states with a large variance
    y = connector(x)
    assert y.shape == (2, 16, 96)
    # RMSNorm (weight sqrt(5.5)) then scale 0.01: the output RMS is 0.01 * sqrt(5.5) whatever the input scale.
    rms = y.pow(2).mean(-1).sqrt()
    torch.testing.assert_close(rms, torch.full_like(rms, 0.01 * math.sqrt(5.5)), rtol=1e-3, atol=1e-6)
    assert torch.allclose(connector.out.norm.weight, torch.full((96,), math.sqrt(5.5)))
    assert connector.out.scale.item() == pytest.approx(0.01)


def test_paper_connector_is_linear_silu_linear_norm_scale():
    c = CONNECTORS["mlp"](8, 16)
    kinds = [type(m).__name__ for m in (c.fc1, c.act, c.fc2, c.out.norm)]
    assert kinds == ["Linear", "SiLU", "Linear", "RMSNorm"]
    assert c.out.scale.requires_grad


def test_unknown_connector_is_a_clear_error():
    with pytest.raises(NSPError, match="connector.type=nope"):
        build_connector(ConnectorConfig(type="nope"), 8, 8)
