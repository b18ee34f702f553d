"""Adding an installation to a client, with the client's own fields and overrides.

Managed by the partner space's administrators; accountants assigned to the client may
read them (status and values, never secrets); business users may not even list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import IntegrityError

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.delivery import context, events, holds
from passeur.delivery.targets import installation_owner, integration_owner
from passeur.domain import paths
from passeur.domain.access import OPERATOR, Action, Actor, clients_within, require
from passeur.domain.audit import Change, masked
from passeur.domain.clock import utcnow
from passeur.domain.documents import AccountingStatus, Document, DocumentKind, Lifecycle
from passeur.domain.errors import Conflict, InvalidInput
from passeur.domain.extensions import (
    Installation,
    Integration,
    IntegrationStatus,
    Target,
    effective_config,
)
from passeur.domain.fields import FieldKind, clean_values
from passeur.domain.partners import Client, ClientStatus
from passeur.services import audit, vetting
from passeur.services.installations import split_secrets
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import documents as document_rows
from passeur.storage.repositories import exports as export_rows
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
    """Activate an installation for one client. Only documents released from now on go out.

    Values the target must know (an Octopus dossier) are checked with it first (vetting)."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        _client(conn, partner_id, client_id, actor, Action.MANAGE_INTEGRATIONS)
    values = vetting.vet(app, partner_id, installation_id, None, values)
    with transaction(app.engine) as conn:
        client = _client(conn, partner_id, client_id, actor, Action.MANAGE_INTEGRATIONS)
        installation = rows.get_installation_row(conn, partner_id, installation_id)
        new_id = add_within(app, conn, client, installation, values, actor=actor)
        return _load(conn, partner_id, new_id)


def checked(app: App, client: Client, installation: Any, values: dict[str, Any]) -> Prepared:
    """The values an integration of this installation would get on this client, checked
    as adding it would (fields, paths the client can fill in, the extension's rules);
    raises InvalidInput or Conflict. Nothing is saved."""
    if client.status is ClientStatus.ARCHIVED:
        raise Conflict(f"client {client.name} is archived; integrations cannot be added")
    ext = registry.extension(installation.extension)
    cleaned = ext.clean_integration(values)
    config, secrets = split_secrets(ext.secret_names(), cleaned)
    effective = effective_config(ext, installation.config, config)
    check_paths(client, effective, ext.slug)
    check_rules(app, installation, effective, set(secrets))
    return Prepared(config, secrets)


@dataclass(frozen=True)
class Prepared:
    config: dict[str, Any]
    secrets: dict[str, Any]


def add_within(
    app: App,
    conn: Connection,
    client: Client,
    installation: Any,
    values: dict[str, Any],
    *,
    actor: Actor = OPERATOR,
) -> int:
    """Add the integration in the caller's transaction (a template): the caller has
    checked the actor and, before its transaction, had the target vet the values
    (template_plans.vet_template). Returns its id."""
    ready = checked(app, client, installation, values)
    try:
        with conn.begin_nested():
            new_id = rows.add_integration(
                conn, client.partner_id, client.id, installation.id, ready.config
            )
    except IntegrityError:
        raise Conflict(
            f"{installation.name} is already added to {client.name}; change that one instead"
        ) from None
    if ready.secrets:
        sealed = app.secrets.seal(ready.secrets, integration_owner(client.partner_id, new_id))
        rows.update_integration(conn, new_id, secrets=sealed)
    after = state_of(installation, ready.config, ready.secrets, changed=ready.secrets)
    record(conn, actor, "integration.create", client.partner_id, client.id, new_id, {}, after)
    return new_id


def state_of(
    installation: Any, config: dict[str, Any], secrets: dict[str, Any], *, changed: Any = ()
) -> dict[str, Any]:
    """An integration's values as the audit trail keeps them (secrets masked by their
    declaration), with the installation it comes from."""
    ext = registry.extension(installation.extension)
    fields = ext.install_fields + ext.integration_fields
    values = masked(fields, config, secrets=secrets, changed=changed)
    return {"installation_id": installation.id, "installation": installation.name, "values": values}


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    partner_id: int,
    client_id: int,
    integration_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    change = Change(
        action, integration_id, before, after, client_id=client_id, integration_id=integration_id
    )
    audit.record(conn, partner_id, actor, change)


def update(
    app: App,
    partner_id: int,
    integration_id: int,
    values: dict[str, Any],
    *,
    actor: Actor = OPERATOR,
) -> Integration:
    """Change the client's fields; a value given as "" drops that override (or secret)."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        found = rows.get_integration_row(conn, partner_id, integration_id)
    what = f"integration {integration_id}"
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id, found.client_id, what=what)
    values = vetting.vet(app, partner_id, found.installation_id, integration_id, values)
    with transaction(app.engine) as conn:
        row = _row(conn, partner_id, integration_id, actor, Action.MANAGE_INTEGRATIONS)
        installation = rows.get_installation_row(conn, partner_id, row.installation_id)
        client = partner_rows.get_client(conn, partner_id, row.client_id)
        ext = registry.extension(installation.extension)
        dropped = {k for k, v in values.items() if v == ""}
        cleaned = ext.clean_integration({k: v for k, v in values.items() if k not in dropped})
        config, changed_secrets = split_secrets(ext.secret_names(), cleaned)
        merged = {k: v for k, v in {**row.config, **config}.items() if k not in dropped}
        effective = effective_config(ext, installation.config, merged)
        check_paths(client, effective, ext.slug)
        owner = integration_owner(partner_id, integration_id)
        own_secrets = {**app.secrets.open(row.secrets, owner), **changed_secrets}
        own_secrets = {k: v for k, v in own_secrets.items() if k not in dropped}
        check_rules(app, installation, effective, set(own_secrets))
        sealed = app.secrets.seal(own_secrets, owner)
        rows.update_integration(conn, integration_id, config=merged, secrets=sealed)
        old = app.secrets.open(row.secrets, owner)
        changed = {k for k, v in own_secrets.items() if old.get(k) != v}
        before = state_of(installation, dict(row.config or {}), old)
        after = state_of(installation, merged, own_secrets, changed=changed)
        record(
            conn, actor, "integration.update", partner_id, row.client_id, integration_id,
            before, after,
        )  # fmt: skip
        return _load(conn, partner_id, integration_id)


def addable(
    app: App, partner_id: int, client_id: int, *, actor: Actor = OPERATOR
) -> list[Installation]:
    """The installations that may be added to this client: switched on, not added yet."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        _client(conn, partner_id, client_id, actor, Action.MANAGE_INTEGRATIONS)
        taken = {r.installation_id for r in rows.list_integration_rows(conn, partner_id, client_id)}
        return [
            rows.to_installation(r)
            for r in rows.list_installation_rows(conn, partner_id)
            if r.active and r.id not in taken
        ]


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
        _record_status(conn, actor, "integration.pause", row, IntegrationStatus.PAUSED.value)
        if row.status != IntegrationStatus.PAUSED.value:
            events.integration_changed(conn, partner_id, integration_id, "paused")
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
        _record_status(conn, actor, "integration.resume", row, IntegrationStatus.ACTIVE.value)
        installation = rows.get_installation_row(conn, partner_id, row.installation_id)
        if installation.active:
            holds.release(conn, [integration_id], parked_too=True)
        if row.status != IntegrationStatus.ACTIVE.value:
            events.integration_changed(conn, partner_id, integration_id, "active")
        return _load(conn, partner_id, integration_id)


def remove(app: App, partner_id: int, integration_id: int, *, actor: Actor = OPERATOR) -> bool:
    """Take an installation off a client. True when the integration was deleted.

    One that never had an export is deleted. One with exports stays, disconnected, so its
    history remains readable; its exports that have not gone out are cancelled (a try in
    flight finishes). Resuming it connects it again, for documents released from then on.
    """
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with transaction(app.engine) as conn:
        row = _row(conn, partner_id, integration_id, actor, Action.MANAGE_INTEGRATIONS)
        if not export_rows.has_exports(conn, integration_id):
            try:
                with conn.begin_nested():
                    rows.delete_integration(conn, integration_id)
                _record_status(conn, actor, "integration.remove", row, "deleted")
                return True
            except IntegrityError:
                pass  # a document was released meanwhile: it has an export now
        rows.update_integration(
            conn,
            integration_id,
            status=IntegrationStatus.DISCONNECTED.value,
            status_reason=f"removed on {utcnow():%Y-%m-%d}",
        )
        holds.cancel(conn, [integration_id], "not sent: the integration was removed")
        _record_status(conn, actor, "integration.remove", row, IntegrationStatus.DISCONNECTED.value)
        return False


def _record_status(conn: Connection, actor: Actor, action: str, row: Any, status: str) -> None:
    before, after = {"status": row.status}, {"status": status}
    record(conn, actor, action, row.partner_id, row.client_id, row.id, before, after)


@dataclass(frozen=True)
class RemovalImpact:
    """What removing an integration does: deleted (no export yet), or disconnected with
    its history kept and its exports not sent yet cancelled."""

    deleted: bool
    cancelled: int


def removal_impact(
    app: App, partner_id: int, integration_id: int, *, actor: Actor = OPERATOR
) -> RemovalImpact:
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        row = rows.get_integration_row(conn, partner_id, integration_id)
        what = f"integration {integration_id}"
        require(actor, Action.MANAGE_INTEGRATIONS, partner_id, row.client_id, what=what)
        tally = export_rows.tally_by_integration(conn, partner_id, [integration_id]).get(
            integration_id
        )
    if tally is None:
        return RemovalImpact(deleted=True, cancelled=0)
    return RemovalImpact(deleted=False, cancelled=tally.waiting)


@dataclass(frozen=True)
class PathPreview:
    """Where a document of the client would land with the values being typed."""

    path: str = ""  # "": the extension has no path, or it cannot be rendered (see error)
    error: str = ""
    document: Document | None = None  # the client's document it was rendered for
    example: bool = False  # the client has no document yet: an example purchase invoice


def preview_path(
    app: App,
    partner_id: int,
    client_id: int,
    installation_id: int,
    values: dict[str, Any],
    *,
    actor: Actor = OPERATOR,
) -> PathPreview:
    """Render the target path for the client's latest released document (else its latest,
    else an example), exactly as the connector would when delivering it. Nothing is saved;
    an empty value means the installation's."""
    require(actor, Action.MANAGE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        client = _client(conn, partner_id, client_id, actor, Action.MANAGE_INTEGRATIONS)
        installation = rows.get_installation_row(conn, partner_id, installation_id)
        document = document_rows.latest_of_client(conn, partner_id, client_id)
    example = document is None
    shown = document if document is not None else _example_document(client)
    ext = registry.extension(installation.extension)
    try:
        given = {k: v for k, v in values.items() if v != ""}
        config, _ = split_secrets(ext.secret_names(), clean_values(ext.client_fields, given))
        target = Target(
            installation_id, None, ext.slug, effective_config(ext, installation.config, config)
        )
        variables = context.path_variables(
            shown, client.name, client.uen_number, client.external_ref, client.vat_number
        )
        connector = registry.connector_class(ext.slug)
        path = connector.destination(target, variables, context.file_name(shown)) or ""
    except InvalidInput as exc:
        return PathPreview(error=str(exc), document=document, example=example)
    return PathPreview(path=path, document=document, example=example)


def _example_document(client: Client) -> Document:
    now = utcnow()
    return Document(
        id=0,
        partner_id=client.partner_id,
        client_id=client.id,
        kind=DocumentKind.PURCHASE_INVOICE,
        direction=None,
        filename="example.xml",
        media_type="application/xml",
        sha256="",
        size=0,
        lifecycle=Lifecycle.APPROVED,
        accounting_status=AccountingStatus.QUEUED,
        received_at=now,
        released_at=now,
        number="INV-0001",
        issue_date=f"{now:%Y-%m-%d}",
    )


def list_integrations(
    app: App, partner_id: int, client_id: int | None = None, *, actor: Actor = OPERATOR
) -> list[Integration]:
    """The integrations of the clients the actor may see (of one client, when named)."""
    within = clients_within(actor, Action.SEE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        if client_id is not None:
            _client(conn, partner_id, client_id, actor, Action.SEE_INTEGRATIONS)
        found = rows.list_integration_rows(conn, partner_id, client_id, within)
        return [rows.to_integration(r) for r in found]


def get(app: App, partner_id: int, integration_id: int, *, actor: Actor = OPERATOR) -> Integration:
    """The integration, with the names of the secrets set on it (never their values)."""
    require(actor, Action.SEE_INTEGRATIONS, partner_id)
    with reading(app.engine) as conn:
        row = _row(conn, partner_id, integration_id, actor, Action.SEE_INTEGRATIONS)
    names = app.secrets.open(row.secrets, integration_owner(partner_id, integration_id))
    return rows.to_integration(row, frozenset(names))


def _client(
    conn: Connection, partner_id: int, client_id: int, actor: Actor, action: Action
) -> Client:
    """The client, if the actor may do `action` on its integrations: looked up first, so a
    client of another partner reads as not found rather than forbidden."""
    client = partner_rows.get_client(conn, partner_id, client_id)
    require(actor, action, partner_id, client_id)
    return client


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


def check_rules(app: App, installation: Any, config: dict[str, Any], own_secrets: set[str]) -> None:
    """The extension's rules across fields, on what this client's target would be."""
    ext = registry.extension(installation.extension)
    owner = installation_owner(installation.partner_id, installation.id)
    secrets_set = frozenset(app.secrets.open(installation.secrets, owner)) | own_secrets
    ext.check_rules(config, secrets_set, integration=True)


def check_paths(client: Client, config: dict[str, Any], slug: str) -> None:
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
                    f"{_CLIENT_VARIABLES[name]}; add it to the client or change the path",
                    field=field.name,
                )
