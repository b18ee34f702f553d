"""Octopus (Inaras): the file import into a dossier, or its mailbox.

The declaration is read without the connector's protocol libraries (lists, forms,
checks); the connector is imported when first asked for (docs/decisions.md)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from passeur.connectors.octopus.extension import EXTENSION

if TYPE_CHECKING:
    from passeur.connectors.octopus.connector import OctopusConnector

__all__ = ["EXTENSION", "OctopusConnector"]


def __getattr__(name: str) -> Any:
    if name in {"OctopusConnector"}:
        return getattr(importlib.import_module(f"{__name__}.connector"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
