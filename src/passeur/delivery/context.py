"""What a worker loads for its claims: each target (secrets opened) and parcel.

Loaded per claimed batch with a handful of queries; targets are kept between batches and
rebuilt as soon as their installation or integration row changes (its `updated_at`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, select

from passeur.bootstrap import App
from passeur.connectors.base import Parcel, ParcelFile
from passeur.delivery.leases import Claim
from passeur.delivery.targets import build_target
from passeur.domain import paths
from passeur.domain.documents import Document
from passeur.domain.exports import export_key
from passeur.domain.extensions import Target
from passeur.storage.id_lists import id_in
from passeur.storage.repositories import documents as document_rows
from passeur.storage.tables import clients, document_files, documents, installations, integrations


@dataclass(frozen=True)
class Delivery:
    target: Target
    parcel: Parcel


class Loader:
    """Loads deliveries for claimed exports; one per worker (it caches targets)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._targets: dict[tuple[int, int], tuple[tuple[datetime, datetime], Target]] = {}

    def load(self, conn: Connection, claims: list[Claim]) -> dict[int, Delivery | Exception]:
        """A delivery per export id, or the error that prevented loading it (read in the
        caller's transaction: a worker loads what it has just claimed)."""
        out: dict[int, Delivery | Exception] = {}
        if not claims:
            return out
        docs, owners, files = _documents(conn, {c.document_id for c in claims})
        versions = _versions(conn, claims)
        for claim in claims:
            try:
                document = docs[claim.document_id]
                if document.partner_id != claim.partner_id:  # tenants are walled
                    raise LookupError(f"document {claim.document_id} is not this partner's")
                target = self._target(conn, claim, versions)
                parcel = _parcel(self.app, claim, document, owners[document.id], files)
                out[claim.export_id] = Delivery(target, parcel)
            except Exception as exc:  # reported on the export, never lost
                out[claim.export_id] = exc
        return out

    def _target(
        self,
        conn: Connection,
        claim: Claim,
        versions: dict[tuple[int, int], tuple[datetime, datetime]],
    ) -> Target:
        key = (claim.installation_id, claim.integration_id)
        cached = self._targets.get(key)
        if cached is not None and cached[0] == versions.get(key):
            return cached[1]
        target = build_target(
            self.app, conn, claim.partner_id, claim.installation_id, claim.integration_id
        )
        if key in versions:
            self._targets[key] = (versions[key], target)
        return target


# Built once: a worker loads every batch it claims, and building a statement costs more
# than running it.
# A document with what a parcel needs of its client, and its files (a row per file), in
# one read.
_DOCUMENTS = (
    select(
        documents,
        clients.c.name.label("client_name"),
        clients.c.uen_number.label("client_uen_number"),
        clients.c.external_ref.label("client_external_ref"),
        clients.c.vat_number.label("client_vat_number"),
        document_files.c.role.label("file_role"),
        document_files.c.filename.label("file_name"),
        document_files.c.media_type.label("file_media_type"),
        document_files.c.sha256.label("file_sha256"),
        document_files.c.size.label("file_size"),
    )
    .select_from(
        documents.join(clients, clients.c.id == documents.c.client_id).outerjoin(
            document_files, document_files.c.document_id == documents.c.id
        )
    )
    .where(id_in(documents.c.id))
    .order_by(documents.c.id, document_files.c.id)
)
_VERSIONS = (
    select(
        integrations.c.installation_id,
        integrations.c.id,
        installations.c.updated_at,
        integrations.c.updated_at.label("integration_updated_at"),
    )
    .join(installations, installations.c.id == integrations.c.installation_id)
    .where(id_in(integrations.c.id))
)


@dataclass(frozen=True)
class _Owner:
    """What a parcel tells of the document's client."""

    name: str
    uen_number: str
    external_ref: str
    vat_number: str = ""


def _documents(
    conn: Connection, ids: set[int]
) -> tuple[dict[int, Document], dict[int, _Owner], dict[int, list[document_rows.StoredFile]]]:
    """The documents, their clients and their files, keyed by document id."""
    docs: dict[int, Document] = {}
    owners: dict[int, _Owner] = {}
    files: dict[int, list[document_rows.StoredFile]] = {}
    for r in conn.execute(_DOCUMENTS, {"ids": list(ids)}):
        if r.id not in docs:
            docs[r.id] = document_rows.to_document(r)
            owners[r.id] = _Owner(
                r.client_name, r.client_uen_number, r.client_external_ref, r.client_vat_number
            )
            files[r.id] = []
        if r.file_role is not None:
            files[r.id].append(
                document_rows.StoredFile(
                    r.file_role, r.file_name, r.file_media_type, r.file_sha256, r.file_size
                )
            )
    return docs, owners, files


def _versions(conn: Connection, claims: list[Claim]) -> dict[tuple[int, int], Any]:
    """When each (installation, integration) pair last changed."""
    rows = conn.execute(_VERSIONS, {"ids": list({c.integration_id for c in claims})})
    return {(r.installation_id, r.id): (r.updated_at, r.integration_updated_at) for r in rows}


def _parcel(
    app: App,
    claim: Claim,
    document: Document,
    client: _Owner,
    files: dict[int, list[document_rows.StoredFile]],
) -> Parcel:
    base = file_name(document)
    stored = tuple(
        ParcelFile(
            role=f.role,
            name=base if f.role == "original" else base.rsplit(".", 1)[0] + ".pdf",
            media_type=f.media_type,
            size=f.size,
            sha256=f.sha256,
            opener=_opener(app, f.sha256),
        )
        for f in files[document.id]
    )
    variables = path_variables(
        document, client.name, client.uen_number, client.external_ref, client.vat_number
    )
    return Parcel(
        export_id=claim.export_id,
        export_key=export_key(claim.document_id, claim.integration_id, claim.version),
        version=claim.version,
        document=document,
        client_name=client.name,
        variables=variables,
        files=stored,
    )


def path_variables(
    document: Document, client_name: str, uen_number: str, external_ref: str, vat_number: str = ""
) -> dict[str, str]:
    """The path variables of one document of one client: the same on every try, and what
    the path preview of a client's integration form shows."""
    released = document.released_at or document.received_at
    dated = _document_date(document.issue_date) or released.date()
    return paths.document_variables(
        uen_number=uen_number,
        external_id=external_ref,
        client_name=client_name,
        invoice_type=document.family.invoice_type,
        document_number=document.number or f"d{document.id}",
        year=dated.year,
        month=dated.month,
        vat_number=vat_number,
    )


def file_name(document: Document) -> str:
    """The document's file name at every target (deterministic: a redelivery replaces it)."""
    released = document.released_at or document.received_at
    return paths.file_name(
        document.issue_date or f"{released:%Y-%m-%d}",
        document.number,
        document.id,
        document.extension,
    )


def _document_date(iso: str) -> date | None:
    """The document's own date (issue date, statement date) files it in its period."""
    try:
        return date.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def _opener(app: App, sha256: str) -> Any:
    return lambda: app.blobs.open(sha256)
