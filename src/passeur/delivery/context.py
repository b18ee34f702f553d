"""What a worker loads for one claim: the target (secrets opened) and the parcel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from passeur.bootstrap import App
from passeur.connectors.base import Parcel, ParcelFile
from passeur.delivery.ledger import Claim
from passeur.domain import paths
from passeur.domain.exports import export_key
from passeur.domain.extensions import Target
from passeur.services.installations import build_target
from passeur.storage.db import reading
from passeur.storage.repositories import documents as document_rows
from passeur.storage.repositories import partners as partner_rows


@dataclass(frozen=True)
class Delivery:
    target: Target
    parcel: Parcel


def load(app: App, claim: Claim) -> Delivery:
    with reading(app.engine) as conn:
        document = document_rows.get_document(conn, claim.partner_id, claim.document_id)
        client = partner_rows.get_client(conn, claim.partner_id, document.client_id)
        stored = document_rows.files_of(conn, document.id)
        target = build_target(
            app, conn, claim.partner_id, claim.installation_id, claim.integration_id
        )
    released = document.released_at or document.received_at
    base = paths.file_name(
        document.issue_date or f"{released:%Y-%m-%d}",
        document.number,
        document.id,
        document.extension,
    )
    files = tuple(
        ParcelFile(
            role=f.role,
            name=base if f.role == "original" else base.rsplit(".", 1)[0] + ".pdf",
            media_type=f.media_type,
            size=f.size,
            sha256=f.sha256,
            opener=_opener(app, f.sha256),
        )
        for f in stored
    )
    dated = _document_date(document.issue_date) or released.date()
    variables = paths.document_variables(
        uen_number=client.uen_number,
        external_id=client.external_ref,
        client_name=client.name,
        invoice_type=document.family.invoice_type,
        document_number=document.number or f"d{document.id}",
        year=dated.year,
        month=dated.month,
    )
    parcel = Parcel(
        export_id=claim.export_id,
        export_key=export_key(claim.document_id, claim.integration_id, claim.version),
        document=document,
        client_name=client.name,
        variables=variables,
        files=files,
        version=claim.version,
    )
    return Delivery(target=target, parcel=parcel)


def _document_date(iso: str) -> date | None:
    """The document's own date (issue date, statement date) files it in its period."""
    try:
        return date.fromisoformat(iso) if iso else None
    except ValueError:
        return None


def _opener(app: App, sha256: str) -> Any:
    return lambda: app.blobs.open(sha256)
