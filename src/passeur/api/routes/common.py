"""Models and helpers shared by the API's routers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
