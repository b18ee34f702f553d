from datetime import datetime

import pytest

from passeur.domain.documents import (
    AccountingStatus,
    Direction,
    Document,
    DocumentKind,
    Family,
    Lifecycle,
    family_of,
    release_event,
    status_from_exports,
)
from passeur.domain.errors import Conflict


def make(kind: DocumentKind, lifecycle: Lifecycle = Lifecycle.RECEIVED, **kw: object) -> Document:
    values: dict[str, object] = {
        "id": 1,
        "partner_id": 1,
        "client_id": 1,
        "kind": kind,
        "direction": None,
        "filename": "x.xml",
        "media_type": "application/xml",
        "sha256": "0" * 64,
        "size": 1,
        "lifecycle": lifecycle,
        "accounting_status": AccountingStatus.CLIENT_ACTION_NEEDED,
        "received_at": datetime(2026, 1, 1),
    }
    values.update(kw)
    return Document(**values)  # type: ignore[arg-type]


def test_families_follow_the_design_table() -> None:
    assert family_of(DocumentKind.PURCHASE_INVOICE) is Family.PURCHASES
    assert family_of(DocumentKind.PURCHASE_RECEIPT) is Family.PURCHASES
    assert family_of(DocumentKind.SALES_INVOICE) is Family.SALES
    assert family_of(DocumentKind.CREDIT_NOTE, Direction.SALES) is Family.SALES
    assert family_of(DocumentKind.CREDIT_NOTE, Direction.PURCHASE) is Family.PURCHASES
    assert family_of(DocumentKind.ENRICHED_MOVEMENT_REPORT) is Family.STATEMENTS
    assert family_of(DocumentKind.OTHER) is Family.OTHER
    assert Family.STATEMENTS.invoice_type == "cod"
    assert Family.PURCHASES.invoice_type == "purchases"


def test_purchases_are_approved_and_sales_are_sent() -> None:
    assert release_event(Family.PURCHASES) is Lifecycle.APPROVED
    assert release_event(Family.SALES) is Lifecycle.SENT
    make(DocumentKind.PURCHASE_INVOICE).release(Lifecycle.APPROVED)
    with pytest.raises(Conflict, match="released by 'approved'"):
        make(DocumentKind.PURCHASE_INVOICE).release(Lifecycle.SENT)
    with pytest.raises(Conflict, match="released by 'sent'"):
        make(DocumentKind.SALES_INVOICE).release(Lifecycle.APPROVED)


def test_a_document_is_released_once() -> None:
    with pytest.raises(Conflict, match="already approved"):
        make(DocumentKind.PURCHASE_INVOICE, Lifecycle.APPROVED).release(Lifecycle.APPROVED)


def test_coda_goes_out_as_cod() -> None:
    coda = make(DocumentKind.ENRICHED_MOVEMENT_REPORT, media_type="text/x-coda", filename="a.txt")
    assert coda.extension == "cod"
    assert make(DocumentKind.PURCHASE_INVOICE).extension == "xml"


@pytest.mark.parametrize(
    "states, expected",
    [
        ([], AccountingStatus.READY_TO_PROCESS),
        (["delivered", "delivered"], AccountingStatus.READY_TO_PROCESS),
        (["delivered", "pending"], AccountingStatus.QUEUED),
        (["retrying"], AccountingStatus.QUEUED),
        (["running", "delivered"], AccountingStatus.QUEUED),
        (["delivered", "failed"], AccountingStatus.ERROR),
        (["needs_attention", "pending"], AccountingStatus.ERROR),
    ],
)
def test_accounting_status_follows_the_exports(
    states: list[str], expected: AccountingStatus
) -> None:
    status = status_from_exports(AccountingStatus.QUEUED, Lifecycle.APPROVED, states)
    assert status is expected


def test_processed_sticks_and_unreleased_waits_for_the_client() -> None:
    processed = AccountingStatus.PROCESSED
    assert status_from_exports(processed, Lifecycle.APPROVED, ["failed"]) is processed
    waiting = status_from_exports(AccountingStatus.QUEUED, Lifecycle.RECEIVED, [])
    assert waiting is AccountingStatus.CLIENT_ACTION_NEEDED
