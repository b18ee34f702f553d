"""A document whose totals do not add up reaches file targets at once but waits for a
person before accounting software books it; marking it reviewed sends it (both databases).

The accounting package is a fake booking extension that keeps what it was sent: the
e-fff file `efff_file` makes, which intake must read back.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.base import CheckResult, Connector, Parcel, Receipt
from passeur.delivery.worker import Worker
from passeur.domain.documents import DocumentKind
from passeur.domain.errors import Conflict, NotFound
from passeur.domain.exports import ExportState
from passeur.domain.extensions import Extension, Target
from passeur.formats.efff_writer import efff_file
from passeur.formats.intake import read_document
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import documents, exports, installations, intake, integrations
from tests.factories import add_integration, firm, sftp_installation

BOOKS = Extension(
    slug="fakeledger",
    name="Fake Ledger",
    category="Accounting software",
    summary="A test double of an accounting package that books what it receives.",
    install_fields=(),
    books_entries=True,
)
BOOKED: list[bytes] = []  # what the fake ledger received, in order


class LedgerConnector(Connector):
    extension = BOOKS

    async def check(self, target: Target) -> CheckResult:
        return CheckResult(True, "ok")

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        made = await asyncio.to_thread(efff_file, parcel)
        BOOKED.append(made.data)
        return Receipt(location=f"ledger/{made.name}", size=len(made.data), sha256="")


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The fake ledger in the registry for one test (every way of looking one up)."""
    known, lookup, classes = registry.extensions(), registry.extension, registry.connector_class
    monkeypatch.setattr(registry, "extensions", lambda: {**known, BOOKS.slug: BOOKS})
    monkeypatch.setattr(registry, "extension", lambda s: BOOKS if s == BOOKS.slug else lookup(s))
    monkeypatch.setattr(
        registry, "connector_class", lambda s: LedgerConnector if s == BOOKS.slug else classes(s)
    )
    BOOKED.clear()
    return BOOKED


def upload(app: App, partner_id: int, client_id: int, data: bytes, name: str) -> int:
    doc = intake.upload(app, partner_id, client_id, name, data, kind=DocumentKind.PURCHASE_INVOICE)
    return documents.approve(app, partner_id, doc.id).id


def by_extension(app: App, partner_id: int, document_id: int) -> dict[str, object]:
    found = exports.list_exports(app, partner_id)
    return {
        ("ledger" if r["installation_name"] == "Books" else "sftp"): r["export"]
        for r in found
        if r["export"].document_id == document_id
    }


def drain(app: App) -> None:
    asyncio.run(Worker(app).run(asyncio.Event(), drain=True))


def test_held_from_booking_until_reviewed_and_never_from_file_targets(
    app: App, sftp: SftpSandbox, shared_data: Path, ledger: list[bytes]
) -> None:
    f = firm(app, n_clients=1)
    pid, cid = f.partner_id, f.clients[0].id
    books = installations.install(app, pid, BOOKS.slug, "Books", {}).id
    ledger_integration = add_integration(app, pid, cid, books)
    add_integration(app, pid, cid, sftp_installation(app, pid, sftp))
    good = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    broken = good.replace(b">1656.25</cbc:PayableAmount>", b">1665.25</cbc:PayableAmount>")
    fine = upload(app, pid, cid, good, "fine.xml")
    held = upload(app, pid, cid, broken, "held.xml")

    document = documents.get(app, pid, held)
    assert document.awaiting_review and "(BR-CO-16)" in document.review_reason
    assert any("do not add up (BR-CO-16)" in w for w in document.metadata["warnings"])
    waiting = by_extension(app, pid, held)["ledger"]
    assert waiting.state is ExportState.NEEDS_ATTENTION  # type: ignore[attr-defined]
    assert "its totals do not add up (BR-CO-16)" in waiting.last_error  # type: ignore[attr-defined]
    drain(app)
    assert by_extension(app, pid, held)["sftp"].state is ExportState.DELIVERED  # type: ignore[attr-defined]
    assert by_extension(app, pid, fine)["ledger"].state is ExportState.DELIVERED  # type: ignore[attr-defined]
    assert len(ledger) == 1, "only the document that adds up was booked"

    # Neither a manual retry nor a pause and resume sends it behind the person's back.
    exports.retry(app, pid, waiting.id)  # type: ignore[attr-defined]
    integrations.pause(app, pid, ledger_integration)
    integrations.resume(app, pid, ledger_integration)
    drain(app)
    assert by_extension(app, pid, held)["ledger"].state is ExportState.NEEDS_ATTENTION  # type: ignore[attr-defined]
    assert len(ledger) == 1

    # Reviewed while the accounting installation is switched off: it waits for the switch.
    installations.set_active(app, pid, books, False)
    reviewed = documents.mark_reviewed(app, pid, held)
    assert not reviewed.awaiting_review and reviewed.reviewed_by == "the operator"
    drain(app)
    assert by_extension(app, pid, held)["ledger"].state is ExportState.HELD  # type: ignore[attr-defined]
    assert len(ledger) == 1
    installations.set_active(app, pid, books, True)
    drain(app)
    assert by_extension(app, pid, held)["ledger"].state is ExportState.DELIVERED  # type: ignore[attr-defined]
    assert len(ledger) == 2
    booked = read_document(ledger[1])  # intake reads what the ledger got
    assert booked.number == "Snippet1" and booked.embedded_pdf is not None
    assert booked.metadata["totals"]["payable"] == "1665.25"
    assert [m["rule"] for m in booked.metadata["totals_mismatches"]] == ["BR-CO-16"]


def test_reviewing_is_refused_when_there_is_nothing_to_review_and_changes_nothing(
    app: App, shared_data: Path, ledger: list[bytes]
) -> None:
    f, other = firm(app, n_clients=1), firm(app, n_clients=1, name="Other")
    pid, cid = f.partner_id, f.clients[0].id
    add_integration(app, pid, cid, installations.install(app, pid, BOOKS.slug, "Books", {}).id)
    good = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    broken = good.replace(b">1300</cbc:LineExtensionAmount>", b">1400</cbc:LineExtensionAmount>")
    broken = broken.replace(
        b">1300.00</cbc:LineExtensionAmount>", b">1400.00</cbc:LineExtensionAmount>"
    )
    fine, held = upload(app, pid, cid, good, "a.xml"), upload(app, pid, cid, broken, "b.xml")
    assert documents.get(app, pid, held).awaiting_review
    with pytest.raises(Conflict, match="has nothing to review"):
        documents.mark_reviewed(app, pid, fine)
    with pytest.raises(NotFound):  # another partner's document: not found, nothing changed
        documents.mark_reviewed(app, other.partner_id, held)
    assert documents.get(app, pid, held).awaiting_review
    documents.mark_reviewed(app, pid, held)
    with pytest.raises(Conflict, match="already reviewed by the operator"):
        documents.mark_reviewed(app, pid, held)
