"""Count-e, Pingwin, Onea and Wings Online: accounting packages with no public API.

Banqup connects to them with API credentials (product.md §2), but none of the four
publishes the API behind them (targets.md §5.7, §5.8; docs/decisions.md lists what was
searched). We do not guess endpoints. Each is offered with the channel its users can
point at it today, said in its summary and help and in docs/accounting_packages.md:

* Count-e and Pingwin run on the firm's own server or PC: the document goes by SFTP to
  the folder their import reads (the SFTP extension's connector, as is).
* Onea and Wings Online are online platforms: the document goes by e-mail to the
  address the dossier receives documents at (the e-mail extension's connector, as is).

Each is the shared connector with a declaration of its own: its name, its words, the
purchases and sales families, and a default suited to the package.

The declarations are read without the SSH and SMTP libraries; the connectors are imported
when first asked for (docs/decisions.md).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from passeur.connectors.accounting_packages.extension import COUNT_E, ONEA, PINGWIN, WINGS_ONLINE

if TYPE_CHECKING:
    from passeur.connectors.accounting_packages.connector import (
        CONNECTORS,
        CountEConnector,
        OneaConnector,
        PingwinConnector,
        WingsOnlineConnector,
    )

__all__ = [
    "CONNECTORS",
    "COUNT_E",
    "ONEA",
    "PINGWIN",
    "WINGS_ONLINE",
    "CountEConnector",
    "OneaConnector",
    "PingwinConnector",
    "WingsOnlineConnector",
]
_LATER = frozenset(
    {"CONNECTORS", "CountEConnector", "OneaConnector", "PingwinConnector", "WingsOnlineConnector"}
)


def __getattr__(name: str) -> Any:
    if name in _LATER:
        return getattr(importlib.import_module(f"{__name__}.connector"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
