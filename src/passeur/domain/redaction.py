"""Redaction: the one function that keeps secrets out of attempt records, errors, log
lines and pages, wherever a message may have picked one up (a target echoing what we
sent, an exception holding a password)."""

from __future__ import annotations

from collections.abc import Iterable

MASK = "***"
SHORTEST = 4  # shorter values would mask ordinary words; secret fields refuse them anyway


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value, and every space-separated part of one (a rotated
    signing secret holds two), replaced by the mask; the longest first, so that a secret
    containing another is masked whole."""
    parts = {part for value in secrets if value for part in (value, *value.split())}
    for part in sorted(parts, key=len, reverse=True):
        if len(part) >= SHORTEST:
            text = text.replace(part, MASK)
    return text
