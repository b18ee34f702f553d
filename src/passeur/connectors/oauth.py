"""OAuth 2.0 client credentials (RFC 6749 §4.4): fetch an access token, keep it until
shortly before it expires, fetch a new one when the target says it no longer works.

Token requests go through the caller's outbound client (connectors/outbound.py), so they
pass the same SSRF guard, TLS verification and no-redirect rule as the deliveries, and
transport failures come out classified the same way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote_plus, urlencode

from passeur.connectors import retry_after
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    TransientError,
)
from passeur.connectors.outbound import Answer, Outbound

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
            lifetime = float(body.get("expires_in") or DEFAULT_LIFETIME)
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


def _token_error(response: Answer, url: str) -> ConnectorError | None:
    status = response.status
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return Misconfigured(
            f"the token endpoint {url} redirects to {response.headers.get('location', '?')}; "
            "give its final address"
        )
    if status == 429:
        return RateLimited(
            f"the token endpoint {url} asks us to slow down (429)",
            retry_after=retry_after.parse(response.headers.get("retry-after")),
        )
    if status >= 500:
        return TransientError(f"the token endpoint {url} failed ({status})")
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = str(response.json().get("error", ""))[:60]
    said = f"{status} {code}".strip()
    if status == 401 or (status == 400 and code in _REFUSED):
        return NeedsReauth(f"the token endpoint {url} refused the client credentials ({said})")
    return Misconfigured(f"the token endpoint {url} refused the request ({said})")
