"""Installing an extension for a partner (the template), testing its connection and
pinning what the person trusted (through the connector's `pin` hook).

The partner space's administrators only: accountants see a client's integrations, not
the templates behind them; business users see neither.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.base import CheckResult, Connector
from passeur.connectors.errors import ConnectorError
from passeur.delivery import holds, pacer
from passeur.delivery.targets import build_target, installation_owner
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.audit import Change, masked
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, Installation, effective_config
from passeur.domain.names import check_name
from passeur.domain.redaction import redact
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import installations as rows
from passeur.storage.repositories import partners as partner_rows


def split_secrets(secret_names: set[str], values: dict[str, Any]) -> tuple[dict, dict]:
    config = {k: v for k, v in values.items() if k not in secret_names}
    secrets = {k: v for k, v in values.items() if k in secret_names}
    return config, secrets


def install(
    app: App,
    partner_id: int,
    slug: str,
    name: str,
    values: dict[str, Any],
    *,
    actor: Actor = OPERATOR,
) -> Installation:
    """Install an extension once for the partner; secrets are sealed, never stored in clear."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    ext = registry.extension(slug)
    cleaned = ext.clean_install(values)
    ext.check_complete(set(cleaned))
    config, secrets = split_secrets(ext.secret_names(), cleaned)
    ext.check_rules(effective_config(ext, config), frozenset(secrets), integration=False)
    name = _checked_name(name, ext.name)
    with transaction(app.engine) as conn:
        partner_rows.get_partner(conn, partner_id)
        new_id = rows.add_installation(conn, partner_id, slug, name, config)
        pacer.ensure_row(conn, new_id)
        sealed = app.secrets.seal(secrets, installation_owner(partner_id, new_id))
        rows.update_installation(conn, new_id, secrets=sealed)
        after = _state(ext, name, True, config, secrets, changed=secrets)
        audit.record(conn, partner_id, actor, Change("installation.create", new_id, {}, after))
        return _load(app, conn, partner_id, new_id)


def update(
    app: App,
    partner_id: int,
    installation_id: int,
    values: dict[str, Any],
    *,
    name: str | None = None,
    actor: Actor = OPERATOR,
) -> Installation:
    """Change some values (and the name, if given).

    A value given as "" is removed: a secret is forgotten, another value goes back to its
    default; a required one cannot be removed. A value not given is kept.
    """
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    with transaction(app.engine) as conn:
        row = rows.get_installation_row(conn, partner_id, installation_id, for_update=True)
        ext = registry.extension(row.extension)
        owner = installation_owner(partner_id, installation_id)
        secrets = app.secrets.open(row.secrets, owner)
        cleared = {k for k, v in values.items() if isinstance(v, str) and v.strip() == ""}
        _refuse_clearing_required(ext, cleared)
        cleaned = ext.clean_install(
            {k: v for k, v in values.items() if k not in cleared}, partial=True
        )
        changed_config, changed_secrets = split_secrets(ext.secret_names(), cleaned)
        config = {k: v for k, v in {**row.config, **changed_config}.items() if k not in cleared}
        secrets = {k: v for k, v in {**secrets, **changed_secrets}.items() if k not in cleared}
        ext.check_complete(set(config) | set(secrets))
        ext.check_rules(effective_config(ext, config), frozenset(secrets), integration=False)
        changes: dict[str, Any] = {"config": config, "secrets": app.secrets.seal(secrets, owner)}
        if name is not None:
            changes["name"] = _checked_name(name, ext.name)
        rows.update_installation(conn, installation_id, **changes)
        old = app.secrets.open(row.secrets, owner)
        changed = {k for k, v in secrets.items() if old.get(k) != v}
        before = _state(ext, row.name, row.active, dict(row.config or {}), old)
        after = _state(
            ext, changes.get("name", row.name), row.active, config, secrets, changed=changed
        )
        change = Change("installation.update", installation_id, before, after)
        audit.record(conn, partner_id, actor, change)
        return _load(app, conn, partner_id, installation_id)


def _state(
    ext: Extension,
    name: str,
    active: bool,
    config: dict[str, Any],
    secrets: dict[str, Any],
    *,
    changed: Any = (),
) -> dict[str, Any]:
    """An installation as the audit trail keeps it: secrets masked by their declaration."""
    values = masked(ext.install_fields, config, secrets=secrets, changed=changed)
    return {"name": name, "extension": ext.slug, "active": active, "values": values}


def _refuse_clearing_required(ext: Extension, cleared: set[str]) -> None:
    for field in ext.install_fields:
        if field.required and field.name in cleared:
            raise InvalidInput(f"{field.label} is required", field=field.name)


def _checked_name(name: str, default: str) -> str:
    name = (name or default).strip() or default
    if len(name) > 200:
        raise InvalidInput("the installation's name is longer than 200 characters", field="name")
    return check_name(name, "the installation's name")


def set_active(
    app: App, partner_id: int, installation_id: int, active: bool, *, actor: Actor = OPERATOR
) -> Installation:
    """The Active toggle, for every client of this installation at once.

    Off: documents released meanwhile are not exported to it (as if it were not there;
    a partner can re-send them), and exports already queued are held. On: the held
    exports of its active integrations go out.
    """
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    with transaction(app.engine) as conn:
        row = rows.get_installation_row(conn, partner_id, installation_id, for_update=True)
        rows.update_installation(conn, installation_id, active=active)
        verb = "activate" if active else "deactivate"
        change = Change(
            f"installation.{verb}", installation_id, {"active": row.active}, {"active": active}
        )
        audit.record(conn, partner_id, actor, change)
        if active:
            holds.release(conn, holds.integrations_of(conn, installation_id, active_only=True))
        else:
            holds.hold(conn, holds.integrations_of(conn, installation_id, active_only=False))
        return _load(app, conn, partner_id, installation_id)


def get(
    app: App, partner_id: int, installation_id: int, *, actor: Actor = OPERATOR
) -> Installation:
    require(actor, Action.SEE_INSTALLATIONS, partner_id)
    with reading(app.engine) as conn:
        return _load(app, conn, partner_id, installation_id)


def list_installations(app: App, partner_id: int, *, actor: Actor = OPERATOR) -> list[Installation]:
    require(actor, Action.SEE_INSTALLATIONS, partner_id)
    with reading(app.engine) as conn:
        return [
            _load(app, conn, partner_id, row.id)
            for row in rows.list_installation_rows(conn, partner_id)
        ]


def _load(app: App, conn: Connection, partner_id: int, installation_id: int) -> Installation:
    row = rows.get_installation_row(conn, partner_id, installation_id)
    names = app.secrets.open(row.secrets, installation_owner(partner_id, installation_id))
    return rows.to_installation(row, frozenset(names))


async def check(
    app: App,
    partner_id: int,
    installation_id: int,
    *,
    integration_id: int | None = None,
    trust: str | None = None,
    send_test: bool = False,
    actor: Actor = OPERATOR,
) -> CheckResult:
    """Test the connection without sending a document.

    When the target shows something to pin (an SFTP server's host key not pinned yet),
    `trust` is what the person confirmed (its fingerprint, "SHA256:…"): the connector
    pins it only if the target still presents that very thing (`Connector.pin`; on the
    integration if it connects elsewhere, else on the installation), then the connection
    is tested again. Anything different pins nothing. Messages are redacted.
    With `send_test`, a connection that works is then used for one test delivery (a test
    POST, a test message), and the result says what the target answered.
    Raises a ConnectorError when the target cannot be reached or refuses us.
    """
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    confirmed = trust.strip() if trust else ""
    with reading(app.engine) as conn:
        target = build_target(app, conn, partner_id, installation_id, integration_id)
    connector = registry.make_connector(target.extension, app.settings.network_policy)
    try:
        try:
            result = await connector.check(target)
            changes = connector.pin(target, result, confirmed) if confirmed else {}
            if changes:
                _pin(app, partner_id, installation_id, integration_id, changes, connector, actor)
                target = replace(target, config={**target.config, **changes})
                result = connector.pinned(target, await connector.check(target))
            if result.ok and send_test:
                sent = await connector.test_delivery(target)
                result = replace(
                    sent,
                    message=f"{result.message}\n{sent.message}",
                    details={**result.details, "test_delivery": sent.details},
                )
        except ConnectorError as exc:
            exc.message = redact(exc.message, target.secrets.values())
            raise
        return replace(result, message=redact(result.message, target.secrets.values()))
    finally:
        await connector.close()


def _pin(
    app: App,
    partner_id: int,
    installation_id: int,
    integration_id: int | None,
    changes: dict[str, Any],
    connector: Connector,
    actor: Actor,
) -> None:
    """Store what the person trusted: on the integration when it connects elsewhere than
    its installation (it sets a field the pin follows), else on the installation."""
    with transaction(app.engine) as conn:
        if integration_id is not None:
            integration = rows.get_integration_row(conn, partner_id, integration_id)
            own = dict(integration.config or {})
            if connector.pin_follows & set(own):
                rows.update_integration(conn, integration_id, config={**own, **changes})
                before = {k: own.get(k) for k in changes}
                change = Change(
                    "integration.pin", integration_id, before, changes,
                    client_id=integration.client_id, integration_id=integration_id,
                )  # fmt: skip
                audit.record(conn, partner_id, actor, change)
                return
        row = rows.get_installation_row(conn, partner_id, installation_id, for_update=True)
        rows.update_installation(conn, installation_id, config={**row.config, **changes})
        before = {k: row.config.get(k) for k in changes}
        change = Change("installation.pin", installation_id, before, changes)
        audit.record(conn, partner_id, actor, change)
