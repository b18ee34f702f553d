"""The API extension's feed: the partner's software pulls a page of items (each leased to
it for the installation's lease), downloads their files and acknowledges each one
(services/feeds.py has the rules: nothing lost, nothing processed twice)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from passeur.api.pagination import CursorParam, LimitParam
from passeur.api.routes.common import Input, Instant, PathId, RowId
from passeur.api.security import ApiCaller, requires, the_app
from passeur.domain.exports import ExportState
from passeur.services import feeds
from passeur.web.disposition import content_disposition

router = APIRouter(tags=["feeds"])
READ = requires("feeds:read")
WRITE = requires("feeds:write")
_CHUNK = 64 * 1024
_BASE = "/api/v1"  # the API app's mount point (api/app.py PREFIX)

InlineParam = Annotated[
    int,
    Query(
        ge=0,
        le=feeds.MAX_INLINE_FILE,
        description="Answer files up to this many bytes inside the page (base64); 0: none.",
    ),
]
Role = Annotated[str, Path(pattern="^[a-z_]{1,20}$", description="`original` or `pdf`.")]


class FeedFileOut(BaseModel):
    role: str = Field(description="`original` (as the client gave it) or `pdf`.")
    name: str = Field(description="The file name every target gets for this document.")
    media_type: str
    size: int
    sha256: str = Field(description="Check the download against it before acknowledging.")
    href: str = Field(description="Where to download it (GET, with the same bearer token).")
    content_base64: str | None = Field(
        default=None,
        description="The file itself (base64) when the pull asked for files inline "
        "(`inline_max_bytes`) and it fits; null otherwise: download it from `href`.",
    )


class FeedDocumentOut(BaseModel):
    id: int
    client_id: RowId
    kind: str
    family: str
    direction: str
    number: str
    issue_date: str
    released_at: Instant | None
    metadata: dict[str, Any] = Field(description="Read from the document (UBL, CODA).")


class FeedExportOut(BaseModel):
    id: int = Field(description="The export's id in the ledger; what an acknowledgement names.")
    key: str = Field(description="Stable across fetches; a re-send makes a new one.")
    version: int
    fetch: int = Field(description="How many times it has been fetched (1 the first time).")
    leased_until: Instant = Field(description="Offered again after this unless acknowledged.")


class FeedItemOut(BaseModel):
    id: int = Field(description="The item's id (its export's): acknowledge it by this id.")
    export: FeedExportOut
    document: FeedDocumentOut
    files: list[FeedFileOut]


class FeedPageOut(BaseModel):
    items: list[FeedItemOut]
    next_cursor: str | None = Field(
        description="Pass it back for the next page; null at the end (pull again later "
        "without a cursor: new items, and items whose lease ran out)."
    )
    lease_seconds: int


class AckOut(BaseModel):
    id: int
    state: ExportState = Field(description="`delivered`.")
    already: bool = Field(description="It had been acknowledged before: nothing changed.")


class AckManyIn(Input):
    ids: list[RowId] = Field(
        min_length=1, max_length=200, description="Items of one page, say; all or none."
    )


class AckManyOut(BaseModel):
    items: list[AckOut]


def _reader(c: ApiCaller) -> str:
    """Who fetched and acknowledged, as the ledger's attempts record it."""
    return f"API client {c.api_client_id} {c.name}"[:100].strip()


def _item(
    integration_id: int, item: feeds.FeedItem, inline: dict[tuple[int, str], bytes]
) -> FeedItemOut:
    d = item.document
    base = f"{_BASE}/feeds/{integration_id}/items/{item.id}/files/"
    return FeedItemOut(
        id=item.id,
        export=FeedExportOut(
            id=item.id,
            key=item.export_key,
            version=item.version,
            fetch=item.fetch,
            leased_until=item.leased_until,
        ),
        document=FeedDocumentOut(
            id=d.id,
            client_id=d.client_id,
            kind=d.kind,
            family=d.family,
            direction=d.direction,
            number=d.number,
            issue_date=d.issue_date,
            released_at=d.released_at,
            metadata=d.metadata,
        ),
        files=[
            FeedFileOut(
                role=f.role,
                name=f.name,
                media_type=f.media_type,
                size=f.size,
                sha256=f.sha256,
                href=base + f.role,
                content_base64=_base64(inline.get((item.id, f.role))),
            )
            for f in item.files
        ],
    )


@router.get("/feeds/{integration_id}/items", response_model=FeedPageOut)
def pull(
    integration_id: PathId,
    request: Request,
    c: ApiCaller = Depends(READ),
    cursor: CursorParam = "",
    limit: LimitParam = 50,
    inline_max_bytes: InlineParam = 0,
) -> FeedPageOut:
    """Take the next items of an API integration's feed, oldest first, each leased to you
    for `lease_seconds`: download their files, then acknowledge each one. An item not
    acknowledged in time is offered again; an acknowledged one never comes back.

    With `inline_max_bytes`, files up to that size come in the page itself
    (`content_base64`, up to 16 MiB per page): no download per item is needed."""
    app = the_app(request)
    page = feeds.pull(
        app, c.partner_id, integration_id,
        cursor=cursor, limit=limit, reader=_reader(c), actor=c.actor(),
    )  # fmt: skip
    inline = feeds.inline(app, page, inline_max_bytes) if inline_max_bytes else {}
    return FeedPageOut(
        items=[_item(integration_id, i, inline) for i in page.items],
        next_cursor=page.next_cursor or None,
        lease_seconds=page.lease_seconds,
    )


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_FILE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"*/*": _BINARY}, "description": "The file, with its own media type."}
}


@router.get(
    "/feeds/{integration_id}/items/{item_id}/files/{role}",
    response_class=StreamingResponse,
    responses=_FILE,
)
def download(
    integration_id: PathId,
    item_id: PathId,
    role: Role,
    request: Request,
    c: ApiCaller = Depends(READ),
) -> StreamingResponse:
    """One file of an item (its `href`); check it against the item's `sha256`."""
    found, stream = feeds.open_file(
        the_app(request), c.partner_id, integration_id, item_id, role, actor=c.actor()
    )
    headers = {
        "content-disposition": content_disposition(found.name, inline=False),
        "content-length": str(found.size),
        "cache-control": "private, no-store",
    }
    return StreamingResponse(_chunks(stream), media_type=found.media_type, headers=headers)


@router.post("/feeds/{integration_id}/items/{item_id}/ack", response_model=AckOut)
def ack(
    integration_id: PathId, item_id: PathId, request: Request, c: ApiCaller = Depends(WRITE)
) -> AckOut:
    """The item is delivered: it is never offered again. Acknowledging it again answers
    the same (`already: true`) and changes nothing."""
    done = feeds.ack(
        the_app(request), c.partner_id, integration_id, item_id, reader=_reader(c), actor=c.actor()
    )
    return AckOut(id=done.id, state=done.state, already=done.already)


@router.post("/feeds/{integration_id}/acks", response_model=AckManyOut)
def ack_many(
    integration_id: PathId, body: AckManyIn, request: Request, c: ApiCaller = Depends(WRITE)
) -> AckManyOut:
    """Acknowledge several items at once, in one transaction: every one, or (when one
    cannot be: not fetched, not on this feed) none, with the problem naming it."""
    done = feeds.ack_many(
        the_app(request), c.partner_id, integration_id, body.ids,
        reader=_reader(c), actor=c.actor(),
    )  # fmt: skip
    return AckManyOut(items=[AckOut(id=d.id, state=d.state, already=d.already) for d in done])


def _base64(data: bytes | None) -> str | None:
    return base64.b64encode(data).decode("ascii") if data is not None else None


def _chunks(stream: BinaryIO) -> Iterator[bytes]:
    try:
        while chunk := stream.read(_CHUNK):
            yield chunk
    finally:
        stream.close()
