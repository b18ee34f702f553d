"""Configuration templates (product.md §1.3): create, edit, delete, mark as default.

Administrators manage them; client managers may choose one when they add a client.
Applying one is in services/template_plans.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery.targets import installation_owner
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import Change
from passeur.domain.errors import InvalidInput, NotFound
from passeur.domain.extensions import effective_config
from passeur.domain.partners import Access
from passeur.domain.templates import (
    ConfigurationTemplate,
    validate_description,
    validate_template_name,
)
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as installation_rows
from passeur.storage.repositories import partners as partner_rows
from passeur.storage.repositories import templates as rows


def list_templates(
    app: App, partner_id: int, *, actor: Actor = OPERATOR
) -> list[ConfigurationTemplate]:
    require(actor, Action.SEE_TEMPLATES, partner_id)
    with reading(app.engine) as conn:
        return rows.list_templates(conn, partner_id)


def get(
    app: App, partner_id: int, template_id: int, *, actor: Actor = OPERATOR
) -> ConfigurationTemplate:
    require(actor, Action.SEE_TEMPLATES, partner_id)
    with reading(app.engine) as conn:
        return rows.get_template(conn, partner_id, template_id)


def create(
    app: App,
    partner_id: int,
    name: str,
    description: str = "",
    *,
    users: Mapping[int, Access] | None = None,
    actor: Actor = OPERATOR,
) -> ConfigurationTemplate:
    """A template with its name, description and the users it assigns (integrations are
    added one at a time with set_integration)."""
    require(actor, Action.MANAGE_TEMPLATES, partner_id)
    name, description = validate_template_name(name), validate_description(description)
    with transaction(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        _check_name(conn, partner_id, name)
        _check_users(conn, partner_id, users or {})
        try:
            with conn.begin_nested():
                new_id = rows.add_template(conn, partner_id, name, description)
        except IntegrityError:
            raise _name_refused(name) from None
        rows.set_users(conn, new_id, dict(users or {}))
        made = rows.get_template(conn, partner_id, new_id)
        _record(conn, actor, "template.create", None, made)
        return made


def update(
    app: App,
    partner_id: int,
    template_id: int,
    name: str,
    description: str = "",
    *,
    users: Mapping[int, Access] | None = None,
    actor: Actor = OPERATOR,
) -> ConfigurationTemplate:
    """Change the name, the description and the users (the list given replaces the old)."""
    require(actor, Action.MANAGE_TEMPLATES, partner_id)
    name, description = validate_template_name(name), validate_description(description)
    with transaction(app.engine) as conn:
        old = rows.get_template(conn, partner_id, template_id, for_update=True)
        _check_name(conn, partner_id, name, but=template_id)
        _check_users(conn, partner_id, users or {})
        try:
            with conn.begin_nested():
                rows.update_template(conn, template_id, name=name, description=description)
        except IntegrityError:
            raise _name_refused(name) from None
        rows.set_users(conn, template_id, dict(users or {}))
        return _record(conn, actor, "template.update", old)


def delete(app: App, partner_id: int, template_id: int, *, actor: Actor = OPERATOR) -> None:
    """Delete a template; clients made with it keep what it gave them."""
    require(actor, Action.MANAGE_TEMPLATES, partner_id)
    with transaction(app.engine) as conn:
        old = rows.get_template(conn, partner_id, template_id, for_update=True)
        rows.delete_template(conn, template_id)
        _record(conn, actor, "template.delete", old, None)


def mark_default(
    app: App, partner_id: int, template_id: int | None, *, actor: Actor = OPERATOR
) -> None:
    """Make this template the one a new client gets when none is chosen (None: no
    default). One default at most."""
    require(actor, Action.MANAGE_TEMPLATES, partner_id)
    with transaction(app.engine) as conn:
        partner_rows.lock_partner(conn, partner_id)  # two at once leave one default
        before = rows.default_template(conn, partner_id)
        if template_id is not None:
            rows.get_template(conn, partner_id, template_id)
        rows.clear_default(conn, partner_id)
        if template_id is not None:
            rows.update_template(conn, template_id, is_default=True)
        change = Change(
            "template.default", template_id,
            {"default": before.name if before else None},
            {"default": rows.get_template(conn, partner_id, template_id).name
             if template_id is not None else None},
        )  # fmt: skip
        audit.record(conn, partner_id, actor, change)


def set_integration(
    app: App,
    partner_id: int,
    template_id: int,
    installation_id: int,
    values: Mapping[str, Any],
    *,
    actor: Actor = OPERATOR,
) -> ConfigurationTemplate:
    """Add an installation to the template (or change its values): the client's fields,
    checked as on a client's form, [variables] allowed in paths. Secrets are refused:
    they are set on each client's integration."""
    require(actor, Action.MANAGE_TEMPLATES, partner_id)
    with transaction(app.engine) as conn:
        old = rows.get_template(conn, partner_id, template_id, for_update=True)
        installation = installation_rows.get_installation_row(conn, partner_id, installation_id)
        ext = registry.extension(installation.extension)
        given = {k: v for k, v in values.items() if v != ""}
        config = ext.clean_integration(given)
        secret = sorted(ext.secret_names() & set(config))
        if secret:
            raise InvalidInput(
                "a configuration template keeps no secrets: set it on each client's integration",
                field=secret[0],
            )
        owner = installation_owner(partner_id, installation.id)
        secrets_set = frozenset(app.secrets.open(installation.secrets, owner))
        ext.check_rules(
            effective_config(ext, installation.config, config), secrets_set, integration=True
        )
        rows.put_integration(conn, template_id, installation_id, config)
        return _record(conn, actor, "template.integration", old)


def remove_integration(
    app: App,
    partner_id: int,
    template_id: int,
    installation_id: int,
    *,
    actor: Actor = OPERATOR,
) -> ConfigurationTemplate:
    require(actor, Action.MANAGE_TEMPLATES, partner_id)
    with transaction(app.engine) as conn:
        template = rows.get_template(conn, partner_id, template_id, for_update=True)
        if not rows.remove_integration(conn, template_id, installation_id):
            raise InvalidInput(
                f"template {template.name} does not add installation {installation_id}"
            )
        return _record(conn, actor, "template.remove_integration", template)


def _record(
    conn: Connection,
    actor: Actor,
    action: str,
    before: ConfigurationTemplate | None,
    after: ConfigurationTemplate | None = None,
) -> ConfigurationTemplate:
    """Record the change (a template holds no secret); returns the template as it is now."""
    known = before or after
    assert known is not None
    if after is None and action != "template.delete":
        after = rows.get_template(conn, known.partner_id, known.id)
    change = Change(action, known.id, _state(before), _state(after))
    audit.record(conn, known.partner_id, actor, change)
    return after or known


def _state(template: ConfigurationTemplate | None) -> dict[str, Any]:
    if template is None:
        return {}
    return {
        "name": template.name,
        "description": template.description,
        "users": {str(u): a.value for u, a in sorted(template.users.items())},
        "integrations": {str(i.installation_id): i.config for i in template.integrations},
    }


def _check_name(conn: Connection, partner_id: int, name: str, but: int | None = None) -> None:
    if rows.name_taken(conn, partner_id, name, but):
        raise _name_refused(name)


def _name_refused(name: str) -> InvalidInput:
    return InvalidInput(f"a configuration template named {name} already exists", field="name")


def _check_users(conn: Connection, partner_id: int, users: Mapping[int, Access]) -> None:
    """Only the partner's own partner-space users may be assigned by a template."""
    for user_id in users:
        try:
            user = partner_rows.get_user(conn, partner_id, user_id)
        except NotFound:
            raise InvalidInput(f"user {user_id} does not exist", field="users") from None
        if user.is_business:
            raise InvalidInput(
                f"{user.email} is a business user of a client; templates assign the firm's users",
                field="users",
            )
