"""What extensions exist and what each one asks for (rendered from its declaration)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from passeur.connectors import registry
from passeur.domain.access import OPERATOR, Action, Actor, require
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension

# The store's filters (product.md §2), each gathering the categories extensions declare.
GROUPS: dict[str, frozenset[str]] = {
    "cloud": frozenset({"Cloud folder"}),
    "accounting": frozenset({"Accounting software", "Accounting connector"}),
    "transfer": frozenset({"Server export", "Email forwarding"}),
}


def list_extensions() -> list[Extension]:
    return list(registry.extensions().values())


def extension(slug: str) -> Extension:
    return registry.extension(slug)


def group_of(ext: Extension) -> str:
    """The store filter an extension appears under ("" when none fits)."""
    return next((name for name, categories in GROUPS.items() if ext.category in categories), "")


def search(
    partner_id: int,
    text: str = "",
    group: str = "",
    *,
    translate: Callable[[str], str] = str,
    actor: Actor = OPERATOR,
) -> list[Extension]:
    """The store: extensions whose name or summary holds every word of `text` (in English
    or as `translate` shows them), within one store filter if given. For those who may
    install them."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    if group and group not in GROUPS:
        raise InvalidInput(f"unknown filter {group!r}; known: {', '.join(GROUPS)}", field="group")
    words = text.casefold().split()[:10]
    found = []
    for ext in list_extensions():
        if group and ext.category not in GROUPS[group]:
            continue
        shown = f"{ext.name} {ext.summary} {translate(ext.name)} {translate(ext.summary)}"
        if all(word in shown.casefold() for word in words):
            found.append(ext)
    return found


def for_install(partner_id: int, slug: str, *, actor: Actor = OPERATOR) -> Extension:
    """The extension an administrator is about to install."""
    require(actor, Action.MANAGE_INSTALLATIONS, partner_id)
    return registry.extension(slug)


def describe(slug: str) -> dict[str, Any]:
    ext = registry.extension(slug)
    return {
        "slug": ext.slug,
        "name": ext.name,
        "category": ext.category,
        "summary": ext.summary,
        "sends": ext.sends,
        "families": sorted(f.value for f in ext.families),
        "install_fields": [f.describe() for f in ext.install_fields],
        "integration_fields": [f.describe() for f in ext.client_fields],
        "one_of": [list(group) for group in ext.one_of],
    }
