"""Upload sessions kept between an export's tries (delivery/upload_sessions.py), on the
real databases: sealed, walled per installation, gone once expired."""

from __future__ import annotations

import time

from sqlalchemy import select

from passeur.bootstrap import App
from passeur.delivery.upload_sessions import StoredSessions, prune
from passeur.domain.extensions import UploadSession
from passeur.storage.tables import upload_sessions

URL = "https://www.googleapis.com/upload/drive/v3/files?uploadType=resumable&upload_id=SECRET1"


async def test_a_session_is_kept_sealed_found_again_and_forgotten(app: App) -> None:
    store = StoredSessions(app, 1, 10)
    session = UploadSession(URL, 20_000_000, "ab" * 32, time.time() + 3600, confirmed=5)
    await store.keep("psr-d1-i1-v1", session)
    assert await store.find("psr-d1-i1-v1") == session
    with app.engine.connect() as conn:
        stored = conn.execute(select(upload_sessions.c.handle)).scalar_one()
    assert "SECRET1" not in stored and URL not in stored  # the address is a credential
    await store.keep("psr-d1-i1-v1", UploadSession(URL, 20_000_000, "ab" * 32, time.time() + 60))
    assert (await store.find("psr-d1-i1-v1")).confirmed == 0  # type: ignore[union-attr]
    await store.forget("psr-d1-i1-v1")
    assert await store.find("psr-d1-i1-v1") is None


async def test_another_installation_neither_sees_nor_forgets_it(app: App) -> None:
    ours, theirs = StoredSessions(app, 1, 10), StoredSessions(app, 2, 20)
    session = UploadSession(URL, 100, "cd" * 32, time.time() + 3600)
    await ours.keep("psr-d1-i1-v1", session)
    assert await theirs.find("psr-d1-i1-v1") is None
    await theirs.forget("psr-d1-i1-v1")
    assert await ours.find("psr-d1-i1-v1") == session


async def test_an_expired_session_is_never_handed_out_and_is_pruned(app: App) -> None:
    store = StoredSessions(app, 1, 10)
    await store.keep("old", UploadSession(URL, 100, "ef" * 32, time.time() - 1))
    await store.keep("new", UploadSession(URL, 100, "ef" * 32, time.time() + 3600))
    assert await store.find("old") is None
    assert prune(app.engine) == 1
    assert await store.find("new") is not None
