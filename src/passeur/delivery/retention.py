"""Retention: delivered and cancelled exports, with their tries, are deleted once older
than the retention period, in small batches."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, literal, select

from passeur.domain.clock import utcnow
from passeur.domain.exports import ExportState
from passeur.storage.db import transaction
from passeur.storage.tables import attempts, backfill_exports, exports

# Inline values, the very condition of the partial index ix_exports_finished (SQLite
# uses a partial index only when the query states its condition, not with parameters).
_FINISHED = exports.c.state.in_(
    [literal(s.value, literal_execute=True) for s in (ExportState.DELIVERED, ExportState.CANCELLED)]
)


def prune(engine: Engine, retention: timedelta, batch: int = 5000) -> int:
    """Delete delivered and cancelled exports (and their tries) older than `retention`.

    Works in small batches so that no transaction on the ledger stays open for long.
    The document keeps its accounting status; its receipts go with the export.
    """
    cutoff = utcnow() - retention
    total = 0
    while True:
        with transaction(engine) as conn:
            ids = (
                conn.execute(
                    select(exports.c.id)
                    .where(_FINISHED, exports.c.updated_at < cutoff)
                    .limit(batch)
                )
                .scalars()
                .all()
            )
            if not ids:
                return total
            conn.execute(attempts.delete().where(attempts.c.export_id.in_(ids)))
            conn.execute(backfill_exports.delete().where(backfill_exports.c.export_id.in_(ids)))
            conn.execute(exports.delete().where(exports.c.id.in_(ids)))
            total += len(ids)
