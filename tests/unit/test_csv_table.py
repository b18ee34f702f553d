"""Reading a spreadsheet saved as CSV: encodings, delimiters, quotes, limits."""

from __future__ import annotations

import pytest

from passeur.domain.errors import InvalidInput
from passeur.formats.csv_table import MAX_BYTES, decode, read_table


@pytest.mark.parametrize(
    "data",
    [
        b"client,path\r\nC1,/a\r\n",
        b"\xef\xbb\xbfclient;path\nC1;/a\n",
        b"client\tpath\nC1\t/a\n",
        "client;path\nC1;/a\n".encode("cp1252"),
    ],
    ids=["commas", "bom-semicolons", "tabs", "windows-1252"],
)
def test_delimiters_and_encodings(data: bytes) -> None:
    table = read_table(decode(data))
    assert table.headers == ["client", "path"] and table.rows == [(2, ["C1", "/a"])]


def test_quotes_blank_rows_and_line_numbers() -> None:
    text = 'client;name\n\n"C1";"Dupont; fils"\n;\n"C2";"multi\nline"\nC3;x\n'
    table = read_table(text)
    assert table.rows == [(3, ["C1", "Dupont; fils"]), (6, ["C2", "multi\nline"]), (7, ["C3", "x"])]


def test_one_column_and_windows_1252_accents() -> None:
    assert read_table("client\nC1\n").rows == [(2, ["C1"])]
    assert read_table(decode("Référence;x\n".encode("cp1252"))).headers == ["Référence", "x"]


def test_limits() -> None:
    with pytest.raises(InvalidInput, match="more than 3 rows"):
        read_table("a\n1\n2\n3\n4\n", max_rows=3)
    assert len(read_table("a\n1\n2\n3\n", max_rows=3).rows) == 3
    with pytest.raises(InvalidInput, match="larger than 5 MB"):
        decode(b"a" * (MAX_BYTES + 1))
    with pytest.raises(InvalidInput, match="empty"):
        read_table("\n\n")
