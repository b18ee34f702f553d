"""What intake learns from a file: its type, kind, metadata and the findings worth a look."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from passeur.domain.documents import Direction, DocumentKind

# The values of Reading.type, one per format we accept.
TYPES = ("pdf", "ubl", "efff", "coda", "camt")


@dataclass(frozen=True)
class Reading:
    """The result of reading one document.

    `metadata` is JSON-friendly (str, int, bool, None, lists and dicts of those) and its keys
    are stable per type, so it can be stored and shown as is. `warnings` are findings that do
    not stop the document (a declared PDF that is not one, a total that does not add up in a
    bank's own file); refusals raise InvalidInput instead.
    """

    type: str  # one of TYPES
    media_type: str
    kind: DocumentKind | None = None  # only when the content says it (credit note, statement)
    direction: Direction | None = None  # never known from the file alone
    number: str = ""  # invoice number, or statement number for statements
    issue_date: str = ""  # ISO YYYY-MM-DD: issue date, or statement date
    metadata: dict[str, Any] = field(default_factory=dict)
    embedded_pdf: bytes | None = None  # the PDF carried inside a UBL, only if it really is one
    warnings: list[str] = field(default_factory=list)
