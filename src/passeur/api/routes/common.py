"""Models and helpers shared by the API's routers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path as FastApiPath
from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from passeur.connectors import registry

Values = dict[str, Any]


class Input(BaseModel):
    """A request body: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class SecretState(BaseModel):
    """A write-only value: whether it is set, never what it is."""

    set: bool


def secrets_of(slug: str, which: str, set_names: frozenset[str]) -> dict[str, SecretState]:
    """Every secret field the extension declares, answered as set or not."""
    ext = registry.extension(slug)
    fields = ext.install_fields if which == "install" else ext.client_fields
    return {f.name: SecretState(set=f.name in set_names) for f in fields if f.secret}


def public(values: dict[str, Any]) -> dict[str, Any]:
    return dict(values)


class Count(BaseModel):
    count: int = Field(description="How many rows this matched (or changed).")


class Done(BaseModel):
    ok: bool = True


def _utc(value: datetime) -> str:
    """passeur keeps naive UTC; the API says so (RFC 3339 needs the offset)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")


# A moment in UTC, answered with its "Z".
Instant = Annotated[datetime, PlainSerializer(_utc, return_type=str, when_used="json")]

# Row ids: positive and within a 64-bit integer (larger ones could not name a row).
MAX_ID = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, FastApiPath(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
