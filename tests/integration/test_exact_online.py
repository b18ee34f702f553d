"""Exact Online end to end, on SQLite and PostgreSQL: one sign-in per installation on its
country's host, the Company Code checked at save, refreshes serialised by the database
across processes, delivery through the worker, and the lock-out never reached."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import delete, func, insert, select

from passeur.bootstrap import App, build
from passeur.connectors import oauth
from passeur.delivery import pacer
from passeur.delivery.call_pacer import Windows
from passeur.delivery.worker import Worker
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ErrorClass, ExportState
from passeur.formats.intake import read_document
from passeur.sandbox.exact_online_server import ExactOnlineServer, ThreadedExactOnlineServer
from passeur.services import exports, installations, integrations, oauth_grants
from passeur.storage import schema
from passeur.storage.db import reading, transaction
from passeur.storage.tables import call_windows
from passeur.storage.tables import integrations as integration_table
from tests.conftest import make_settings
from tests.factories import Firm, approve_invoices, firm
from tests.oauth_provider import sign_in

COMPANY = 123456
SCALE = 30.0  # the stand-in's minute and the pacer's both last 2 s: the tests go fast


@pytest.fixture
def exact() -> Iterator[ExactOnlineServer]:
    threaded = ThreadedExactOnlineServer(
        ExactOnlineServer(client_id="passeur-exact", time_scale=SCALE)
    )
    yield threaded.start()
    threaded.stop()


@pytest.fixture
def app(tmp_path: Path, database_url: str, exact: ExactOnlineServer) -> Iterator[App]:
    settings = make_settings(
        tmp_path / "data",
        database_url,
        allowed_networks="127.0.0.0/8",
        pacing_time_scale=SCALE,
        **exact.settings(),
    )
    built = build(settings)
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    yield built
    built.close()


async def _signed_in(app: App) -> tuple[Firm, int]:
    f = firm(app, n_clients=2)
    inst = installations.install(app, f.partner_id, "exact_online", "Exact", {"country": "be"})
    await sign_in(app, f.partner_id, inst.id)
    return f, inst.id


def _integrations(app: App) -> int:
    with reading(app.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(integration_table)).scalar_one())


async def test_one_sign_in_serves_every_client_and_documents_arrive(
    app: App, exact: ExactOnlineServer, shared_data: Path
) -> None:
    f, inst = await _signed_in(app)
    with pytest.raises(InvalidInput, match="no company 999") as caught:
        integrations.add(app, f.partner_id, f.clients[0].id, inst, {"company_code": 999})
    assert caught.value.field == "company_code" and _integrations(app) == 0
    for client, code in zip(f.clients, (123456, 234567), strict=True):
        integrations.add(app, f.partner_id, client.id, inst, {"company_code": code})
    approve_invoices(app, f, shared_data, 2, client=0)
    approve_invoices(app, f, shared_data, 1, client=1)
    await Worker(app).run(asyncio.Event(), drain=True)
    states = [r["export"].state for r in exports.list_exports(app, f.partner_id)]
    assert states == [ExportState.DELIVERED] * 3
    for _, arrived in exact.stored():  # e-fff: the sample UBL with its PDF embedded
        reading = read_document(arrived)
        assert reading.number == "Snippet1" and reading.embedded_pdf is not None
    assert len(exact.documents_in(123456)) == 2 and len(exact.documents_in(234567)) == 1
    assert exact.exchanges == 1  # one connection for the installation, not one per client


async def test_two_processes_refreshing_at_once_refresh_once(
    app: App, exact: ExactOnlineServer
) -> None:
    f, inst = await _signed_in(app)
    other = build(app.settings)  # another process: its own engine and locks
    held = oauth_grants._read(app, f.partner_id, inst)[0]
    oauth_grants.store(
        app, f.partner_id, inst, oauth.Grant("x", time.time() - 1, held.refresh_token)
    )
    exact.expire_access_tokens()
    exact.token_delay = 0.5  # the first refresh is under way when the second asks

    def ask(which: App) -> str:
        return asyncio.run(oauth_grants.valid_token(which, f.partner_id, inst))

    try:
        with ThreadPoolExecutor(2) as pool:
            tokens = list(pool.map(ask, (app, other)))
    finally:
        other.close()
    assert tokens[0] == tokens[1]
    assert exact.refreshes == 1 and exact.refused_refreshes == 0
    # The rotated refresh token was kept: the next refresh works.
    exact.expire_access_tokens()
    assert await oauth_grants.valid_token(app, f.partner_id, inst, refused=tokens[0])


class _Killed(BaseException):
    """A worker SIGKILLed between Exact's refresh answer and the commit that keeps it."""


async def test_a_worker_killed_before_it_kept_a_rotated_token_loses_nothing(
    app: App, exact: ExactOnlineServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Exact kills earlier refresh tokens once the new one is used (targets.md §1.2): the
    # one still stored works again, and the chaos run's kills no longer park Exact.
    f, inst = await _signed_in(app)
    integrations.add(app, f.partner_id, f.clients[0].id, inst, {"company_code": COMPANY})
    kept = oauth_grants._read(app, f.partner_id, inst)[0].refresh_token
    oauth_grants.store(app, f.partner_id, inst, oauth.Grant("x", time.time() - 1, kept))
    exact.expire_access_tokens()
    write = oauth_grants._write

    def dies(*args: object, **kw: object) -> None:
        raise _Killed

    monkeypatch.setattr(oauth_grants, "_write", dies)
    with pytest.raises(_Killed):
        await oauth_grants.valid_token(app, f.partner_id, inst)
    monkeypatch.setattr(oauth_grants, "_write", write)
    assert exact.refreshes == 1  # Exact rotated; the new tokens died with the worker
    assert oauth_grants._read(app, f.partner_id, inst)[0].refresh_token == kept
    exact.expire_access_tokens()  # the lost access token's time is up too
    token = await oauth_grants.valid_token(app, f.partner_id, inst)
    assert exact.refused_refreshes == 0
    with reading(app.engine) as conn:
        statuses = conn.execute(select(integration_table.c.status)).scalars().all()
    assert statuses == ["active"]
    # The chain goes on from the token kept, and the one before it is dead once used.
    exact.expire_access_tokens()
    again = await oauth_grants.valid_token(app, f.partner_id, inst, refused=token)
    assert again != token and exact.refreshes == 3 and exact.refused_refreshes == 0


async def test_a_failing_company_is_never_called_into_the_lock_out(
    app: App, exact: ExactOnlineServer, shared_data: Path
) -> None:
    f, inst = await _signed_in(app)
    integrations.add(app, f.partner_id, f.clients[0].id, inst, {"company_code": COMPANY})
    exact.closed_before = "2100-01-01"  # every document falls in a closed period
    approve_invoices(app, f, shared_data, 11)  # past the 10 that lock out
    await Worker(app).run(asyncio.Event(), drain=True)
    rows = [r["export"] for r in exports.list_exports(app, f.partner_id)]
    failed = [r for r in rows if r.state is ExportState.FAILED]
    assert failed and all(r.state is not ExportState.DELIVERED for r in rows)
    assert "is closed: no new entries can be made" in failed[0].last_error
    assert exact.failing_calls == 5  # half of Exact's budget, then no more calls
    assert exact.lockouts == 0 and exact.documents == {}


async def test_a_company_whose_day_is_used_up_waits_for_the_reset_and_the_others_go_on(
    app: App, exact: ExactOnlineServer, shared_data: Path
) -> None:
    f, inst = await _signed_in(app)
    busy, other = 234567, 123456
    for client, code in zip(f.clients, (busy, other), strict=True):
        integrations.add(app, f.partner_id, client.id, inst, {"company_code": code})
    windows = Windows.scaled(SCALE)  # a day of 48 minutes, in the pacer as in the stand-in
    day_start = math.floor(time.time() / windows.day) * windows.day
    with transaction(app.engine) as conn:  # today's 5,000 calls of the busy company are made
        mine = (call_windows.c.installation_id == inst) & (call_windows.c.account == str(busy))
        conn.execute(delete(call_windows).where(mine))  # saving it checked its journals
        conn.execute(
            insert(call_windows).values(
                installation_id=inst, account=str(busy), day_start=day_start, day_calls=5000
            )
        )
    calls_before = exact.calls_per_division[busy]  # saving checked its journals
    approve_invoices(app, f, shared_data, 1, client=0)
    approve_invoices(app, f, shared_data, 1, client=1)
    await Worker(app).run(asyncio.Event(), drain=True)
    rows = {
        r["export"].integration_id: r["export"] for r in exports.list_exports(app, f.partner_id)
    }
    waiting, went = sorted(rows.values(), key=lambda e: e.state is ExportState.DELIVERED)
    assert went.state is ExportState.DELIVERED and len(exact.documents_in(other)) == 1
    assert waiting.state is ExportState.RETRYING and waiting.attempts == 1
    assert waiting.last_error_class is ErrorClass.RATE_LIMITED
    assert "calls a day for company 234567 are used up" in waiting.last_error
    due = waiting.next_attempt_at.replace(tzinfo=UTC).timestamp()
    assert abs(due - (day_start + windows.day)) < 5, "due when the day's count starts again"
    assert exact.calls_per_division[busy] == calls_before and exact.violations == 0
    with reading(app.engine) as conn:  # the installation's other companies are not held
        held = pacer.state(conn, inst)
    assert held is None or (held.blocked_until is None and held.hour_errors == 0)
