"""A worker's hold on one export for one try: the `Claim`, the fence only that try
passes, and the heartbeat's extension of the lease.

The fence is the pair (export, try number) plus the worker's name, on a running export:
a try that lost its lease (taken over after it expired, even by the same worker) can
no longer move the export on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, update

from passeur.domain.clock import utcnow
from passeur.domain.exports import ExportState
from passeur.storage.db import transaction
from passeur.storage.tables import exports


@dataclass(frozen=True)
class Claim:
    """A worker's hold on one export for one try (the fencing token is `attempt`)."""

    export_id: int
    partner_id: int
    document_id: int
    integration_id: int
    installation_id: int
    version: int
    attempt: int
    schedule_base: int
    worker: str


def fence(export_id: Any, attempt: Any, worker: Any) -> Any:
    """The condition only the try that holds the lease meets: values of one claim, or
    bound parameters for a statement built once and run for many."""
    return and_(
        exports.c.id == export_id,
        exports.c.state == ExportState.RUNNING.value,
        exports.c.lease_owner == worker,
        exports.c.attempts == attempt,
    )


def held_by(c: Claim) -> Any:
    """The fence of one claim."""
    return fence(c.export_id, c.attempt, c.worker)


def extend_lease(engine: Engine, claims: Sequence[Claim], lease: timedelta) -> set[int]:
    """Push the lease of claims still held; returns the export ids whose lease was lost."""
    now = utcnow()
    lost: set[int] = set()
    with transaction(engine) as conn:
        for c in claims:
            result = conn.execute(
                update(exports).where(held_by(c)).values(due_at=now + lease, updated_at=now)
            )
            if result.rowcount == 0:
                lost.add(c.export_id)
    return lost
