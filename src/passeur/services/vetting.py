"""A client's values checked against the target itself when its integration is saved
(an Octopus dossier, a Yuki administration): `Connector.vet`.

Runs before the saving transaction (no database lock is held while the target answers),
on the values the integration would have: the installation's, the client's overrides,
the secrets of both. What the target does not know is refused with its reason
(InvalidInput, nothing saved); a target that cannot be reached refuses the save too,
saying so, since the value could not be checked. Integrations a template or an import
adds are vetted the same way, one per row, before their saving transaction.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any, TypeVar

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.base import Connector
from passeur.connectors.errors import ConnectorError
from passeur.delivery.targets import build_target
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import effective_config
from passeur.domain.redaction import redact
from passeur.services.installations import split_secrets
from passeur.storage.db import reading
from passeur.storage.repositories import installations as rows

T = TypeVar("T")


def needs_vetting(slug: str) -> bool:
    """Whether this extension's connector checks a client's values with the target."""
    return registry.connector_class(slug).vet is not Connector.vet


def vet(
    app: App,
    partner_id: int,
    installation_id: int,
    integration_id: int | None,
    values: dict[str, Any],
) -> dict[str, Any]:
    """`values` as they should be saved: unchanged, or with what the target resolved (a
    dossier's name becomes its number). Raises InvalidInput."""
    with reading(app.engine) as conn:
        slug = rows.get_installation_row(conn, partner_id, installation_id).extension
        if not needs_vetting(slug):
            return values
        target = build_target(app, conn, partner_id, installation_id, integration_id)
        installation = rows.get_installation_row(conn, partner_id, installation_id)
    ext = registry.extension(slug)
    dropped = {k for k, v in values.items() if v == ""}
    cleaned = ext.clean_integration({k: v for k, v in values.items() if k not in dropped})
    config, secrets = split_secrets(ext.secret_names(), cleaned)
    fallback = effective_config(ext, installation.config)
    merged = {k: v for k, v in target.config.items() if k not in dropped}
    merged.update({k: fallback[k] for k in dropped if k in fallback})
    target = replace(target, config={**merged, **config}, secrets={**target.secrets, **secrets})
    connector = registry.make_connector(slug, app.settings.network_policy)
    try:
        found = run(_vetted(connector, target))
    except ConnectorError as exc:
        said = redact(exc.message, target.secrets.values())
        raise InvalidInput(f"{ext.name} could not check this client's values: {said}") from None
    except InvalidInput as exc:
        raise InvalidInput(redact(str(exc), target.secrets.values()), field=exc.field) from None
    return {**values, **found}


async def _vetted(connector: Connector, target: Any) -> dict[str, Any]:
    try:
        return await connector.vet(target)
    finally:
        await connector.close()


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from synchronous code, in an event loop of its own
    (in another thread when this one already runs a loop, as a web request does)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
