"""Connectors: query hidden states of the VLM -> "prompt embeddings" for the DiT (its caption channels).

A registry by name, so a config picks one with `connector.type`. Every connector ends in `OutputScale`:
Qwen's hidden states have orders of magnitude more variance than the T5 outputs the DiT was trained on, and this
normalisation is what keeps training stable."""

from __future__ import annotations

from typing import Callable

from torch import nn

CONNECTORS: dict[str, type[nn.Module]] = {}


def register(name: str) -> Callable[[type[nn.Module]], type[nn.Module]]:
    def add(cls: type[nn.Module]) -> type[nn.Module]:
        CONNECTORS[name] = cls
        return cls

    return add


def build_connector(cfg, in_dim: int, out_dim: int) -> nn.Module:
    """`cfg` is a `nsp.config.ConnectorConfig`; in_dim is the VLM width, out_dim the DiT's caption channels."""
    from nsp.errors import NSPError

    if cfg.type not in CONNECTORS:
        raise NSPError(f"connector.type={cfg.type}: unknown connector (choose from {', '.join(sorted(CONNECTORS))})")
    return CONNECTORS[cfg.type].from_config(cfg, in_dim, out_dim)


from nsp.connectors.mlp import MLPConnector  # noqa: E402  (registers "mlp")
from nsp.connectors.norm import OutputScale  # noqa: E402
from nsp.connectors.transformer import TransformerConnector  # noqa: E402  (registers "transformer")

__all__ = ["CONNECTORS", "register", "build_connector", "MLPConnector", "TransformerConnector", "OutputScale"]
