"""Dropbox: the contract suite and Dropbox's own behaviour, against the local stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import pytest

from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.cloud_folder import PIECE
from passeur.connectors.dropbox import DropboxConnector
from passeur.connectors.dropbox.api import hashes
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
from passeur.sandbox.dropbox_server import DropboxServer, dropbox_hash
from tests.connectors.contract import CONTENT, ConnectorContract, Copies, Fetch
from tests.connectors.parcels import big_parcel, make_parcel
from tests.connectors.signed_in import RefusedTokens, StandInTokens, sign_in
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")
FOLDER = "/Invoice_import/Bakkerij Janssens_BE0403170701/AP"


@pytest.fixture
async def dropbox() -> AsyncIterator[DropboxServer]:
    server = DropboxServer(client_id="passeur-dropbox")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def tokens(dropbox: DropboxServer) -> AsyncIterator[StandInTokens]:
    http = Outbound(Guard(LOOPBACK))
    params = (("token_access_type", "offline"),)
    yield await sign_in(http, dropbox.authorize_url, dropbox.token_url, dropbox.client_id, params)
    await http.close()


@pytest.fixture
async def connector() -> AsyncIterator[DropboxConnector]:
    made = DropboxConnector(network=LOOPBACK, single_limit=64 * 1024, chunk=16 * 1024)
    yield made
    await made.close()


@pytest.fixture
def target(dropbox: DropboxServer, tokens: StandInTokens) -> Target:
    config = {"api_url": dropbox.url, "content_url": dropbox.url}
    return Target(1, 1, "dropbox", config, tokens=tokens)


@pytest.fixture
def bad_credentials_target(target: Target) -> Target:
    return replace(target, tokens=RefusedTokens())


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}"
        yield replace(target, config={"api_url": url, "content_url": url})


@pytest.fixture
def fetch(dropbox: DropboxServer) -> Fetch:
    async def fetch(receipt: Receipt) -> bytes:
        stored = dropbox.file(receipt.location)
        assert stored is not None, receipt.location
        return stored.content

    return fetch


@pytest.fixture
def copies(dropbox: DropboxServer) -> Copies:
    async def copies(parcel: Parcel) -> int:
        tail = f"_d{parcel.document.id}.{parcel.document.extension}"
        return sum(1 for f in dropbox.files.values() if f.path_display.endswith(tail))

    return copies


class TestDropboxContract(ConnectorContract):
    slug = "dropbox"


async def test_the_documented_layout_and_file_name(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    parcel = make_parcel(tmp_path, CONTENT)
    receipt = await connector.deliver(target, parcel)
    assert receipt.location == f"{FOLDER}/2026-03-01_INV-2026-001_d7.xml"
    assert dropbox.calls[-1] == "/2/files/upload"


async def test_a_number_with_slashes_and_a_company_with_a_slash_stay_one_file(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    parcel = make_parcel(tmp_path, CONTENT, number="2026/03|../../x")
    variables = {**parcel.variables, "client_name": "Dupré & Fils / Zonen"}
    receipt = await connector.deliver(target, replace(parcel, variables=variables))
    folder, _, name = receipt.location.rpartition("/")
    assert folder == "/Invoice_import/Dupré & Fils _ Zonen_BE0403170701/AP"
    assert name.endswith("_d7.xml") and dropbox.file(receipt.location) is not None
    assert len(dropbox.files) == 1


async def test_a_large_file_goes_through_an_upload_session_streamed(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    parcel, content = big_parcel(tmp_path)
    largest = 0

    def opener() -> BinaryIO:
        stream = parcel.main.opener()
        read = stream.read

        def watched(n: int = -1) -> bytes:
            nonlocal largest
            largest = max(largest, n if n >= 0 else 1 << 62)
            return read(n)

        stream.read = watched  # type: ignore[method-assign]
        return stream

    watched_file = replace(parcel.main, opener=opener)
    receipt = await connector.deliver(target, replace(parcel, files=(watched_file,)))
    assert dropbox.file(receipt.location).content == content  # type: ignore[union-attr]
    assert dropbox.calls.count("/2/files/upload_session/append_v2") == 13
    assert dropbox.calls[-1] == "/2/files/upload_session/finish"
    assert "/2/files/upload" not in dropbox.calls
    assert 0 < largest <= PIECE, "the file is read a piece at a time, never whole"


async def test_a_large_file_already_there_is_not_sent_again(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    parcel, _ = big_parcel(tmp_path)
    first = await connector.deliver(target, parcel)
    sent = len(dropbox.calls)
    second = await connector.deliver(target, parcel)
    assert second.location == first.location and dropbox.writes == 1
    assert dropbox.calls[sent:] == ["/2/files/get_metadata"]


async def test_an_identical_small_file_is_not_written_twice(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    parcel = make_parcel(tmp_path, CONTENT)
    await connector.deliver(target, parcel)
    rev = next(iter(dropbox.files.values())).rev
    await connector.deliver(target, parcel)
    assert dropbox.writes == 1 and next(iter(dropbox.files.values())).rev == rev


async def test_a_different_file_at_the_path_is_left_alone_and_the_export_rejected(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    first = await connector.deliver(target, make_parcel(tmp_path / "a", CONTENT))
    with pytest.raises(Rejected, match=r"a different file named .* is already in Dropbox"):
        await connector.deliver(target, make_parcel(tmp_path / "b", CONTENT + b"edited"))
    assert dropbox.file(first.location).content == CONTENT  # type: ignore[union-attr]


async def test_a_lost_append_answer_resumes_from_the_offset_dropbox_holds(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    parcel, content = big_parcel(tmp_path)
    dropbox.drop_answer_after_append = 2
    receipt = await connector.deliver(target, parcel)
    assert dropbox.file(receipt.location).content == content  # type: ignore[union-attr]
    assert dropbox.writes == 1


@pytest.mark.parametrize("reason", ["too_many_requests", "too_many_write_operations"])
async def test_429_waits_what_dropbox_says(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer, reason: str
) -> None:
    dropbox.fail_next(429, retry_after=7, reason=reason)
    with pytest.raises(RateLimited) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert caught.value.retry_after == 7
    assert dropbox.files == {}
    await connector.deliver(target, make_parcel(tmp_path, CONTENT))  # then it goes


async def test_a_5xx_is_transient(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    dropbox.fail_next(503, retry_after=3)
    with pytest.raises(TransientError) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert not isinstance(caught.value, RateLimited) and caught.value.retry_after == 3


async def test_an_expired_access_token_is_refreshed_once(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    dropbox.expire_access_tokens()
    await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert dropbox.refreshes == 1 and len(dropbox.files) == 1


async def test_a_revoked_grant_needs_a_new_sign_in_and_no_token_is_shown(
    connector: DropboxConnector,
    target: Target,
    tokens: StandInTokens,
    tmp_path: Path,
    dropbox: DropboxServer,
) -> None:
    dropbox.revoke()
    with pytest.raises(NeedsReauth) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    for token in [*tokens.handed_out(), tokens.grant.refresh_token]:
        assert token not in caught.value.message
    assert dropbox.files == {}


async def test_a_full_account_waits_for_a_person_with_a_plain_message(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    dropbox.quota = 1000
    with pytest.raises(Misconfigured, match="the Dropbox account is full"):
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    parcel, _ = big_parcel(tmp_path)
    with pytest.raises(Misconfigured, match="the Dropbox account is full"):
        await connector.deliver(target, parcel)
    assert dropbox.files == {}


async def test_check_names_the_account(connector: DropboxConnector, target: Target) -> None:
    result = await connector.check(target)
    assert result.ok and "accountant@sandbox.example" in result.message


async def test_the_stand_in_refuses_a_header_that_is_not_escaped(
    dropbox: DropboxServer, target: Target
) -> None:
    assert target.tokens is not None
    http = Outbound(Guard(LOOPBACK))
    try:
        token = await target.tokens.token()
        answer = await http.request(
            "POST",
            f"{dropbox.url}/2/files/upload",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/octet-stream",
                "Dropbox-API-Arg": '{"path": "/Dupré.xml"}'.encode().decode("latin-1"),
            },
            body=b"x",
        )
    finally:
        await http.close()
    assert answer.status == 400 and dropbox.files == {}


def test_our_content_hash_is_the_stand_in_s_over_several_blocks() -> None:
    content = bytes(range(256)) * (9 * 1024 * 1024 // 256)  # over two 4 MiB blocks
    assert hashes(BytesIO(content)).content_hash == dropbox_hash(content)
