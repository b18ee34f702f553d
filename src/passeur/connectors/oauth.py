"""OAuth 2.0 token requests.

Client credentials (RFC 6749 §4.4): `TokenCache` fetches an access token, keeps it until
shortly before it expires, fetches a new one when the target says it no longer works.

Authorization code with PKCE (RFC 6749 §4.1, RFC 7636) and refresh (§6): `pkce_pair`,
`exchange_code` and `refresh` make the calls; keeping the grant, and serialising its
refreshes, is services/oauth_grants.py's job.

Token requests go through the caller's outbound client (connectors/outbound.py), so they
pass the same SSRF guard, TLS verification and no-redirect rule as the deliveries, and
transport failures come out classified the same way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote_plus, urlencode

from passeur.connectors import retry_after
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    TransientError,
)
from passeur.connectors.outbound import Answer, Outbound, shown_url
from passeur.domain.extensions import TokenSource

READ_AT_MOST = 1024 * 1024  # a token answer is small; an endpoint cannot make us read more
DEFAULT_LIFETIME = 600.0  # when the server does not say (expires_in is only RECOMMENDED)
_REFUSED = {"invalid_client", "invalid_grant", "unauthorized_client", "access_denied"}


@dataclass(frozen=True)
class ClientCredentials:
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str = ""
    send_in_body: bool = False  # RFC 6749 §2.3.1: HTTP Basic is the default servers support

    def cache_key(self) -> tuple[str, ...]:
        secret = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (self.token_url, self.client_id, secret, self.scope, str(self.send_in_body))


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float


class TokenCache:
    """Access tokens per set of client credentials (one per connector instance)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tokens: dict[tuple[str, ...], _Token] = {}
        self._locks: dict[tuple[str, ...], asyncio.Lock] = {}
        self.fetches = 0

    async def token(
        self, http: Outbound, credentials: ClientCredentials, *, stale: str = ""
    ) -> str:
        """A valid access token; `stale` is one the target refused, so never return it."""
        key = credentials.cache_key()
        async with self._locks.setdefault(key, asyncio.Lock()):
            held = self._tokens.get(key)
            if held is not None and held.value != stale and self._clock() < held.renew_at:
                return held.value
            self._tokens.pop(key, None)
            fresh = await self._fetch(http, credentials)
            self._tokens[key] = fresh
            return fresh.value

    async def _fetch(self, http: Outbound, credentials: ClientCredentials) -> _Token:
        form = {"grant_type": "client_credentials"}
        if credentials.scope:
            form["scope"] = credentials.scope
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        if credentials.send_in_body:
            form["client_id"] = credentials.client_id
            form["client_secret"] = credentials.client_secret
        else:
            # RFC 6749 §2.3.1: both parts are form-encoded before they are joined.
            pair = f"{quote_plus(credentials.client_id)}:{quote_plus(credentials.client_secret)}"
            headers["Authorization"] = f"Basic {base64.b64encode(pair.encode()).decode()}"
        self.fetches += 1
        response = await http.request(
            "POST",
            credentials.token_url,
            headers=headers,
            body=urlencode(form).encode(),
            read_at_most=READ_AT_MOST,
        )
        error = _token_error(response, credentials.token_url)
        if error is not None:
            raise error
        try:
            body = response.json()
            value = body["access_token"]
            kind = str(body.get("token_type", "bearer"))
            lifetime = _lifetime(body.get("expires_in"), credentials.token_url)
        except (ValueError, KeyError, TypeError):
            raise TransientError(
                f"the token endpoint {credentials.token_url} answered without an access_token"
            ) from None
        if not isinstance(value, str) or not value or kind.lower() != "bearer":
            raise Misconfigured(
                f"the token endpoint gave a {kind!r} token; only bearer tokens are supported"
            )
        # Renew a little early so a token never expires between our check and its use.
        margin = min(60.0, lifetime * 0.1)
        return _Token(value=value, renew_at=self._clock() + max(0.0, lifetime - margin))


def _lifetime(raw: object, url: str) -> float:
    """expires_in as seconds: absent means the default; NaN, infinite, zero or negative
    would refresh on every call or never, so they are the endpoint's error."""
    if raw is None or raw == "":
        return DEFAULT_LIFETIME
    lifetime = float(raw)  # type: ignore[arg-type]  # ValueError/TypeError: caller's
    if not math.isfinite(lifetime) or lifetime <= 0:
        raise TransientError(
            f"the token endpoint {shown_url(url)} gave a token lifetime of {raw!r} seconds"
        )
    return lifetime


def _token_error(response: Answer, url: str) -> ConnectorError | None:
    status = response.status
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return Misconfigured(
            f"the token endpoint {shown_url(url)} redirects to "
            f"{shown_url(response.headers.get('location', ''))}; "
            "give its final address"
        )
    if status == 429:
        return RateLimited(
            f"the token endpoint {url} asks us to slow down (429)",
            retry_after=retry_after.parse(response.headers.get("retry-after")),
        )
    if status >= 500:
        return TransientError(f"the token endpoint {url} failed ({status})")
    said = _said(response)
    code = said.partition(" ")[2]
    if status == 401 or (status == 400 and code in _REFUSED):
        return NeedsReauth(f"the token endpoint {url} refused the client credentials ({said})")
    return Misconfigured(f"the token endpoint {url} refused the request ({said})")


# Authorization code with PKCE, and refresh.


@dataclass(frozen=True)
class OAuthClient:
    """Our registration at a provider (the operator's settings)."""

    token_url: str
    client_id: str
    client_secret: str = field(repr=False, default="")
    send_in_body: bool = True  # Exact, Google and Microsoft take them as form fields
    # Refresh when less than this is left (Exact refuses a refresh before its last 30 s).
    refresh_margin: float = 60.0


@dataclass(frozen=True)
class Grant:
    """What a sign-in gives: an access token until `expires_at` (epoch seconds), and the
    refresh token that gets the next one."""

    access_token: str = field(repr=False)
    expires_at: float
    refresh_token: str = field(repr=False)
    lifetime: float = DEFAULT_LIFETIME  # seconds the access token was given for
    # When the refresh token itself runs out (epoch seconds), where the provider says so
    # (refresh_token_expires_in; Intuit: x_refresh_token_expires_in); None: it did not.
    refresh_expires_at: float | None = None


class TooEarly(TransientError):
    """The provider refuses to refresh while the access token still works (Exact Online
    allows it only in the token's last 30 seconds)."""


def pkce_pair() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 §4.1, §4.2)."""
    verifier = secrets.token_urlsafe(48)  # 64 characters of [A-Za-z0-9_-]
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


async def exchange_code(
    http: Outbound, client: OAuthClient, code: str, redirect_uri: str, verifier: str
) -> Grant:
    """Turn the provider's code into a grant (the verifier proves we asked for it)."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    return await _grant_request(http, client, form, previous_refresh="")


async def refresh(http: Outbound, client: OAuthClient, refresh_token: str) -> Grant:
    """A new access token; the refresh token the provider rotated to, or the same one.

    A refused refresh (revoked, expired, already rotated) raises NeedsReauth.
    """
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await _grant_request(http, client, form, previous_refresh=refresh_token)


async def _grant_request(
    http: Outbound, client: OAuthClient, form: dict[str, str], *, previous_refresh: str
) -> Grant:
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    if client.send_in_body:
        form = {**form, "client_id": client.client_id}
        if client.client_secret:
            form["client_secret"] = client.client_secret
    else:
        pair = f"{quote_plus(client.client_id)}:{quote_plus(client.client_secret)}"
        headers["Authorization"] = f"Basic {base64.b64encode(pair.encode()).decode()}"
    response = await http.request(
        "POST",
        client.token_url,
        headers=headers,
        body=urlencode(form).encode(),
        read_at_most=READ_AT_MOST,
    )
    if response.headers.get("reason", "").lower() == "tooearlytorefreshtokens":
        raise TooEarly("the provider refuses to refresh yet (TooEarlyToRefreshTokens)")
    error = _token_error(response, client.token_url)
    if error is None:
        return _grant(response, client.token_url, previous_refresh)
    if response.status in (400, 401):
        # Whatever the provider calls it (invalid_grant, invalid_request "expired", "Old
        # refresh token used"), a refused code or refresh token will not work again.
        what = "refresh token" if previous_refresh else "sign-in code"
        raise NeedsReauth(f"the provider refused the {what} ({_said(response)})")
    raise error


def _said(response: Answer) -> str:
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = str(response.json().get("error", ""))[:60]
    return f"{response.status} {code}".strip()


def _grant(response: Answer, url: str, previous_refresh: str) -> Grant:
    try:
        body = response.json()
        value = body["access_token"]
        kind = str(body.get("token_type", "bearer"))
        lifetime = _lifetime(body.get("expires_in"), url)  # Exact sends a string
        rotated = body.get("refresh_token") or previous_refresh
    except (ValueError, KeyError, TypeError, AttributeError):
        raise TransientError(f"the token endpoint {url} answered without an access_token") from None
    if not isinstance(value, str) or not value or kind.lower() != "bearer":
        raise Misconfigured(
            f"the token endpoint gave a {kind!r} token; only bearer tokens are supported"
        )
    if not isinstance(rotated, str) or not rotated:
        raise Misconfigured(
            f"the token endpoint {url} gave no refresh token: ask for offline access"
        )
    now = time.time()
    return Grant(value, now + lifetime, rotated, lifetime, _refresh_expiry(body, now))


def _refresh_expiry(body: Any, now: float) -> float | None:
    """The refresh token's end, if the provider gave a sensible one."""
    raw = body.get("refresh_token_expires_in", body.get("x_refresh_token_expires_in"))
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        return None
    return now + seconds if math.isfinite(seconds) and seconds > 0 else None


async def with_token(tokens: TokenSource, send: Callable[[str], Awaitable[Answer]]) -> Answer:
    """Send with a valid access token; on a 401, once more with a new one.

    A connector calls its API this way and never keeps a token. A second 401 is the
    caller's to classify (usually NeedsReauth).
    """
    token = await tokens.token()
    answer = await send(token)
    if answer.status != 401:
        return answer
    return await send(await tokens.token(refused=token))
