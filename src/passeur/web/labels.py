"""The words the UI shows for the domain's states and kinds, marked for the catalogues.

Templates show `_(label(value))`: the code's values never reach a page untranslated.
Each state also has a tone (good, wait, bad, off) for its badge; the text carries the
meaning, the colour only helps.
"""

from __future__ import annotations

from enum import Enum

from passeur.domain.documents import AccountingStatus, DocumentKind, Family, Lifecycle
from passeur.domain.events import DeliveryState
from passeur.domain.exports import ErrorClass, ExportState
from passeur.domain.extensions import IntegrationStatus
from passeur.domain.health import Health
from passeur.domain.partners import Access, ClientStatus, Role
from passeur.web.i18n import N_

LABELS: list[tuple[Enum, str]] = [
    (ClientStatus.DRAFT, N_("Draft")),
    (ClientStatus.INVITED, N_("Invited")),
    (ClientStatus.ACTIVE, N_("Active")),
    (ClientStatus.ARCHIVED, N_("Archived")),
    (IntegrationStatus.ACTIVE, N_("Active")),
    (IntegrationStatus.PAUSED, N_("Paused")),
    (IntegrationStatus.NEEDS_ATTENTION, N_("Needs attention")),
    (IntegrationStatus.DISCONNECTED, N_("Disconnected")),
    (ExportState.PENDING, N_("Waiting")),
    (ExportState.RUNNING, N_("Sending")),
    (ExportState.RETRYING, N_("Retrying")),
    (ExportState.HELD, N_("On hold")),
    (ExportState.DELIVERED, N_("Delivered")),
    (ExportState.NEEDS_ATTENTION, N_("Needs attention")),
    (ExportState.FAILED, N_("Failed")),
    (ExportState.CANCELLED, N_("Replaced")),
    (ExportState.ON_FEED, N_("Waiting to be fetched")),
    (ExportState.FETCHED, N_("Fetched")),
    (DeliveryState.PENDING, N_("Waiting")),
    (DeliveryState.RUNNING, N_("Sending")),
    (DeliveryState.RETRYING, N_("Retrying")),
    (DeliveryState.DELIVERED, N_("Delivered")),
    (DeliveryState.FAILED, N_("Failed")),
    (AccountingStatus.CLIENT_ACTION_NEEDED, N_("Client action needed")),
    (AccountingStatus.QUEUED, N_("Queued")),
    (AccountingStatus.READY_TO_PROCESS, N_("Ready to process")),
    (AccountingStatus.PROCESSED, N_("Processed")),
    (AccountingStatus.ERROR, N_("Error")),
    (Lifecycle.RECEIVED, N_("Received")),
    (Lifecycle.APPROVED, N_("Approved")),
    (Lifecycle.SENT, N_("Sent")),
    (Lifecycle.ARRIVED, N_("Arrived")),
    (DocumentKind.PURCHASE_INVOICE, N_("Purchase invoice")),
    (DocumentKind.SALES_INVOICE, N_("Sales invoice")),
    (DocumentKind.CREDIT_NOTE, N_("Credit note")),
    (DocumentKind.PURCHASE_RECEIPT, N_("Purchase receipt")),
    (DocumentKind.ENRICHED_MOVEMENT_REPORT, N_("Enriched Movement Report")),
    (DocumentKind.OTHER, N_("Other document")),
    (Family.PURCHASES, N_("Purchases")),
    (Family.SALES, N_("Sales")),
    (Family.STATEMENTS, N_("Statements")),
    (Family.OTHER, N_("Other documents")),
    (ErrorClass.TRANSIENT, N_("Connection problem")),
    (ErrorClass.RATE_LIMITED, N_("Rate limited")),
    (ErrorClass.AUTH, N_("Sign-in refused")),
    (ErrorClass.MISCONFIGURED, N_("Configuration problem")),
    (ErrorClass.REJECTED, N_("Rejected by the target")),
    (ErrorClass.GONE, N_("Target gone")),
    (ErrorClass.LEASE_EXPIRED, N_("Interrupted")),
    (Role.ADMINISTRATOR, N_("Administrator")),
    (Role.CLIENT_MANAGER, N_("Client manager")),
    (Role.ACCOUNTANT, N_("Accountant")),
    (Role.BUSINESS, N_("Business user")),
    (Access.EDIT, N_("Edit")),
    (Access.VIEW, N_("View")),
    (Health.NEEDS_ATTENTION, N_("Needs attention")),
    (Health.WAITING, N_("Waiting")),
    (Health.DELIVERED, N_("All delivered")),
    (Health.NO_INTEGRATIONS, N_("No integrations")),
]

# The client documents' folders (product.md §1.4), in the order the product shows them.
FOLDERS: list[tuple[str, str]] = [
    ("sales_invoices", N_("Sales invoices")),
    ("purchase_invoices", N_("Purchase invoices")),
    ("purchase_receipts", N_("Purchase receipts")),
    ("enriched_movement_reports", N_("Enriched Movement Reports")),
    ("other_documents", N_("Other documents")),
]

_TONES: list[tuple[Enum, str]] = [
    (IntegrationStatus.ACTIVE, "good"),
    (IntegrationStatus.PAUSED, "off"),
    (IntegrationStatus.NEEDS_ATTENTION, "bad"),
    (IntegrationStatus.DISCONNECTED, "off"),
    (ExportState.DELIVERED, "good"),
    (ExportState.FAILED, "bad"),
    (DeliveryState.DELIVERED, "good"),
    (DeliveryState.FAILED, "bad"),
    (ExportState.NEEDS_ATTENTION, "bad"),
    (ExportState.HELD, "off"),
    (ExportState.CANCELLED, "off"),
    (AccountingStatus.ERROR, "bad"),
    (AccountingStatus.PROCESSED, "good"),
    (AccountingStatus.READY_TO_PROCESS, "good"),
    (ClientStatus.ACTIVE, "good"),
    (ClientStatus.ARCHIVED, "off"),
    (Health.NEEDS_ATTENTION, "bad"),
    (Health.DELIVERED, "good"),
    (Health.NO_INTEGRATIONS, "off"),
]


def _key(value: Enum) -> tuple[type, object]:
    # By type and value: StrEnum members of different enums with the same value are equal
    # (Family.OTHER == DocumentKind.OTHER == "other"), and they need different words.
    return (type(value), value.value)


_BY_TYPE = {_key(v): text for v, text in LABELS}
_TONES_BY_TYPE = {_key(v): t for v, t in _TONES}


def label(value: Enum) -> str:
    return _BY_TYPE[_key(value)]


def tone(value: Enum) -> str:
    return _TONES_BY_TYPE.get(_key(value), "wait")


# The audit trail's actions (domain/audit.py: "subject.verb"), as an accountant reads
# them; an action not listed here is shown as its code.
AUDIT_ACTIONS: dict[str, str] = {
    "api_client.create": N_("API client created"),
    "api_client.revoke": N_("API client revoked"),
    "api_client.token_create": N_("API token issued"),
    "api_client.token_revoke": N_("API token revoked"),
    "assignment.create": N_("Access to the client given"),
    "assignment.remove": N_("Access to the client removed"),
    "assignment.set": N_("Access to the client changed"),
    "backfill.start": N_("Backfill started"),
    "backfill.stop": N_("Backfill stopped"),
    "backfill.resume": N_("Backfill resumed"),
    "client.create": N_("Client added"),
    "client.update": N_("Client changed"),
    "client.status": N_("Client status changed"),
    "document.resend": N_("Document sent again"),
    "export.retry": N_("Export retried"),
    "export.retry_many": N_("Exports retried"),
    "installation.create": N_("Extension installed"),
    "installation.update": N_("Extension changed"),
    "installation.activate": N_("Extension switched on"),
    "installation.deactivate": N_("Extension switched off"),
    "installation.connect": N_("Extension signed in"),
    "installation.pin": N_("Server key trusted"),
    "integration.create": N_("Integration added"),
    "integration.update": N_("Integration changed"),
    "integration.pause": N_("Integration paused"),
    "integration.resume": N_("Integration resumed"),
    "integration.remove": N_("Integration removed"),
    "integration.pin": N_("Server key trusted for the integration"),
    "notifications.settings": N_("Notification settings changed"),
    "notifications.user": N_("A user's notifications changed"),
    "template.create": N_("Configuration template added"),
    "template.update": N_("Configuration template changed"),
    "template.delete": N_("Configuration template deleted"),
    "template.default": N_("Default configuration template chosen"),
    "template.integration": N_("Integration of a template set"),
    "template.remove_integration": N_("Integration of a template removed"),
    "user.create": N_("User added"),
    "user.password": N_("Password changed"),
    "user.roles": N_("User roles changed"),
    "webhook.create": N_("Webhook added"),
    "webhook.delete": N_("Webhook deleted"),
}


def action_label(action: str) -> str:
    return AUDIT_ACTIONS.get(action, action)
