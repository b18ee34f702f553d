"""Cursors of paged lists: where the next page starts, as an opaque token for a link.

A page is read by keyset (the rows on one side of a row's id), never by offset: the
next page costs the same on the first page and on the thousandth, and rows added
meanwhile neither repeat nor push a row off the page it was on.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from passeur.domain.errors import InvalidInput


@dataclass(frozen=True)
class Cursor:
    id: int
    newer: bool = False  # False: the rows older (smaller ids) than `id`; True: newer

    def token(self) -> str:
        raw = f"{'n' if self.newer else 'o'}{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> Cursor | None:
        """The cursor a token carries; None for no token (the first page)."""
        if not token:
            return None
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raw = ""
        side, digits = raw[:1], raw[1:]
        if side not in ("o", "n") or not digits.isdigit() or len(digits) > 19:
            raise InvalidInput(
                "this page link is not valid; start from the first page", field="cursor"
            )
        return cls(int(digits), newer=side == "n")
