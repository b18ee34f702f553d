"""Names people give things (partners, clients, users, installations, documents).

A name is one line of text: control characters (line breaks, tabs, NUL, the escape that
starts a terminal sequence, C1 controls) are refused when it is saved, so a name cannot
break a table, a log line or a CSV row, nor recolour or rewrite a terminal that prints it.
"""

from __future__ import annotations

import unicodedata

from passeur.domain.errors import InvalidInput


def has_controls(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def check_name(text: str, what: str, *, field: str | None = "name") -> str:
    """`text` unchanged when it holds no control character; else InvalidInput naming `what`."""
    if has_controls(text):
        raise InvalidInput(
            f"{what} may not contain control characters (line breaks, tabs, escape sequences, NUL)",
            field=field,
        )
    return text


def shown(text: str) -> str:
    """`text` with each control character written as its escape (`\\n`, `\\x1b`), for
    printing data stored before names were checked, or read from a file, on a terminal."""
    return "".join(
        c.encode("unicode_escape").decode() if unicodedata.category(c) == "Cc" else c for c in text
    )
