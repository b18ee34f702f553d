"""OAuth sign-in states (rows only; services/oauth_signin.py holds the rules)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert

from passeur.storage.tables import oauth_states


def add_state(
    conn: Connection,
    state_hash: str,
    partner_id: int,
    user_id: int | None,
    installation_id: int,
    now: datetime,
    expires: datetime,
    code_verifier: str = "",
) -> None:
    conn.execute(
        insert(oauth_states).values(
            state_hash=state_hash,
            partner_id=partner_id,
            user_id=user_id,
            installation_id=installation_id,
            created_at=now,
            expires_at=expires,
            code_verifier=code_verifier,
        )
    )


def take_state(conn: Connection, state_hash: str) -> Any:
    """The state's row, deleted in the same statement: of two answers, one gets it."""
    return conn.execute(
        delete(oauth_states)
        .where(oauth_states.c.state_hash == state_hash)
        .returning(*oauth_states.c)
    ).first()


def drop_expired(conn: Connection, now: datetime) -> None:
    conn.execute(delete(oauth_states).where(oauth_states.c.expires_at <= now))
