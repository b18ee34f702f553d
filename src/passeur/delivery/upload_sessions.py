"""Upload sessions kept between an export's tries (`target.uploads`), so that a large
file cut off in one try is resumed by the next, in any worker, instead of sent again.

One row per export key, written when a session opens (and when a try ends with the
session still open), read at the start of the next try, deleted once the file is
delivered. The handle (Google's session URI, Microsoft's upload URL, Dropbox's session
id) lets whoever holds it write to the account, so it is sealed like a secret, bound to
the installation and the export. A row past the provider's session lifetime is never
handed out, and housekeeping deletes it (`prune`).
"""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import Connection, Engine, select

from passeur.bootstrap import App
from passeur.delivery.targets import installation_owner
from passeur.domain.extensions import UploadSession
from passeur.storage.db import transaction
from passeur.storage.tables import upload_sessions as table


class StoredSessions:
    """One installation's upload sessions (an `UploadSessions`), in the ledger."""

    def __init__(self, app: App, partner_id: int, installation_id: int) -> None:
        self._app = app
        self._partner_id = partner_id
        self._installation_id = installation_id

    async def find(self, export_key: str) -> UploadSession | None:
        return await asyncio.to_thread(self._find, export_key)

    async def keep(self, export_key: str, session: UploadSession) -> None:
        await asyncio.to_thread(self._keep, export_key, session)

    async def forget(self, export_key: str) -> None:
        await asyncio.to_thread(self._forget, export_key)

    def _owner(self, export_key: str) -> str:
        return f"{installation_owner(self._partner_id, self._installation_id)}/upload:{export_key}"

    def _find(self, export_key: str) -> UploadSession | None:
        query = select(table).where(
            table.c.export_key == export_key, table.c.installation_id == self._installation_id
        )
        with self._app.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or row.expires_at <= time.time():
            return None
        handle = self._app.secrets.open(row.handle, self._owner(export_key))["handle"]
        return UploadSession(handle, row.size, row.sha256, row.expires_at, row.confirmed)

    def _keep(self, export_key: str, session: UploadSession) -> None:
        sealed = self._app.secrets.seal({"handle": session.handle}, self._owner(export_key))
        with transaction(self._app.engine) as conn:
            self._delete(conn, export_key)
            conn.execute(
                table.insert().values(
                    export_key=export_key,
                    installation_id=self._installation_id,
                    handle=sealed,
                    size=session.size,
                    sha256=session.sha256,
                    confirmed=session.confirmed,
                    expires_at=session.expires_at,
                )
            )

    def _forget(self, export_key: str) -> None:
        with transaction(self._app.engine) as conn:
            self._delete(conn, export_key)

    def _delete(self, conn: Connection, export_key: str) -> None:
        conn.execute(
            table.delete().where(
                table.c.export_key == export_key,
                table.c.installation_id == self._installation_id,
            )
        )


def prune(engine: Engine, now: float | None = None) -> int:
    """Delete the sessions past their provider's lifetime (a try never came back for
    them: the export was delivered another way, rejected or cancelled)."""
    with transaction(engine) as conn:
        gone = conn.execute(
            table.delete().where(table.c.expires_at <= (time.time() if now is None else now))
        )
    return int(gone.rowcount or 0)
