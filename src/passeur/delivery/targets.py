"""A connector call's target: an installation's configuration with its integration's
overrides, and the secrets of both opened (in the calling process's memory only).

Below the services, so that the worker and the use cases build targets alike; also the
owners the secret box binds each sealed value to.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.domain.extensions import Target, effective_config
from passeur.storage.repositories import installations as rows


def installation_owner(partner_id: int, installation_id: int) -> str:
    """Whose an installation's sealed secrets are: they open for it and nothing else."""
    return f"partner:{partner_id}/installation:{installation_id}"


def integration_owner(partner_id: int, integration_id: int) -> str:
    """Whose an integration's sealed secrets are: they open for it and nothing else."""
    return f"partner:{partner_id}/integration:{integration_id}"


def build_target(
    app: App, conn: Connection, partner_id: int, installation_id: int, integration_id: int | None
) -> Target:
    """The full configuration for a connector call, secrets opened (worker memory only)."""
    row = rows.get_installation_row(conn, partner_id, installation_id)
    ext = registry.extension(row.extension)
    secrets = app.secrets.open(row.secrets, installation_owner(partner_id, installation_id))
    overrides: dict[str, Any] = {}
    if integration_id is not None:
        integration = rows.get_integration_row(conn, partner_id, integration_id)
        overrides = dict(integration.config or {})
        owner = integration_owner(partner_id, integration_id)
        secrets = {**secrets, **app.secrets.open(integration.secrets, owner)}
    tokens = None
    config = effective_config(ext, row.config, overrides)
    for name, setting in ext.settings:  # the operator's (Octopus: its software house id)
        value: Any = getattr(app.settings, setting, "") or ""
        if hasattr(value, "get_secret_value"):
            secrets = {**secrets, name: value.get_secret_value()}
        else:
            config[name] = str(value)
    if ext.oauth is not None:
        # A connector asks for a token (and never holds one). The grant store is a use
        # case (it locks and writes the installation), hence imported here, when needed.
        from passeur.services.oauth_grants import GRANT_FIELDS, GrantTokens, provider_url

        for name, setting in ext.oauth.endpoints:  # the stand-in's, in the demo and tests
            config[name] = provider_url(app, ext.oauth, setting, config)
        secrets = {k: v for k, v in secrets.items() if k not in GRANT_FIELDS}
        tokens = GrantTokens(app, partner_id, installation_id)
    uploads = None
    if ext.category == "Cloud folder":  # their large files go through upload sessions
        from passeur.delivery.upload_sessions import StoredSessions

        uploads = StoredSessions(app, partner_id, installation_id)
    calls = None
    if ext.account_pacing is not None:
        from passeur.delivery.call_pacer import CallPacer

        calls = CallPacer(
            app.engine,
            installation_id,
            ext.account_pacing,
            app.settings.pacing_time_scale,
            extension=row.extension,
        )
    return Target(
        installation_id=installation_id,
        integration_id=integration_id,
        extension=row.extension,
        config=config,
        secrets=secrets,
        tokens=tokens,
        calls=calls,
        uploads=uploads,
    )
