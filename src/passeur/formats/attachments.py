"""Files embedded in a UBL document (AdditionalDocumentReference), above all the invoice's PDF.

The declared mimeCode is a claim, not a fact: a PDF is returned only if its decoded bytes
are a PDF that pypdf can open. A payload that is not base64 makes the document
schema-invalid (base64Binary), so it is refused.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from passeur.domain.errors import InvalidInput
from passeur.formats.pdf import is_pdf, pdf_info
from passeur.formats.ubl_names import find, findall, text

_WHITESPACE = re.compile(rb"\s+")


@dataclass(frozen=True)
class Attachments:
    pdf: bytes | None  # the first embedded document that really is a PDF
    listing: list[dict[str, Any]]  # one JSON-friendly entry per reference


def read_attachments(root: etree._Element, warnings: list[str]) -> Attachments:
    pdf: bytes | None = None
    listing: list[dict[str, Any]] = []
    for position, reference in enumerate(findall(root, "cac:AdditionalDocumentReference"), 1):
        _check_reference(reference, position)
        obj = find(reference, "cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
        entry: dict[str, Any] = {
            "id": text(reference, "cbc:ID"),
            "description": text(reference, "cbc:DocumentDescription") or None,
            "filename": None,
            "mime_code": None,
            "size": None,
            "is_pdf": False,
            "uri": text(reference, "cac:Attachment/cac:ExternalReference/cbc:URI") or None,
        }
        if obj is not None:
            payload = _decode(obj, entry["id"])
            entry.update(
                filename=obj.get("filename"), mime_code=obj.get("mimeCode"), size=len(payload)
            )
            entry["is_pdf"] = _really_pdf(payload, entry, warnings)
            if entry["is_pdf"] and pdf is None:
                pdf = payload
        listing.append(entry)
    return Attachments(pdf=pdf, listing=listing)


def _check_reference(reference: etree._Element, position: int) -> None:
    """The schema parts we depend on: an ID, and elements only (no stray text)."""
    stray = (reference.text or "").strip()
    if stray:
        raise InvalidInput(
            f"AdditionalDocumentReference #{position} contains the text {stray[:40]!r} where "
            "the UBL schema allows only elements; the document is not schema-valid "
            "(it looks like a template placeholder)"
        )
    if not text(reference, "cbc:ID"):
        raise InvalidInput(
            f"AdditionalDocumentReference #{position} has no cbc:ID, which the UBL schema "
            "requires; the document is not schema-valid"
        )


def _decode(obj: etree._Element, reference_id: str) -> bytes:
    raw = _WHITESPACE.sub(b"", (obj.text or "").encode("ascii", errors="replace"))
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(
            f"the embedded document of reference {reference_id!r} is not valid base64, as "
            "cbc:EmbeddedDocumentBinaryObject must be; the document is not schema-valid"
        ) from None


def _really_pdf(payload: bytes, entry: dict[str, Any], warnings: list[str]) -> bool:
    declared_pdf = (entry["mime_code"] or "").lower() == "application/pdf"
    name = entry["filename"] or entry["id"]
    if not is_pdf(payload):
        if declared_pdf:
            warnings.append(
                f"the attachment {name!r} is declared application/pdf but its content is not "
                "a PDF; it was not extracted"
            )
        return False
    try:
        pdf_info(payload)
    except InvalidInput as exc:
        warnings.append(f"the embedded PDF {name!r} cannot be used: {exc}")
        return False
    return True
