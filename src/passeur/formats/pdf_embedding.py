"""Adding the invoice's PDF to a UBL file without rewriting the rest of it.

The reference (AdditionalDocumentReference with the PDF as base64) is spliced into the
original bytes just before the first element the UBL schema puts after it, so every
other byte (declaration, prefixes, comments, empty elements, indentation) stays as the
sender wrote it. Byte offsets come from expat (lxml does not give them). Only a file in
an encoding that is not ASCII-compatible (UTF-16) is re-serialised by lxml instead.
"""

from __future__ import annotations

import base64
import re
from xml.parsers import expat

from lxml import etree
from lxml.builder import ElementMaker

from passeur.domain.errors import InvalidInput
from passeur.formats.ubl_names import CAC, CBC, CREDIT_NOTE_NS
from passeur.formats.xml import local_name, namespace, parse_xml

# The first root children the UBL 2.0 / 2.1 schemas place after AdditionalDocumentReference.
FOLLOWERS = {
    "Invoice": ("ProjectReference", "Signature", "AccountingSupplierParty"),
    "CreditNote": (
        "StatementDocumentReference",
        "OriginatorDocumentReference",
        "Signature",
        "AccountingSupplierParty",
    ),
}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def embed_pdf(ubl: bytes, pdf: bytes, *, reference_id: str, filename: str) -> bytes:
    """`ubl` with one more AdditionalDocumentReference carrying `pdf` (application/pdf)."""
    root = parse_xml(ubl)
    followers = FOLLOWERS["CreditNote" if namespace(root) == CREDIT_NOTE_NS else "Invoice"]
    payload = base64.b64encode(pdf).decode("ascii")
    name = safe_filename(filename)
    offset = None if _utf16(ubl) else _anchor_offset(ubl, followers)
    if offset is None:  # an encoding expat does not know, or no anchor (lxml says which)
        return _embed_by_lxml(root, followers, reference_id, name, payload)
    indent = _indent_before(ubl, offset)
    fragment = _fragment(root, indent, reference_id, name, payload)
    return ubl[:offset] + fragment + indent.encode("ascii") + ubl[offset:]


def safe_filename(name: str) -> str:
    """A file name any importer reads: ASCII letters, digits, dot, dash, underscore."""
    stem = _SAFE_NAME.sub("_", name).strip("._") or "invoice"
    return stem if stem.lower().endswith(".pdf") else f"{stem}.pdf"


def _utf16(data: bytes) -> bool:
    head = data[:4]
    return head[:2] in (b"\xff\xfe", b"\xfe\xff") or head[:2] in (b"<\x00", b"\x00<")


def _anchor_offset(data: bytes, followers: tuple[str, ...]) -> int | None:
    """The byte offset of the first root child named in `followers`."""
    parser = expat.ParserCreate(namespace_separator=" ")
    depth = 0
    found: list[int] = []

    def start(name: str, _attributes: object) -> None:
        nonlocal depth
        depth += 1
        if depth == 2 and name.rsplit(" ", 1)[-1] in followers and not found:
            found.append(parser.CurrentByteIndex)

    def end(_name: str) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except (expat.ExpatError, ValueError):  # e.g. an encoding expat lacks: lxml does it
        return None
    return found[0] if found else None


def _indent_before(data: bytes, offset: int) -> str:
    """The white space that precedes the anchor element (repeated after the new one)."""
    start = offset
    while start > 0 and data[start - 1 : start] in (b" ", b"\t", b"\n", b"\r"):
        start -= 1
    return data[start:offset].decode("ascii")


def _fragment(
    root: etree._Element, indent: str, reference_id: str, name: str, payload: str
) -> bytes:
    """The new reference as text, with the prefixes the root already declares for cac and
    cbc (or its own declarations when the root has none)."""
    prefixes = {uri: prefix for prefix, uri in root.nsmap.items()}
    declare = []
    tags = {}
    for uri, wanted in ((CAC, "cac"), (CBC, "cbc")):
        prefix = prefixes.get(uri, wanted)
        if uri not in prefixes:
            declare.append(f' xmlns:{wanted}="{uri}"')
        tags[wanted] = f"{prefix}:" if prefix else ""
    cac, cbc = tags["cac"], tags["cbc"]
    step = "\n" + (indent.rsplit("\n", 1)[-1] if "\n" in indent else "")
    unit = "\t" if "\t" in step else "    "
    inner = step + unit
    deeper = inner + unit
    text = (
        f"<{cac}AdditionalDocumentReference{''.join(declare)}>"
        f"{inner}<{cbc}ID>{_escape(reference_id)}</{cbc}ID>"
        f"{inner}<{cac}Attachment>"
        f'{deeper}<{cbc}EmbeddedDocumentBinaryObject mimeCode="application/pdf" '
        f'filename="{_escape(name)}">{payload}</{cbc}EmbeddedDocumentBinaryObject>'
        f"{inner}</{cac}Attachment>"
        f"{step}</{cac}AdditionalDocumentReference>"
    )
    if "\n" not in indent:  # a one-line file stays on one line
        text = re.sub(r"\n[ \t]*", "", text)
    # Character references keep the fragment ASCII: right in any ASCII-compatible encoding.
    return text.encode("ascii", errors="xmlcharrefreplace")


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")


def _embed_by_lxml(
    root: etree._Element, followers: tuple[str, ...], reference_id: str, name: str, payload: str
) -> bytes:
    cac, cbc = ElementMaker(namespace=CAC), ElementMaker(namespace=CBC)
    reference = cac.AdditionalDocumentReference(
        cbc.ID(reference_id),
        cac.Attachment(
            cbc.EmbeddedDocumentBinaryObject(payload, mimeCode="application/pdf", filename=name)
        ),
    )
    anchor = next((child for child in root if local_name(child) in followers), None)
    if anchor is None:
        raise InvalidInput(
            f"the <{local_name(root)}> has no AccountingSupplierParty to place the PDF before"
        )
    anchor.addprevious(reference)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
