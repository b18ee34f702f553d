"""The ClearFacts extension: a package (declaration, the GraphQL calls, the connector).

The declaration is read without the connector's protocol libraries (lists, forms,
checks); the connector is imported when first asked for (docs/decisions.md)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from passeur.connectors.clearfacts.extension import EXTENSION

if TYPE_CHECKING:
    from passeur.connectors.clearfacts.connector import ClearfactsConnector, upload_file

__all__ = ["EXTENSION", "ClearfactsConnector", "upload_file"]


def __getattr__(name: str) -> Any:
    if name in {"ClearfactsConnector", "upload_file"}:
        return getattr(importlib.import_module(f"{__name__}.connector"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
