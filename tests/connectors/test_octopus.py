"""Octopus against its loopback stand-in (REST and file-import APIs, two-level tokens)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.errors import Misconfigured, NeedsReauth, RateLimited, Rejected
from passeur.connectors.octopus import EXTENSION, OctopusConnector
from passeur.connectors.octopus.api import RENEW_MARGIN, TOKEN_LIFE
from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.octopus_server import FILES, PASSWORD, REST, USER, OctopusServer
from passeur.sandbox.smtp_server import SmtpSandbox
from tests.connectors.contract import ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


class Clock:
    """The connector's monotonic clock, moved by the test (no waiting)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[OctopusServer]:
    made = OctopusServer()
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def connector(clock: Clock) -> AsyncIterator[OctopusConnector]:
    made = OctopusConnector(network=LOOPBACK, clock=clock)
    yield made
    await made.close()


def make_target(server: OctopusServer, password: str = PASSWORD, **config: object) -> Target:
    values: dict[str, object] = {
        "user": USER,
        "dossier": "101",
        "api_url": f"{server.url}{REST}",
        "file_import_url": f"{server.url}{FILES}",
        **config,
    }
    secrets = {"password": password, "software_house": server.software_house}
    return Target(1, 1, "octopus", effective_config(EXTENSION, values), secrets)


@pytest.fixture
def target(server: OctopusServer) -> Target:
    return make_target(server)


@pytest.fixture
def bad_credentials_target(server: OctopusServer) -> Target:
    return make_target(server, password="not-the-password")


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        url = f"http://127.0.0.1:{port}"
        config = {**target.config, "api_url": url + REST, "file_import_url": url + FILES}
        yield replace(target, config=config)


@pytest.fixture
def fetch(server: OctopusServer) -> Callable[[Receipt], Awaitable[bytes]]:
    async def read(receipt: Receipt) -> bytes:
        held = server.stored(receipt.details["dossier"])
        [found] = [i for i in held if i.id == receipt.details["import_id"]]
        return found.data

    return read


@pytest.fixture
def copies(server: OctopusServer) -> Callable[[Parcel], Awaitable[int]]:
    """Distinct files of the document in the Import Viewer (its name carries its id):
    what a person sees as one document, as the e-mail suite counts Message-IDs. That a
    lost answer's retry does import the file twice is test_a_retry_after_a_lost_answer."""

    async def count(parcel: Parcel) -> int:
        return len(
            {i.file_name for i in server.stored() if f"_d{parcel.document.id}." in i.file_name}
        )

    return count


class TestOctopusContract(ConnectorContract):
    slug = "octopus"
    sends_efff = True


@pytest.fixture
def pdf_parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path / "pdf", PDF, media_type="application/pdf", document_id=8)


async def test_a_document_lands_in_the_dossier_import_viewer(
    connector: OctopusConnector, server: OctopusServer, target: Target, pdf_parcel: Parcel
) -> None:
    receipt = await connector.deliver(target, pdf_parcel)
    [held] = server.stored(101)
    assert held.data == PDF and held.file_name == pdf_parcel.main.name
    assert receipt.details["dossier"] == 101 and receipt.location.endswith(held.file_name)
    assert server.stored(102) == []


async def test_tokens_are_kept_then_renewed_before_they_run_out(
    connector: OctopusConnector,
    server: OctopusServer,
    target: Target,
    tmp_path: Path,
    clock: Clock,
) -> None:
    for n in range(3):
        parcel = make_parcel(tmp_path / str(n), PDF, media_type="application/pdf", document_id=n)
        await connector.deliver(target, parcel)
    assert server.sign_ins["files"] == 1 and server.connects == 1, "one sign-in, one dossier"
    clock.now += TOKEN_LIFE - RENEW_MARGIN  # the token's last minute: not used any more
    late = make_parcel(tmp_path / "late", PDF, media_type="application/pdf", document_id=5)
    await connector.deliver(target, late)
    assert server.sign_ins["files"] == 2 and server.connects == 2
    assert server.refused == 0, "renewed before Octopus had to refuse a call"


async def test_a_token_octopus_forgot_is_renewed_once(
    connector: OctopusConnector, server: OctopusServer, target: Target, pdf_parcel: Parcel
) -> None:
    await connector.check(target)
    await connector.deliver(target, pdf_parcel)
    server.expire_tokens()
    await connector.deliver(target, replace(pdf_parcel, export_key="psr-d8-i1-v2"))
    assert server.sign_ins["files"] == 2
    assert len(server.stored(101)) == 2


async def test_a_refused_sign_in_is_not_tried_twice(
    connector: OctopusConnector,
    server: OctopusServer,
    bad_credentials_target: Target,
    pdf_parcel: Parcel,
) -> None:
    with pytest.raises(NeedsReauth, match="Invalid user or password"):
        await connector.deliver(bad_credentials_target, pdf_parcel)
    assert server.sign_ins["files"] == 0 and server.stored() == []


async def test_a_wrong_software_house_is_a_refused_sign_in(
    connector: OctopusConnector, server: OctopusServer, target: Target
) -> None:
    other = replace(target, secrets={**target.secrets, "software_house": "0000"})
    with pytest.raises(NeedsReauth, match="Unknown software house") as caught:
        await connector.check(other)
    assert PASSWORD not in caught.value.message


async def test_a_document_octopus_refuses_fails_with_its_words(
    connector: OctopusConnector, server: OctopusServer, target: Target, pdf_parcel: Parcel
) -> None:
    server.reject_next("The document is password protected")
    with pytest.raises(Rejected, match="password protected"):
        await connector.deliver(target, pdf_parcel)
    assert server.stored() == []


async def test_the_daily_cap_is_a_wait_not_a_failure(
    connector: OctopusConnector, server: OctopusServer, target: Target, pdf_parcel: Parcel
) -> None:
    server.caps["import"] = 0
    with pytest.raises(RateLimited, match="Daily limit"):
        await connector.deliver(target, pdf_parcel)


async def test_an_unknown_dossier_is_refused_with_the_list(
    connector: OctopusConnector, target: Target, pdf_parcel: Parcel
) -> None:
    unknown = replace(target, config={**target.config, "dossier": "999"})
    with pytest.raises(InvalidInput, match=r"no dossier '999'.*101 Bakkerij Janssens BV") as caught:
        await connector.vet(unknown)
    assert caught.value.field == "dossier"
    with pytest.raises(Misconfigured, match="dossier 999"):
        await connector.deliver(unknown, pdf_parcel)
    named = replace(target, config={**target.config, "dossier": "garage peeters nv"})
    assert await connector.vet(named) == {"dossier": "102"}


async def test_a_retry_after_a_lost_answer_imports_again_under_the_same_name(
    connector: OctopusConnector, server: OctopusServer, target: Target, pdf_parcel: Parcel
) -> None:
    """What docs/octopus.md says: Octopus cannot promise one copy (no lookup)."""
    await connector.deliver(target, pdf_parcel)
    await connector.deliver(target, pdf_parcel)
    names = [i.file_name for i in server.stored(101)]
    assert names == [pdf_parcel.main.name] * 2


async def test_the_mailbox_route_sends_the_file_to_the_dossier_address(
    connector: OctopusConnector, server: OctopusServer, target: Target, tmp_path: Path
) -> None:
    smtp = SmtpSandbox(security="none").start()
    try:
        mailbox = replace(
            target,
            config={
                **target.config,
                "delivery": "mailbox",
                "mailbox_address": "bakkerij101@docin.octopus.be",
                "smtp_host": "127.0.0.1",
                "smtp_port": smtp.port,
                "smtp_security": "none",
                "sender_address": "passeur@firm.example",
            },
        )
        parcel = make_parcel(
            tmp_path, PDF, media_type="application/pdf", kind=DocumentKind.SALES_INVOICE
        )
        receipt = await connector.deliver(mailbox, parcel)
        [mail] = smtp.messages
        assert mail.rcpt_tos == ("bakkerij101@docin.octopus.be",)
        [attachment] = list(mail.parsed().iter_attachments())
        assert attachment.get_payload(decode=True) == PDF
        assert receipt.location == mail.message_id and receipt.details["route"] == "mailbox"
        assert server.stored() == [] and server.sign_ins["files"] == 0
    finally:
        smtp.stop()


async def test_the_stand_in_enforces_the_next_sequence_number(server: OctopusServer) -> None:
    """Bookings must take the journal's next number: a gap or a repeat is refused."""
    import aiohttp

    async with aiohttp.ClientSession() as http:
        signed = await http.post(
            f"{server.url}{REST}/authentication",
            headers={"softwareHouseUuid": server.software_house},
            json={"user": USER, "password": PASSWORD},
        )
        token = (await signed.json())["token"]
        opened = await http.post(
            f"{server.url}{REST}/dossiers?dossierId=101", headers={"Token": token}
        )
        dossier_token = (await opened.json())["Dossiertoken"]

        async def book(number: int) -> tuple[int, dict[str, object]]:
            data = {"buySellBookingServiceData": {"journalKey": "A1", "documentSequenceNr": number}}
            answer = await http.post(
                f"{server.url}{REST}/dossiers/101/buysellbookings",
                headers={"dossierToken": dossier_token},
                json={
                    **data,
                    "attachments": [
                        {"fileName": "a.pdf", "fileData": base64.b64encode(PDF).decode()}
                    ],
                },
            )
            return answer.status, (await answer.json() if answer.status != 201 else {})

        assert (await book(1))[0] == 201
        status, said = await book(1)
        assert status == 400 and "expected 2" in str(said["errorMessage"])
        assert (await book(3))[0] == 400
        assert (await book(2))[0] == 201
