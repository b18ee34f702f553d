"""Documents: kinds, families, the lifecycle that triggers exports and the accounting status."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from passeur.domain.errors import Conflict


class DocumentKind(StrEnum):
    PURCHASE_INVOICE = "purchase_invoice"
    SALES_INVOICE = "sales_invoice"
    CREDIT_NOTE = "credit_note"
    PURCHASE_RECEIPT = "purchase_receipt"
    ENRICHED_MOVEMENT_REPORT = "enriched_movement_report"
    OTHER = "other"


class Direction(StrEnum):
    """Which side of the client's books a document belongs to (credit notes need it)."""

    PURCHASE = "purchase"
    SALES = "sales"


class Family(StrEnum):
    """One mapping used by every extension: folder, [invoice_type], e-mail address."""

    PURCHASES = "purchases"
    SALES = "sales"
    STATEMENTS = "statements"
    OTHER = "other"

    @property
    def invoice_type(self) -> str:
        return "cod" if self is Family.STATEMENTS else self.value


class Lifecycle(StrEnum):
    RECEIVED = "received"  # in passeur, not yet released by the client
    APPROVED = "approved"  # purchases (and other documents): the client approved it
    SENT = "sent"  # sales: the client sent it to its customer
    ARRIVED = "arrived"  # statements go out as soon as they arrive


class AccountingStatus(StrEnum):
    CLIENT_ACTION_NEEDED = "client_action_needed"
    QUEUED = "queued"
    READY_TO_PROCESS = "ready_to_process"
    PROCESSED = "processed"
    ERROR = "error"


class Folder(StrEnum):
    """Where the partner space shows a document (product.md §1.4): credit notes go with the
    invoices of their side."""

    SALES_INVOICES = "sales_invoices"
    PURCHASE_INVOICES = "purchase_invoices"
    PURCHASE_RECEIPTS = "purchase_receipts"
    ENRICHED_MOVEMENT_REPORTS = "enriched_movement_reports"
    OTHER_DOCUMENTS = "other_documents"


def folder_of(kind: DocumentKind, direction: Direction | None = None) -> Folder:
    if kind is DocumentKind.PURCHASE_RECEIPT:
        return Folder.PURCHASE_RECEIPTS
    family = family_of(kind, direction)
    return {
        Family.SALES: Folder.SALES_INVOICES,
        Family.PURCHASES: Folder.PURCHASE_INVOICES,
        Family.STATEMENTS: Folder.ENRICHED_MOVEMENT_REPORTS,
        Family.OTHER: Folder.OTHER_DOCUMENTS,
    }[family]


class AwaitingClient(Conflict):
    """The document is not released yet: the client must approve or send it first."""

    def __init__(self, document_id: int, message: str) -> None:
        super().__init__(message)
        self.document_id = document_id


def family_of(kind: DocumentKind, direction: Direction | None = None) -> Family:
    if kind in (DocumentKind.PURCHASE_INVOICE, DocumentKind.PURCHASE_RECEIPT):
        return Family.PURCHASES
    if kind is DocumentKind.SALES_INVOICE:
        return Family.SALES
    if kind is DocumentKind.CREDIT_NOTE:
        return Family.SALES if direction is Direction.SALES else Family.PURCHASES
    if kind is DocumentKind.ENRICHED_MOVEMENT_REPORT:
        return Family.STATEMENTS
    return Family.OTHER


def release_event(family: Family) -> Lifecycle:
    """The lifecycle event that releases a document of this family to the integrations."""
    return {
        Family.PURCHASES: Lifecycle.APPROVED,
        Family.SALES: Lifecycle.SENT,
        Family.STATEMENTS: Lifecycle.ARRIVED,
        Family.OTHER: Lifecycle.APPROVED,
    }[family]


@dataclass(frozen=True)
class Document:
    id: int
    partner_id: int
    client_id: int
    kind: DocumentKind
    direction: Direction | None
    filename: str
    media_type: str
    sha256: str
    size: int
    lifecycle: Lifecycle
    accounting_status: AccountingStatus
    received_at: datetime
    released_at: datetime | None = None
    number: str = ""
    issue_date: str = ""  # ISO date from the document itself, "" if unknown
    metadata: dict[str, Any] = field(default_factory=dict)
    # Why a person must look before accounting software books it (its totals do not add
    # up), "" when nothing needs a look; and who looked, when.
    review_reason: str = ""
    reviewed_at: datetime | None = None
    reviewed_by: str = ""

    @property
    def awaiting_review(self) -> bool:
        """Exports to extensions that book entries wait until a person has looked."""
        return bool(self.review_reason) and self.reviewed_at is None

    @property
    def family(self) -> Family:
        return family_of(self.kind, self.direction)

    @property
    def folder(self) -> Folder:
        return folder_of(self.kind, self.direction)

    @property
    def extension(self) -> str:
        """File extension used at the target: CODA goes out as .cod (product.md §3)."""
        if self.family is Family.STATEMENTS and not self.media_type.endswith("xml"):
            return "cod"
        if self.media_type == "application/pdf":
            return "pdf"
        if self.media_type.endswith("xml"):
            return "xml"
        tail = self.filename.rsplit(".", 1)
        return tail[1].lower() if len(tail) == 2 and tail[1].isalnum() else "bin"

    @property
    def awaiting(self) -> Lifecycle | None:
        """The client's act that would release it now (approve or send), or None."""
        if self.lifecycle is not Lifecycle.RECEIVED:
            return None
        return release_event(self.family)

    def release(self, event: Lifecycle) -> None:
        """Check that `event` may release this document; raise Conflict otherwise."""
        expected = release_event(self.family)
        if event is not expected:
            raise Conflict(
                f"a {self.kind.value.replace('_', ' ')} is released by '{expected.value}', "
                f"not '{event.value}'"
            )
        if self.lifecycle is not Lifecycle.RECEIVED:
            raise Conflict(f"document {self.id} was already {self.lifecycle.value}")


def initial_lifecycle(family: Family) -> Lifecycle:
    """Statements are released on arrival; everything else waits for the client."""
    return Lifecycle.ARRIVED if family is Family.STATEMENTS else Lifecycle.RECEIVED


def initial_status(family: Family) -> AccountingStatus:
    if family is Family.STATEMENTS:
        return AccountingStatus.QUEUED
    return AccountingStatus.CLIENT_ACTION_NEEDED


def status_from_exports(
    current: AccountingStatus, lifecycle: Lifecycle, export_states: Iterable[str]
) -> AccountingStatus:
    """The accounting status a document shows, derived from the states of its latest exports.

    Processed is set by the accountant and sticks. A released document with no integration
    is ready to process at once; with integrations it is queued until every export is
    delivered (held exports of a paused integration count as queued), and in error as
    soon as one needs a person.
    """
    if current is AccountingStatus.PROCESSED:
        return current
    if lifecycle is Lifecycle.RECEIVED:
        return AccountingStatus.CLIENT_ACTION_NEEDED
    states = set(export_states)
    if states & {"failed", "needs_attention"}:
        return AccountingStatus.ERROR
    if not states or states <= {"delivered", "cancelled"}:
        return AccountingStatus.READY_TO_PROCESS
    return AccountingStatus.QUEUED


def review_reason(metadata: dict[str, Any]) -> str:
    """Why a document with this metadata must be looked at before it is booked, or ""."""
    mismatches = metadata.get("totals_mismatches") or []
    if not mismatches:
        return ""
    rules = ", ".join(str(m.get("rule", "")) for m in mismatches)
    return (
        f"its totals do not add up ({rules}); accounting software does not book it until "
        "someone marks it as reviewed"
    )[:1000]
