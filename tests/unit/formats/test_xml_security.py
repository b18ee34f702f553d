"""Untrusted XML: entities, DTDs, bombs, depth and size never get through."""

from __future__ import annotations

from pathlib import Path

import pytest

from passeur.domain.errors import InvalidInput
from passeur.formats.intake import read_document
from passeur.formats.xml import parse_xml

from .ubl_text import embedded, ubl_document

UBL_OPEN = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'


def refused(data: bytes) -> str:
    with pytest.raises(InvalidInput) as caught:
        read_document(data)
    return str(caught.value)


def test_external_entity_is_refused_and_the_file_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = (
        (
            f'<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        ).encode()
        + UBL_OPEN
        + b"<ID>&xxe;</ID></Invoice>"
    )
    message = refused(xxe)
    assert "declares a DOCTYPE" in message
    assert "TOP-SECRET-VALUE" not in message


def test_billion_laughs_is_refused_quickly() -> None:
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    bomb = f'<?xml version="1.0"?><!DOCTYPE lolz [{entities}]><lolz>&lol9;</lolz>'.encode()
    assert "DOCTYPE" in refused(bomb)


def test_doctype_found_by_the_parser_when_hidden_from_the_prefilter() -> None:
    # 9 KB of comment pushes the DOCTYPE past the quick look at the first 8 KB.
    padding = b"<!--" + b"x" * 9000 + b"-->"
    data = b'<?xml version="1.0"?>' + padding + b"<!DOCTYPE Invoice []>" + UBL_OPEN + b"</Invoice>"
    assert "DOCTYPE" in refused(data)


def test_utf16_doctype_is_refused() -> None:
    text = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>'
    assert "DOCTYPE" in refused(text.encode("utf-16"))


def test_undeclared_entity_is_refused() -> None:
    message = refused(UBL_OPEN + b"<ID>&nbsp;</ID></Invoice>")
    assert message.startswith("the XML uses entities, which are not accepted")
    assert "'nbsp' not defined" in message


def test_bare_ampersand_is_explained() -> None:
    message = refused(UBL_OPEN + b"<Name>Smith & Co</Name></Invoice>")
    assert message.startswith("the XML is malformed (a bare '&' must be written '&amp;')")


def test_deep_nesting_is_refused() -> None:
    data = b"<a>" * 300 + b"</a>" * 300
    assert "nested too deeply" in refused(data)


def test_text_node_over_ten_megabytes_is_refused_with_a_reason() -> None:
    huge = "A" * 10_000_004  # base64 of about 7.5 MB
    message = refused(ubl_document(references=embedded(huge)))
    assert "longer than 10 MB" in message and "embedded attachment" in message


def test_malformed_xml_says_where() -> None:
    message = refused(b"<?xml version='1.0'?><Invoice><ID>1</Invoice>")
    assert message.startswith("the XML is malformed:") and "line 1" in message


def test_parse_xml_returns_the_root() -> None:
    root = parse_xml(b"\xef\xbb\xbf  <a xmlns='urn:x'><b/></a>")
    assert root.tag == "{urn:x}a"
