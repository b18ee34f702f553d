"""What extensions exist and what each one asks for (rendered from its declaration)."""

from __future__ import annotations

from typing import Any

from passeur.connectors import registry
from passeur.domain.extensions import Extension


def list_extensions() -> list[Extension]:
    return list(registry.extensions().values())


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
