"""A list of ids bound as one value, so a statement's text is the same for any length.

`column IN (:a, :b, …)` expanded from a list gives a new text per length: the driver
cannot reuse it and PostgreSQL parses and plans it every time. With one value, the hot
statements of the worker are prepared once and planned once. PostgreSQL binds an array
(`column = ANY(:ids)`); SQLite a JSON array (`column IN (SELECT value FROM json_each(:ids))`),
and both still find the rows through the column's index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import BigInteger, Text, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine


class IdList(TypeDecorator[list[int]]):
    """Integers bound as an array on PostgreSQL and as a JSON array on SQLite."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            # Imported here: the PostgreSQL dialect (with asyncpg's) costs a SQLite command
            # about 15 ms of its start-up.
            from sqlalchemy.dialects.postgresql import ARRAY

            return dialect.type_descriptor(ARRAY(BigInteger()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Iterable[int] | None, dialect: Dialect) -> Any:
        ids = [int(v) for v in value or ()]  # integers only: nothing else reaches the SQL
        return ids if dialect.name == "postgresql" else json.dumps(ids)


class _InIds(ColumnElement[Any]):
    inherit_cache = True
    type = NullType()  # not Boolean: SQLite would then compare it with 1, and scan
    # How SQLAlchemy builds the cache key of a statement that holds one of these.
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 (SQLAlchemy's protocol)
        ("column", InternalTraversal.dp_clauseelement),
        ("ids", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, column: ColumnElement[Any], ids: BindParameter[Any]) -> None:
        self.column = column
        self.ids = ids


def id_in(column: ColumnElement[Any], name: str = "ids") -> ColumnElement[Any]:
    """`column` is one of the ids bound under `name` (a list of integers)."""
    return _InIds(column, bindparam(name, type_=IdList()))


@compiles(_InIds)
def _in_json_array(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"({column} IN (SELECT value FROM json_each({compiler.process(element.ids, **kw)})))"


@compiles(_InIds, "postgresql")
def _any_of_array(element: _InIds, compiler: SQLCompiler, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    return f"({column} = ANY({compiler.process(element.ids, **kw)}))"
