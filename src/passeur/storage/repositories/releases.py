"""The release's read, in one statement: the documents locked, whether their partner
listens to events, and their clients' receiving integrations.

An approval reads all three before it plans the exports (delivery/outbox.py). As three
statements they were three round trips in the approval's transaction, and while workers
deliver, each round trip waits for a core (docs/decisions.md). The integrations come
joined to their documents (none: one row with NULLs), the documents' rows locked alone.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, literal_column, select

from passeur.domain.documents import Document
from passeur.storage.id_lists import id_in
from passeur.storage.repositories.documents import check_found, to_document
from passeur.storage.repositories.installations import EXPORTING
from passeur.storage.repositories.subscriptions import partner_listens
from passeur.storage.tables import documents, installations, integrations

_PREFIX = "i_"
# What planning the exports reads of an integration (delivery/outbox.py): not its sealed
# secrets, which an approval has no use for, nor its bookkeeping.
_NEEDED = ("id", "installation_id", "status", "activated_at", "config")
_INTEGRATION_COLUMNS = [integrations.c[name].label(_PREFIX + name) for name in _NEEDED]
_RECEIVING = integrations.join(
    installations,
    and_(installations.c.id == integrations.c.installation_id, installations.c.active.is_(True)),
)
# Built once: an approval runs it for every batch.
_FOR_RELEASE = (
    select(
        documents,
        partner_listens(bindparam("partner_id")),
        *_INTEGRATION_COLUMNS,
        installations.c.extension.label(_PREFIX + "extension"),
    )
    .select_from(
        documents.outerjoin(
            _RECEIVING,
            and_(
                integrations.c.client_id == documents.c.client_id,
                integrations.c.partner_id == documents.c.partner_id,
                integrations.c.status.in_([literal_column(f"'{s}'") for s in EXPORTING]),
            ),
        )
    )
    .where(id_in(documents.c.id), documents.c.partner_id == bindparam("partner_id"))
    .order_by(documents.c.id, integrations.c.id)
    .with_for_update(of=documents)
)
_NAMES = [*_NEEDED, "extension"]


@dataclass(frozen=True)
class ForRelease:
    documents: list[Document]  # in id order
    listens: bool  # the partner has an active event subscription
    receiving: dict[int, list[Any]]  # by client id: its integrations that take exports


def read_for_release(
    conn: Connection, partner_id: int, document_ids: Collection[int]
) -> ForRelease:
    """The partner's documents with these ids, locked in id order (NotFound names the first
    one missing), with what their release needs to know."""
    params = {"ids": sorted(set(document_ids)), "partner_id": partner_id}
    found: dict[int, Document] = {}
    receiving: dict[int, dict[int, Any]] = {}
    listens = False
    for row in conn.execute(_FOR_RELEASE, params):
        if row.id not in found:
            found[row.id] = to_document(row)
            listens = bool(row.partner_listens)
        mapping = row._mapping
        integration_id = mapping[_PREFIX + "id"]
        by_id = receiving.setdefault(row.client_id, {})
        if integration_id is not None and integration_id not in by_id:
            by_id[integration_id] = SimpleNamespace(
                **{name: mapping[_PREFIX + name] for name in _NAMES}
            )
    check_found(document_ids, set(found))
    return ForRelease(
        list(found.values()),
        listens,
        {client_id: list(by_id.values()) for client_id, by_id in receiving.items()},
    )
