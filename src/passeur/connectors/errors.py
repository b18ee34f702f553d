"""The few errors a connector may raise. Connectors classify; the retry policy decides."""

from __future__ import annotations

from passeur.domain.exports import ErrorClass


class ConnectorError(Exception):
    """Base class. The message is shown to the partner: it must never contain a secret."""

    error_class: ErrorClass = ErrorClass.TRANSIENT
    # False when passeur held the call back itself and the target was never called: the
    # failure counts against no pacing of the target and blocks none of its other accounts.
    reached_target: bool = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """Network trouble, a 5xx, a timeout, a server gone mid-upload: try again later."""

    error_class = ErrorClass.TRANSIENT


class RateLimited(ConnectorError):
    """The target asked us to slow down; `retry_after` says for how long (seconds)."""

    error_class = ErrorClass.RATE_LIMITED


class Paced(RateLimited):
    """passeur's own pacing for one account (an Exact company's calls a day, its failing
    calls an hour) says wait `retry_after` seconds: the export waits that long, then
    tries again (not the retry schedule), and the installation's other accounts go on."""

    reached_target = False


class NeedsReauth(ConnectorError):
    """Credentials were refused or have expired: a person must sign in again."""

    error_class = ErrorClass.AUTH


class Misconfigured(ConnectorError):
    """The settings are wrong (host key, folder rights, unknown company): a person must fix them."""

    error_class = ErrorClass.MISCONFIGURED


class Rejected(ConnectorError):
    """The target refused this document; the same try would fail again."""

    error_class = ErrorClass.REJECTED


class Gone(ConnectorError):
    """The target says this endpoint no longer exists (HTTP 410): the integration is
    disconnected until a person points it somewhere else."""

    error_class = ErrorClass.GONE
