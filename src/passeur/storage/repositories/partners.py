"""Partners, their users and clients."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select, update

from passeur.domain.clock import utcnow
from passeur.domain.errors import NotFound
from passeur.domain.partners import Access, Client, ClientStatus, Partner, Role, User
from passeur.storage.tables import assignments, business_users, clients, partners, users


def add_partner(conn: Connection, name: str) -> Partner:
    now = utcnow()
    new_id = conn.execute(insert(partners).values(name=name, created_at=now)).inserted_primary_key
    assert new_id is not None
    return Partner(id=new_id[0], name=name, created_at=now)


def get_partner(conn: Connection, partner_id: int) -> Partner:
    row = conn.execute(select(partners).where(partners.c.id == partner_id)).first()
    if row is None:
        raise NotFound(f"partner {partner_id} does not exist")
    return Partner(id=row.id, name=row.name, created_at=row.created_at)


def list_partners(conn: Connection) -> list[Partner]:
    rows = conn.execute(select(partners).order_by(partners.c.id))
    return [Partner(id=r.id, name=r.name, created_at=r.created_at) for r in rows]


def add_user(
    conn: Connection,
    partner_id: int,
    email: str,
    name: str,
    roles: set[Role],
    password_hash: str,
    client_id: int | None = None,
    locale: str = "",
) -> User:
    values = {
        "partner_id": partner_id,
        "email": email,
        "name": name,
        "roles": ",".join(sorted(r.value for r in roles)),
        "password_hash": password_hash,
        "created_at": utcnow(),
        "locale": locale,
    }
    pk = conn.execute(insert(users).values(**values)).inserted_primary_key
    assert pk is not None
    if client_id is not None:
        conn.execute(insert(business_users).values(user_id=pk[0], client_id=client_id))
    return get_user(conn, partner_id, pk[0])


def _users() -> Select[Any]:
    return select(users, business_users.c.client_id).outerjoin(
        business_users, business_users.c.user_id == users.c.id
    )


def to_user(row: Any) -> User:
    roles = frozenset(Role(r) for r in row.roles.split(",") if r)
    return User(
        id=row.id,
        partner_id=row.partner_id,
        email=row.email,
        name=row.name,
        roles=roles,
        client_id=row.client_id,
        locale=row.locale,
    )


def list_users(conn: Connection, partner_id: int) -> list[User]:
    rows = conn.execute(_users().where(users.c.partner_id == partner_id).order_by(users.c.id))
    return [to_user(r) for r in rows]


def list_user_summaries(conn: Connection, partner_id: int) -> list[Any]:
    """The partner's users, each with `assigned` (how many clients) and `client_name`
    (a business user's client), in one query."""
    mine = select(users.c.id).where(users.c.partner_id == partner_id)
    counts = (
        select(assignments.c.user_id, func.count().label("assigned"))
        .where(assignments.c.user_id.in_(mine))
        .group_by(assignments.c.user_id)
        .subquery()
    )
    query = (
        _users()
        .add_columns(
            func.coalesce(counts.c.assigned, 0).label("assigned"),
            clients.c.name.label("client_name"),
        )
        .outerjoin(counts, counts.c.user_id == users.c.id)
        .outerjoin(clients, clients.c.id == business_users.c.client_id)
        .where(users.c.partner_id == partner_id)
        .order_by(users.c.name, users.c.id)
    )
    return list(conn.execute(query))


def get_user(conn: Connection, partner_id: int, user_id: int) -> User:
    row = conn.execute(
        _users().where(users.c.id == user_id, users.c.partner_id == partner_id)
    ).first()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    return to_user(row)


def find_user(conn: Connection, user_id: int) -> User:
    """A user by id alone, to build the actor of the person signed in."""
    row = conn.execute(_users().where(users.c.id == user_id)).first()
    if row is None:
        raise NotFound(f"user {user_id} does not exist")
    return to_user(row)


def lock_partner(conn: Connection, partner_id: int) -> None:
    """Serialise changes that must see every user of the partner (the last administrator)."""
    found = conn.execute(
        select(partners.c.id).where(partners.c.id == partner_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound(f"partner {partner_id} does not exist")


def set_roles(conn: Connection, user_id: int, roles: set[Role]) -> None:
    value = ",".join(sorted(r.value for r in roles))
    conn.execute(update(users).where(users.c.id == user_id).values(roles=value))


def administrators(conn: Connection, partner_id: int) -> list[int]:
    """Ids of the partner's users with the administrator role."""
    found = conn.execute(select(users.c.id, users.c.roles).where(users.c.partner_id == partner_id))
    return [r.id for r in found if Role.ADMINISTRATOR.value in r.roles.split(",")]


def email_taken(conn: Connection, email: str) -> bool:
    """E-mails are unique across partners, whatever their case."""
    query = select(users.c.id).where(func.lower(users.c.email) == email.lower()).limit(1)
    return conn.execute(query).first() is not None


def assign(conn: Connection, user_id: int, client_id: int, access: Access) -> None:
    conn.execute(
        assignments.delete().where(
            assignments.c.user_id == user_id, assignments.c.client_id == client_id
        )
    )
    conn.execute(insert(assignments).values(user_id=user_id, client_id=client_id, access=access))


def unassign(conn: Connection, user_id: int, client_id: int) -> bool:
    done = conn.execute(
        assignments.delete().where(
            assignments.c.user_id == user_id, assignments.c.client_id == client_id
        )
    )
    return bool(done.rowcount)


def assigned_client_ids(conn: Connection, user_id: int) -> dict[int, Access]:
    rows = conn.execute(select(assignments).where(assignments.c.user_id == user_id))
    return {r.client_id: Access(r.access) for r in rows}


def assignments_of_partner(conn: Connection, partner_id: int) -> dict[int, dict[int, Access]]:
    """Every assignment of the partner's users: user id -> {client id: access}."""
    query = (
        select(assignments)
        .join(users, users.c.id == assignments.c.user_id)
        .where(users.c.partner_id == partner_id)
        .order_by(assignments.c.user_id, assignments.c.client_id)
    )
    found: dict[int, dict[int, Access]] = {}
    for r in conn.execute(query):
        found.setdefault(r.user_id, {})[r.client_id] = Access(r.access)
    return found


def clients_with_enterprise_number(conn: Connection, partner_id: int, number: str) -> list[Client]:
    if not number:
        return []
    query = select(clients).where(
        clients.c.partner_id == partner_id, clients.c.uen_number == number
    )
    return [to_client(r) for r in conn.execute(query.order_by(clients.c.id))]


def add_client(conn: Connection, partner_id: int, **values: Any) -> Client:
    now = utcnow()
    row = {"partner_id": partner_id, "created_at": now, "updated_at": now, **values}
    pk = conn.execute(insert(clients).values(**row)).inserted_primary_key
    assert pk is not None
    return get_client(conn, partner_id, pk[0])


def to_client(row: Any) -> Client:
    return Client(
        id=row.id,
        partner_id=row.partner_id,
        name=row.name,
        uen_number=row.uen_number,
        vat_number=row.vat_number,
        external_ref=row.external_ref,
        status=ClientStatus(row.status),
        created_at=row.created_at,
        country=row.country,
        contact_email=row.contact_email,
        contact_first_name=row.contact_first_name,
        contact_last_name=row.contact_last_name,
        contact_locale=row.contact_locale,
    )


def get_client(conn: Connection, partner_id: int, client_id: int) -> Client:
    row = conn.execute(
        select(clients).where(clients.c.id == client_id, clients.c.partner_id == partner_id)
    ).first()
    if row is None:
        raise NotFound(f"client {client_id} does not exist")
    return to_client(row)


def list_clients(
    conn: Connection, partner_id: int, within: Collection[int] | None = None
) -> list[Client]:
    """The partner's clients; `within` narrows them to these ids (an actor's reach)."""
    query = select(clients).where(clients.c.partner_id == partner_id)
    if within is not None:
        query = query.where(clients.c.id.in_(list(within)))
    return [to_client(r) for r in conn.execute(query.order_by(clients.c.name))]


def set_client_status(
    conn: Connection, partner_id: int, client_id: int, status: ClientStatus
) -> None:
    conn.execute(
        update(clients)
        .where(clients.c.id == client_id, clients.c.partner_id == partner_id)
        .values(status=status.value, updated_at=utcnow())
    )


def update_client(conn: Connection, partner_id: int, client_id: int, **values: Any) -> None:
    conn.execute(
        update(clients)
        .where(clients.c.id == client_id, clients.c.partner_id == partner_id)
        .values(**values, updated_at=utcnow())
    )


def team_of(conn: Connection, partner_id: int, client_id: int) -> list[tuple[User, Access]]:
    """The partner-space users assigned to a client, by name, with their access."""
    query = (
        _users()
        .add_columns(assignments.c.access)
        .join(assignments, assignments.c.user_id == users.c.id)
        .where(assignments.c.client_id == client_id, users.c.partner_id == partner_id)
        .order_by(func.lower(users.c.name), users.c.id)
    )
    return [(to_user(r), Access(r.access)) for r in conn.execute(query)]


def business_users_of(conn: Connection, partner_id: int, client_id: int) -> list[User]:
    query = (
        _users()
        .where(business_users.c.client_id == client_id, users.c.partner_id == partner_id)
        .order_by(func.lower(users.c.name), users.c.id)
    )
    return [to_user(r) for r in conn.execute(query)]
