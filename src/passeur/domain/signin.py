"""Signing in: how long a session lasts, and the growing delay after failed passwords.

Failures are counted per account and per address: a guessing script is slowed down
whichever it varies. An office shares one address, so its allowance is larger.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

SESSION_LIFETIME = timedelta(hours=12)  # one working day; then sign in again
MIN_PASSWORD_LENGTH = 12


@dataclass(frozen=True)
class Lockout:
    free_failures: int  # failures allowed before any delay
    first_delay: timedelta
    longest_delay: timedelta

    def locked_until(self, failures: int, failed_at: datetime) -> datetime | None:
        """After this many failures in a row, when the next try may come (None: now)."""
        beyond = failures - self.free_failures
        if beyond <= 0:
            return None
        delay = min(self.first_delay * (2 ** min(beyond - 1, 20)), self.longest_delay)
        return failed_at + delay


ACCOUNT_LOCKOUT = Lockout(5, timedelta(seconds=30), timedelta(hours=1))
ADDRESS_LOCKOUT = Lockout(20, timedelta(seconds=30), timedelta(hours=1))


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def address_key(address: str) -> str:
    return f"address:{address}"


def check_new_password(password: str) -> None:
    from passeur.domain.errors import InvalidInput

    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > 1000:
        raise InvalidInput("a password may have at most 1,000 characters", field="password")
