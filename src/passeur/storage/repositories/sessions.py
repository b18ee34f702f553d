"""Web sessions and failed sign-ins (rows only; the rules are in domain/signin.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from passeur.storage.tables import sign_in_failures, users, web_sessions


def add_session(
    conn: Connection, token_hash: str, user_id: int, csrf: str, now: datetime, expires: datetime
) -> None:
    conn.execute(
        insert(web_sessions).values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )


def find_session(conn: Connection, token_hash: str, now: datetime) -> Any:
    return conn.execute(
        select(web_sessions).where(
            web_sessions.c.token_hash == token_hash, web_sessions.c.expires_at > now
        )
    ).first()


def drop_session(conn: Connection, token_hash: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.token_hash == token_hash))


def drop_sessions_of(conn: Connection, user_id: int) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))


def drop_expired(conn: Connection, now: datetime) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at <= now))


def credentials(conn: Connection, email: str) -> Any:
    """The user's id and password hash by e-mail, whatever its case."""
    from sqlalchemy import func

    return conn.execute(
        select(users.c.id, users.c.partner_id, users.c.password_hash).where(
            func.lower(users.c.email) == email.strip().lower()
        )
    ).first()


def set_password_hash(conn: Connection, user_id: int, password_hash: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def set_locale(conn: Connection, user_id: int, locale: str) -> None:
    conn.execute(update(users).where(users.c.id == user_id).values(locale=locale))


def locale_of(conn: Connection, user_id: int) -> str:
    return str(conn.execute(select(users.c.locale).where(users.c.id == user_id)).scalar() or "")


def failures(conn: Connection, key: str) -> Any:
    return conn.execute(select(sign_in_failures).where(sign_in_failures.c.key == key)).first()


def record_failure(
    conn: Connection, key: str, count: int, now: datetime, locked_until: datetime | None
) -> None:
    values = {"failures": count, "last_failed_at": now, "locked_until": locked_until}
    done = conn.execute(
        update(sign_in_failures).where(sign_in_failures.c.key == key).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(sign_in_failures).values(key=key, **values))


def clear_failures(conn: Connection, key: str) -> None:
    conn.execute(delete(sign_in_failures).where(sign_in_failures.c.key == key))
