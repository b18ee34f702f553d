"""Notifications: a person's list (and how many are unread), the firm's settings (how
often people are mailed; after how many days without a delivered export to warn) and
each person's own choice of how often.

A person sees and marks only their own notifications; an administrator sets the firm's
settings and may set anyone's choice. Notifications themselves are made where their
cause happens (delivery/notices.py), never here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from passeur.bootstrap import App
from passeur.delivery import notices
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import Change
from passeur.domain.clock import utcnow
from passeur.domain.errors import Forbidden
from passeur.domain.notices import Cause, Mode, check_stale_days, parse_mode
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.tables import notification_overrides, notification_settings, notifications

N = notifications
PAGE = 50


@dataclass(frozen=True)
class Notice:
    id: int
    cause: Cause
    client_id: int | None
    integration_id: int | None
    details: dict[str, Any]
    created_at: datetime
    read_at: datetime | None
    mail_state: str

    @property
    def unread(self) -> bool:
        return self.read_at is None


def _own(conn: Connection, actor: Actor, partner_id: int, user_id: int) -> None:
    """The user is of this firm (else not found), and the actor is them or an administrator."""
    partner_rows.get_user(conn, partner_id, user_id)
    if actor.user_id != user_id and not actor.is_operator:
        require(actor, Action.MANAGE_USERS, partner_id)


def list_mine(
    app: App, partner_id: int, user_id: int, *, limit: int = PAGE, actor: Actor = OPERATOR
) -> list[Notice]:
    """The person's notifications, newest first."""
    with reading(app.engine) as conn:
        _own(conn, actor, partner_id, user_id)
        found = conn.execute(
            select(N)
            .where(N.c.partner_id == partner_id, N.c.user_id == user_id)
            .order_by(N.c.id.desc())
            .limit(max(1, min(limit, 500)))
        )
        return [
            Notice(
                r.id,
                Cause(r.cause),
                r.client_id,
                r.integration_id,
                dict(r.details),
                r.created_at,
                r.read_at,
                r.mail_state,
            )
            for r in found
        ]


def unread_count(app: App, partner_id: int, user_id: int, *, actor: Actor = OPERATOR) -> int:
    with reading(app.engine) as conn:
        _own(conn, actor, partner_id, user_id)
        return int(
            conn.execute(
                select(func.count()).where(
                    N.c.partner_id == partner_id, N.c.user_id == user_id, N.c.read_at.is_(None)
                )
            ).scalar_one()
        )


def mark_read(
    app: App,
    partner_id: int,
    user_id: int,
    *,
    notification_ids: list[int] | None = None,
    actor: Actor = OPERATOR,
) -> int:
    """Mark the person's notifications read (these, or all); how many were unread."""
    with transaction(app.engine) as conn:
        _own(conn, actor, partner_id, user_id)
        query = update(N).where(
            N.c.partner_id == partner_id, N.c.user_id == user_id, N.c.read_at.is_(None)
        )
        if notification_ids is not None:
            query = query.where(N.c.id.in_(notification_ids))
        return int(conn.execute(query.values(read_at=utcnow())).rowcount)


def get_settings(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> notices.FirmSettings:
    if actor.partner_id is not None and actor.partner_id != partner_id:
        require(actor, Action.SEE_CLIENTS, partner_id)  # not found, as for any other firm
    with reading(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        return notices.firm_settings(conn, partner_id)


def set_settings(
    app: App, partner_id: int, mode: str, stale_days: int, *, actor: Actor = OPERATOR
) -> notices.FirmSettings:
    """The firm's choice (administrators); a bad value is refused and nothing changes."""
    require(actor, Action.MANAGE_USERS, partner_id)
    chosen = parse_mode(mode)
    assert chosen is not None
    check_stale_days(stale_days)
    with transaction(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        before = notices.firm_settings(conn, partner_id)
        conn.execute(
            delete(notification_settings).where(notification_settings.c.partner_id == partner_id)
        )
        conn.execute(
            insert(notification_settings).values(
                partner_id=partner_id, mode=chosen.value, stale_days=stale_days,
                updated_at=utcnow(),
            )
        )  # fmt: skip
        after = notices.FirmSettings(chosen, stale_days)
        change = Change(
            "notifications.settings", partner_id,
            {"mode": before.mode.value, "stale_days": before.stale_days},
            {"mode": chosen.value, "stale_days": stale_days},
        )  # fmt: skip
        audit.record(conn, partner_id, actor, change)
        return after


def user_mode(app: App, partner_id: int, user_id: int, *, actor: Actor = OPERATOR) -> Mode | None:
    """The person's own choice; None: they follow the firm's."""
    with reading(app.engine) as conn:
        _own(conn, actor, partner_id, user_id)
        mode = conn.execute(
            select(notification_overrides.c.mode).where(notification_overrides.c.user_id == user_id)
        ).scalar()
        return Mode(mode) if mode else None


def set_user_mode(
    app: App, partner_id: int, user_id: int, mode: str, *, actor: Actor = OPERATOR
) -> Mode | None:
    """The person's own choice ("": follow the firm's); themselves or an administrator."""
    chosen = parse_mode(mode, allow_empty=True)
    with transaction(app.engine) as conn:
        _own(conn, actor, partner_id, user_id)
        user = partner_rows.get_user(conn, partner_id, user_id)
        if user.is_business:
            raise Forbidden("business users are not notified")
        before = conn.execute(
            select(notification_overrides.c.mode).where(notification_overrides.c.user_id == user_id)
        ).scalar()
        conn.execute(
            delete(notification_overrides).where(notification_overrides.c.user_id == user_id)
        )
        if chosen is not None:
            conn.execute(
                insert(notification_overrides).values(
                    user_id=user_id, partner_id=partner_id, mode=chosen.value
                )
            )
        change = Change(
            "notifications.user", user_id, {"mode": before or ""},
            {"mode": chosen.value if chosen else ""},
        )  # fmt: skip
        audit.record(conn, partner_id, actor, change)
        return chosen
