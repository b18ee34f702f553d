"""Content-Disposition for stored files: any name, one safe header."""

from __future__ import annotations

from urllib.parse import unquote

from passeur.web.disposition import content_disposition


def test_plain_names_pass_as_they_are() -> None:
    assert content_disposition("invoice 12.pdf", inline=True) == (
        "inline; filename=\"invoice 12.pdf\"; filename*=UTF-8''invoice%2012.pdf"
    )
    assert content_disposition("a.xml", inline=False).startswith('attachment; filename="a.xml"')


def test_quotes_line_breaks_and_unicode_cannot_break_out() -> None:
    name = 'fac"ture;\r\nSet-Cookie: x=1\\é/€.xml'
    header = content_disposition(name, inline=False)
    assert "\r" not in header and "\n" not in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "fac_ture_Set-Cookie: x=1____.xml"
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert all(ch not in encoded for ch in ' ";\\')
    assert unquote(encoded) == 'fac"ture;Set-Cookie: x=1\\é/€.xml'


def test_an_empty_or_invisible_name_still_names_a_file() -> None:
    assert 'filename="document"' in content_disposition("\r\n\t", inline=True)
