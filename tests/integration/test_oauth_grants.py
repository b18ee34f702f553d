"""Shared OAuth: sign-in with PKCE, the grant store, refreshes serialised across processes,
a revoked grant parking its integrations. Against the local stand-in provider."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.connectors import oauth
from passeur.connectors.errors import NeedsReauth
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.delivery.worker import Worker
from passeur.domain.exports import ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.oauth_server import OAuthServer, ThreadedOAuthServer
from passeur.services import exports, installations, integrations, oauth_grants, oauth_signin
from passeur.services.installations import installation_owner
from passeur.storage import schema
from passeur.storage.db import reading
from passeur.storage.tables import installations as installation_table
from passeur.storage.tables import oauth_states
from tests.conftest import make_settings
from tests.factories import Firm, add_integration, approve_invoices, firm
from tests.oauth_provider import (
    FAKE,
    REDIRECT_URI,
    approve_at,
    register,
    revoked_while_working,
    sign_in,
    use_provider,
)

LOOPBACK = "127.0.0.0/8"


@pytest.fixture
def provider() -> Iterator[OAuthServer]:
    threaded = ThreadedOAuthServer(OAuthServer(access_lifetime=30))
    yield threaded.start()
    threaded.stop()


@pytest.fixture
def oauth_app(
    tmp_path: Path, database_url: str, provider: OAuthServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """An app that may reach loopback, with Fake Books registered and signing in at the
    stand-in."""
    built = build(make_settings(tmp_path / "data", database_url, allowed_networks=LOOPBACK))
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    register(monkeypatch, FAKE)
    use_provider(monkeypatch, provider)
    yield built
    built.close()


def _install(app: App) -> tuple[int, int]:
    f = firm(app, n_clients=1)
    return f.partner_id, installations.install(app, f.partner_id, "fakebooks", "Books", {}).id


def _installed_firm(app: App) -> tuple[Firm, int]:
    f = firm(app, n_clients=2)
    return f, installations.install(app, f.partner_id, "fakebooks", "Books", {}).id


def _secrets(app: App, partner_id: int, installation_id: int) -> dict[str, str]:
    with reading(app.engine) as conn:
        sealed = conn.execute(
            select(installation_table.c.secrets).where(installation_table.c.id == installation_id)
        ).scalar_one()
    return app.secrets.open(sealed, installation_owner(partner_id, installation_id))


def _make_stale(app: App, partner_id: int, installation_id: int) -> None:
    """The stored access token is past its end (its refresh token still works)."""
    held = _secrets(app, partner_id, installation_id)
    grant = oauth.Grant("stale-token", time.time() - 1, held["refresh_token"], 30.0)
    oauth_grants.store(app, partner_id, installation_id, grant)


async def _api_status(token: str, provider: OAuthServer) -> int:
    http = Outbound(Guard(NetworkPolicy.parse(LOOPBACK)))
    try:
        answer = await http.request(
            "GET", f"{provider.url}/api/me", headers={"Authorization": f"Bearer {token}"}
        )
    finally:
        await http.close()
    return answer.status


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sign_in_sends_a_pkce_challenge_and_a_wrong_verifier_is_refused(
    oauth_app: App, provider: OAuthServer
) -> None:
    partner_id, installation_id = _install(oauth_app)
    url = oauth_signin.begin(oauth_app, partner_id, installation_id, REDIRECT_URI)
    assert "code_challenge_method=S256" in url and "code_challenge=" in url
    with reading(oauth_app.engine) as conn:
        kept = conn.execute(select(oauth_states.c.code_verifier)).scalar_one()
    assert kept.startswith("v1.")  # sealed, not in clear

    answer = approve_at(url)
    client = oauth.OAuthClient(provider.token_url, provider.client_id)
    http = Outbound(Guard(oauth_app.settings.network_policy))
    try:
        with pytest.raises(NeedsReauth, match="sign-in code"):
            await oauth.exchange_code(http, client, answer["code"], REDIRECT_URI, "x" * 64)
    finally:
        await http.close()
    assert provider.exchanges == 0

    await sign_in(oauth_app, partner_id, installation_id)
    assert provider.exchanges == 1
    held = _secrets(oauth_app, partner_id, installation_id)
    assert held["refresh_token"] in provider.live_refresh_tokens()
    # A connector's target never carries the grant; it asks target.tokens.
    with reading(oauth_app.engine) as conn:
        target = installations.build_target(oauth_app, conn, partner_id, installation_id, None)
    assert not set(target.secrets) & oauth_grants.GRANT_FIELDS
    assert target.tokens is not None
    assert await target.tokens.token() == held["access_token"]


async def test_a_token_is_refreshed_before_it_expires_and_the_rotated_one_is_kept_sealed(
    oauth_app: App, provider: OAuthServer
) -> None:
    provider.access_lifetime = 6.0  # refreshed once less than a quarter is left
    partner_id, installation_id = _install(oauth_app)
    await sign_in(oauth_app, partner_id, installation_id)
    first = _secrets(oauth_app, partner_id, installation_id)
    assert (
        await oauth_grants.valid_token(oauth_app, partner_id, installation_id)
        == (first["access_token"])
    )
    assert provider.refreshes == 0

    deadline = time.monotonic() + 30
    seen = {first["access_token"]}
    while provider.refreshes < 1:
        assert time.monotonic() < deadline, "no refresh happened"
        token = await oauth_grants.valid_token(oauth_app, partner_id, installation_id)
        # Every token handed out is still accepted: refreshed before it expired.
        assert await _api_status(token, provider) == 200
        seen.add(token)
        await asyncio.sleep(0.05)
    assert len(seen) == 2

    held = _secrets(oauth_app, partner_id, installation_id)
    assert provider.live_refresh_tokens() == [held["refresh_token"]]
    assert held["refresh_token"] != first["refresh_token"]
    with reading(oauth_app.engine) as conn:
        raw = conn.execute(select(installation_table.c.secrets)).scalar_one()
    assert held["refresh_token"] not in raw and held["access_token"] not in raw


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_provider_that_refuses_an_early_refresh_gets_the_token_used_until_then(
    oauth_app: App, provider: OAuthServer
) -> None:
    partner_id, installation_id = _install(oauth_app)
    await sign_in(oauth_app, partner_id, installation_id)
    provider.refresh_window = 5.0  # Exact: only in the token's last seconds
    held = _secrets(oauth_app, partner_id, installation_id)
    # Our margin says refresh (8 s left of 40), the provider says too early (about 30 left).
    soon = oauth.Grant(held["access_token"], time.time() + 8, held["refresh_token"], 40.0)
    oauth_grants.store(oauth_app, partner_id, installation_id, soon)
    token = await oauth_grants.valid_token(oauth_app, partner_id, installation_id)
    assert token == held["access_token"] and provider.refreshes == 0
    assert await _api_status(token, provider) == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_worker_keeps_a_good_token_in_memory_and_rereads_a_refused_one(
    oauth_app: App, provider: OAuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    partner_id, installation_id = _install(oauth_app)
    await sign_in(oauth_app, partner_id, installation_id)
    reads = []
    real = oauth_grants._read
    monkeypatch.setattr(oauth_grants, "_read", lambda *a: reads.append(a) or real(*a))
    tokens = oauth_grants.GrantTokens(oauth_app, partner_id, installation_id)
    first = await tokens.token()
    assert [await tokens.token() for _ in range(5)] == [first] * 5
    assert len(reads) == 1, "a good token is handed out again without reading the grant"
    fresh = await tokens.token(refused=first)
    assert fresh != first and provider.refreshes == 1 and len(reads) == 2
    assert set(tokens.handed_out()) == {first, fresh}


async def test_a_401_gets_one_new_token_and_the_call_is_sent_again(
    oauth_app: App, provider: OAuthServer
) -> None:
    partner_id, installation_id = _install(oauth_app)
    await sign_in(oauth_app, partner_id, installation_id)
    tokens = oauth_grants.GrantTokens(oauth_app, partner_id, installation_id)
    http = Outbound(Guard(oauth_app.settings.network_policy))
    sent: list[str] = []

    async def call(token: str) -> oauth.Answer:
        sent.append(token)
        headers = {"Authorization": f"Bearer {token}"}
        return await http.request("GET", f"{provider.url}/api/me", headers=headers)

    try:
        provider.expire_access_tokens()  # still valid for us, refused by the API
        assert (await oauth.with_token(tokens, call)).status == 200
        assert provider.refreshes == 1 and len(sent) == 2 and sent[0] != sent[1]

        provider.revoke()  # refused again, and the refresh too: no third call
        with pytest.raises(NeedsReauth, match="Sign in again"):
            await oauth.with_token(tokens, call)
        assert len(sent) == 3
    finally:
        await http.close()


async def test_a_revoked_grant_parks_every_integration_and_loses_no_export(
    oauth_app: App, provider: OAuthServer, shared_data: Path
) -> None:
    f, installation_id = _installed_firm(oauth_app)
    partner_id = f.partner_id
    linked = [add_integration(oauth_app, partner_id, c.id, installation_id) for c in f.clients]
    await sign_in(oauth_app, partner_id, installation_id)
    approve_invoices(oauth_app, f, shared_data, 2, client=0)
    approve_invoices(oauth_app, f, shared_data, 1, client=1)
    assert _export_states(oauth_app, partner_id) == [ExportState.PENDING] * 3

    provider.revoke()
    _make_stale(oauth_app, partner_id, installation_id)
    with pytest.raises(NeedsReauth, match="Sign in again"):
        await oauth_grants.valid_token(oauth_app, partner_id, installation_id)
    for integration_id in linked:
        parked = integrations.get(oauth_app, partner_id, integration_id)
        assert parked.status is IntegrationStatus.NEEDS_ATTENTION
        assert parked.status_reason.startswith("Sign in again")
    assert _export_states(oauth_app, partner_id) == [ExportState.NEEDS_ATTENTION] * 3

    await sign_in(oauth_app, partner_id, installation_id)  # the person signs in again
    for integration_id in linked:
        back = integrations.get(oauth_app, partner_id, integration_id)
        assert back.status is IntegrationStatus.ACTIVE
    assert _export_states(oauth_app, partner_id) == [ExportState.PENDING] * 3
    token = await oauth_grants.valid_token(oauth_app, partner_id, installation_id)
    assert await _api_status(token, provider) == 200


async def test_a_worker_parks_exports_when_the_grant_is_revoked_and_sends_them_after_sign_in(
    oauth_app: App, provider: OAuthServer, shared_data: Path
) -> None:
    f = firm(oauth_app, n_clients=1)
    partner_id = f.partner_id
    values = {"api_url": provider.url}
    installation_id = installations.install(oauth_app, partner_id, "fakebooks", "B", values).id
    integration_id = add_integration(oauth_app, partner_id, f.clients[0].id, installation_id)
    await sign_in(oauth_app, partner_id, installation_id)
    approve_invoices(oauth_app, f, shared_data, 1)
    await Worker(oauth_app).run(asyncio.Event(), drain=True)
    assert _export_states(oauth_app, partner_id) == [ExportState.DELIVERED]

    await revoked_while_working(oauth_app, f, shared_data, integration_id, provider.revoke)

    await sign_in(oauth_app, partner_id, installation_id)
    await Worker(oauth_app).run(asyncio.Event(), drain=True)
    assert _export_states(oauth_app, partner_id) == [ExportState.DELIVERED] * 3


async def test_a_token_in_a_connector_error_is_redacted(
    oauth_app: App, provider: OAuthServer, shared_data: Path
) -> None:
    f = firm(oauth_app, n_clients=1)
    values = {"api_url": provider.url}
    installation_id = installations.install(oauth_app, f.partner_id, "fakebooks", "B", values).id
    add_integration(oauth_app, f.partner_id, f.clients[0].id, installation_id)
    await sign_in(oauth_app, f.partner_id, installation_id)
    provider.api_refuses = True  # a 401, one refresh, a 401 again
    approve_invoices(oauth_app, f, shared_data, 1)
    await Worker(oauth_app).run(asyncio.Event(), drain=True)
    assert provider.refreshes == 1
    (row,) = exports.list_exports(oauth_app, f.partner_id)
    token = _secrets(oauth_app, f.partner_id, installation_id)["access_token"]
    assert "refused the access token" in row["export"].last_error
    assert token not in row["export"].last_error


def _export_states(app: App, partner_id: int) -> list[ExportState]:
    return sorted(r["export"].state for r in exports.list_exports(app, partner_id))


# Two worker processes find the same stale token at once. With rotation, had they both
# refreshed, the second would have used a dead refresh token and parked the installation.
_WORKER = textwrap.dedent(
    """
    import asyncio, sys, time
    from pathlib import Path
    from passeur.bootstrap import build
    from passeur.connectors.oauth import OAuthClient
    from passeur.services.oauth_grants import valid_token

    partner_id, installation_id, token_url, client_id, ready, go = sys.argv[1:]
    app = build(worker=True)
    client = OAuthClient(token_url, client_id)
    Path(ready).write_text("ready")
    deadline = time.monotonic() + 60
    while not Path(go).exists():
        assert time.monotonic() < deadline, "never told to go"
        time.sleep(0.01)
    print(asyncio.run(valid_token(app, int(partner_id), int(installation_id), client=client)))
    """
)


async def test_two_worker_processes_refreshing_at_once_refresh_once(
    oauth_app: App, provider: OAuthServer, tmp_path: Path
) -> None:
    partner_id, installation_id = _install(oauth_app)
    await sign_in(oauth_app, partner_id, installation_id)
    _make_stale(oauth_app, partner_id, installation_id)
    provider.token_delay = 0.5  # the first refresh is still under way when the second asks
    env = {
        **oauth_app.settings.as_environment(),
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    go = tmp_path / "go"
    readies = [tmp_path / f"ready-{n}" for n in range(2)]
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WORKER,
                str(partner_id),
                str(installation_id),
                provider.token_url,
                provider.client_id,
                str(ready),
                str(go),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ready in readies
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(r.exists() for r in readies):
            assert time.monotonic() < deadline, "the workers did not start"
            assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
            await asyncio.sleep(0.02)
        go.write_text("go")
        results = [await asyncio.to_thread(w.communicate, timeout=60) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0], results
    tokens = {out.strip() for out, _ in results}
    assert len(tokens) == 1, results
    assert provider.refreshes == 1 and provider.refused_refreshes == 0
    token = tokens.pop()
    assert token == _secrets(oauth_app, partner_id, installation_id)["access_token"]
    assert await _api_status(token, provider) == 200
