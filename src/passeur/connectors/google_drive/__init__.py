"""The Google Drive extension: a package (declaration, the API calls, the connector).

The declaration is read without the connector's protocol libraries (lists, forms,
checks); the connector is imported when first asked for (docs/decisions.md)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from passeur.connectors.google_drive.extension import EXTENSION

if TYPE_CHECKING:
    from passeur.connectors.google_drive.connector import GoogleDriveConnector

__all__ = ["EXTENSION", "GoogleDriveConnector"]


def __getattr__(name: str) -> Any:
    if name in {"GoogleDriveConnector"}:
        return getattr(importlib.import_module(f"{__name__}.connector"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
