"""API clients, their bearer tokens and rate-limit windows (rows only)."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Select, Update, case, insert, select, update

from passeur.domain.errors import NotFound
from passeur.storage.tables import api_clients, api_rates, api_tokens


def add_client(
    conn: Connection,
    partner_id: int,
    name: str,
    client_key: str,
    secret_hash: str,
    scopes: str,
    now: datetime,
) -> int:
    new_id = conn.execute(
        insert(api_clients)
        .values(
            partner_id=partner_id,
            name=name,
            client_key=client_key,
            secret_hash=secret_hash,
            scopes=scopes,
            created_at=now,
        )
        .returning(api_clients.c.id)
    ).scalar_one()
    # The window row exists from the start: every request then only updates it, which
    # is atomic on both databases (no insert race between web processes).
    conn.execute(insert(api_rates).values(api_client_id=new_id, window_start=now, used=0))
    return int(new_id)


def list_clients(conn: Connection, partner_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(api_clients)
            .where(api_clients.c.partner_id == partner_id)
            .order_by(api_clients.c.id)
        )
    )


def get_client(conn: Connection, partner_id: int, api_client_id: int) -> Any:
    row = conn.execute(
        select(api_clients).where(
            api_clients.c.partner_id == partner_id, api_clients.c.id == api_client_id
        )
    ).first()
    if row is None:
        raise NotFound(f"API client {api_client_id} does not exist")
    return row


def by_key(conn: Connection, client_key: str) -> Any:
    return conn.execute(select(api_clients).where(api_clients.c.client_key == client_key)).first()


def revoke_client(conn: Connection, api_client_id: int, now: datetime) -> None:
    conn.execute(
        update(api_clients)
        .where(api_clients.c.id == api_client_id, api_clients.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def add_token(conn: Connection, **values: Any) -> None:
    conn.execute(insert(api_tokens).values(**values))


def tokens_of(conn: Connection, api_client_id: int, kind: str) -> list[Any]:
    return list(
        conn.execute(
            select(api_tokens)
            .where(api_tokens.c.api_client_id == api_client_id, api_tokens.c.kind == kind)
            .order_by(api_tokens.c.created_at)
        )
    )


def get_token(conn: Connection, api_client_id: int, token_id: str) -> Any:
    row = conn.execute(
        select(api_tokens).where(
            api_tokens.c.api_client_id == api_client_id, api_tokens.c.id == token_id
        )
    ).first()
    if row is None:
        raise NotFound(f"token {token_id} does not exist")
    return row


def revoke_token(conn: Connection, token_id: str, now: datetime) -> None:
    conn.execute(
        update(api_tokens)
        .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _live(token_hash: str, now: datetime) -> Select[Any]:
    return (
        select(
            api_tokens.c.id.label("token_id"),
            api_tokens.c.scopes.label("token_scopes"),
            api_clients.c.id.label("api_client_id"),
            api_clients.c.partner_id,
            api_clients.c.name,
            api_clients.c.scopes.label("client_scopes"),
        )
        .join(api_clients, api_clients.c.id == api_tokens.c.api_client_id)
        .where(
            api_tokens.c.token_hash == token_hash,
            api_tokens.c.expires_at > now,
            api_tokens.c.revoked_at.is_(None),
            api_clients.c.revoked_at.is_(None),
        )
    )


def bearer(conn: Connection, token_hash: str, now: datetime) -> Any:
    """The live token with this digest and its client (neither revoked nor expired)."""
    return conn.execute(_live(token_hash, now)).first()


def admit(conn: Connection, token_hash: str, now: datetime, cutoff: datetime) -> Any:
    """The live token's caller (as `bearer`) with its client's request counted (`used`,
    `window_start` as `count_request`); None for no live token, and nothing counted.

    On PostgreSQL one UPDATE … FROM the token's lookup, RETURNING both: a request's
    authentication and its count are one statement. SQLite's RETURNING cannot name the
    FROM table's columns: two statements, in the same transaction."""
    if conn.dialect.name != "postgresql":
        found = bearer(conn, token_hash, now)
        if found is None:
            return None
        used, started = count_request(conn, found.api_client_id, now, cutoff)
        return SimpleNamespace(**found._mapping, used=used, window_start=started)
    conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")  # see count_request
    live = _live(token_hash, now).cte("live")
    return conn.execute(
        _counted(
            update(api_rates).where(api_rates.c.api_client_id == live.c.api_client_id), cutoff, now
        ).returning(*live.c, api_rates.c.used, api_rates.c.window_start)
    ).first()


def _counted(statement: Update, cutoff: datetime, now: datetime) -> Update:
    """One more request in the window, or the first of a new window when the current one
    began at or before `cutoff`."""
    stale = api_rates.c.window_start <= cutoff
    return statement.values(
        used=case((stale, 1), else_=api_rates.c.used + 1),
        window_start=case((stale, now), else_=api_rates.c.window_start),
    )


def count_request(conn: Connection, api_client_id: int, now: datetime, cutoff: datetime) -> Any:
    """Count one request in the client's window, starting a new window when the current one
    began at or before `cutoff`. One UPDATE: the row lock makes it atomic across processes.
    Returns (used, window_start) after the update.

    On PostgreSQL the commit does not wait for the WAL flush: a count lost in a database
    crash only lets a client make a few more requests, and waiting for the flush was most
    of an API request's time (bench/api_speed.py)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
    return conn.execute(
        _counted(
            update(api_rates).where(api_rates.c.api_client_id == api_client_id), cutoff, now
        ).returning(api_rates.c.used, api_rates.c.window_start)
    ).first()
