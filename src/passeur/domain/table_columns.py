"""The columns of a file a person fills in (a CSV or an XLSX import): a header cell is
"Label (key)" in any language, the bare key, or the English label."""

from __future__ import annotations

import re
from dataclasses import dataclass

from passeur.domain.errors import InvalidInput

_KEY_IN_HEADER = re.compile(r"\(([A-Za-z0-9_]+)\)\s*$")


@dataclass(frozen=True)
class Column:
    key: str  # a field's name
    label: str  # English; a template file shows it translated, with the key


def header_keys(headers: list[str], wanted: list[Column], required: list[str]) -> list[str]:
    """Each header cell's key; InvalidInput for an unknown, repeated or missing column."""
    by_text = {c.key.casefold(): c.key for c in wanted} | {
        c.label.casefold(): c.key for c in wanted
    }
    keys: list[str] = []
    for header in headers:
        found = _KEY_IN_HEADER.search(header)
        key = by_text.get((found.group(1) if found else header).strip().casefold())
        if key is None:
            expected = ", ".join(f"{c.label} ({c.key})" for c in wanted)
            raise InvalidInput(f"unknown column {header!r}; the columns are: {expected}")
        if key in keys:
            raise InvalidInput(f"the column {header!r} appears twice")
        keys.append(key)
    labels = {c.key: c.label for c in wanted}
    for key in required:
        if key not in keys:
            raise InvalidInput(f"the file has no {labels[key]} ({key}) column")
    return keys
