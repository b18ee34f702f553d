"""Installations (a partner's configured extension) and integrations (one per client)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, bindparam, delete, func, insert, literal_column, select, update

from passeur.domain.clock import utcnow
from passeur.domain.errors import NotFound
from passeur.domain.extensions import Installation, Integration, IntegrationStatus
from passeur.storage.id_lists import id_in
from passeur.storage.tables import clients, installations, integrations


def add_installation(
    conn: Connection, partner_id: int, extension: str, name: str, config: dict[str, Any]
) -> int:
    now = utcnow()
    pk = conn.execute(
        insert(installations).values(
            partner_id=partner_id,
            extension=extension,
            name=name,
            config=config,
            secrets="",
            active=True,
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def to_installation(row: Any, secret_fields: frozenset[str] = frozenset()) -> Installation:
    return Installation(
        id=row.id,
        partner_id=row.partner_id,
        extension=row.extension,
        name=row.name,
        config=dict(row.config or {}),
        active=bool(row.active),
        created_at=row.created_at,
        secret_fields=secret_fields,
    )


def get_installation_row(
    conn: Connection, partner_id: int, installation_id: int, *, for_update: bool = False
) -> Any:
    query = select(installations).where(
        installations.c.id == installation_id, installations.c.partner_id == partner_id
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"installation {installation_id} does not exist")
    return row


def list_installation_rows(conn: Connection, partner_id: int) -> list[Any]:
    query = select(installations).where(installations.c.partner_id == partner_id)
    return list(conn.execute(query.order_by(installations.c.id)))


def update_installation(conn: Connection, installation_id: int, **values: Any) -> None:
    conn.execute(
        update(installations)
        .where(installations.c.id == installation_id)
        .values(updated_at=utcnow(), **values)
    )


def add_integration(
    conn: Connection, partner_id: int, client_id: int, installation_id: int, config: dict[str, Any]
) -> int:
    pk = conn.execute(
        insert(integrations).values(
            _new_integration(partner_id, client_id, installation_id, config)
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def add_integrations(
    conn: Connection, partner_id: int, installation_id: int, configs: dict[int, dict[str, Any]]
) -> None:
    """One installation added to many clients ({client id: its values}) in one statement."""
    if configs:
        conn.execute(
            insert(integrations),
            [_new_integration(partner_id, c, installation_id, v) for c, v in configs.items()],
        )


def integration_ids_by_client(
    conn: Connection, installation_id: int, client_ids: Collection[int]
) -> dict[int, int]:
    """{client id: its integration of this installation}, for the clients given."""
    if not client_ids:
        return {}
    query = select(integrations.c.client_id, integrations.c.id).where(
        integrations.c.installation_id == installation_id,
        integrations.c.client_id.in_(list(client_ids)),
    )
    return {int(c): int(i) for c, i in conn.execute(query)}


def _new_integration(
    partner_id: int, client_id: int, installation_id: int, config: dict[str, Any]
) -> dict[str, Any]:
    now = utcnow()
    return {
        "partner_id": partner_id,
        "client_id": client_id,
        "installation_id": installation_id,
        "config": config,
        "secrets": "",
        "status": IntegrationStatus.ACTIVE.value,
        "status_reason": "",
        "activated_at": now,
        "created_at": now,
        "updated_at": now,
    }


def to_integration(row: Any, secret_fields: frozenset[str] = frozenset()) -> Integration:
    return Integration(
        id=row.id,
        partner_id=row.partner_id,
        client_id=row.client_id,
        installation_id=row.installation_id,
        config=dict(row.config or {}),
        status=IntegrationStatus(row.status),
        status_reason=row.status_reason,
        activated_at=row.activated_at,
        created_at=row.created_at,
        secret_fields=secret_fields,
    )


def get_integration_row(
    conn: Connection, partner_id: int, integration_id: int, *, for_update: bool = False
) -> Any:
    query = select(integrations).where(
        integrations.c.id == integration_id, integrations.c.partner_id == partner_id
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise NotFound(f"integration {integration_id} does not exist")
    return row


def list_integration_rows(
    conn: Connection,
    partner_id: int,
    client_id: int | None = None,
    within: Collection[int] | None = None,
) -> list[Any]:
    """The partner's integrations; `within` narrows them to these clients."""
    query = select(integrations).where(integrations.c.partner_id == partner_id)
    if client_id is not None:
        query = query.where(integrations.c.client_id == client_id)
    if within is not None:
        query = query.where(integrations.c.client_id.in_(list(within)))
    return list(conn.execute(query.order_by(integrations.c.id)))


def clients_with_installation(conn: Connection, installation_id: int) -> set[int]:
    query = select(integrations.c.client_id).where(
        integrations.c.installation_id == installation_id
    )
    return set(conn.execute(query).scalars())


# Integrations that take new exports (a paused one holds them, one that needs attention
# parks them); disconnected ones take none.
EXPORTING = (
    IntegrationStatus.ACTIVE.value,
    IntegrationStatus.PAUSED.value,
    IntegrationStatus.NEEDS_ATTENTION.value,
)


def receiving_integrations(conn: Connection, partner_id: int, client_id: int) -> list[Any]:
    """Integrations that take new exports, of an installation that is switched on."""
    return receiving_integrations_of(conn, partner_id, {client_id}).get(client_id, [])


# Built once (an approval reads it for every batch); the states are written inline.
_RECEIVING = (
    select(integrations, installations.c.extension)
    .join(installations, installations.c.id == integrations.c.installation_id)
    .where(
        integrations.c.partner_id == bindparam("partner_id"),
        id_in(integrations.c.client_id),
        integrations.c.status.in_([literal_column(f"'{status}'") for status in EXPORTING]),
        installations.c.active.is_(True),
    )
    .order_by(integrations.c.id)
)


def receiving_integrations_of(
    conn: Connection, partner_id: int, client_ids: Collection[int]
) -> dict[int, list[Any]]:
    """receiving_integrations for several clients in one query, by client id."""
    found: dict[int, list[Any]] = {}
    params = {"partner_id": partner_id, "ids": sorted(set(client_ids))}
    for row in conn.execute(_RECEIVING, params):
        found.setdefault(row.client_id, []).append(row)
    return found


def update_integration(conn: Connection, integration_id: int, **values: Any) -> None:
    conn.execute(
        update(integrations)
        .where(integrations.c.id == integration_id)
        .values(updated_at=utcnow(), **values)
    )


def delete_integration(conn: Connection, integration_id: int) -> None:
    conn.execute(delete(integrations).where(integrations.c.id == integration_id))


def clients_by_installation(conn: Connection, partner_id: int) -> dict[int, int]:
    """How many clients use each installation (disconnected integrations do not count)."""
    query = (
        select(integrations.c.installation_id, func.count())
        .where(
            integrations.c.partner_id == partner_id,
            integrations.c.status != IntegrationStatus.DISCONNECTED.value,
        )
        .group_by(integrations.c.installation_id)
    )
    return {int(r[0]): int(r[1]) for r in conn.execute(query)}


def integrations_with_clients(conn: Connection, partner_id: int, installation_id: int) -> list[Any]:
    """The installation's integrations, each with its client's name, by client name."""
    query = (
        select(integrations, clients.c.name.label("client_name"))
        .join(clients, clients.c.id == integrations.c.client_id)
        .where(
            integrations.c.partner_id == partner_id,
            integrations.c.installation_id == installation_id,
        )
        .order_by(clients.c.name, integrations.c.id)
    )
    return list(conn.execute(query))
