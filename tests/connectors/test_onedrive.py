"""OneDrive (Microsoft Graph): the contract suite and OneDrive's own behaviour, against
the local stand-in."""

from __future__ import annotations

import base64
import os
from dataclasses import replace
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.connectors.errors import RateLimited, TransientError
from passeur.connectors.onedrive import OneDriveConnector
from passeur.connectors.onedrive.api import QuickXor
from passeur.domain.extensions import Target
from passeur.sandbox.onedrive_server import OneDriveServer, quick_xor_hash
from tests.connectors.cloud import (
    LOOPBACK,
    CloudContract,
    Provider,
    cut_then_resumed_by_another_worker,
    fixtures,
)
from tests.connectors.contract import CONTENT
from tests.connectors.parcels import big_parcel, make_parcel
from tests.connectors.signed_in import StandInTokens

FOLDER = "/Invoice_import/Bakkerij Janssens_BE0403170701/AP"
KIB = 1024


PROVIDER = Provider(
    slug="onedrive",
    server=lambda: OneDriveServer(client_id="passeur-microsoft"),
    connector=lambda: OneDriveConnector(network=LOOPBACK, single_limit=64 * KIB, chunk=320 * KIB),
    config=lambda url: {"api_url": f"{url}/v1.0"},
    shown_as="OneDrive",
    full="the OneDrive is full",
    account="Sandbox Accountant",
)


globals().update(fixtures(PROVIDER))  # provider, server, tokens, connector, target, …


@pytest.fixture
def onedrive(server: OneDriveServer) -> OneDriveServer:
    return server


class TestOneDriveContract(CloudContract):
    slug = "onedrive"


@pytest.mark.parametrize("size", [0, 1, 159, 160, 161, 1000, 64 * KIB + 7])
def test_our_quick_xor_hash_is_the_documented_one_whatever_the_pieces(size: int) -> None:
    content = os.urandom(size)
    whole, pieces = QuickXor(), QuickXor()
    whole.update(content)
    for start in range(0, size, 97):
        pieces.update(content[start : start + 97])
    assert whole.digest() == pieces.digest() == quick_xor_hash(content)


@pytest.mark.parametrize(
    ("content", "expected"),
    [  # the vectors other implementations publish (input bytes as base64)
        ("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ("Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="),
        ("tbQ=", "taAFAAAAAAAAAAAAAgAAAAAAAAA="),
        ("eAV52qE=", "eChAHrQRCgAAAAAABQAAAAAAAAA="),
    ],
)
def test_quick_xor_hash_gives_the_published_values(content: str, expected: str) -> None:
    ours = QuickXor()
    ours.update(base64.b64decode(content))
    assert ours.digest() == quick_xor_hash(base64.b64decode(content)) == expected


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


@pytest.mark.parametrize("cut_with_503", [False, True], ids=["dropped", "503"])
async def test_a_cut_fragment_is_resumed_from_what_the_session_expects(
    connector: OneDriveConnector,
    target: Target,
    tmp_path: Path,
    onedrive: OneDriveServer,
    cut_with_503: bool,
) -> None:
    onedrive.cut_with_503 = cut_with_503
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


async def test_a_folder_deleted_meanwhile_is_made_again(
    connector: OneDriveConnector, target: Target, tmp_path: Path, onedrive: OneDriveServer
) -> None:
    first, _ = big_parcel(tmp_path / "a", size=700 * KIB)
    await connector.deliver(target, first)
    for path in [p for p in onedrive.items if p.startswith("/invoice_import")]:
        del onedrive.items[path]  # a person deleted the whole folder
    second, content = big_parcel(tmp_path / "b", size=700 * KIB + 1)
    with pytest.raises(TransientError, match="is gone"):
        await connector.deliver(target, second)
    receipt = await connector.deliver(target, second)  # the next try makes it again
    assert onedrive.file(receipt.location).content == content  # type: ignore[union-attr]


async def test_a_session_cut_off_is_resumed_by_the_next_try_in_another_worker(
    target: Target, tmp_path: Path, server: OneDriveServer, sqlite_app: App
) -> None:
    def cut(at: int) -> None:
        server.cut_at_byte = at

    chunk = 3 * 320 * KIB
    await cut_then_resumed_by_another_worker(
        lambda: OneDriveConnector(network=LOOPBACK, single_limit=64 * KIB, chunk=chunk),
        chunk,
        cut,
        target,
        server,
        tmp_path,
        sqlite_app,
    )
    assert sum(c.endswith(":/createUploadSession") for c in server.calls) == 1
