"""Ids in URLs: `{client_id:id}` matches 1 to 18 digits, so a path with letters, a sign or
a number too large for the database's BIGINT is no route (404), never a database error."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class IdConvertor(Convertor[int]):
    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())
