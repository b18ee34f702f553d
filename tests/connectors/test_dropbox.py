"""Dropbox: the contract suite and Dropbox's own behaviour, against the local stand-in."""

from __future__ import annotations

from dataclasses import replace
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import pytest

from passeur.bootstrap import App
from passeur.connectors.cloud_folder import PIECE
from passeur.connectors.dropbox import DropboxConnector
from passeur.connectors.dropbox.api import hashes
from passeur.connectors.errors import RateLimited, Rejected
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.extensions import Target
from passeur.sandbox.dropbox_server import DropboxServer, dropbox_hash
from tests.connectors.cloud import (
    LOOPBACK,
    CloudContract,
    Provider,
    cut_then_resumed_by_another_worker,
    fixtures,
)
from tests.connectors.contract import CONTENT
from tests.connectors.parcels import big_parcel, make_parcel

KIB = 1024
FOLDER = "/Invoice_import/Bakkerij Janssens_BE0403170701/AP"


PROVIDER = Provider(
    slug="dropbox",
    server=lambda: DropboxServer(client_id="passeur-dropbox"),
    connector=lambda: DropboxConnector(network=LOOPBACK, single_limit=64 * KIB, chunk=16 * KIB),
    config=lambda url: {"api_url": url, "content_url": url},
    shown_as="Dropbox",
    full="the Dropbox account is full",
    account="accountant@sandbox.example",
)


globals().update(fixtures(PROVIDER))  # provider, server, tokens, connector, target, …


@pytest.fixture
def dropbox(server: DropboxServer) -> DropboxServer:
    return server


class TestDropboxContract(CloudContract):
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


@pytest.mark.parametrize("cut_with_503", [False, True], ids=["dropped", "503"])
async def test_a_lost_append_answer_resumes_from_the_offset_dropbox_holds(
    connector: DropboxConnector,
    target: Target,
    tmp_path: Path,
    dropbox: DropboxServer,
    cut_with_503: bool,
) -> None:
    dropbox.cut_with_503 = cut_with_503
    parcel, content = big_parcel(tmp_path)
    dropbox.drop_answer_after_append = 2
    receipt = await connector.deliver(target, parcel)
    assert dropbox.file(receipt.location).content == content  # type: ignore[union-attr]
    assert dropbox.writes == 1


async def test_too_many_write_operations_waits_what_dropbox_says(
    connector: DropboxConnector, target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    dropbox.fail_next(429, retry_after=7, reason="too_many_write_operations")
    with pytest.raises(RateLimited) as caught:
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
    assert caught.value.retry_after == 7
    assert dropbox.files == {}
    await connector.deliver(target, make_parcel(tmp_path, CONTENT))  # then it goes


async def test_a_request_over_the_single_request_limit_is_refused(
    target: Target, tmp_path: Path, dropbox: DropboxServer
) -> None:
    dropbox.upload_limit = 1000  # the stand-in's 150 MB, made small
    careless = DropboxConnector(network=LOOPBACK, single_limit=10**6)
    try:
        with pytest.raises(Rejected, match="exceeds 1000 bytes"):
            await careless.deliver(target, make_parcel(tmp_path, CONTENT))
    finally:
        await careless.close()
    assert dropbox.files == {}


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


async def test_a_session_cut_off_is_resumed_by_the_next_try_in_another_worker(
    target: Target, tmp_path: Path, server: DropboxServer, sqlite_app: App
) -> None:
    def cut(at: int) -> None:
        server.drop_answer_at_byte = at

    chunk = 4 * 1024 * KIB
    await cut_then_resumed_by_another_worker(
        lambda: DropboxConnector(network=LOOPBACK, single_limit=64 * KIB, chunk=chunk),
        chunk,
        cut,
        target,
        server,
        tmp_path,
        sqlite_app,
    )
    assert server.calls.count("/2/files/upload_session/start") == 1
