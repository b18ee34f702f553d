"""Cursor pagination: a list answers `items` and `next_cursor` (null on the last page).

A cursor is opaque to the caller. Lists ordered by id (exports, documents) carry a keyset
cursor (domain/cursors.py); lists ordered by name carry a position.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from passeur.domain.errors import InvalidInput

T = TypeVar("T")

CursorParam = Annotated[
    str, Query(max_length=100, description="From `next_cursor` of the previous page.")
]
LimitParam = Annotated[int, Query(ge=1, le=200, description="Items per page.")]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def position_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"p{offset}".encode()).decode().rstrip("=")


def position(token: str) -> int:
    """The offset a position cursor carries (0 for none)."""
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    if raw[:1] != "p" or not raw[1:].isdigit() or len(raw) > 12:
        raise InvalidInput("this cursor is not valid; start from the first page", field="cursor")
    return int(raw[1:])
