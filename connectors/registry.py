"""The connectors by name (`connector.type`); each connector module registers itself here."""

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
