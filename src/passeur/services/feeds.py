"""The feed of a pulled integration (the API extension): the partner's software pulls
items, downloads their files and acknowledges each one.

A pulled item is leased to its reader for the installation's lease (10 minutes unless
set otherwise); one not acknowledged by then is offered again, so nothing is lost. An
acknowledged item is delivered and never offered again, so nothing is processed twice.
Two readers pulling at once never get the same leased item. The ledger follows: waiting
(on the feed), fetched, delivered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.api import lease_minutes
from passeur.delivery import events
from passeur.delivery.context import file_name
from passeur.delivery.document_statuses import refresh_document_statuses
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.clock import utcnow
from passeur.domain.cursors import Cursor
from passeur.domain.documents import Document
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.domain.events import EventType
from passeur.domain.exports import ExportState, export_key
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import documents as document_rows
from passeur.storage.repositories import feeds as rows
from passeur.storage.repositories import installations as installation_rows

MAX_LIMIT = 500
DEFAULT_READER = "feed"
# Files answered inside a pulled page (inline): at most this much each, and in all per page
# (past it, a file is fetched by its link as without inlining).
MAX_INLINE_FILE = 1024 * 1024
MAX_INLINE_PAGE = 16 * 1024 * 1024


@dataclass(frozen=True)
class FeedFile:
    """One file of an item's document: what a download link needs (role) and what the
    reader checks the download against (size, sha256)."""

    role: str  # "original", "pdf"
    name: str  # the document's deterministic file name, as every target gets it
    media_type: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FeedDocument:
    id: int
    client_id: int
    kind: str
    family: str
    direction: str
    number: str
    issue_date: str
    released_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedItem:
    id: int  # the export's id: what an acknowledgement names
    export_key: str  # stable across fetches; new for a re-send
    version: int
    fetch: int  # how many times it has been fetched (1 the first time)
    leased_until: datetime
    document: FeedDocument
    files: tuple[FeedFile, ...]


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem]
    next_cursor: str  # "" at the end: pull again later without one for new items
    lease_seconds: int


@dataclass(frozen=True)
class Acknowledged:
    id: int
    state: ExportState  # delivered
    already: bool  # it had been acknowledged before: nothing changed


def pull(
    app: App,
    partner_id: int,
    integration_id: int,
    *,
    cursor: str = "",
    limit: int = 50,
    reader: str = DEFAULT_READER,
    actor: Actor = OPERATOR,
) -> FeedPage:
    """Lease up to `limit` items of the feed to `reader`, oldest first.

    `cursor` walks the feed forward (the page's `next_cursor`); without one the feed is
    read from its start, which also offers again the items whose lease has run out.
    """
    require(actor, Action.PROCESS, partner_id)
    after = _after(cursor)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
    reader = _reader(reader)
    with transaction(app.engine) as conn:
        minutes = _feed(conn, actor, partner_id, integration_id)
        now = utcnow()
        until = now + timedelta(minutes=minutes)
        taken = rows.take(
            conn, partner_id, integration_id,
            after=after, limit=limit, reader=reader, now=now, until=until,
        )  # fmt: skip
        items = _items(conn, taken, integration_id, until)
    last = items[-1].id if len(items) == limit else None
    token = Cursor(last, newer=True).token() if last is not None else ""
    return FeedPage(items, token, minutes * 60)


def ack(
    app: App,
    partner_id: int,
    integration_id: int,
    item_id: int,
    *,
    reader: str = DEFAULT_READER,
    actor: Actor = OPERATOR,
) -> Acknowledged:
    """The item is delivered and never offered again. Acknowledging it again changes
    nothing; an item never fetched, or replaced by a re-send, is refused."""
    (done,) = ack_many(app, partner_id, integration_id, [item_id], reader=reader, actor=actor)
    return done


def ack_many(
    app: App,
    partner_id: int,
    integration_id: int,
    item_ids: list[int],
    *,
    reader: str = DEFAULT_READER,
    actor: Actor = OPERATOR,
) -> list[Acknowledged]:
    """Acknowledge several items in one transaction (a page's, typically): all or none.
    One that cannot be acknowledged refuses the whole call and changes nothing."""
    require(actor, Action.PROCESS, partner_id)
    reader = _reader(reader)
    if not 1 <= len(item_ids) <= MAX_LIMIT or len(set(item_ids)) != len(item_ids):
        raise InvalidInput(f"name 1 to {MAX_LIMIT} distinct items", field="ids")
    with transaction(app.engine) as conn:
        _feed(conn, actor, partner_id, integration_id)
        now = utcnow()
        found = {r.id: r for r in rows.items(conn, partner_id, integration_id, item_ids)}
        done, documents = [], set()
        for item_id in item_ids:  # every one checked before anything is written
            if item_id not in found:
                raise NotFound(f"item {item_id} is not on the feed of integration {integration_id}")
            state = ExportState(found[item_id].state)
            if state is ExportState.DELIVERED:
                done.append(Acknowledged(item_id, state, already=True))
                continue
            if state is not ExportState.FETCHED:
                raise Conflict(_why_not(item_id, state))
            documents.add(found[item_id].document_id)
            done.append(Acknowledged(item_id, ExportState.DELIVERED, already=False))
        acknowledged = [d.id for d in done if not d.already]
        if acknowledged:
            # The rows are locked since they were read: each one still fetched changes.
            changed = rows.acknowledge(conn, acknowledged, reader, now)
            if changed != len(acknowledged):
                raise RuntimeError(f"{changed} of {len(acknowledged)} items acknowledged")
            refresh_document_statuses(conn, documents)
            events.exports_changed(conn, EventType.EXPORT_DELIVERED, acknowledged)
        return done


def open_file(
    app: App,
    partner_id: int,
    integration_id: int,
    item_id: int,
    role: str,
    *,
    actor: Actor = OPERATOR,
) -> tuple[FeedFile, BinaryIO]:
    """One file of an item's document, to stream to its reader (who closes it)."""
    require(actor, Action.SEE_DOCUMENTS, partner_id)
    with reading(app.engine) as conn:
        _feed(conn, actor, partner_id, integration_id)
        found = rows.item(conn, partner_id, integration_id, item_id)
        if found is None:
            raise NotFound(f"item {item_id} is not on the feed of integration {integration_id}")
        docs = rows.documents_of(conn, {found.document_id})
        document = document_rows.to_document(docs[0])
        stored = {f.role: f for f in rows.files_of(conn, {found.document_id})}
    if role not in stored:
        raise NotFound(f"item {item_id} has no {role!r} file; it has: {', '.join(stored)}")
    f = _file(document, stored[role])
    return f, app.blobs.open(f.sha256)


def inline(app: App, page: FeedPage, most: int) -> dict[tuple[int, str], bytes]:
    """The bytes of a pulled page's files of at most `most` bytes each (capped at
    MAX_INLINE_FILE), by (item, role), oldest first until MAX_INLINE_PAGE in all: the
    reader then needs no download per item. The items are leased to the caller already
    (the pull's transaction); the blobs are immutable, so reading them needs none."""
    most = min(most, MAX_INLINE_FILE)
    found: dict[tuple[int, str], bytes] = {}
    total = 0
    for item in page.items:
        for f in item.files:
            if f.size > most or total + f.size > MAX_INLINE_PAGE:
                continue
            with app.blobs.open(f.sha256) as stream:
                data = stream.read(f.size + 1)
            if len(data) != f.size:  # a blob that is not what its row says: use the link
                continue
            found[(item.id, f.role)] = data
            total += f.size
    return found


def _feed(conn: Connection, actor: Actor, partner_id: int, integration_id: int) -> int:
    """The integration's lease in minutes; refused unless it is the partner's and has a
    feed (its extension is pulled)."""
    integration = installation_rows.get_integration_row(conn, partner_id, integration_id)
    require(
        actor, Action.PROCESS, partner_id, integration.client_id,
        what=f"integration {integration_id}",
    )  # fmt: skip
    installation = installation_rows.get_installation_row(
        conn, partner_id, integration.installation_id
    )
    extension = registry.extension(installation.extension)
    if not extension.pulled:
        raise Conflict(
            f"integration {integration_id} sends through {extension.name}; only an "
            f"{registry.extension('api').name} integration has a feed"
        )
    return lease_minutes({**installation.config, **(integration.config or {})})


def _items(
    conn: Connection, taken: list[Any], integration_id: int, until: datetime
) -> list[FeedItem]:
    if not taken:
        return []
    ids = {r.document_id for r in taken}
    docs = {r.id: document_rows.to_document(r) for r in rows.documents_of(conn, ids)}
    files: dict[int, list[Any]] = {i: [] for i in ids}
    for f in rows.files_of(conn, ids):
        files[f.document_id].append(f)
    items = []
    for r in taken:
        document = docs[r.document_id]
        items.append(
            FeedItem(
                id=r.id,
                export_key=export_key(r.document_id, integration_id, r.version),
                version=r.version,
                fetch=r.attempts,
                leased_until=until,
                document=_document(document),
                files=tuple(_file(document, f) for f in files[r.document_id]),
            )
        )
    return items


def _document(d: Document) -> FeedDocument:
    return FeedDocument(
        id=d.id,
        client_id=d.client_id,
        kind=d.kind.value,
        family=d.family.value,
        direction=d.direction.value if d.direction else "",
        number=d.number,
        issue_date=d.issue_date,
        released_at=d.released_at,
        metadata=dict(d.metadata),
    )


def _file(document: Document, f: Any) -> FeedFile:
    base = file_name(document)
    name = base if f.role == "original" else base.rsplit(".", 1)[0] + ".pdf"
    return FeedFile(f.role, name, f.media_type, f.size, f.sha256)


def _after(cursor: str) -> int:
    parsed = Cursor.parse(cursor)
    if parsed is None:
        return 0
    if not parsed.newer:
        raise InvalidInput("this cursor is not a feed's; start without one", field="cursor")
    return parsed.id


def _reader(reader: str) -> str:
    reader = reader.strip()
    if not reader or len(reader) > 100 or not reader.isprintable():
        raise InvalidInput(
            "the reader's name must be 1 to 100 printable characters", field="reader"
        )
    return reader


def _why_not(item_id: int, state: ExportState) -> str:
    if state is ExportState.ON_FEED:
        return f"item {item_id} has not been fetched yet"
    if state is ExportState.CANCELLED:
        return f"item {item_id} was replaced by a re-send, or its integration was removed"
    return f"item {item_id} is {state.value}, not fetched"
