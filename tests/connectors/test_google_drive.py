"""Google Drive: the contract suite and Drive's own behaviour, against the local stand-in."""

from __future__ import annotations

import asyncio
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
from passeur.connectors.google_drive import GoogleDriveConnector
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.google_drive_server import FOLDER, ROOT, GoogleDriveServer
from tests.connectors.contract import CONTENT, ConnectorContract, Copies, Fetch
from tests.connectors.parcels import big_parcel, make_parcel
from tests.connectors.signed_in import RefusedTokens, StandInTokens, sign_in
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")
FOLDER_PATH = "/Invoice_import/Bakkerij Janssens_BE0403170701/AP"
KIB = 1024


@pytest.fixture
async def drive() -> AsyncIterator[GoogleDriveServer]:
    server = GoogleDriveServer(client_id="passeur-google")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def tokens(drive: GoogleDriveServer) -> AsyncIterator[StandInTokens]:
    http = Outbound(Guard(LOOPBACK))
    params = (("access_type", "offline"), ("prompt", "consent"))
    yield await sign_in(http, drive.authorize_url, drive.token_url, drive.client_id, params)
    await http.close()


@pytest.fixture
async def connector() -> AsyncIterator[GoogleDriveConnector]:
    made = GoogleDriveConnector(network=LOOPBACK, single_limit=64 * KIB, chunk=256 * KIB)
    yield made
    await made.close()


@pytest.fixture
def target(drive: GoogleDriveServer, tokens: StandInTokens) -> Target:
    return Target(1, 1, "google_drive", {"api_url": drive.url}, tokens=tokens)


@pytest.fixture
def bad_credentials_target(target: Target) -> Target:
    return replace(target, tokens=RefusedTokens())


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config={"api_url": f"http://127.0.0.1:{port}"})


@pytest.fixture
def fetch(drive: GoogleDriveServer) -> Fetch:
    async def fetch(receipt: Receipt) -> bytes:
        content = drive.items[receipt.details["id"]].content
        assert content is not None
        return content

    return fetch


@pytest.fixture
def copies(drive: GoogleDriveServer) -> Copies:
    async def copies(parcel: Parcel) -> int:
        tail = f"_d{parcel.document.id}.{parcel.document.extension}"
        return sum(1 for f in drive.files() if f.name.endswith(tail))

    return copies


class TestGoogleDriveContract(ConnectorContract):
    slug = "google_drive"


def folders(drive: GoogleDriveServer) -> list[str]:
    made = [i for i in drive.items.values() if i.mime_type == FOLDER and i.id != ROOT]
    return sorted(drive.path_of(i) for i in made)


async def test_the_documented_layout_in_folders_made_once(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    first = await connector.deliver(target, make_parcel(tmp_path / "a", CONTENT))
    await connector.deliver(target, make_parcel(tmp_path / "b", CONTENT, document_id=8))
    assert first.location == f"{FOLDER_PATH}/2026-03-01_INV-2026-001_d7.xml"
    assert folders(drive) == [
        "/Invoice_import",
        "/Invoice_import/Bakkerij Janssens_BE0403170701",
        FOLDER_PATH,
    ]
    assert "POST /upload/drive/v3/files?multipart" in drive.calls


async def test_two_deliveries_racing_make_each_folder_once(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    parcels = [make_parcel(tmp_path / str(i), CONTENT, document_id=i) for i in range(1, 9)]
    await asyncio.gather(*(connector.deliver(target, p) for p in parcels))
    assert len(folders(drive)) == 3 and len(drive.files()) == 8


async def test_workers_that_raced_on_other_machines_converge_on_one_folder(
    target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    """Two workers on two machines each made an "Invoice_import" (no lock spans them):
    every worker then uses the oldest, so all files end up in one folder."""
    a = GoogleDriveConnector(network=LOOPBACK)
    b = GoogleDriveConnector(network=LOOPBACK)
    try:
        await a.deliver(target, make_parcel(tmp_path / "a", CONTENT, document_id=1))
        twin = drive.add_folder("Invoice_import", ROOT)  # what the other worker made
        await b.deliver(target, make_parcel(tmp_path / "b", CONTENT, document_id=2))
    finally:
        await a.close()
        await b.close()
    parents = {tuple(f.parents) for f in drive.files()}
    assert len(parents) == 1 and len(drive.files()) == 2
    assert not [i for i in drive.items.values() if twin in i.parents]


async def test_a_large_file_goes_through_a_resumable_session(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    parcel, content = big_parcel(tmp_path, size=600 * KIB + 17)
    receipt = await connector.deliver(target, parcel)
    assert drive.items[receipt.details["id"]].content == content
    assert drive.calls.count("PUT /upload/drive/v3/files?resumable") == 3


async def test_a_cut_chunk_is_resumed_not_restarted(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    parcel, content = big_parcel(tmp_path, size=600 * KIB + 17)
    drive.cut_next_chunk_at = 100 * KIB
    receipt = await connector.deliver(target, parcel)
    assert drive.items[receipt.details["id"]].content == content
    starts = [c for c in drive.calls if c.endswith("?resumable") and c.startswith("POST")]
    assert len(starts) == 1, "one session: resumed, not started again"
    assert len(drive.files()) == 1


async def test_a_retry_finds_the_file_and_sends_nothing(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    parcel, _ = big_parcel(tmp_path, size=600 * KIB)
    first = await connector.deliver(target, parcel)
    sent = len(drive.calls)
    second = await connector.deliver(target, parcel)
    assert second.details == first.details and drive.calls[sent:] == ["GET /drive/v3/files"]


async def test_a_different_file_of_that_name_is_left_alone(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    await connector.deliver(target, make_parcel(tmp_path / "a", CONTENT))
    with pytest.raises(Rejected, match=r"a different file named .* is already in Google Drive"):
        await connector.deliver(target, make_parcel(tmp_path / "b", CONTENT + b"edited"))
    assert [f.content for f in drive.files()] == [CONTENT]


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "rateLimitExceeded"), (403, "userRateLimitExceeded")]
)
async def test_rate_limits_wait(
    connector: GoogleDriveConnector,
    target: Target,
    tmp_path: Path,
    drive: GoogleDriveServer,
    status: int,
    reason: str,
) -> None:
    drive.fail_next(status, retry_after=9, reason=reason)
    with pytest.raises(RateLimited) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert caught.value.retry_after == 9 and drive.files() == []


async def test_a_5xx_is_transient(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    drive.fail_next(500)
    with pytest.raises(TransientError) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert not isinstance(caught.value, RateLimited)


async def test_an_expired_token_is_refreshed_once(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    drive.expire_access_tokens()
    await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert drive.refreshes == 1 and len(drive.files()) == 1


async def test_a_revoked_grant_needs_a_new_sign_in(
    connector: GoogleDriveConnector,
    target: Target,
    tokens: StandInTokens,
    tmp_path: Path,
    drive: GoogleDriveServer,
) -> None:
    drive.revoke()
    with pytest.raises(NeedsReauth) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    for token in [*tokens.handed_out(), tokens.grant.refresh_token]:
        assert token not in caught.value.message


async def test_a_full_drive_waits_for_a_person_with_a_plain_message(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    drive.quota = 1000
    with pytest.raises(Misconfigured, match="the Google Drive is full"):
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert drive.files() == []


async def test_a_name_with_quotes_is_found_again(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    parcel = make_parcel(tmp_path, CONTENT)
    quoted = {**parcel.variables, "client_name": "L'Atelier \\ d'Anvers"}
    first = await connector.deliver(target, replace(parcel, variables=quoted))
    second = await connector.deliver(target, replace(parcel, variables=quoted))
    assert first.location == second.location and len(drive.files()) == 1
    assert "/Invoice_import/L'Atelier _ d'Anvers_BE0403170701/AP/" in first.location


async def test_check_names_the_account(connector: GoogleDriveConnector, target: Target) -> None:
    result = await connector.check(target)
    assert result.ok and "accountant@sandbox.example" in result.message
