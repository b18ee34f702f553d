"""One e-mail per document: who it goes to, what it carries, and its Message-ID.

The Message-ID is `<export key@sender domain>`: the same on every try of an export, so
an inbox that drops duplicates (or a person) recognises a resend; a new version (an
explicit resend from passeur) has a new key, hence a new Message-ID. Attachments keep
the document's deterministic file name; they are base64-encoded, so the bytes arrive
exactly as stored (a CODA file's fixed-width lines included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from passeur.connectors.base import Parcel, ParcelFile
from passeur.connectors.email import subject
from passeur.domain.documents import Family
from passeur.domain.extensions import Target

ADDRESS_FIELDS: dict[Family, str] = {
    Family.PURCHASES: "purchases_address",
    Family.SALES: "sales_address",
    Family.STATEMENTS: "statements_address",
    Family.OTHER: "other_address",
}
MB = 1_000_000
_MIME_OVERHEAD = 4096  # headers, body text and part boundaries, generously


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes  # exactly what goes after DATA


def destination(target: Target, family: Family) -> str:
    return str(target.get(ADDRESS_FIELDS[family]) or "")


def attachments(parcel: Parcel, choice: str) -> list[ParcelFile]:
    """original: the file as received; pdf: its PDF when there is one; both: the two."""
    original = parcel.main
    pdf = next((f for f in parcel.files if f.media_type == "application/pdf"), None)
    if choice == "pdf":
        return [pdf or original]
    if choice == "both" and pdf is not None and pdf is not original:
        return [original, pdf]
    return [original]


def estimated_size(files: list[ParcelFile]) -> int:
    """Base64 turns 3 bytes into 4, plus line ends every 76 characters."""
    return sum(4 * ((f.size + 2) // 3) * 78 // 76 for f in files) + _MIME_OVERHEAD


def message_id(export_key: str, sender: str) -> str:
    return f"<{export_key}@{sender.rsplit('@', 1)[1]}>"


def compose(target: Target, parcel: Parcel, recipients: tuple[str, ...]) -> Mail:
    sender = str(target.get("sender_address"))
    files = attachments(parcel, str(target.get("attachments") or "original"))
    title = subject.render(str(target.get("subject") or subject.DEFAULT), parcel.variables)
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(display_name=str(target.get("sender_name") or ""), addr_spec=sender)
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = f"Test: {title}" if parcel.test else title
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = message_id(parcel.export_key, sender)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to a robot
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Passeur-Export-Key"] = parcel.export_key
    msg.set_content(_text(parcel))
    for f in files:
        maintype, _, subtype = f.media_type.partition("/")
        with f.open() as handle:
            data = handle.read()
        msg.add_attachment(
            data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=f.name,
            cte="base64",
        )
    return Mail(sender, recipients, msg["Message-ID"], msg.as_bytes())


def _text(parcel: Parcel) -> str:
    document = parcel.document
    if parcel.test:
        return (
            "This is a test message from passeur, sent from 'test connection'.\n"
            "Documents will arrive like this one: one per message, as an attachment.\n"
        )
    what = document.kind.value.replace("_", " ")
    number = f" {document.number}" if document.number else ""
    dated = f", dated {document.issue_date}" if document.issue_date else ""
    return (
        f"{what.capitalize()}{number} of {parcel.client_name}{dated}.\n"
        "The document is attached. Sent by passeur for your accounting firm.\n"
        f"Reference: {parcel.export_key}\n"
    )
