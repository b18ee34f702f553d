"""The OneDrive extension: a package (declaration, the API calls, the connector).

The declaration is read without the connector's protocol libraries (lists, forms,
checks); the connector is imported when first asked for (docs/decisions.md)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from passeur.connectors.onedrive.extension import EXTENSION

if TYPE_CHECKING:
    from passeur.connectors.onedrive.connector import OneDriveConnector

__all__ = ["EXTENSION", "OneDriveConnector"]


def __getattr__(name: str) -> Any:
    if name in {"OneDriveConnector"}:
        return getattr(importlib.import_module(f"{__name__}.connector"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
