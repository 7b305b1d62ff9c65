"""Connectors: query hidden states of the VLM -> "prompt embeddings" for the DiT (its caption channels).

A registry by name, so a config picks one with `connector.type`. Every connector ends in `OutputScale`:
Qwen's hidden states have orders of magnitude more variance than the T5 outputs the DiT was trained on, and this
normalisation is what keeps training stable."""

from __future__ import annotations

from nsp.connectors.mlp import MLPConnector  # noqa: F401  (registers "mlp")
from nsp.connectors.norm import OutputScale
from nsp.connectors.registry import CONNECTORS, build_connector, register
from nsp.connectors.transformer import TransformerConnector  # noqa: F401  (registers "transformer")

__all__ = ["CONNECTORS", "register", "build_connector", "MLPConnector", "TransformerConnector", "OutputScale"]
