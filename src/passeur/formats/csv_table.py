"""Reading a spreadsheet saved as CSV: UTF-8 with or without a BOM (else Windows-1252,
as Excel writes it), commas, semicolons (Excel in French and Dutch locales) or tabs.

The standard library's csv module does the reading; its Sniffer picks the delimiter
from the header line, among the three we accept.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from passeur.domain.errors import InvalidInput

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
_DELIMITERS = ",;\t"


@dataclass(frozen=True)
class CsvTable:
    headers: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, cells), blank rows left out


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def read_table(text: str, *, max_rows: int = MAX_ROWS) -> CsvTable:
    """The header and the rows; InvalidInput for a file that is not a table we can read."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    if not first.strip():
        raise InvalidInput("the file is empty: its first line should be the header")
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(first, _DELIMITERS)
    except csv.Error:
        dialect = csv.excel  # one column: no delimiter to find
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=dialect.delimiter, strict=True)
    try:
        headers = [cell.strip() for cell in next(reader)]
        rows: list[tuple[int, list[str]]] = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == max_rows:
                raise InvalidInput(f"the file has more than {max_rows:,} rows; split it")
            rows.append((reader.line_num, [cell.strip() for cell in cells]))
    except csv.Error as exc:
        raise InvalidInput(f"the file is not a readable CSV table: {exc}") from None
    return CsvTable(headers, rows)
