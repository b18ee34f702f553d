"""UBL 2.x namespaces and the small lookups every UBL reader needs."""

from __future__ import annotations

from lxml import etree

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC}


def find(element: etree._Element, path: str) -> etree._Element | None:
    """First element at `path` (prefixes cac:, cbc:), or None."""
    return element.find(path, NS)


def findall(element: etree._Element, path: str) -> list[etree._Element]:
    return list(element.findall(path, NS))


def text(element: etree._Element | None, path: str = "") -> str:
    """Stripped text at `path` under `element` ("" when absent or empty)."""
    if element is None:
        return ""
    target = element.find(path, NS) if path else element
    if target is None or target.text is None:
        return ""
    return target.text.strip()
