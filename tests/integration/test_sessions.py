"""Signing in: sessions, the growing lockout per account and per address, passwords."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from passeur.bootstrap import App
from passeur.domain import signin
from passeur.domain.clock import utcnow
from passeur.domain.errors import InvalidInput, NotFound
from passeur.domain.partners import Role
from passeur.services import partners, sessions
from passeur.storage.tables import sign_in_failures, web_sessions
from tests.factories import firm

PASSWORD = "correct horse battery staple"


def _user(app: App, email: str = "ada@firm.be") -> int:
    f = firm(app, n_clients=1)
    user = partners.add_user(app, f.partner_id, email, "Ada", {Role.ADMINISTRATOR})
    sessions.set_password(app, email, PASSWORD)
    return user.id


def test_a_session_is_stored_as_a_digest_and_ends_at_sign_out(app: App) -> None:
    user_id = _user(app)
    signed = sessions.sign_in(app, "ADA@firm.be", PASSWORD, "10.0.0.1")
    assert signed.user_id == user_id
    live = sessions.session(app, signed.token)
    assert live is not None and live.user_id == user_id and live.csrf == signed.csrf
    with app.engine.connect() as conn:
        stored = conn.execute(select(web_sessions.c.token_hash)).scalars().all()
    assert stored and signed.token not in stored, "only the token's digest is kept"
    sessions.sign_out(app, signed.token)
    assert sessions.session(app, signed.token) is None


def test_an_expired_session_is_not_accepted(app: App) -> None:
    _user(app)
    signed = sessions.sign_in(app, "ada@firm.be", PASSWORD, "10.0.0.1")
    with app.engine.begin() as conn:
        conn.execute(web_sessions.update().values(expires_at=utcnow() - timedelta(seconds=1)))
    assert sessions.session(app, signed.token) is None


def test_wrong_passwords_lock_the_account_for_a_growing_delay(app: App) -> None:
    _user(app)
    free = signin.ACCOUNT_LOCKOUT.free_failures
    for i in range(free):
        with pytest.raises(InvalidInput):
            sessions.sign_in(app, "ada@firm.be", "wrong", f"10.0.0.{i}")
    with pytest.raises(InvalidInput):
        sessions.sign_in(app, "ada@firm.be", "wrong", "10.0.1.1")  # the one that locks
    with pytest.raises(sessions.LockedOut) as first:
        sessions.sign_in(app, "ada@firm.be", PASSWORD, "10.0.1.2")  # even the right one
    with app.engine.begin() as conn:  # the delay ran out; one more failure
        conn.execute(sign_in_failures.update().values(locked_until=utcnow()))
    with pytest.raises(InvalidInput):
        sessions.sign_in(app, "ada@firm.be", "wrong", "10.0.1.3")
    with pytest.raises(sessions.LockedOut) as second:
        sessions.sign_in(app, "ada@firm.be", PASSWORD, "10.0.1.4")
    first_delay = first.value.until - utcnow()
    second_delay = second.value.until - utcnow()
    assert second_delay > first_delay + timedelta(seconds=20), "the delay grows"


def test_one_address_guessing_many_accounts_is_locked_out(app: App) -> None:
    _user(app)
    for i in range(signin.ADDRESS_LOCKOUT.free_failures + 1):
        with pytest.raises(InvalidInput):
            sessions.sign_in(app, f"nobody{i}@firm.be", "guess", "192.0.2.7")
    with pytest.raises(sessions.LockedOut):
        sessions.sign_in(app, "ada@firm.be", PASSWORD, "192.0.2.7")
    assert sessions.sign_in(app, "ada@firm.be", PASSWORD, "192.0.2.8").token


def test_a_success_clears_the_failures(app: App) -> None:
    _user(app)
    for _ in range(3):
        with pytest.raises(InvalidInput):
            sessions.sign_in(app, "ada@firm.be", "wrong", "10.0.0.1")
    sessions.sign_in(app, "ada@firm.be", PASSWORD, "10.0.0.1")
    with app.engine.connect() as conn:
        assert conn.execute(select(sign_in_failures)).all() == []


def test_unknown_email_and_user_without_password_are_refused_alike(app: App) -> None:
    f = firm(app, n_clients=1)
    partners.add_user(app, f.partner_id, "nopass@firm.be", "N", {Role.ACCOUNTANT})
    for email in ("nobody@firm.be", "nopass@firm.be"):
        with pytest.raises(InvalidInput, match="wrong e-mail address or password"):
            sessions.sign_in(app, email, "", "10.0.0.1")


def test_setting_a_password_ends_open_sessions_and_checks_its_length(app: App) -> None:
    _user(app)
    signed = sessions.sign_in(app, "ada@firm.be", PASSWORD, "10.0.0.1")
    with pytest.raises(InvalidInput, match="at least 12"):
        sessions.set_password(app, "ada@firm.be", "short")
    assert sessions.session(app, signed.token) is not None, "a refused change changes nothing"
    sessions.set_password(app, "ada@firm.be", "another long passphrase")
    assert sessions.session(app, signed.token) is None
    with pytest.raises(NotFound):
        sessions.set_password(app, "ghost@firm.be", "another long passphrase")
