"""Adding an installation to a client, with the client's own fields and overrides.

Managed by the partner space's administrators; accountants assigned to the client may
read them (status and values, never secrets); business users may not even list them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery import holds
from passeur.domain import paths
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, require
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.extensions import Integration, IntegrationStatus, effective_config
from passeur.domain.fields import FieldKind
from passeur.domain.partners import Client, ClientStatus
from passeur.services.installations import (
    installation_owner,
    integration_owner,
    split_secrets,
)
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as rows
from passeur.storage.repositories import partners as partner_rows

# Variables that come from the client; the others come from each document.
_CLIENT_VARIABLES = {"uen_number": "enterprise number", "external_id": "external reference"}


def add(
    app: App,
    partner_id: int,
    client_id: int,
    installation_id: int,
    values: dict[str, Any],
    *,
    actor: Actor = OPERATOR,
) -> Integration:
    """Activate an installation for one client. Only documents released from now on go out."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        client = partner_rows.get_client(conn, partner_id, client_id)
        require(actor, Action.MANAGE_INTEGRATIONS, partner_id, client_id)
        if client.status is ClientStatus.ARCHIVED:
            raise Conflict(f"client {client.name} is archived; integrations cannot be added")
        installation = rows.get_installation_row(conn, partner_id, installation_id)
        ext = registry.extension(installation.extension)
        cleaned = ext.clean_integration(values)
        config, secrets = split_secrets(ext.secret_names(), cleaned)
        effective = effective_config(ext, installation.config, config)
        _check_paths(client, effective, ext.slug)
        _check_rules(app, installation, effective, set(secrets))
        try:
            with conn.begin_nested():
                new_id = rows.add_integration(conn, partner_id, client_id, installation_id, config)
        except IntegrityError:
            raise Conflict(
                f"{installation.name} is already added to {client.name}; change that one instead"
            ) from None
        if secrets:
            sealed = app.secrets.seal(secrets, integration_owner(partner_id, new_id))
            rows.update_integration(conn, new_id, secrets=sealed)
        return _load(conn, partner_id, new_id)


def update(
    app: App,
    partner_id: int,
    integration_id: int,
    values: dict[str, Any],
    *,
    actor: Actor = OPERATOR,
) -> Integration:
    """Change the client's fields; a value given as "" drops that override."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        row = _row(conn, partner_id, integration_id, actor, Action.MANAGE_INTEGRATIONS)
        installation = rows.get_installation_row(conn, partner_id, row.installation_id)
        client = partner_rows.get_client(conn, partner_id, row.client_id)
        ext = registry.extension(installation.extension)
        dropped = {k for k, v in values.items() if v == ""}
        cleaned = ext.clean_integration({k: v for k, v in values.items() if k not in dropped})
        config, _ = split_secrets(ext.secret_names(), cleaned)
        merged = {k: v for k, v in {**row.config, **config}.items() if k not in dropped}
        effective = effective_config(ext, installation.config, merged)
        _check_paths(client, effective, ext.slug)
        own_secrets = app.secrets.open(row.secrets, integration_owner(partner_id, integration_id))
        _check_rules(app, installation, effective, set(own_secrets))
        rows.update_integration(conn, integration_id, config=merged)
        return _load(conn, partner_id, integration_id)


def pause(
    app: App, partner_id: int, integration_id: int, *, actor: Actor = OPERATOR
) -> Integration:
    """Stop sending to this client's target for now; new and queued exports wait."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        row = _row(conn, partner_id, integration_id, actor, Action.MANAGE_INTEGRATIONS)
        if row.status == IntegrationStatus.DISCONNECTED.value:
            raise Conflict(f"integration {integration_id} is disconnected")
        rows.update_integration(conn, integration_id, status=IntegrationStatus.PAUSED.value)
        holds.hold(conn, [integration_id])
        return _load(conn, partner_id, integration_id)


def resume(
    app: App, partner_id: int, integration_id: int, *, actor: Actor = OPERATOR
) -> Integration:
    """Send again: everything held or parked for this integration goes out now.

    An integration its target disconnected (HTTP 410) is connected again: the person
    resuming says the endpoint is fixed. One disconnected because its client was archived
    stays so.
    """
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        row = _row(conn, partner_id, integration_id, actor, Action.MANAGE_INTEGRATIONS)
        client = partner_rows.get_client(conn, partner_id, row.client_id)
        if row.status == IntegrationStatus.DISCONNECTED.value and (
            client.status is ClientStatus.ARCHIVED
        ):
            raise Conflict(
                f"integration {integration_id} is disconnected: client {client.name} is archived"
            )
        rows.update_integration(
            conn, integration_id, status=IntegrationStatus.ACTIVE.value, status_reason=""
        )
        installation = rows.get_installation_row(conn, partner_id, row.installation_id)
        if installation.active:
            holds.release(conn, [integration_id], parked_too=True)
        return _load(conn, partner_id, integration_id)


def list_integrations(
    app: App, partner_id: int, client_id: int | None = None, *, actor: Actor = OPERATOR
) -> list[Integration]:
    """The integrations of the clients the actor may see (of one client, when named)."""
    within = clients_within(actor, Action.SEE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        if client_id is not None:
            partner_rows.get_client(conn, partner_id, client_id)
            require(actor, Action.SEE_INTEGRATIONS, partner_id, client_id)
        found = rows.list_integration_rows(conn, partner_id, client_id, within)
        return [rows.to_integration(r) for r in found]


def get(app: App, partner_id: int, integration_id: int, *, actor: Actor = OPERATOR) -> Integration:
    require(actor, Action.SEE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        return rows.to_integration(
            _row(conn, partner_id, integration_id, actor, Action.SEE_INTEGRATIONS)
        )


def _row(
    conn: Connection, partner_id: int, integration_id: int, actor: Actor, action: Action
) -> Any:
    """The integration's row (locked when it is to change), if the actor may do `action`."""
    locking = action is Action.MANAGE_INTEGRATIONS
    row = rows.get_integration_row(conn, partner_id, integration_id, for_update=locking)
    require(actor, action, partner_id, row.client_id, what=f"integration {integration_id}")
    return row


def _load(conn: Connection, partner_id: int, integration_id: int) -> Integration:
    return rows.to_integration(rows.get_integration_row(conn, partner_id, integration_id))


def _check_rules(
    app: App, installation: Any, config: dict[str, Any], own_secrets: set[str]
) -> None:
    """The extension's rules across fields, on what this client's target would be."""
    ext = registry.extension(installation.extension)
    owner = installation_owner(installation.partner_id, installation.id)
    secrets_set = frozenset(app.secrets.open(installation.secrets, owner)) | own_secrets
    ext.check_rules(config, secrets_set, integration=True)


def _check_paths(client: Client, config: dict[str, Any], slug: str) -> None:
    """Refuse, when saving, a path this client could never fill in."""
    ext = registry.extension(slug)
    for field in ext.install_fields + ext.integration_fields:
        if field.kind is not FieldKind.PATH or not config.get(field.name):
            continue
        template = paths.PathTemplate.parse(config[field.name])
        client_values = {"uen_number": client.uen_number, "external_id": client.external_ref}
        for name in template.variables:
            if name in _CLIENT_VARIABLES and not client_values[name]:
                raise InvalidInput(
                    f"{field.label} uses [{name}] but client {client.name} has no "
                    f"{_CLIENT_VARIABLES[name]}; add it to the client or change the path"
                )
