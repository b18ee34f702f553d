"""Every column that holds a value sealed by the secret box, with whose it is (the
associated data it opens with), for key rotation: read them, and swap one only if it
has not changed meanwhile (a worker may have refreshed an OAuth token in between)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Table, select, update

from passeur.delivery.targets import installation_owner, integration_owner
from passeur.storage.tables import installations, integrations, oauth_states


@dataclass(frozen=True)
class Place:
    name: str  # "installation": names a row in a report ("installation 3")
    table: Table
    key: str  # the primary key column
    column: str  # the sealed column
    owner: Callable[[Any], str]

    @property
    def sealed(self) -> Column[Any]:
        return self.table.c[self.column]


PLACES = (
    Place(
        "installation", installations, "id", "secrets",
        lambda r: installation_owner(r.partner_id, r.id),
    ),
    Place(
        "integration", integrations, "id", "secrets",
        lambda r: integration_owner(r.partner_id, r.id),
    ),
    Place(
        "sign-in", oauth_states, "state_hash", "code_verifier",
        lambda r: installation_owner(r.partner_id, r.installation_id),
    ),
)  # fmt: skip


@dataclass(frozen=True)
class SealedValue:
    place: Place
    key: Any
    owner: str
    token: str

    @property
    def key_id(self) -> str:
        return self.token.split(".", 2)[1] if self.token.count(".") >= 2 else "?"

    def __str__(self) -> str:
        key = self.key if self.place.name != "sign-in" else str(self.key)[:8]
        return f"{self.place.name} {key}"


def scan(
    conn: Connection, place: Place, *, after: Any = None, limit: int = 500
) -> list[SealedValue]:
    """A batch of the place's non-empty sealed values, in key order after `after`."""
    key = place.table.c[place.key]
    query = select(place.table).where(place.sealed != "").order_by(key).limit(limit)
    if after is not None:
        query = query.where(key > after)
    return [
        SealedValue(place, getattr(r, place.key), place.owner(r), getattr(r, place.column))
        for r in conn.execute(query)
    ]


def every(conn: Connection, place: Place) -> Iterator[SealedValue]:
    after = None
    while batch := scan(conn, place, after=after):
        yield from batch
        after = batch[-1].key


def current_token(conn: Connection, value: SealedValue) -> str | None:
    """The value as stored now (None: the row is gone)."""
    place = value.place
    row = conn.execute(select(place.sealed).where(place.table.c[place.key] == value.key)).first()
    return None if row is None else str(row[0])


def swap(conn: Connection, value: SealedValue, new_token: str) -> bool:
    """Store `new_token` only where the row still holds the token that was read."""
    place = value.place
    done = conn.execute(
        update(place.table)
        .where(place.table.c[place.key] == value.key, place.sealed == value.token)
        .values({place.column: new_token})
    )
    return done.rowcount == 1
