"""The client list: one page of clients, with their integration health, in one query.

Health is counted for the partner's unfinished exports only (the state index finds them),
so a page costs the same with ten clients or a thousand, and with a million delivered
exports.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Select, case, func, or_, select

from passeur.domain.extensions import IntegrationStatus
from passeur.domain.health import ATTENTION_STATES, WAITING_STATES, ClientHealth, Health
from passeur.domain.partners import Client, ClientStatus
from passeur.storage.repositories.partners import to_client
from passeur.storage.tables import clients, exports, integrations


@dataclass(frozen=True)
class ClientFilter:
    search: str = ""  # name, enterprise number, VAT number or external reference
    statuses: tuple[ClientStatus, ...] = ()  # none: every status
    health: Health | None = None


def page(
    conn: Connection,
    partner_id: int,
    f: ClientFilter,
    within: Collection[int] | None,
    *,
    offset: int,
    limit: int,
) -> tuple[list[tuple[Client, ClientHealth]], int]:
    """One page, by name, and the number of clients matching the filter. Without a health
    filter the page is cut first and only its clients' health is counted, so a page costs
    the same with ten clients or a thousand."""
    if f.health is not None:
        rows, total = _page(conn, _matching(partner_id, f, within), offset=offset, limit=limit)
        return [(to_client(r), _health(r)) for r in rows], total
    rows, total = _page(
        conn, _matching(partner_id, f, within, health=False), offset=offset, limit=limit
    )
    if not rows:
        return [], total
    counted = _matching(partner_id, ClientFilter(), [r.id for r in rows])
    health = {row.id: _health(row) for row in conn.execute(counted)}
    return [(to_client(r), health[r.id]) for r in rows], total


def _page(
    conn: Connection, query: Select[Any], *, offset: int, limit: int
) -> tuple[list[Any], int]:
    """One page of the query's rows by name, and how many rows the query has."""
    paged = (
        query.add_columns(func.count().over().label("total"))
        .order_by(func.lower(clients.c.name), clients.c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = list(conn.execute(paged))
    if rows:
        total = int(rows[0].total)
    else:  # past the last page, or nothing matches: count without the window
        total = int(conn.execute(select(func.count()).select_from(query.subquery())).scalar_one())
    return rows, total


def _matching(
    partner_id: int, f: ClientFilter, within: Collection[int] | None, *, health: bool = True
) -> Select[Any]:
    """The clients matching the filter, with their health counts unless `health` is off
    (then the filter must not be on health); `within`: only these clients."""
    query = select(clients).where(clients.c.partner_id == partner_id)
    if health:
        query = _with_health(query, partner_id, f.health, within)
    if within is not None:
        query = query.where(clients.c.id.in_(list(within)))
    if f.statuses:
        query = query.where(clients.c.status.in_([s.value for s in f.statuses]))
    if f.search.strip():
        query = query.where(_search(f.search.strip()))
    return query


def _with_health(
    query: Select[Any], partner_id: int, wanted: Health | None, within: Collection[int] | None
) -> Select[Any]:
    """The health counts joined in, counted for `within`'s clients only when given."""
    found = _export_counts(partner_id, within)
    linked = _integration_counts(partner_id, within)
    n_integrations = func.coalesce(linked.c.integrations, 0)
    n_attention = func.coalesce(linked.c.needing_attention, 0)
    n_failing = func.coalesce(found.c.failing, 0)
    n_waiting = func.coalesce(found.c.waiting, 0)
    health = case(
        (or_(n_attention > 0, n_failing > 0), Health.NEEDS_ATTENTION.value),
        (n_waiting > 0, Health.WAITING.value),
        (n_integrations > 0, Health.DELIVERED.value),
        else_=Health.NO_INTEGRATIONS.value,
    )
    query = query.add_columns(
        n_integrations.label("n_integrations"),
        n_attention.label("n_attention"),
        n_failing.label("n_failing"),
        n_waiting.label("n_waiting"),
    )
    query = query.outerjoin(found, found.c.client_id == clients.c.id).outerjoin(
        linked, linked.c.client_id == clients.c.id
    )
    if wanted is not None:
        query = query.where(health == wanted.value)
    return query


def _export_counts(partner_id: int, within: Collection[int] | None) -> Any:
    waiting = [s.value for s in WAITING_STATES]
    failing = [s.value for s in ATTENTION_STATES]
    return (
        select(
            integrations.c.client_id,
            func.sum(case((exports.c.state.in_(waiting), 1), else_=0)).label("waiting"),
            func.sum(case((exports.c.state.in_(failing), 1), else_=0)).label("failing"),
        )
        .join(integrations, integrations.c.id == exports.c.integration_id)
        .where(exports.c.state.in_(waiting + failing), *_of_partner(partner_id, within))
        .group_by(integrations.c.client_id)
        .subquery("export_counts")
    )


def _of_partner(partner_id: int, within: Collection[int] | None) -> list[Any]:
    """The partner's exports; for a page's clients, named by their integrations' ids (the
    partner's), so the counts are an index-only walk of ix_exports_health per integration
    instead of a visit of every open export of the partner (the planner does not carry a
    filter on the clients through the join)."""
    if within is None:
        return [exports.c.partner_id == partner_id]
    theirs = select(integrations.c.id).where(
        integrations.c.partner_id == partner_id, integrations.c.client_id.in_(list(within))
    )
    return [exports.c.integration_id.in_(theirs)]


def _integration_counts(partner_id: int, within: Collection[int] | None) -> Any:
    attention = IntegrationStatus.NEEDS_ATTENTION.value
    return (
        select(
            integrations.c.client_id,
            func.count().label("integrations"),
            func.sum(case((integrations.c.status == attention, 1), else_=0)).label(
                "needing_attention"
            ),
        )
        .where(
            integrations.c.partner_id == partner_id,
            integrations.c.status != IntegrationStatus.DISCONNECTED.value,
            *_of(integrations.c.client_id, within),
        )
        .group_by(integrations.c.client_id)
        .subquery("integration_counts")
    )


def names(
    conn: Connection,
    partner_id: int,
    within: Collection[int] | None,
    *,
    search: str = "",
    limit: int,
) -> list[tuple[int, str]]:
    """Up to `limit` clients as (id, name), by name, for a choice: no health, no details."""
    query = select(clients.c.id, clients.c.name).where(
        clients.c.partner_id == partner_id, *_of(clients.c.id, within)
    )
    if search.strip():
        query = query.where(_search(search.strip()))
    found = conn.execute(query.order_by(clients.c.name, clients.c.id).limit(limit))
    return [(int(r.id), str(r.name)) for r in found]


def _of(column: Any, within: Collection[int] | None) -> list[ColumnElement[bool]]:
    return [] if within is None else [column.in_(list(within))]


def _search(term: str) -> ColumnElement[bool]:
    """Case-insensitive; numbers match however they are written (dots, spaces)."""
    conditions = [
        clients.c.name.ilike(_contains(term), escape="\\"),
        clients.c.external_ref.ilike(_contains(term), escape="\\"),
    ]
    compact = re.sub(r"[\s.\-]", "", term)
    if compact:
        conditions += [
            clients.c.uen_number.ilike(_contains(compact), escape="\\"),
            clients.c.vat_number.ilike(_contains(compact), escape="\\"),
        ]
    return or_(*conditions)


def _contains(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _health(row: Any) -> ClientHealth:
    return ClientHealth(
        integrations=int(row.n_integrations),
        integrations_needing_attention=int(row.n_attention),
        failing=int(row.n_failing),
        waiting=int(row.n_waiting),
    )
