"""The first answers to POSTs with an Idempotency-Key (rows only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from passeur.storage.tables import api_idempotency as keys


def find(conn: Connection, api_client_id: int, key: str) -> Any:
    return conn.execute(
        select(keys).where(keys.c.api_client_id == api_client_id, keys.c.key == key)
    ).first()


def start(conn: Connection, api_client_id: int, key: str, request_hash: str, now: datetime) -> None:
    conn.execute(
        insert(keys).values(
            api_client_id=api_client_id, key=key, request_hash=request_hash, created_at=now
        )
    )


def restart(
    conn: Connection, api_client_id: int, key: str, request_hash: str, now: datetime
) -> None:
    conn.execute(
        update(keys)
        .where(keys.c.api_client_id == api_client_id, keys.c.key == key)
        .values(request_hash=request_hash, created_at=now, status=None, content_type="", body="")
    )


def finish(
    conn: Connection, api_client_id: int, key: str, status: int, content_type: str, body: str
) -> None:
    conn.execute(
        update(keys)
        .where(keys.c.api_client_id == api_client_id, keys.c.key == key)
        .values(status=status, content_type=content_type, body=body)
    )


def drop(conn: Connection, api_client_id: int, key: str) -> None:
    conn.execute(delete(keys).where(keys.c.api_client_id == api_client_id, keys.c.key == key))


def drop_older(conn: Connection, before: datetime) -> None:
    conn.execute(delete(keys).where(keys.c.created_at < before))
