"""Google Drive: the contract suite and Drive's own behaviour, against the local stand-in."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.connectors.errors import Misconfigured, RateLimited, TransientError
from passeur.connectors.google_drive import GoogleDriveConnector
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.extensions import Target
from passeur.sandbox.google_drive_server import FOLDER, ROOT, GoogleDriveServer
from tests.connectors.cloud import (
    LOOPBACK,
    CloudContract,
    Provider,
    cut_then_resumed_by_another_worker,
    fixtures,
)
from tests.connectors.contract import CONTENT
from tests.connectors.parcels import big_parcel, make_parcel
from tests.connectors.signed_in import sign_in

FOLDER_PATH = "/Invoice_import/Bakkerij Janssens_BE0403170701/AP"
KIB = 1024


PROVIDER = Provider(
    slug="google_drive",
    server=lambda: GoogleDriveServer(client_id="passeur-google"),
    connector=lambda: GoogleDriveConnector(
        network=LOOPBACK, single_limit=64 * KIB, chunk=256 * KIB
    ),
    config=lambda url: {"api_url": url},
    shown_as="Google Drive",
    full="the Google Drive is full",
    account="accountant@sandbox.example",
)


globals().update(fixtures(PROVIDER))  # provider, server, tokens, connector, target, …


@pytest.fixture
def drive(server: GoogleDriveServer) -> GoogleDriveServer:
    return server


class TestGoogleDriveContract(CloudContract):
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


@pytest.mark.parametrize("cut_with_503", [False, True], ids=["dropped", "503"])
async def test_a_cut_chunk_is_resumed_not_restarted(
    connector: GoogleDriveConnector,
    target: Target,
    tmp_path: Path,
    drive: GoogleDriveServer,
    cut_with_503: bool,
) -> None:
    drive.cut_with_503 = cut_with_503
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


async def test_a_name_with_quotes_is_found_again(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    parcel = make_parcel(tmp_path, CONTENT)
    quoted = {**parcel.variables, "client_name": "L'Atelier \\ d'Anvers"}
    first = await connector.deliver(target, replace(parcel, variables=quoted))
    second = await connector.deliver(target, replace(parcel, variables=quoted))
    assert first.location == second.location and len(drive.files()) == 1
    assert "/Invoice_import/L'Atelier _ d'Anvers_BE0403170701/AP/" in first.location


async def test_a_folder_deleted_meanwhile_is_made_again(
    connector: GoogleDriveConnector, target: Target, tmp_path: Path, drive: GoogleDriveServer
) -> None:
    await connector.deliver(target, make_parcel(tmp_path / "a", CONTENT))
    for item in [i for i in drive.items.values() if i.id != ROOT]:
        del drive.items[item.id]  # a person deleted the whole folder
    second = make_parcel(tmp_path / "b", CONTENT, document_id=8)
    with pytest.raises(TransientError):
        await connector.deliver(target, second)
    receipt = await connector.deliver(target, second)  # the next try makes it again
    assert drive.items[receipt.details["id"]].content == CONTENT


async def test_google_gives_the_refresh_token_once_unless_consent_is_asked_again(
    drive: GoogleDriveServer,
) -> None:
    """Why the extension asks for `prompt=consent`: a second sign-in without it would
    get no refresh token, and passeur could not keep working after an hour."""
    http = Outbound(Guard(LOOPBACK))
    offline = (("access_type", "offline"),)
    try:
        await sign_in(http, drive.authorize_url, drive.token_url, drive.client_id, offline)
        with pytest.raises(Misconfigured, match="gave no refresh token"):
            await sign_in(http, drive.authorize_url, drive.token_url, drive.client_id, offline)
        again = (*offline, ("prompt", "consent"))
        await sign_in(http, drive.authorize_url, drive.token_url, drive.client_id, again)
    finally:
        await http.close()


async def test_a_session_cut_off_is_resumed_by_the_next_try_in_another_worker(
    target: Target, tmp_path: Path, drive: GoogleDriveServer, sqlite_app: App
) -> None:
    def cut(at: int) -> None:
        drive.cut_at_byte = at

    chunk = 1024 * KIB
    await cut_then_resumed_by_another_worker(
        lambda: GoogleDriveConnector(network=LOOPBACK, single_limit=64 * KIB, chunk=chunk),
        chunk,
        cut,
        target,
        drive,
        tmp_path,
        sqlite_app,
    )
    starts = [c for c in drive.calls if c.endswith("?resumable") and c.startswith("POST")]
    assert len(starts) == 1, "one session, resumed by the second try"


async def test_a_kept_session_google_forgot_is_started_again(
    target: Target, tmp_path: Path, drive: GoogleDriveServer, sqlite_app: App
) -> None:
    from passeur.delivery.upload_sessions import StoredSessions

    kept = replace(target, uploads=StoredSessions(sqlite_app, 1, target.installation_id))
    parcel, content = big_parcel(tmp_path, size=600 * KIB)
    drive.down_after_cut, drive.cut_at_byte = True, 300 * KIB
    connector = GoogleDriveConnector(network=LOOPBACK, single_limit=64 * KIB, chunk=256 * KIB)
    try:
        with pytest.raises(TransientError):
            await connector.deliver(kept, parcel)
        drive.down = False
        drive.expire_sessions()  # past Google's week
        receipt = await connector.deliver(kept, parcel)
    finally:
        await connector.close()
    assert drive.items[receipt.details["id"]].content == content and len(drive.files()) == 1
    starts = [c for c in drive.calls if c.endswith("?resumable") and c.startswith("POST")]
    assert len(starts) == 2
