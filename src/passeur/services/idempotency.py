"""Idempotency-Key for the API's POSTs: the same key and body within 24 hours answers the
first answer again and does nothing twice; the same key with another body is refused.

The key belongs to one API client. A request still running holds its key: a second one
with it waits for nothing and is told so (409). A request whose process died keeps its
key for `STALE`, then the key may be used again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from passeur.bootstrap import App
from passeur.domain.clock import utcnow
from passeur.storage.db import transaction
from passeur.storage.repositories import idempotency as rows

KEPT = timedelta(hours=24)
STALE = timedelta(minutes=5)


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: str


class Started:
    """The key is now held by this request: run it, then `finish` or `release`."""


class Running:
    """Another request holds the key."""


class Mismatch:
    """The key was used for another request."""


def begin(
    app: App, api_client_id: int, key: str, request_hash: str
) -> Started | Running | Mismatch | Answer:
    now = utcnow()
    try:
        with transaction(app.engine) as conn:
            found = rows.find(conn, api_client_id, key)
            if found is None:
                rows.drop_older(conn, now - KEPT)
                rows.start(conn, api_client_id, key, request_hash, now)
                return Started()
            expired = found.created_at <= now - KEPT
            abandoned = found.status is None and found.created_at <= now - STALE
            if expired or abandoned:
                rows.restart(conn, api_client_id, key, request_hash, now)
                return Started()
            if found.request_hash != request_hash:
                return Mismatch()
            if found.status is None:
                return Running()
            return Answer(found.status, found.content_type, found.body)
    except IntegrityError:  # another process started the same key a moment ago
        return Running()


def finish(app: App, api_client_id: int, key: str, answer: Answer) -> None:
    with transaction(app.engine) as conn:
        rows.finish(conn, api_client_id, key, answer.status, answer.content_type, answer.body)


def release(app: App, api_client_id: int, key: str) -> None:
    """Forget the key (the request failed in a way that may be tried again)."""
    with transaction(app.engine) as conn:
        rows.drop(conn, api_client_id, key)
