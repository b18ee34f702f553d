"""The contract suite's fixtures for the cloud folders (Dropbox, Google Drive, OneDrive),
written once. A test module describes its provider and takes the fixtures:

    PROVIDER = Provider(slug=..., server=..., connector=..., config=..., ...)
    globals().update(fixtures(PROVIDER))  # provider, server, tokens, connector, target, …

    class TestXContract(CloudContract):
        slug = "..."
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.cloud_folder import CloudConnector
from passeur.connectors.errors import (
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from tests.connectors.contract import CONTENT, ConnectorContract, Copies, Fetch
from tests.connectors.parcels import big_parcel, make_parcel
from tests.connectors.signed_in import RefusedTokens, StandInTokens, sign_in
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")


@dataclass(frozen=True)
class Provider:
    slug: str
    server: Callable[[], Any]  # the stand-in, not started yet
    connector: Callable[[], CloudConnector]  # with small limits, so sessions are tested
    config: Callable[[str], dict[str, str]]  # the target's configuration for a base URL
    shown_as: str = ""  # the provider's name in messages ("Google Drive")
    full: str = ""  # what the accountant reads when the account is full
    account: str = ""  # what test connection names


@pytest.fixture(name="server")
async def _server(provider: Provider) -> AsyncIterator[Any]:
    made = provider.server()
    await made.start()
    yield made
    await made.stop()


@pytest.fixture(name="tokens")
async def _tokens(connector: CloudConnector, server: Any) -> AsyncIterator[StandInTokens]:
    """Signed in as the extension signs in (its scope and authorize parameters)."""
    spec = connector.extension.oauth
    assert spec is not None
    asked = (("scope", spec.scope), *spec.authorize_params)
    http = Outbound(Guard(LOOPBACK))
    yield await sign_in(http, server.authorize_url, server.token_url, server.client_id, asked)
    await http.close()


@pytest.fixture(name="connector")
async def _connector(provider: Provider) -> AsyncIterator[CloudConnector]:
    made = provider.connector()
    yield made
    await made.close()


@pytest.fixture(name="target")
def _target(provider: Provider, server: Any, tokens: StandInTokens) -> Target:
    return Target(1, 1, provider.slug, provider.config(server.url), tokens=tokens)


@pytest.fixture(name="bad_credentials_target")
def _bad_credentials_target(target: Target) -> Target:
    return replace(target, tokens=RefusedTokens())


@pytest.fixture(name="unreachable_target")
def _unreachable_target(provider: Provider, target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config=provider.config(f"http://127.0.0.1:{port}"))


@pytest.fixture(name="fetch")
def _fetch(server: Any) -> Fetch:
    async def fetch(receipt: Receipt) -> bytes:
        content = server.delivered(receipt.as_dict())
        assert content is not None, receipt.location
        return content

    return fetch


@pytest.fixture(name="copies")
def _copies(server: Any) -> Copies:
    async def copies(parcel: Parcel) -> int:
        tail = f"_d{parcel.document.id}.{parcel.document.extension}"
        return sum(1 for path, _ in server.stored() if path.endswith(tail))

    return copies


def fixtures(spec: Provider) -> dict[str, Any]:
    """The fixtures of a module that tests this provider, by name (pytest finds them
    among the module's names)."""

    @pytest.fixture(name="provider")
    def _provider() -> Provider:
        return spec

    return {f.__name__.lstrip("_"): f for f in (_provider, *_FIXTURES)}


_FIXTURES = (
    _server,
    _tokens,
    _connector,
    _target,
    _bad_credentials_target,
    _unreachable_target,
    _fetch,
    _copies,
)


class CloudContract(ConnectorContract):
    """The contract suite, and what every cloud folder does alike, against its stand-in
    (every stand-in has `fail_next`, `quota`, `stored`, `delivered`,
    `expire_access_tokens` and `revoke`)."""

    async def test_a_different_file_of_that_name_is_left_alone(
        self, provider: Provider, connector: CloudConnector, target: Target, server: Any,
        tmp_path: Path,
    ) -> None:  # fmt: skip
        await connector.deliver(target, make_parcel(tmp_path / "a", CONTENT))
        wanted = rf"a different file named .* is already in {provider.shown_as}"
        with pytest.raises(Rejected, match=wanted):
            await connector.deliver(target, make_parcel(tmp_path / "b", CONTENT + b"edited"))
        assert len(server.stored()) == 1

    async def test_429_waits_what_the_provider_says(
        self, provider: Provider, connector: CloudConnector, target: Target, server: Any,
        tmp_path: Path,
    ) -> None:  # fmt: skip
        server.fail_next(429, retry_after=7)
        with pytest.raises(RateLimited) as caught:
            await connector.deliver(target, make_parcel(tmp_path, CONTENT))
        assert caught.value.retry_after == 7 and server.stored() == []
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))  # then it goes

    async def test_a_5xx_is_transient(
        self, connector: CloudConnector, target: Target, server: Any, tmp_path: Path
    ) -> None:
        server.fail_next(500, reason="backendError")
        with pytest.raises(TransientError) as caught:
            await connector.deliver(target, make_parcel(tmp_path, CONTENT))
        assert not isinstance(caught.value, RateLimited)

    async def test_an_expired_access_token_is_refreshed_once(
        self, provider: Provider, connector: CloudConnector, target: Target, server: Any,
        tmp_path: Path,
    ) -> None:  # fmt: skip
        server.expire_access_tokens()
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
        assert server.refreshes == 1 and len(server.stored()) == 1

    async def test_a_revoked_grant_needs_a_new_sign_in_and_no_token_is_shown(
        self, provider: Provider, connector: CloudConnector, target: Target, server: Any,
        tokens: StandInTokens, tmp_path: Path,
    ) -> None:  # fmt: skip
        server.revoke()
        with pytest.raises(NeedsReauth) as caught:
            await connector.deliver(target, make_parcel(tmp_path, CONTENT))
        for token in [*tokens.handed_out(), tokens.grant.refresh_token]:
            assert token not in caught.value.message
        assert server.stored() == []

    async def test_a_full_account_waits_for_a_person_with_a_plain_message(
        self, provider: Provider, connector: CloudConnector, target: Target, server: Any,
        tmp_path: Path,
    ) -> None:  # fmt: skip
        server.quota = 1000
        with pytest.raises(Misconfigured, match=provider.full):
            await connector.deliver(target, make_parcel(tmp_path, CONTENT))
        large, _ = big_parcel(tmp_path, size=700 * 1024)
        with pytest.raises(Misconfigured, match=provider.full):
            await connector.deliver(target, large)
        assert server.stored() == []

    async def test_a_sign_in_without_offline_access_is_refused_clearly(self, server: Any) -> None:
        http = Outbound(Guard(LOOPBACK))
        try:
            with pytest.raises(Misconfigured, match="gave no refresh token"):
                await sign_in(http, server.authorize_url, server.token_url, server.client_id)
        finally:
            await http.close()

    async def test_check_names_the_account(
        self, provider: Provider, connector: CloudConnector, target: Target
    ) -> None:
        result = await connector.check(target)
        assert result.ok and provider.account in result.message


MIB = 1024 * 1024
RESUMED_SIZE = 20 * MIB  # a document at the scale sessions exist for
CUT_AT = 9 * MIB + 4321  # where the first try's connection is cut


async def cut_then_resumed_by_another_worker(
    make: Callable[[], CloudConnector],
    chunk: int,
    cut: Callable[[int], None],
    target: Target,
    server: Any,
    tmp_path: Path,
    app: Any,
) -> None:
    """A 20 MB document's first try is cut mid-session and stays cut off (the try ends);
    the next try, by a new connector (another worker) with the ledger's session store,
    asks the provider where the session is and sends only the rest: one file, every
    byte, and about the file's size received in all, not the file and a half."""
    from passeur.delivery.upload_sessions import StoredSessions

    parcel, content = big_parcel(tmp_path, size=RESUMED_SIZE)
    kept = replace(target, uploads=StoredSessions(app, 1, target.installation_id))
    server.down_after_cut = True
    cut(CUT_AT)
    first = make()
    try:
        with pytest.raises(TransientError):
            await first.deliver(kept, parcel)
    finally:
        await first.close()
    assert server.stored() == []
    assert kept.uploads is not None and await kept.uploads.find(parcel.export_key) is not None
    before = server.session_bytes
    assert CUT_AT <= before <= CUT_AT + chunk
    server.down = False  # the network is back; a new worker takes the export
    second = make()
    try:
        receipt = await second.deliver(kept, parcel)
    finally:
        await second.close()
    assert server.delivered(receipt.as_dict()) == content
    assert len(server.stored()) == 1
    assert server.session_bytes - before <= RESUMED_SIZE - CUT_AT + chunk, "only the rest"
    assert server.session_bytes <= RESUMED_SIZE + chunk, "not the file and a half"
    assert await kept.uploads.find(parcel.export_key) is None  # delivered: forgotten
