"""Recording notifications in the caller's transaction (the outbox, like partner events):
if the change that causes them rolls back, so do they; if it commits, they will be shown
and mailed.

Who is told: the administrators of the firm and the accountants assigned to the client
(view or edit access); nobody of another firm, no business user. Each gets one row. Its
mail waits for the person's moment (immediately, the next full hour, the next morning);
a row whose person was already mailed about the same cause of the same integration in
the last hour is shown but not mailed again (`capped`). The cap is a row per person,
subject and cause updated under its lock, so two workers recording at once agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from passeur.domain.clock import utcnow
from passeur.domain.notices import CAP, STALE_DAYS, Cause, MailState, Mode, mail_due
from passeur.domain.partners import Role
from passeur.storage.tables import (
    assignments,
    clients,
    installations,
    integrations,
    notification_caps,
    notification_overrides,
    notification_settings,
    notifications,
    users,
)

_LONG_AGO = datetime(2000, 1, 1)


@dataclass(frozen=True)
class FirmSettings:
    mode: Mode = Mode.IMMEDIATE
    stale_days: int = STALE_DAYS


def firm_settings(conn: Connection, partner_id: int) -> FirmSettings:
    row = conn.execute(
        select(notification_settings).where(notification_settings.c.partner_id == partner_id)
    ).first()
    return FirmSettings(Mode(row.mode), row.stale_days) if row is not None else FirmSettings()


def recipients(conn: Connection, partner_id: int, client_id: int | None) -> list[Any]:
    """The firm's administrators, and the accountants assigned to the client."""
    found = conn.execute(
        select(users.c.id, users.c.roles).where(users.c.partner_id == partner_id)
    ).all()
    assigned: set[int] = set()
    if client_id is not None:
        assigned = set(
            conn.execute(
                select(assignments.c.user_id).where(assignments.c.client_id == client_id)
            ).scalars()
        )
    chosen = []
    for r in found:
        roles = set(r.roles.split(","))
        if Role.ADMINISTRATOR.value in roles or (
            Role.ACCOUNTANT.value in roles and r.id in assigned
        ):
            chosen.append(r.id)
    return chosen


def describe_integration(conn: Connection, integration_id: int) -> dict[str, Any] | None:
    """The names a notification shows, as they are now (kept with it)."""
    row = conn.execute(
        select(
            integrations.c.partner_id,
            integrations.c.client_id,
            integrations.c.installation_id,
            integrations.c.status_reason,
            installations.c.name.label("installation"),
            clients.c.name.label("client"),
        )
        .join(installations, installations.c.id == integrations.c.installation_id)
        .join(clients, clients.c.id == integrations.c.client_id)
        .where(integrations.c.id == integration_id)
    ).first()
    return dict(row._mapping) if row is not None else None


def record(
    conn: Connection,
    cause: Cause,
    integration_id: int,
    *,
    reason: str = "",
    extra: Mapping[str, Any] | None = None,
) -> int:
    """Tell the people of the integration's client about `cause`; how many were told."""
    about = describe_integration(conn, integration_id)
    if about is None:
        return 0
    partner_id, client_id = about["partner_id"], about["client_id"]
    people = recipients(conn, partner_id, client_id)
    if not people:
        return 0
    now = utcnow()
    firm = firm_settings(conn, partner_id)
    overrides = dict(
        conn.execute(
            select(notification_overrides.c.user_id, notification_overrides.c.mode).where(
                notification_overrides.c.user_id.in_(people)
            )
        ).all()
    )
    details = {
        "installation": about["installation"],
        "client": about["client"],
        "reason": (reason or about["status_reason"] or "")[:1000],
        **(extra or {}),
    }
    rows = []
    for user_id in people:
        mode = Mode(overrides[user_id]) if user_id in overrides else firm.mode
        mailed = _take_cap(conn, user_id, f"integration:{integration_id}", cause, now)
        rows.append(
            {
                "partner_id": partner_id,
                "user_id": user_id,
                "cause": cause.value,
                "client_id": client_id,
                "integration_id": integration_id,
                "installation_id": about["installation_id"],
                "details": details,
                "created_at": now,
                "mail_state": (MailState.WAITING if mailed else MailState.CAPPED).value,
                "mail_due_at": mail_due(mode, now) if mailed else None,
            }
        )
    conn.execute(insert(notifications), rows)
    return len(rows)


def _take_cap(conn: Connection, user_id: int, subject: str, cause: Cause, now: datetime) -> bool:
    """True, and the hour starts now, unless the person was mailed about it within CAP."""
    key = {"user_id": user_id, "subject": subject, "cause": cause.value}
    if conn.dialect.name == "postgresql":
        statement: Any = pg_insert(notification_caps).on_conflict_do_nothing()
    else:
        statement = sqlite_insert(notification_caps).on_conflict_do_nothing()
    conn.execute(statement, {**key, "last_mailed_at": _LONG_AGO})
    taken = conn.execute(
        update(notification_caps)
        .where(
            notification_caps.c.user_id == user_id,
            notification_caps.c.subject == subject,
            notification_caps.c.cause == cause.value,
            notification_caps.c.last_mailed_at <= now - CAP,
        )
        .values(last_mailed_at=now)
    ).rowcount
    return bool(taken == 1)


def recent(conn: Connection, integration_id: int, cause: Cause, since: datetime) -> bool:
    """Whether anyone was told of this cause of this integration since then (the periodic
    checks tell once a day, not at every look)."""
    return (
        conn.execute(
            select(notifications.c.id)
            .where(
                notifications.c.integration_id == integration_id,
                notifications.c.cause == cause.value,
                notifications.c.created_at >= since,
            )
            .limit(1)
        ).first()
        is not None
    )
