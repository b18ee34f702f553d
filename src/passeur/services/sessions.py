"""Signing in and out of the web UI, and the password an operator sets.

A session is a random token in an HttpOnly cookie; the database keeps its SHA-256, the
user and the session's CSRF token. Failed passwords lock the account and the address
out for a delay that grows with each failure (domain/signin.py).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from passeur.bootstrap import App
from passeur.domain import signin
from passeur.domain.access import OPERATOR
from passeur.domain.audit import CHANGED_SECRET, Change
from passeur.domain.clock import utcnow
from passeur.domain.errors import DomainError, InvalidInput, NotFound
from passeur.domain.partners import check_locale
from passeur.services import audit
from passeur.storage.db import reading, transaction
from passeur.storage.repositories import sessions as rows

_HASHER = PasswordHasher()


# Verified when the e-mail is unknown, so that a wrong address costs as long as a
# wrong password and does not tell which accounts exist.
@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))  # made once, when first needed


def hash_password(password: str) -> str:
    """A new password, checked against the rules, as its argon2id hash."""
    signin.check_new_password(password)
    return _HASHER.hash(password)


class LockedOut(DomainError):
    """Too many failed sign-ins: no password is checked until `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"too many failed sign-ins; try again after {until:%H:%M:%S} UTC")
        self.until = until


@dataclass(frozen=True)
class SignedIn:
    token: str  # for the cookie only; never stored
    csrf: str
    user_id: int


@dataclass(frozen=True)
class Session:
    user_id: int
    csrf: str


def sign_in(app: App, email: str, password: str, address: str) -> SignedIn:
    """A new session for the right e-mail and password; a clear refusal otherwise."""
    now = utcnow()
    keys = {
        signin.account_key(email): signin.ACCOUNT_LOCKOUT,
        signin.address_key(address): signin.ADDRESS_LOCKOUT,
    }
    with reading(app.engine) as conn:
        for key in keys:
            row = rows.failures(conn, key)
            if row is not None and row.locked_until is not None and row.locked_until > now:
                raise LockedOut(row.locked_until)
        found = rows.credentials(conn, email) if email.strip() else None
    if not _verified(found.password_hash if found else "", password):
        _fail(app, keys, now)
        raise InvalidInput("wrong e-mail address or password", field="email")
    assert found is not None
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with transaction(app.engine) as conn:
        for key in keys:
            rows.clear_failures(conn, key)
        rows.drop_expired(conn, now)
        rows.add_session(conn, _digest(token), found.id, csrf, now, now + signin.SESSION_LIFETIME)
    return SignedIn(token, csrf, found.id)


def session(app: App, token: str) -> Session | None:
    """The live session behind a cookie, or None (unknown, expired, signed out)."""
    if not token or len(token) > 100:
        return None
    with reading(app.engine) as conn:
        row = rows.find_session(conn, _digest(token), utcnow())
    return Session(row.user_id, row.csrf_token) if row is not None else None


def sign_out(app: App, token: str) -> None:
    with transaction(app.engine) as conn:
        rows.drop_session(conn, _digest(token))


def set_password(app: App, email: str, password: str) -> int:
    """The operator sets a user's password; their open sessions end. Returns the user id."""
    hashed = hash_password(password)
    with transaction(app.engine) as conn:
        found = rows.credentials(conn, email)
        if found is None:
            raise NotFound(f"no user has the e-mail address {email.strip()}")
        rows.set_password_hash(conn, found.id, hashed)
        rows.drop_sessions_of(conn, found.id)
        rows.clear_failures(conn, signin.account_key(email))
        change = Change("user.password", int(found.id), {}, {"password": CHANGED_SECRET})
        audit.record(conn, int(found.partner_id), OPERATOR, change)
        return int(found.id)


def set_locale(app: App, user_id: int, locale: str) -> None:
    check_locale(locale)
    with transaction(app.engine) as conn:
        rows.set_locale(conn, user_id, locale)


def locale_of(app: App, user_id: int) -> str:
    with reading(app.engine) as conn:
        return rows.locale_of(conn, user_id)


def _verified(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def _fail(app: App, keys: dict[str, signin.Lockout], now: datetime) -> None:
    for key, policy in keys.items():
        try:
            with transaction(app.engine) as conn:
                row = rows.failures(conn, key)
                count = (row.failures if row is not None else 0) + 1
                rows.record_failure(conn, key, count, now, policy.locked_until(count, now))
        except IntegrityError:
            pass  # a concurrent failure inserted the row first; it counted this burst


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
