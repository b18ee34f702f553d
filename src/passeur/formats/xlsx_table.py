"""Reading the first sheet of an Excel workbook (.xlsx) as a table, with openpyxl
(read-only: rows are streamed, formulas give their cached value)."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from typing import Any

from passeur.domain.errors import InvalidInput
from passeur.formats.csv_table import MAX_BYTES, MAX_ROWS, CsvTable

XLSX_MAGIC = b"PK\x03\x04"  # a zip archive, as every .xlsx is


def is_xlsx(data: bytes) -> bool:
    return data[:4] == XLSX_MAGIC


def read_xlsx(data: bytes, *, max_rows: int = MAX_ROWS) -> CsvTable:
    from openpyxl import load_workbook  # only when a workbook comes in

    if len(data) > MAX_BYTES:
        raise InvalidInput(f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InvalidInput(f"the file is not a readable Excel workbook: {exc}") from None
    try:
        sheet = book.worksheets[0]
        found = sheet.iter_rows(values_only=True)
        headers = [_text(cell) for cell in next(found, ())]
        while headers and not headers[-1]:
            headers.pop()
        if not any(headers):
            raise InvalidInput("the file is empty: its first row should be the header")
        rows: list[tuple[int, list[str]]] = []
        for number, cells in enumerate(found, start=2):
            texts = [_text(cell) for cell in cells]
            if not any(texts):
                continue
            if len(rows) == max_rows:
                raise InvalidInput(f"the file has more than {max_rows:,} rows; split it")
            while len(texts) > len(headers) and not texts[-1]:
                texts.pop()
            rows.append((number, texts))
    finally:
        book.close()
    return CsvTable(headers, rows)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a number typed in a cell: 403170701.0 → 403170701
    return str(value).strip()
