"""How much of an import's preview a page lists: every row would be 10,000 table rows, so
the first rows that do not add (what the person must look at) and a few that add."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar

from passeur.domain.templates import Verdict

SHOWN_ADDS = 100
SHOWN_OTHERS = 500


class _Row(Protocol):
    @property
    def line(self) -> int: ...

    @property
    def verdict(self) -> Verdict: ...


R = TypeVar("R", bound=_Row)


def shown_rows(rows: Sequence[R]) -> tuple[list[R], int]:
    """The rows to list, by line, and how many are left out."""
    adds = [r for r in rows if r.verdict is Verdict.ADD]
    others = [r for r in rows if r.verdict is not Verdict.ADD]
    shown = adds[:SHOWN_ADDS] + others[:SHOWN_OTHERS]
    return sorted(shown, key=lambda r: r.line), len(rows) - len(shown)
