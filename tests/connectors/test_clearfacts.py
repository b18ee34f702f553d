"""ClearFacts: the contract suite and ClearFacts' own behaviour, against the local stand-in
(real GraphQL, its token rules, what it stores)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from io import BytesIO
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.connectors.base import Parcel, ParcelFile, Receipt
from passeur.connectors.clearfacts import EXTENSION, ClearfactsConnector, upload_file
from passeur.connectors.errors import (
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.delivery.worker import Worker
from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ExportState
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.clearfacts_server import ClearfactsServer
from passeur.sandbox.threaded import Threaded
from passeur.services import exports, installations, integrations
from tests.conftest import make_settings
from tests.connectors.contract import CONTENT, ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.connectors.signed_in import StandInTokens, sign_in
from tests.factories import approve_invoices, firm
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")
VAT = "BE0403170701"  # Bakkerij Janssens, an administration the stand-in knows
PDF = b"%PDF-1.7\n1 0 obj <</Type /Page>> endobj\n%%EOF\n"


@pytest.fixture
async def server() -> AsyncIterator[ClearfactsServer]:
    made = ClearfactsServer(client_id="passeur-clearfacts")
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
async def http() -> AsyncIterator[Outbound]:
    made = Outbound(Guard(LOOPBACK))
    yield made
    await made.close()


@pytest.fixture
async def tokens(server: ClearfactsServer, http: Outbound) -> StandInTokens:
    return await sign_in(http, server.authorize_url, server.token_url, server.client_id)


@pytest.fixture
async def connector() -> AsyncIterator[ClearfactsConnector]:
    made = ClearfactsConnector(network=LOOPBACK)
    yield made
    await made.close()


def make_target(server: ClearfactsServer, tokens: object = None, **secrets: str) -> Target:
    config = effective_config(EXTENSION, {}, {"vat_number": VAT})
    config["api_url"] = server.url
    return Target(1, 1, "clearfacts", config, secrets, tokens=tokens)  # type: ignore[arg-type]


@pytest.fixture
def target(server: ClearfactsServer, tokens: StandInTokens) -> Target:
    return make_target(server, tokens)


@pytest.fixture
def bad_credentials_target(server: ClearfactsServer) -> Target:
    return make_target(server, personal_token="x" * 80)


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config={**target.config, "api_url": f"http://127.0.0.1:{port}"})


@pytest.fixture
def fetch(server: ClearfactsServer) -> Callable[[Receipt], Awaitable[bytes]]:
    async def read(receipt: Receipt) -> bytes:
        found = server.delivered(receipt.as_dict())
        assert found is not None
        return found

    return read


@pytest.fixture
def copies(server: ClearfactsServer) -> Callable[[Parcel], Awaitable[int]]:
    async def count(parcel: Parcel) -> int:
        return sum(1 for name, _ in server.stored() if f"_d{parcel.document.id}." in name)

    return count


class TestClearfactsContract(ConnectorContract):
    slug = "clearfacts"

    async def test_redelivery_makes_no_second_copy(  # type: ignore[override]
        self,
        connector: ClearfactsConnector,
        target: Target,
        parcel: Parcel,
        copies: Callable[[Parcel], Awaitable[int]],
    ) -> None:
        """As far as ClearFacts allows: a worker never uploads an export it delivered
        twice. ClearFacts has no idempotency key nor a lookup by file, so another
        process uploading the same export again (the first answer lost) makes a second
        copy: test_a_second_process_uploads_again shows it, docs/clearfacts.md says it."""
        first = await connector.deliver(target, parcel)
        second = await connector.deliver(target, parcel)
        assert first.location == second.location
        assert await copies(parcel) == 1


@pytest.fixture
def parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path / "blobs", CONTENT)


async def test_a_second_process_uploads_again(
    server: ClearfactsServer, target: Target, parcel: Parcel
) -> None:
    for _ in range(2):
        fresh = ClearfactsConnector(network=LOOPBACK)
        await fresh.deliver(target, parcel)
        await fresh.close()
    assert len(server.uploads) == 2  # ClearFacts' limit, said in the guide


async def test_the_upload_names_the_administration_type_and_file(
    connector: ClearfactsConnector, server: ClearfactsServer, target: Target, tmp_path: Path
) -> None:
    sale = make_parcel(tmp_path / "s", CONTENT, document_id=8, kind=DocumentKind.SALES_INVOICE)
    await connector.deliver(target, make_parcel(tmp_path / "p", CONTENT))
    receipt = await connector.deliver(target, sale)
    [purchase, sold] = server.uploads
    assert (purchase.administration, purchase.invoice_type) == ("0403170701", "PURCHASE")
    assert (sold.invoice_type, sold.file_name) == ("SALE", "2026-03-01_INV-2026-001_d8.xml")
    assert sold.media_type == "application/xml" and sold.content == CONTENT
    assert receipt.location == sold.uuid and receipt.details["administration"] == "0403170701"


def test_the_original_ubl_goes_else_the_pdf(tmp_path: Path) -> None:
    ubl = make_parcel(tmp_path / "u", CONTENT)
    assert upload_file(ubl) is ubl.main
    scan = make_parcel(tmp_path / "j", b"\xff\xd8\xff", media_type="image/jpeg")
    pdf_file = ParcelFile("pdf", "x.pdf", "application/pdf", 3, "", lambda: BytesIO(PDF))
    assert upload_file(replace(scan, files=(scan.main, pdf_file))) is pdf_file
    assert upload_file(scan) is scan.main  # no PDF: the original as received
    ubl_with_pdf = replace(ubl, files=(ubl.main, pdf_file))
    assert upload_file(ubl_with_pdf) is ubl.main  # the UBL, not its PDF


async def test_a_personal_token_works_and_a_wrong_one_is_refused_unshown(
    connector: ClearfactsConnector, server: ClearfactsServer, parcel: Parcel
) -> None:
    good = make_target(server, personal_token=server.personal_token())
    assert (await connector.deliver(good, parcel)).location == server.uploads[0].uuid
    wrong = "y" * 80
    with pytest.raises(NeedsReauth) as caught:
        await connector.check(make_target(server, personal_token=wrong))
    assert wrong not in caught.value.message


async def test_a_token_without_the_upload_scope_is_a_setting_to_fix(
    connector: ClearfactsConnector, server: ClearfactsServer, parcel: Parcel
) -> None:
    token = server.personal_token(frozenset({"read_administrations"}))
    with pytest.raises(Misconfigured, match="upload_document"):
        await connector.deliver(make_target(server, personal_token=token), parcel)
    assert server.uploads == []


async def test_a_refused_document_fails_with_clearfacts_words(
    connector: ClearfactsConnector, server: ClearfactsServer, target: Target, parcel: Parcel
) -> None:
    server.reject_next("The booking period 2025 is closed")
    with pytest.raises(Rejected, match="The booking period 2025 is closed"):
        await connector.deliver(target, parcel)
    assert server.uploads == []


async def test_a_file_clearfacts_cannot_read_is_rejected(
    connector: ClearfactsConnector, server: ClearfactsServer, target: Target, tmp_path: Path
) -> None:
    text = make_parcel(tmp_path, b"just some words", media_type="text/plain")
    with pytest.raises(Rejected, match="Unsupported file type"):
        await connector.deliver(target, text)


async def test_an_administration_gone_since_is_a_setting_to_fix(
    connector: ClearfactsConnector, server: ClearfactsServer, target: Target, parcel: Parcel
) -> None:
    server.known = server.known[1:]  # the login lost Bakkerij Janssens
    with pytest.raises(Misconfigured, match="no administration with VAT number BE0403170701"):
        await connector.deliver(target, parcel)


async def test_throttling_and_failures_are_tried_again(
    connector: ClearfactsConnector, server: ClearfactsServer, target: Target, parcel: Parcel
) -> None:
    server.fail_next(429, retry_after=7)
    with pytest.raises(RateLimited) as caught:
        await connector.deliver(target, parcel)
    assert caught.value.retry_after == 7
    server.fail_next(503)
    with pytest.raises(TransientError):
        await connector.deliver(target, parcel)
    server.internal_next()
    with pytest.raises(TransientError, match="Internal server error"):
        await connector.deliver(target, parcel)
    assert (await connector.deliver(target, parcel)).size == len(CONTENT)
    assert len(server.uploads) == 1


async def test_an_expired_access_token_is_refreshed_and_the_old_refresh_token_dies(
    connector: ClearfactsConnector, server: ClearfactsServer, target: Target, parcel: Parcel
) -> None:
    [before] = server.live_refresh_tokens()
    server.expire_access_tokens()
    await connector.deliver(target, parcel)
    assert server.refreshes == 1 and server.live_refresh_tokens() != [before]


async def test_vet_refuses_an_unknown_administration_with_the_reason(
    connector: ClearfactsConnector, server: ClearfactsServer, target: Target
) -> None:
    await connector.vet(target)  # known: nothing to say
    unknown = replace(target, config={**target.config, "vat_number": "BE0999999999"})
    with pytest.raises(InvalidInput, match="no administration with VAT number BE0999999999") as e:
        await connector.vet(unknown)
    assert e.value.field == "vat_number"


def test_a_vat_number_that_is_not_one_is_refused_before_asking() -> None:
    with pytest.raises(InvalidInput, match="BE and ten digits"):
        EXTENSION.clean_integration({"vat_number": "BE12"})
    with pytest.raises(InvalidInput, match="exactly 80 characters"):
        EXTENSION.clean_install({"personal_token": "short"})
    assert EXTENSION.clean_integration({"vat_number": "BE 0403.170.701"})


# End to end: the services, the worker and the ledger, on SQLite.


@pytest.fixture
def threaded_server() -> Iterator[ClearfactsServer]:
    runner = Threaded(ClearfactsServer(client_id="passeur-clearfacts"))
    yield runner.start()
    runner.stop()


async def test_saving_delivering_and_rejecting_end_to_end(
    tmp_path: Path, threaded_server: ClearfactsServer, shared_data: Path
) -> None:
    from passeur.bootstrap import build
    from passeur.storage import schema

    server = threaded_server
    settings = make_settings(
        tmp_path / "data", f"sqlite:///{tmp_path / 'p.db'}", allowed_networks="127.0.0.0/8",
        **server.settings(),
    )  # fmt: skip
    app: App = build(settings)
    schema.upgrade(app.engine)
    try:
        f = firm(app, 1)
        token = server.personal_token()
        inst = installations.install(
            app, f.partner_id, "clearfacts", "ClearFacts", {"personal_token": token}
        )
        client = f.clients[0].id
        with pytest.raises(InvalidInput, match="no administration with VAT number BE0999999999"):
            integrations.add(app, f.partner_id, client, inst.id, {"vat_number": "BE0999999999"})
        assert integrations.list_integrations(app, f.partner_id) == []  # nothing saved
        integrations.add(app, f.partner_id, client, inst.id, {"vat_number": VAT})

        server.reject_next("Unknown VAT code 99 on line 1")
        approve_invoices(app, f, shared_data, 2)
        await Worker(app).run(asyncio.Event(), drain=True)
        found = sorted(
            (r["export"] for r in exports.list_exports(app, f.partner_id)), key=lambda e: e.id
        )
        assert [e.state for e in found] == [ExportState.FAILED, ExportState.DELIVERED]
        assert found[0].attempts == 1  # rejected: not tried again
        assert "Unknown VAT code 99 on line 1" in found[0].last_error
        [stored] = server.uploads
        sample = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
        assert stored.content == sample and stored.invoice_type == "PURCHASE"
        assert token not in found[0].last_error
    finally:
        app.close()
