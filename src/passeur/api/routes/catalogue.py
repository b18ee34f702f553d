"""The catalogue: the extensions a partner can install, with the fields each asks for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from passeur.api.pagination import Page
from passeur.api.security import ApiCaller, requires
from passeur.domain.errors import NotFound
from passeur.services import catalog

router = APIRouter(tags=["catalogue"])


class FieldOut(BaseModel):
    name: str
    label: str
    kind: str
    required: bool
    secret: bool
    advanced: bool
    default: Any = None
    help: str = ""
    choices: list[str] = []
    minimum: int | None = None
    maximum: int | None = None
    overridable: bool = True


class ExtensionOut(BaseModel):
    slug: str
    name: str
    category: str
    summary: str
    sends: str
    families: list[str]
    install_fields: list[FieldOut]
    integration_fields: list[FieldOut]
    one_of: list[list[str]]


@router.get("/catalogue", response_model=Page[ExtensionOut])
def list_extensions(_c: ApiCaller = Depends(requires("catalogue:read"))) -> Page[ExtensionOut]:
    """Every extension (one page: the catalogue is short)."""
    found = [ExtensionOut(**catalog.describe(e.slug)) for e in catalog.list_extensions()]
    return Page(items=found)


@router.get("/catalogue/{slug}", response_model=ExtensionOut)
def get_extension(slug: str, _c: ApiCaller = Depends(requires("catalogue:read"))) -> ExtensionOut:
    known = {e.slug for e in catalog.list_extensions()}
    if slug not in known:
        raise NotFound(f"extension {slug[:60]} does not exist")
    return ExtensionOut(**catalog.describe(slug))
