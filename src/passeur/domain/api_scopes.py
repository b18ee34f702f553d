"""The REST API's scopes: read and write per resource family (`clients:read`, …)."""

from __future__ import annotations

from passeur.domain.errors import InvalidInput

MAX_PERSONAL_DAYS = 366  # the longest a personal access token lasts

FAMILIES = (
    "catalogue",
    "installations",
    "clients",
    "integrations",
    "documents",
    "exports",
    "templates",
    "users",
    "feeds",
    "webhooks",
)
SCOPES = frozenset(f"{family}:{mode}" for family in FAMILIES for mode in ("read", "write"))


def parse_scopes(text: str | list[str] | tuple[str, ...] | frozenset[str]) -> frozenset[str]:
    """Scopes from a space- or comma-separated text (or a list); `all` gives every scope.

    A `write` scope does not imply `read`: a script that only posts needs no read access.
    An unknown scope is refused rather than dropped, so a typo cannot grant less silently.
    """
    words = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    if words == ["all"]:
        return SCOPES
    unknown = sorted(set(words) - SCOPES)
    if unknown:
        raise InvalidInput(
            f"unknown scope {unknown[0]!r}; scopes are <family>:read or <family>:write with "
            f"family one of: {', '.join(FAMILIES)}",
            field="scopes",
        )
    if not words:
        raise InvalidInput("give at least one scope (or 'all')", field="scopes")
    return frozenset(words)


def scope_text(scopes: frozenset[str]) -> str:
    return " ".join(sorted(scopes))
