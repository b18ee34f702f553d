"""Configuration templates, with the users they assign and the integrations they add."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from passeur.domain.clock import utcnow
from passeur.domain.errors import NotFound
from passeur.domain.partners import Access
from passeur.domain.templates import ConfigurationTemplate, TemplateIntegration
from passeur.storage.tables import (
    configuration_templates,
    template_integrations,
    template_users,
)


def add_template(conn: Connection, partner_id: int, name: str, description: str) -> int:
    now = utcnow()
    pk = conn.execute(
        insert(configuration_templates).values(
            partner_id=partner_id,
            name=name,
            description=description,
            is_default=False,
            created_at=now,
            updated_at=now,
        )
    ).inserted_primary_key
    assert pk is not None
    return int(pk[0])


def update_template(conn: Connection, template_id: int, **values: Any) -> None:
    conn.execute(
        update(configuration_templates)
        .where(configuration_templates.c.id == template_id)
        .values(updated_at=utcnow(), **values)
    )


def get_template(
    conn: Connection, partner_id: int, template_id: int, *, for_update: bool = False
) -> ConfigurationTemplate:
    query = select(configuration_templates).where(
        configuration_templates.c.id == template_id,
        configuration_templates.c.partner_id == partner_id,
    )
    row = conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound(f"configuration template {template_id} does not exist")
    return _loaded(conn, row)


def default_template(conn: Connection, partner_id: int) -> ConfigurationTemplate | None:
    row = conn.execute(
        select(configuration_templates).where(
            configuration_templates.c.partner_id == partner_id,
            configuration_templates.c.is_default.is_(True),
        )
    ).first()
    return None if row is None else _loaded(conn, row)


def list_templates(conn: Connection, partner_id: int) -> list[ConfigurationTemplate]:
    found = conn.execute(
        select(configuration_templates)
        .where(configuration_templates.c.partner_id == partner_id)
        .order_by(configuration_templates.c.name, configuration_templates.c.id)
    )
    return [_loaded(conn, row) for row in found]


def name_taken(conn: Connection, partner_id: int, name: str, but: int | None = None) -> bool:
    query = select(configuration_templates.c.id).where(
        configuration_templates.c.partner_id == partner_id,
        configuration_templates.c.name == name,
    )
    if but is not None:
        query = query.where(configuration_templates.c.id != but)
    return conn.execute(query.limit(1)).first() is not None


def clear_default(conn: Connection, partner_id: int) -> None:
    conn.execute(
        update(configuration_templates)
        .where(configuration_templates.c.partner_id == partner_id)
        .values(is_default=False)
    )


def set_users(conn: Connection, template_id: int, users: dict[int, Access]) -> None:
    conn.execute(delete(template_users).where(template_users.c.template_id == template_id))
    if users:
        conn.execute(
            insert(template_users),
            [
                {"template_id": template_id, "user_id": uid, "access": access.value}
                for uid, access in users.items()
            ],
        )


def put_integration(
    conn: Connection, template_id: int, installation_id: int, config: dict[str, Any]
) -> None:
    remove_integration(conn, template_id, installation_id)
    conn.execute(
        insert(template_integrations).values(
            template_id=template_id, installation_id=installation_id, config=config
        )
    )


def remove_integration(conn: Connection, template_id: int, installation_id: int) -> bool:
    done = conn.execute(
        delete(template_integrations).where(
            template_integrations.c.template_id == template_id,
            template_integrations.c.installation_id == installation_id,
        )
    )
    return bool(done.rowcount)


def delete_template(conn: Connection, template_id: int) -> None:
    conn.execute(delete(template_users).where(template_users.c.template_id == template_id))
    conn.execute(
        delete(template_integrations).where(template_integrations.c.template_id == template_id)
    )
    conn.execute(delete(configuration_templates).where(configuration_templates.c.id == template_id))


def _loaded(conn: Connection, row: Any) -> ConfigurationTemplate:
    users = conn.execute(select(template_users).where(template_users.c.template_id == row.id))
    integs = conn.execute(
        select(template_integrations)
        .where(template_integrations.c.template_id == row.id)
        .order_by(template_integrations.c.installation_id)
    )
    return ConfigurationTemplate(
        id=row.id,
        partner_id=row.partner_id,
        name=row.name,
        description=row.description,
        is_default=bool(row.is_default),
        users={u.user_id: Access(u.access) for u in users},
        integrations=tuple(
            TemplateIntegration(i.installation_id, dict(i.config or {})) for i in integs
        ),
    )
