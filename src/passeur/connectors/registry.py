"""The explicit list of extensions passeur offers. A new extension is added here by hand."""

from __future__ import annotations

from collections.abc import Sequence

from passeur.connectors import accounting_packages
from passeur.connectors.api import ApiConnector
from passeur.connectors.base import Connector
from passeur.connectors.clearfacts import ClearfactsConnector
from passeur.connectors.dropbox import DropboxConnector
from passeur.connectors.email import EmailConnector
from passeur.connectors.exact_online import ExactOnlineConnector
from passeur.connectors.google_drive import GoogleDriveConnector
from passeur.connectors.http import HttpConnector
from passeur.connectors.octopus import OctopusConnector
from passeur.connectors.onedrive import OneDriveConnector
from passeur.connectors.sftp import SftpConnector
from passeur.connectors.yuki import YukiConnector
from passeur.domain.errors import NotFound
from passeur.domain.extensions import Extension
from passeur.domain.network import NetworkPolicy

CONNECTORS: tuple[type[Connector], ...] = (
    SftpConnector,
    HttpConnector,
    EmailConnector,
    DropboxConnector,
    GoogleDriveConnector,
    OneDriveConnector,
    ExactOnlineConnector,
    OctopusConnector,
    YukiConnector,
    ClearfactsConnector,
    *accounting_packages.CONNECTORS,
    ApiConnector,
)


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


_BY_SLUG = by_slug(CONNECTORS)


def extensions() -> dict[str, Extension]:
    return {slug: c.extension for slug, c in _BY_SLUG.items()}


def extension(slug: str) -> Extension:
    found = _BY_SLUG.get(slug)
    if found is None:
        raise NotFound(f"no extension {slug!r}; known: {', '.join(_BY_SLUG)}")
    return found.extension


def connector_class(slug: str) -> type[Connector]:
    found = _BY_SLUG.get(slug)
    if found is None:
        raise NotFound(f"no extension {slug!r}")
    return found


def make_connector(slug: str, network: NetworkPolicy) -> Connector:
    """A connector bound to the operator's network policy (the SSRF guard's allow-list)."""
    return connector_class(slug)(network=network)
