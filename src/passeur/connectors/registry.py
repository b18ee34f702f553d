"""The explicit list of extensions passeur offers. A new extension is added here by hand.

Each is listed by where its declaration lives and where its connector does. Declarations
(lists, forms, checks, the ledger's rules) are read without the protocol libraries; a
connector class is imported the first time one is asked for (to check or to deliver), so
a command starts without loading SSH, SMTP, HTTP or XML libraries it may never use.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from passeur.domain.errors import NotFound
from passeur.domain.extensions import Extension

if TYPE_CHECKING:
    from passeur.connectors.base import Connector
    from passeur.domain.network import NetworkPolicy


@dataclass(frozen=True)
class Listed:
    declaration: str  # "module:NAME" of the Extension, importable without protocol libraries
    connector: str  # "module:Class" that checks and delivers it


_PACKAGES = "passeur.connectors.accounting_packages"
LISTED: tuple[Listed, ...] = (
    Listed("passeur.connectors.sftp_extension:EXTENSION", "passeur.connectors.sftp:SftpConnector"),
    Listed("passeur.connectors.http:EXTENSION", "passeur.connectors.http:HttpConnector"),
    Listed("passeur.connectors.email:EXTENSION", "passeur.connectors.email:EmailConnector"),
    Listed("passeur.connectors.dropbox:EXTENSION", "passeur.connectors.dropbox:DropboxConnector"),
    Listed(
        "passeur.connectors.google_drive:EXTENSION",
        "passeur.connectors.google_drive:GoogleDriveConnector",
    ),
    Listed(
        "passeur.connectors.onedrive:EXTENSION", "passeur.connectors.onedrive:OneDriveConnector"
    ),
    Listed(
        "passeur.connectors.exact_online:EXTENSION",
        "passeur.connectors.exact_online:ExactOnlineConnector",
    ),
    Listed("passeur.connectors.octopus:EXTENSION", "passeur.connectors.octopus:OctopusConnector"),
    Listed("passeur.connectors.yuki:EXTENSION", "passeur.connectors.yuki:YukiConnector"),
    Listed(
        "passeur.connectors.clearfacts:EXTENSION",
        "passeur.connectors.clearfacts:ClearfactsConnector",
    ),
    Listed(f"{_PACKAGES}:COUNT_E", f"{_PACKAGES}:CountEConnector"),
    Listed(f"{_PACKAGES}:PINGWIN", f"{_PACKAGES}:PingwinConnector"),
    Listed(f"{_PACKAGES}:ONEA", f"{_PACKAGES}:OneaConnector"),
    Listed(f"{_PACKAGES}:WINGS_ONLINE", f"{_PACKAGES}:WingsOnlineConnector"),
    Listed("passeur.connectors.api:EXTENSION", "passeur.connectors.api:ApiConnector"),
)


def _load(where: str) -> Any:
    module, name = where.split(":")
    return getattr(importlib.import_module(module), name)


def by_slug(connectors: Sequence[type[Connector]]) -> dict[str, type[Connector]]:
    """The connectors by their extension's slug; a slug declared twice is refused."""
    found: dict[str, type[Connector]] = {}
    for candidate in connectors:
        slug = candidate.extension.slug
        if slug in found:
            raise ValueError(
                f"extension slug {slug!r} is declared twice: by {found[slug].__name__} "
                f"and by {candidate.__name__}"
            )
        found[slug] = candidate
    return found


@functools.cache
def _declared() -> dict[str, tuple[Extension, str]]:
    """Every listed declaration by slug, with where its connector lives."""
    found: dict[str, tuple[Extension, str]] = {}
    for listed in LISTED:
        declared: Extension = _load(listed.declaration)
        if declared.slug in found:
            raise ValueError(
                f"extension slug {declared.slug!r} is declared twice: by "
                f"{found[declared.slug][1]} and by {listed.connector}"
            )
        found[declared.slug] = (declared, listed.connector)
    return found


def extensions() -> dict[str, Extension]:
    return {slug: declared for slug, (declared, _) in _declared().items()}


def extension(slug: str) -> Extension:
    found = _declared().get(slug)
    if found is None:
        raise NotFound(f"no extension {slug!r}; known: {', '.join(_declared())}")
    return found[0]


@functools.cache
def _connector(slug: str) -> type[Connector]:
    declared, where = _declared()[slug]
    made: type[Connector] = _load(where)
    if made.extension is not declared:  # the list names a class that declares another
        raise ValueError(f"{where} does not carry the declaration listed for {slug!r}")
    return made


def connector_class(slug: str) -> type[Connector]:
    if slug not in _declared():
        raise NotFound(f"no extension {slug!r}")
    return _connector(slug)


def make_connector(slug: str, network: NetworkPolicy) -> Connector:
    """A connector bound to the operator's network policy (the SSRF guard's allow-list)."""
    return connector_class(slug)(network=network)
