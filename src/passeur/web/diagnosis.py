"""A connection test's outcome in words a person can act on.

The connectors' messages are English and already free of secrets; each error class adds
what to do about it, in the visitor's language.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response

from passeur.connectors.base import CheckResult
from passeur.connectors.errors import ConnectorError
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ErrorClass
from passeur.web.i18n import N_
from passeur.web.pages import render

HINTS: dict[ErrorClass, str] = {
    ErrorClass.TRANSIENT: N_(
        "passeur could not reach the target. Check the host name and the port, and that the "
        "server accepts connections from passeur, then test again."
    ),
    ErrorClass.RATE_LIMITED: N_(
        "The target asks passeur to wait before trying again. Test again in a few minutes."
    ),
    ErrorClass.AUTH: N_(
        "The target refused the sign-in. Check the username and the password or key, save, "
        "and test again."
    ),
    ErrorClass.MISCONFIGURED: N_(
        "A setting does not fit the target: a folder that does not exist or may not be "
        "written to, or a host key that changed. Correct it, save, and test again. If the "
        "server's key really changed, empty the host key field, save, and test again to see "
        "the new one."
    ),
    ErrorClass.REJECTED: N_(
        "The target refused the request. Check the settings with the target's administrator."
    ),
    ErrorClass.GONE: N_(
        "The target says this address no longer exists. Enter its new address, save, and "
        "test again."
    ),
    ErrorClass.LEASE_EXPIRED: N_("The test was interrupted. Test again."),
}
NOT_TRUSTED = N_(
    "The key was not trusted: the server does not present the key you confirmed. Test again "
    "and compare the new fingerprint with the server's administrator."
)


@dataclass(frozen=True)
class Diagnosis:
    ok: bool
    message: str  # the connector's own words (English, secrets redacted)
    fingerprint: str = ""  # a host key the person may confirm and trust
    error_class: ErrorClass | None = None
    hint: str = ""  # marked for translation
    details: dict[str, Any] = field(default_factory=dict)


async def run(check: Awaitable[CheckResult]) -> Diagnosis:
    """Await a connection test; its refusals become a diagnosis instead of an error page."""
    try:
        result = await check
    except ConnectorError as exc:
        return Diagnosis(
            ok=False, message=exc.message, error_class=exc.error_class, hint=HINTS[exc.error_class]
        )
    except InvalidInput as exc:
        hint = NOT_TRUSTED if exc.field == "trust" else ""
        return Diagnosis(ok=False, message=str(exc), hint=hint)
    details = {k: v for k, v in result.details.items() if k not in ("host_key", "pinned")}
    unpinned = not result.ok and result.details.get("pinned") is False
    return Diagnosis(
        ok=result.ok,
        message=result.message,
        fingerprint=str(result.details.get("fingerprint", "")) if unpinned else "",
        details=details,
    )


async def trust_sent(request: Request) -> str | None:
    """The host key the person confirmed after a first test (the form's `trust`), if any."""
    submitted = await request.form()
    return str(submitted.get("trust", ""))[:200] or None


def fragment(request: Request, found: Diagnosis, check_url: str) -> Response:
    """The outcome alone, for htmx to swap in under the Test connection button."""
    return render(request, "check_result.html", {"diagnosis": found, "check_url": check_url})
