"""Yuki against its loopback SOAP stand-in (access key, sessions, archive upload)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.errors import Misconfigured, NeedsReauth, RateLimited, Rejected
from passeur.connectors.yuki import EXTENSION, YukiConnector
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.yuki_server import ACCESS_KEY, ADMINISTRATIONS, YukiServer
from tests.connectors.contract import ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")
BAKKERIJ, GARAGE = list(ADMINISTRATIONS)
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


@pytest.fixture
async def server() -> AsyncIterator[YukiServer]:
    made = YukiServer()
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
async def connector() -> AsyncIterator[YukiConnector]:
    made = YukiConnector(network=LOOPBACK)
    yield made
    await made.close()


def make_target(server: YukiServer, key: str = ACCESS_KEY, **config: object) -> Target:
    values = {"administration": BAKKERIJ, "be_url": server.url, "nl_url": "", **config}
    return Target(1, 1, "yuki", effective_config(EXTENSION, values), {"access_key": key})


@pytest.fixture
def target(server: YukiServer) -> Target:
    return make_target(server)


@pytest.fixture
def bad_credentials_target(server: YukiServer) -> Target:
    return make_target(server, key="00000000-0000-0000-0000-000000000000")


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config={**target.config, "be_url": f"http://127.0.0.1:{port}/ws"})


@pytest.fixture
def fetch(server: YukiServer) -> Callable[[Receipt], Awaitable[bytes]]:
    async def read(receipt: Receipt) -> bytes:
        [found] = [u for u in server.stored() if u.id == receipt.details["document_id"]]
        return found.data

    return read


@pytest.fixture
def copies(server: YukiServer) -> Callable[[Parcel], Awaitable[int]]:
    """Distinct files of the document in the archive (its name carries its id), as the
    e-mail suite counts Message-IDs; that a lost answer's retry uploads again is
    test_a_retry_after_a_lost_answer_uploads_again_under_the_same_name."""

    async def count(parcel: Parcel) -> int:
        mark = f"_d{parcel.document.id}."
        return len({u.file_name for u in server.stored() if mark in u.file_name})

    return count


class TestYukiContract(ConnectorContract):
    slug = "yuki"
    sends_efff = True


@pytest.fixture
def pdf_parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path / "pdf", PDF, media_type="application/pdf", document_id=8)


async def test_a_document_lands_in_the_administration_folder(
    connector: YukiConnector, server: YukiServer, target: Target, pdf_parcel: Parcel
) -> None:
    receipt = await connector.deliver(target, pdf_parcel)
    [held] = server.stored(BAKKERIJ)
    assert (held.data, held.folder, held.file_name) == (PDF, 7, pdf_parcel.main.name)
    assert receipt.details["document_id"] == held.id
    other = replace(target, config={**target.config, "folder": 1})
    await connector.deliver(other, replace(pdf_parcel, export_key="psr-d8-i1-v2"))
    assert [u.folder for u in server.stored()] == [7, 1]
    assert server.sign_ins == 1, "one session for both"


async def test_an_expired_session_is_renewed_once(
    connector: YukiConnector, server: YukiServer, target: Target, pdf_parcel: Parcel
) -> None:
    await connector.deliver(target, pdf_parcel)
    server.expire_sessions()
    await connector.deliver(target, replace(pdf_parcel, export_key="psr-d8-i1-v2"))
    assert server.sign_ins == 2 and len(server.stored()) == 2


async def test_a_refused_key_is_not_tried_twice(
    connector: YukiConnector, server: YukiServer, bad_credentials_target: Target, pdf_parcel: Parcel
) -> None:
    with pytest.raises(NeedsReauth, match="Invalid access key"):
        await connector.deliver(bad_credentials_target, pdf_parcel)
    assert server.calls == 1 and server.stored() == []


async def test_a_document_yuki_refuses_fails_with_its_words(
    connector: YukiConnector, server: YukiServer, target: Target, pdf_parcel: Parcel
) -> None:
    server.reject_next("The file is password protected")
    with pytest.raises(Rejected, match="password protected"):
        await connector.deliver(target, pdf_parcel)
    assert server.stored() == []


async def test_an_unknown_folder_or_administration_is_a_setting_to_fix(
    connector: YukiConnector, target: Target, pdf_parcel: Parcel
) -> None:
    with pytest.raises(Misconfigured, match="Folder 42 does not exist"):
        await connector.deliver(replace(target, config={**target.config, "folder": 42}), pdf_parcel)
    gone = replace(target, config={**target.config, "administration": "nope"})
    with pytest.raises(Misconfigured, match="Administration nope not found"):
        await connector.deliver(gone, pdf_parcel)


async def test_the_day_allowance_used_up_is_a_wait(
    connector: YukiConnector, server: YukiServer, target: Target, pdf_parcel: Parcel
) -> None:
    server.calls_per_day = 1  # the sign-in takes it
    with pytest.raises(RateLimited, match="daily allowance") as caught:
        await connector.deliver(target, pdf_parcel)
    assert caught.value.retry_after


async def test_an_unknown_administration_is_refused_when_saved_with_the_list(
    connector: YukiConnector, target: Target
) -> None:
    unknown = replace(target, config={**target.config, "administration": "Bakkerij Peeters"})
    with pytest.raises(
        InvalidInput, match=r"no administration 'Bakkerij Peeters'.*Garage Peeters NV"
    ) as caught:
        await connector.vet(unknown)
    assert caught.value.field == "administration"
    named = replace(target, config={**target.config, "administration": "garage peeters nv"})
    assert await connector.vet(named) == {"administration": GARAGE}


async def test_a_retry_after_a_lost_answer_uploads_again_under_the_same_name(
    connector: YukiConnector, server: YukiServer, target: Target, pdf_parcel: Parcel
) -> None:
    """What docs/yuki.md says: Yuki cannot promise one copy (no lookup)."""
    await connector.deliver(target, pdf_parcel)
    await connector.deliver(target, pdf_parcel)
    assert [u.file_name for u in server.stored()] == [pdf_parcel.main.name] * 2
