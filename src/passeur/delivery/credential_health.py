"""The periodic look at integrations that went quiet or will soon: a worker runs it now
and then (settings.notice_check_seconds), and tells the client's people, at most once a
day per integration and cause, in the transaction that looked.

* No delivered export for N days (the firm's setting, 3 by default) while a document
  has been waiting that long: the target may have changed its password or locked us out
  without saying so, or the integration waits for a person.
* A sign-in whose refresh token runs out within a week, where the provider said when
  (services/oauth_grants.py keeps it): the firm signs in again before exports stop.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, Engine, func, select

from passeur.connectors import registry
from passeur.delivery import notices
from passeur.delivery.targets import installation_owner
from passeur.domain.clock import utcnow
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.notices import GRANT_WARNING, Cause
from passeur.storage.db import transaction
from passeur.storage.secret_box import SecretBox
from passeur.storage.tables import exports, installations, integrations, partners

ONCE_A_DAY = timedelta(days=1)
_WAITING = [
    ExportState.PENDING.value,
    ExportState.RETRYING.value,
    ExportState.RUNNING.value,
    ExportState.NEEDS_ATTENTION.value,
]
_WATCHED = [IntegrationStatus.ACTIVE.value, IntegrationStatus.NEEDS_ATTENTION.value]


def check(engine: Engine, box: SecretBox) -> int:
    """Look once; how many notifications were made."""
    made = 0
    with transaction(engine) as conn:
        now = utcnow()
        for partner_id in conn.execute(select(partners.c.id)).scalars():
            made += _quiet(conn, partner_id, now)
            made += _expiring(conn, box, partner_id, now)
    return made


def _quiet(conn: Connection, partner_id: int, now: datetime) -> int:
    days = notices.firm_settings(conn, partner_id).stale_days
    since = now - timedelta(days=days)
    waiting = set(
        conn.execute(
            select(exports.c.integration_id)
            .join(integrations, integrations.c.id == exports.c.integration_id)
            .where(
                exports.c.partner_id == partner_id,
                exports.c.state.in_(_WAITING),
                exports.c.created_at <= since,
                integrations.c.status.in_(_WATCHED),
            )
            .group_by(exports.c.integration_id)
        ).scalars()
    )
    if not waiting:
        return 0
    delivered = set(
        conn.execute(
            select(exports.c.integration_id)
            .where(
                exports.c.integration_id.in_(waiting),
                exports.c.state == ExportState.DELIVERED.value,
                exports.c.delivered_at > since,
            )
            .group_by(exports.c.integration_id)
        ).scalars()
    )
    made = 0
    for integration_id in sorted(waiting - delivered):
        if notices.recent(conn, integration_id, Cause.NO_RECENT_EXPORT, now - ONCE_A_DAY):
            continue
        oldest = conn.execute(
            select(func.min(exports.c.created_at)).where(
                exports.c.integration_id == integration_id, exports.c.state.in_(_WAITING)
            )
        ).scalar()
        waited = f"{oldest:%Y-%m-%d}" if oldest is not None else ""
        made += notices.record(
            conn,
            Cause.NO_RECENT_EXPORT,
            integration_id,
            extra={"days": days, "waiting_since": waited},
        )
    return made


def _expiring(conn: Connection, box: SecretBox, partner_id: int, now: datetime) -> int:
    signing_in = [slug for slug, ext in registry.extensions().items() if ext.oauth is not None]
    found = conn.execute(
        select(installations.c.id, installations.c.secrets).where(
            installations.c.partner_id == partner_id,
            installations.c.extension.in_(signing_in),
            installations.c.active.is_(True),
            installations.c.secrets != "",
        )
    ).all()
    made = 0
    for row in found:
        secrets = box.open(row.secrets, installation_owner(partner_id, row.id))
        raw = secrets.get("refresh_expires_at")
        if not raw:
            continue
        ends = datetime.fromtimestamp(float(raw), UTC).replace(tzinfo=None)
        if ends - now > GRANT_WARNING:
            continue
        for integration_id in conn.execute(
            select(integrations.c.id).where(
                integrations.c.installation_id == row.id, integrations.c.status.in_(_WATCHED)
            )
        ).scalars():
            if notices.recent(conn, integration_id, Cause.GRANT_EXPIRING, now - ONCE_A_DAY):
                continue
            made += notices.record(
                conn, Cause.GRANT_EXPIRING, integration_id, extra={"date": f"{ends:%Y-%m-%d}"}
            )
    return made
