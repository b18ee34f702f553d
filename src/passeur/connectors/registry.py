"""The explicit list of extensions passeur offers. A new extension is added here by hand."""

from __future__ import annotations

from passeur.connectors.base import Connector
from passeur.connectors.email import EmailConnector
from passeur.connectors.http import HttpConnector
from passeur.connectors.sftp import SftpConnector
from passeur.domain.errors import NotFound
from passeur.domain.extensions import Extension
from passeur.domain.network import NetworkPolicy

CONNECTORS: tuple[type[Connector], ...] = (SftpConnector, HttpConnector, EmailConnector)


def extensions() -> dict[str, Extension]:
    return {c.extension.slug: c.extension for c in CONNECTORS}


def extension(slug: str) -> Extension:
    found = extensions().get(slug)
    if found is None:
        raise NotFound(f"no extension {slug!r}; known: {', '.join(extensions())}")
    return found


def connector_class(slug: str) -> type[Connector]:
    for candidate in CONNECTORS:
        if candidate.extension.slug == slug:
            return candidate
    raise NotFound(f"no extension {slug!r}")


def make_connector(slug: str, network: NetworkPolicy) -> Connector:
    """A connector bound to the operator's network policy (the SSRF guard's allow-list)."""
    return connector_class(slug)(network=network)
