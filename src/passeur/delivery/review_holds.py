"""A document that waits for a person's review (its totals do not add up) is not booked
unseen: its exports to extensions that book entries (accounting software) wait as
"needs attention" with the reason in words, until someone marks it reviewed. Exports to
extensions that only carry files (SFTP, HTTP, e-mail, cloud folders) are not held.

The hold is applied wherever an export could become due: when it is created, and
whenever exports are queued again (resume, manual retry, an integration fixed), so no
path sends a held document to a booking extension.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, and_, select, update

from passeur.connectors import registry
from passeur.domain.clock import utcnow
from passeur.domain.documents import Document
from passeur.domain.errors import NotFound
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.storage.tables import documents, exports, installations, integrations

PREFIX = "Waiting for a person: "


def books_entries(slug: str) -> bool:
    try:
        return registry.extension(slug).books_entries
    except NotFound:  # an extension no longer offered books nothing
        return False


def held_reason(document: Document, integration_row: Any) -> str:
    """The hold's reason for this export, or "" when it may go (the row names its
    integration's extension)."""
    if document.awaiting_review and books_entries(integration_row.extension):
        return PREFIX + document.review_reason
    return ""


def hold_again(conn: Connection, export_ids: Collection[int]) -> int:
    """Of these exports (just queued again), those of documents awaiting review to booking
    extensions go back to needs attention with the reason. How many."""
    booking = [slug for slug in registry.extensions() if books_entries(slug)]
    if not export_ids or not booking:
        return 0
    reason = (
        select(documents.c.review_reason)
        .where(documents.c.id == exports.c.document_id)
        .scalar_subquery()
    )
    return int(
        conn.execute(
            update(exports)
            .where(
                exports.c.id.in_(list(export_ids)),
                exports.c.document_id.in_(
                    select(documents.c.id).where(
                        documents.c.review_reason != "", documents.c.reviewed_at.is_(None)
                    )
                ),
                exports.c.installation_id.in_(
                    select(installations.c.id).where(installations.c.extension.in_(booking))
                ),
            )
            .values(
                state=ExportState.NEEDS_ATTENTION.value,
                due_at=None,
                last_error=PREFIX + reason,
                updated_at=utcnow(),
            )
        ).rowcount
    )


def reviewed(conn: Connection, partner_id: int, document_id: int, who: str) -> list[int]:
    """The document is marked reviewed; its held exports whose integration is active,
    to be queued again (the caller does), and those of a paused integration or of an
    installation switched off held with it. An export parked behind an integration that
    needs attention stays parked: it goes with its integration once that is fixed."""
    now = utcnow()
    conn.execute(
        update(documents)
        .where(documents.c.id == document_id, documents.c.partner_id == partner_id)
        .values(reviewed_at=now, reviewed_by=who[:255], updated_at=now)
    )
    parked = (
        select(exports.c.id, integrations.c.status, installations.c.active)
        .join(integrations, integrations.c.id == exports.c.integration_id)
        .join(installations, installations.c.id == exports.c.installation_id)
        .where(
            and_(
                exports.c.partner_id == partner_id,
                exports.c.document_id == document_id,
                exports.c.state == ExportState.NEEDS_ATTENTION.value,
                exports.c.last_error.startswith(PREFIX),
            )
        )
    )
    rows = conn.execute(parked).all()
    active = IntegrationStatus.ACTIVE.value
    paused = [
        r.id
        for r in rows
        if r.status == IntegrationStatus.PAUSED.value or (r.status == active and not r.active)
    ]
    if paused:
        conn.execute(
            update(exports)
            .where(exports.c.id.in_(paused))
            .values(state=ExportState.HELD.value, last_error="", updated_at=now)
        )
    return [r.id for r in rows if r.status == active and r.active]
