"""The one XML parser for untrusted documents: no entities, no DTD, no network, no huge trees.

Every XML format (UBL, e-fff, CAMT.053) goes through `parse_xml`. None of them uses a DOCTYPE,
so a document that declares one is refused before parsing: that shuts the door on external
entities (XXE) and entity expansion bombs whatever libxml2 would do with them.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from passeur.domain.errors import InvalidInput

# libxml2's own cap on one text node when huge_tree is off; base64 of a ~7 MB attachment.
TEXT_NODE_LIMIT = 10_000_000


def _parser() -> etree.XMLParser:
    # A new parser per call: lxml parsers are not thread-safe to share.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def looks_like_xml(data: bytes) -> bool:
    """An XML declaration or an element after optional BOM and white space."""
    head = data[:64].lstrip(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"<"):
        return True
    # UTF-16 with a BOM: the decoded text starts with '<'.
    return head[:2] in (b"\xff\xfe", b"\xfe\xff") and "<" in _decode_head(data)[:4]


def parse_xml(data: bytes) -> etree._Element:
    """Parse untrusted XML and return the root element; raise InvalidInput when refused."""
    if "<!DOCTYPE" in _decode_head(data).upper():
        raise _doctype_refused()
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise InvalidInput(_syntax_message(str(exc))) from None
    docinfo: Any = root.getroottree().docinfo  # the stubs lack DocInfo.doctype
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise _doctype_refused()
    return root


def _decode_head(data: bytes) -> str:
    """The first few KB as text, whatever the encoding declared by the BOM."""
    head = data[:8192]
    for bom, codec in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[2:].decode(codec, errors="ignore")
    return head.decode("utf-8", errors="ignore")


def _doctype_refused() -> InvalidInput:
    return InvalidInput(
        "the XML declares a DOCTYPE; UBL, e-fff and CAMT.053 documents never do, and DOCTYPEs "
        "carry entity tricks (external files, expansion bombs), so the file is refused"
    )


def _syntax_message(detail: str) -> str:
    if "Text node too long" in detail:
        return (
            f"the XML holds a text value longer than {TEXT_NODE_LIMIT // 1_000_000} MB "
            "(usually an embedded attachment over about 7 MB); the safe XML parser refuses it"
        )
    if "depth" in detail.lower():
        return "the XML is nested too deeply (more than 256 levels) to be a real document"
    if "EntityRef" in detail:  # usually "Smith & Co" written without &amp;
        return f"the XML is malformed (a bare '&' must be written '&amp;'): {detail}"
    if "amplification" in detail.lower() or "not defined" in detail:
        return f"the XML uses entities, which are not accepted: {detail}"
    return f"the XML is malformed: {detail}"


def local_name(element: etree._Element) -> str:
    """The tag without its namespace; "" for comments and processing instructions."""
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def namespace(element: etree._Element) -> str:
    return etree.QName(element).namespace or ""
