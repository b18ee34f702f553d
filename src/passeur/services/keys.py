"""Key rotation: every sealed secret moved to the newest key of the keyring, while web
and workers keep running (docs/decisions.md, "Key rotation").

The keyring (PASSEUR_SECRET_KEYS, newest first) seals with its first key and opens with
any; `rotate` reseals, row by row in short transactions, every value not under the
newest key. A value changed meanwhile (a worker refreshing an OAuth token) is not
overwritten: it is read again and resealed from what it holds now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from passeur.bootstrap import App
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import sealed as rows
from passeur.storage.repositories.sealed import SealedValue
from passeur.storage.secret_box import SecretBoxError

_TRIES = 5  # a value changed under us this often in a row is left for the next run


@dataclass
class KeyReport:
    newest: str  # the key id that seals
    by_key: Counter[str] = field(default_factory=Counter)  # sealed values per key id
    old: list[str] = field(default_factory=list)  # values under an older key ("installation 3")
    unopenable: list[str] = field(default_factory=list)  # no configured key opens them
    resealed: int = 0

    @property
    def clean(self) -> bool:
        return not self.old and not self.unopenable


def check(app: App) -> KeyReport:
    """Which key seals each secret; those under an older key, and those that no
    configured key opens (a key dropped too early)."""
    report = KeyReport(app.secrets.newest_id)
    with reading(app.engine) as conn:
        for place in rows.PLACES:
            for value in rows.every(conn, place):
                _tally(app, report, value)
    return report


def _tally(app: App, report: KeyReport, value: SealedValue) -> None:
    report.by_key[value.key_id] += 1
    try:
        app.secrets.open(value.token, value.owner)
    except SecretBoxError:
        report.unopenable.append(str(value))
        return
    if not app.secrets.is_current(value.token):
        report.old.append(str(value))


def rotate(app: App) -> KeyReport:
    """Reseal every secret not under the newest key; then report as `check` does. A
    value no configured key opens is left as it is and reported."""
    resealed = 0
    with reading(app.engine) as conn:
        stale = [
            v
            for place in rows.PLACES
            for v in rows.every(conn, place)
            if not app.secrets.is_current(v.token)
        ]
    for value in stale:
        resealed += _reseal(app, value)
    report = check(app)
    report.resealed = resealed
    return report


def _reseal(app: App, value: SealedValue) -> int:
    for _ in range(_TRIES):
        try:
            new_token = app.secrets.reseal(value.token, value.owner)
        except SecretBoxError:
            return 0  # reported by check
        with transaction(app.engine) as conn:
            if rows.swap(conn, value, new_token):
                return 1
            now = rows.current_token(conn, value)
        if now is None or app.secrets.is_current(now):
            return 0  # gone, or rewritten under the newest key by whoever changed it
        value = SealedValue(value.place, value.key, value.owner, now)
    return 0
