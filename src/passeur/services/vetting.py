"""Asking the target about a client's own values before its integration is saved: an
accounting package refuses an administration (or company) it does not have, and the
partner learns it when saving, with the target's reason, not at the first delivery.

Only connectors that override `Connector.vet` are asked. The call runs before the saving
transaction (no lock is held while the target answers), on an event loop of its own: the
use cases are synchronous and may be called from a web handler's loop. When the target
cannot be asked (not signed in yet, unreachable), the integration is saved: its
deliveries will say what is wrong, the way they always do.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from dataclasses import replace
from typing import Any

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.base import Connector
from passeur.connectors.errors import ConnectorError
from passeur.delivery.targets import build_target
from passeur.domain.errors import InvalidInput
from passeur.domain.redaction import redact
from passeur.storage.db import reading


def asks_the_target(slug: str) -> bool:
    return registry.connector_class(slug).vet is not Connector.vet


def vet(app: App, partner_id: int, installation_id: int, slug: str, config: dict[str, Any]) -> None:
    """Raise InvalidInput when the target refuses the integration's values `config`
    (cleaned, no secrets); return when it accepts them or cannot be asked."""
    if not asks_the_target(slug):
        return
    with reading(app.engine) as conn:
        target = build_target(app, conn, partner_id, installation_id, None)
    target = replace(target, config={**target.config, **config})
    connector = registry.make_connector(slug, app.settings.network_policy)

    async def ask() -> None:
        try:
            await connector.vet(target)
        except ConnectorError:
            return  # cannot be asked now: deliveries will tell
        finally:
            await connector.close()

    try:
        _run(ask)
    except InvalidInput as exc:  # its message may quote what the target said
        raise InvalidInput(redact(str(exc), target.secrets.values()), field=exc.field) from None


def _run(ask: Any) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(ask())
        return
    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop is running here
        pool.submit(asyncio.run, ask()).result()
