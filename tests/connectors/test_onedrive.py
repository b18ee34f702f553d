"""OneDrive (Microsoft Graph): the contract suite and OneDrive's own behaviour, against
the local stand-in."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.errors import (
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.network import Guard
from passeur.connectors.onedrive import OneDriveConnector
from passeur.connectors.onedrive.api import QuickXor
from passeur.connectors.outbound import Outbound
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.onedrive_server import OneDriveServer, quick_xor_hash
from tests.connectors.contract import CONTENT, ConnectorContract, Copies, Fetch
from tests.connectors.parcels import big_parcel, make_parcel
from tests.connectors.signed_in import RefusedTokens, StandInTokens, sign_in
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")
FOLDER = "/Invoice_import/Bakkerij Janssens_BE0403170701/AP"
KIB = 1024


@pytest.fixture
async def onedrive() -> AsyncIterator[OneDriveServer]:
    server = OneDriveServer(client_id="passeur-microsoft")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def tokens(onedrive: OneDriveServer) -> AsyncIterator[StandInTokens]:
    http = Outbound(Guard(LOOPBACK))
    params = (("response_mode", "query"),)
    yield await sign_in(
        http, onedrive.authorize_url, onedrive.token_url, onedrive.client_id, params
    )
    await http.close()


@pytest.fixture
async def connector() -> AsyncIterator[OneDriveConnector]:
    made = OneDriveConnector(network=LOOPBACK, simple_limit=64 * KIB, chunk=320 * KIB)
    yield made
    await made.close()


@pytest.fixture
def target(onedrive: OneDriveServer, tokens: StandInTokens) -> Target:
    return Target(1, 1, "onedrive", {"api_url": f"{onedrive.url}/v1.0"}, tokens=tokens)


@pytest.fixture
def bad_credentials_target(target: Target) -> Target:
    return replace(target, tokens=RefusedTokens())


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config={"api_url": f"http://127.0.0.1:{port}/v1.0"})


@pytest.fixture
def fetch(onedrive: OneDriveServer) -> Fetch:
    async def fetch(receipt: Receipt) -> bytes:
        item = onedrive.file(receipt.location)
        assert item is not None and item.content is not None
        return item.content

    return fetch


@pytest.fixture
def copies(onedrive: OneDriveServer) -> Copies:
    async def copies(parcel: Parcel) -> int:
        tail = f"_d{parcel.document.id}.{parcel.document.extension}"
        return sum(1 for f in onedrive.files() if f.path.endswith(tail))

    return copies


class TestOneDriveContract(ConnectorContract):
    slug = "onedrive"


@pytest.mark.parametrize("size", [0, 1, 159, 160, 161, 1000, 64 * KIB + 7])
def test_our_quick_xor_hash_is_the_documented_one_whatever_the_pieces(size: int) -> None:
    content = os.urandom(size)
    whole, pieces = QuickXor(), QuickXor()
    whole.update(content)
    for start in range(0, size, 97):
        pieces.update(content[start : start + 97])
    assert whole.digest() == pieces.digest() == quick_xor_hash(content)


def test_the_empty_hash_is_twenty_zero_bytes() -> None:
    assert quick_xor_hash(b"") == "AAAAAAAAAAAAAAAAAAAAAAAAAAA="


async def test_the_documented_layout_in_one_put(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    receipt = await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert receipt.location == f"{FOLDER}/2026-03-01_INV-2026-001_d7.xml"
    puts = [c for c in onedrive.calls if c.startswith("PUT")]
    assert puts == [f"PUT /v1.0/me/drive/root:{FOLDER}/2026-03-01_INV-2026-001_d7.xml:/content"]


async def test_names_onedrive_refuses_are_cleaned(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    parcel = make_parcel(tmp_path, CONTENT, number="2026/03|7")
    variables = {**parcel.variables, "client_name": 'Bureau "A/B": 50% #1.'}
    receipt = await connector.deliver(target, replace(parcel, variables=variables))
    assert receipt.location.startswith("/Invoice_import/Bureau _A_B__ 50_ _1._BE0403170701/AP/")
    assert len(onedrive.files()) == 1


async def test_a_large_file_goes_through_an_upload_session(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    parcel, content = big_parcel(tmp_path, size=700 * KIB + 3)
    receipt = await connector.deliver(target, parcel)
    assert onedrive.file(receipt.location).content == content  # type: ignore[union-attr]
    assert onedrive.calls.count("PUT /upload/session") == 3


async def test_a_cut_fragment_is_resumed_from_what_the_session_expects(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    parcel, content = big_parcel(tmp_path, size=700 * KIB + 3)
    onedrive.cut_next_fragment_at = 100 * KIB
    receipt = await connector.deliver(target, parcel)
    assert onedrive.file(receipt.location).content == content  # type: ignore[union-attr]
    assert sum("createUploadSession" in c for c in onedrive.calls) == 1
    assert "GET /upload/session" in onedrive.calls


async def test_redelivery_writes_nothing_twice(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    small = make_parcel(tmp_path / "a", CONTENT)
    large, _ = big_parcel(tmp_path, size=700 * KIB)
    for parcel in (small, large, small, large):
        await connector.deliver(target, parcel)
    assert onedrive.writes == 2 and len(onedrive.files()) == 2
    assert sum("createUploadSession" in c for c in onedrive.calls) == 1


async def test_a_different_file_of_that_name_is_left_alone(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    await connector.deliver(target, make_parcel(tmp_path / "a", CONTENT))
    with pytest.raises(Rejected, match=r"a different file named .* is already in OneDrive"):
        await connector.deliver(target, make_parcel(tmp_path / "b", CONTENT + b"edited"))
    assert [f.content for f in onedrive.files()] == [CONTENT]


@pytest.mark.parametrize("status", [429, 503])
async def test_throttling_waits_what_microsoft_says(
    connector: OneDriveConnector,
    target: Target,
    tmp_path: Path,
    onedrive: OneDriveServer,
    status: int,
) -> None:
    onedrive.fail_next(status, retry_after=11)
    with pytest.raises(RateLimited) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert caught.value.retry_after == 11 and onedrive.files() == []


async def test_a_5xx_without_retry_after_is_transient(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    onedrive.fail_next(500, reason="generalException")
    with pytest.raises(TransientError) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert not isinstance(caught.value, RateLimited)


async def test_an_expired_token_is_refreshed_and_the_rotated_refresh_token_kept(
    connector: OneDriveConnector,
    target: Target,
    tokens: StandInTokens,
    tmp_path: Path,
    onedrive: OneDriveServer,
) -> None:
    first_refresh_token = tokens.grant.refresh_token
    onedrive.expire_access_tokens()
    await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert onedrive.refreshes == 1 and tokens.grant.refresh_token != first_refresh_token
    assert onedrive.live_refresh_tokens() == [tokens.grant.refresh_token]


async def test_a_revoked_grant_needs_a_new_sign_in(
    connector: OneDriveConnector,
    target: Target,
    tokens: StandInTokens,
    tmp_path: Path,
    onedrive: OneDriveServer,
) -> None:
    onedrive.revoke()
    with pytest.raises(NeedsReauth) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    for token in [*tokens.handed_out(), tokens.grant.refresh_token]:
        assert token not in caught.value.message


async def test_a_full_onedrive_waits_for_a_person_with_a_plain_message(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    onedrive.quota = 1000
    with pytest.raises(Misconfigured, match="the OneDrive is full"):
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    parcel, _ = big_parcel(tmp_path, size=700 * KIB)
    with pytest.raises(Misconfigured, match="the OneDrive is full"):
        await connector.deliver(target, parcel)
    assert onedrive.files() == []


async def test_check_names_the_drive(connector: OneDriveConnector, target: Target) -> None:
    result = await connector.check(target)
    assert result.ok and "Sandbox Accountant" in result.message
