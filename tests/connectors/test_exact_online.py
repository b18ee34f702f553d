"""Exact Online: the contract suite and Exact's own behaviour, against the local stand-in
(country instances, rotating refresh tokens, per-company limits, OData errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from passeur.connectors import oauth
from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.errors import Misconfigured, NeedsReauth, RateLimited, Rejected
from passeur.connectors.exact_online import ExactOnlineConnector
from passeur.connectors.exact_online.connector import subject
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from passeur.formats.intake import read_document
from passeur.sandbox.exact_online_server import ExactOnlineServer
from tests.connectors.contract import ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.connectors.signed_in import RefusedTokens, StandInTokens, sign_in
from tests.ports import refusing_port

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")
COMPANY = 123456
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"


def pdf_parcel(folder: Path, content: bytes = PDF, **kw: Any) -> Parcel:
    """A document that came as a PDF: Exact receives the PDF alone, as a document."""
    return make_parcel(folder, content, media_type="application/pdf", **kw)


@pytest.fixture
async def server() -> AsyncIterator[ExactOnlineServer]:
    made = ExactOnlineServer(client_id="passeur-exact")
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
async def tokens(server: ExactOnlineServer) -> AsyncIterator[StandInTokens]:
    http = Outbound(Guard(LOOPBACK))
    yield await sign_in(http, server.authorize_url, server.token_url, server.client_id)
    await http.close()


@pytest.fixture
async def connector() -> AsyncIterator[ExactOnlineConnector]:
    made = ExactOnlineConnector(network=LOOPBACK)
    yield made
    await made.close()


def _config(server: ExactOnlineServer, country: str = "be") -> dict[str, object]:
    api = server.settings()["exact_online_api_url"].replace("{country}", country)
    journals = {"purchase_journal": "600", "sales_journal": "700"}
    gl = {"purchase_gl_account": "604000", "sales_gl_account": "700000"}
    return {"country": country, "company_code": COMPANY, "api_url": api, **journals, **gl}


@pytest.fixture
def target(server: ExactOnlineServer, tokens: StandInTokens) -> Target:
    return Target(1, 1, "exact_online", _config(server), tokens=tokens)


@pytest.fixture
def bad_credentials_target(target: Target) -> Target:
    return replace(target, tokens=RefusedTokens())


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        api = f"http://127.0.0.1:{port}/be/api/v1"
        yield replace(target, config={**target.config, "api_url": api})


@pytest.fixture
def fetch(server: ExactOnlineServer):  # type: ignore[no-untyped-def]
    async def fetched(receipt: Receipt) -> bytes:
        found = server.delivered(receipt.as_dict())
        assert found is not None, "no attachment where the receipt says"
        return found

    return fetched


@pytest.fixture
def copies(server: ExactOnlineServer):  # type: ignore[no-untyped-def]
    async def counted(parcel: Parcel) -> int:
        return sum(1 for d in server.documents_in(COMPANY) if d.subject == subject(parcel))

    return counted


class TestExactOnlineContract(ConnectorContract):
    slug = "exact_online"
    sends_efff = True


async def test_a_purchase_invoice_becomes_a_document_of_its_type_with_the_file_attached(
    connector: ExactOnlineConnector, target: Target, tmp_path: Path, server: ExactOnlineServer
) -> None:
    parcel = pdf_parcel(tmp_path)
    receipt = await connector.deliver(target, parcel)
    [document] = server.documents_in(COMPANY)
    assert document.type == 20 and document.subject == "INV-2026-001 (passeur 7)"
    assert document.date == "2026-03-01"
    assert server.stored() == [(parcel.main.name, PDF)]
    assert receipt.details["division"] == COMPANY
    # Reference data is cached: a second document costs the lookup, the document, the file.
    before = len(server.calls)
    await connector.deliver(target, pdf_parcel(tmp_path, PDF + b"2", document_id=8))
    assert [c.split(" ")[0] for c in server.calls[before:]] == ["GET", "POST", "POST"]


async def test_a_sales_invoice_gets_the_sales_type(
    connector: ExactOnlineConnector, target: Target, tmp_path: Path, server: ExactOnlineServer
) -> None:
    parcel = pdf_parcel(tmp_path, kind=DocumentKind.SALES_INVOICE)
    await connector.deliver(target, parcel)
    assert [d.type for d in server.documents_in(COMPANY)] == [10]


async def test_a_closed_period_is_refused_in_exacts_words_and_nothing_is_kept(
    connector: ExactOnlineConnector, target: Target, tmp_path: Path, server: ExactOnlineServer
) -> None:
    server.closed_before = "2026-06-01"
    with pytest.raises(Rejected) as caught:
        await connector.deliver(target, pdf_parcel(tmp_path))
    assert "The period of 2026-03-01 is closed" in caught.value.message
    assert server.documents == {} and server.attachments == {}


async def test_a_company_the_user_cannot_reach_is_a_configuration_matter(
    connector: ExactOnlineConnector, target: Target, tmp_path: Path
) -> None:
    elsewhere = replace(target, config={**target.config, "company_code": 999})
    with pytest.raises(Misconfigured, match="no company 999"):
        await connector.deliver(elsewhere, pdf_parcel(tmp_path))
    with pytest.raises(InvalidInput, match="no company 999") as caught:
        await connector.vet(elsewhere)
    assert caught.value.field == "company_code" and "123456" in str(caught.value)
    await connector.vet(target)  # an existing one passes


async def test_a_token_from_another_country_is_refused(
    server: ExactOnlineServer, tokens: StandInTokens
) -> None:
    token = await tokens.token()
    for country, status in (("be", 200), ("nl", 401)):
        url = _config(server, country)["api_url"]
        answer = await tokens.http.request(
            "GET", f"{url}/current/Me", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status == status, country


async def test_over_the_limit_exact_answers_429_with_the_exceeded_window_only(
    connector: ExactOnlineConnector, target: Target, tmp_path: Path, server: ExactOnlineServer
) -> None:
    await connector.deliver(target, pdf_parcel(tmp_path))  # fills the caches
    server.per_minute = len([c for c in server.calls if f"{COMPANY}/" in c])
    with pytest.raises(RateLimited) as caught:
        await connector.deliver(target, pdf_parcel(tmp_path, document_id=8))
    assert caught.value.retry_after is not None and caught.value.retry_after <= 60
    assert server.violations == 1


async def test_refresh_tokens_rotate_and_an_old_one_or_an_early_refresh_is_refused(
    server: ExactOnlineServer, tokens: StandInTokens
) -> None:
    http, client, first = tokens.http, tokens.client, tokens.grant
    assert first.lifetime == 600  # "600", a string, as Exact sends it
    with pytest.raises(oauth.TooEarly):  # 570 s before its end: too early
        await oauth.refresh(http, client, first.refresh_token)
    server.expire_access_tokens()
    second = await oauth.refresh(http, client, first.refresh_token)
    assert second.refresh_token != first.refresh_token
    # Earlier refresh tokens die once the new one is used (targets.md §1.2): until then
    # the first works again (its client may have died before keeping the second).
    server.expire_access_tokens()
    again = await oauth.refresh(http, client, first.refresh_token)
    server.expire_access_tokens()
    await oauth.refresh(http, client, again.refresh_token)
    server.expire_access_tokens()
    for dead in (first, second):
        with pytest.raises(NeedsReauth, match="refresh token"):
            await oauth.refresh(http, client, dead.refresh_token)


def ubl_parcel(folder: Path, shared_data: Path, document_id: int = 21, **kw: Any) -> Parcel:
    """A Belgian UBL invoice (21 % and 6 %), with the metadata intake stored for it."""
    sample = (shared_data / "ubl/odoo-BEG-testcase01_minimal_invoice.xml").read_bytes()
    parcel = make_parcel(folder, sample, document_id=document_id, **kw)
    meta = read_document(sample).metadata
    return replace(parcel, document=replace(parcel.document, metadata=meta))


async def test_a_ubl_is_booked_as_an_entry_in_the_journal_once(
    connector: ExactOnlineConnector,
    target: Target,
    tmp_path: Path,
    server: ExactOnlineServer,
    shared_data: Path,
) -> None:
    parcel = ubl_parcel(tmp_path, shared_data)
    receipt = await connector.deliver(target, parcel)
    [entry] = server.entries.values()
    [document] = server.documents_in(COMPANY)
    [supplier] = server.accounts.values()
    assert (entry.kind, entry.body["Journal"], entry.body["Type"]) == ("purchase", "600", 30)
    assert supplier["VATNumber"] == "BE0123456749" and supplier["IsSupplier"] is True
    assert entry.body["Supplier"] == supplier["ID"] and entry.body["Document"] == document.id
    lines = [
        (x["VATCode"], x["AmountFC"], x["VATAmountFC"]) for x in entry.body["PurchaseEntryLines"]
    ]
    assert lines == [("21", 2400.0, 504.0), ("6", 200.0, 12.0)]
    assert receipt.details["entry"] == entry.id
    [(_, arrived)] = server.stored()
    assert read_document(arrived).embedded_pdf is not None  # the e-fff, attached
    # A redelivery books nothing twice; another invoice of the supplier reuses its account.
    again = await connector.deliver(target, parcel)
    assert again.details["entry"] == entry.id and len(server.entries) == 1
    await connector.deliver(target, ubl_parcel(tmp_path / "b", shared_data, document_id=22))
    assert len(server.entries) == 2 and len(server.accounts) == 1


async def test_an_unknown_vat_code_is_refused_in_exacts_words(
    connector: ExactOnlineConnector,
    target: Target,
    tmp_path: Path,
    server: ExactOnlineServer,
    shared_data: Path,
) -> None:
    await connector.deliver(target, ubl_parcel(tmp_path, shared_data))  # reference data cached
    company = server.divisions[COMPANY]
    company.vat_codes = tuple(c for c in company.vat_codes if c[0] != "21")
    with pytest.raises(Rejected, match="VAT code '21' is unknown in this administration"):
        await connector.deliver(target, ubl_parcel(tmp_path / "b", shared_data, document_id=22))
    assert len(server.entries) == 1


async def test_a_journal_the_company_lacks_is_refused_when_saved(
    connector: ExactOnlineConnector, target: Target, server: ExactOnlineServer
) -> None:
    elsewhere = replace(target, config={**target.config, "sales_journal": "799"})
    with pytest.raises(InvalidInput, match="no journal '799'") as caught:
        await connector.vet(elsewhere)
    assert caught.value.field == "sales_journal" and "700" in str(caught.value)
