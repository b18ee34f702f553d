"""HTTP: POST each document to the partner's endpoint, signed the Standard Webhooks way.

Every request carries `webhook-id` and `Idempotency-Key`, both the export's stable key,
so a receiver that drops duplicates (the Standard Webhooks rule) keeps one copy however
often a try is repeated; `webhook-timestamp` and `webhook-signature` are made per try.

What the answers mean: 2xx delivered; 3xx a configuration error (redirects are never
followed); 401/403 authentication or signature refused (with OAuth, after one fresh
token); 408 and 5xx try again; 410 the endpoint is gone (the integration is
disconnected); 429, and 503 with `Retry-After`, wait what the target says; 414 (the
URL, from the path, is too long) is a configuration error; any other 4xx rejects this
document, with the start of the answer kept on the attempt. Connections go only to
addresses the operator's network policy allows (connectors/network.py), with TLS verified.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from passeur.connectors import retry_after
from passeur.connectors.base import CheckResult, Connector, Parcel, Receipt
from passeur.connectors.errors import (
    ConnectorError,
    Gone,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.http import payload
from passeur.connectors.http.extension import DEFAULT_PAYLOAD, EXTENSION
from passeur.connectors.http.signing import Signer, parse_secrets
from passeur.connectors.network import Guard, Resolver, system_resolver
from passeur.connectors.oauth import ClientCredentials, TokenCache
from passeur.connectors.outbound import Body, Outbound, UntrustedCertificate
from passeur.connectors.probe import probe_parcel
from passeur.connectors.tls import client_context
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from passeur.domain.paths import PathTemplate
from passeur.domain.redaction import redact

# A signed request refused: the signature is as likely the cause as the credentials.
REFUSED_SIGNED = (
    "refused the request's authentication or signature (check the credentials, and that "
    "the receiver verifies with this signing secret and payload)"
)
EXCERPT = 300  # characters of an answer kept on an attempt
IN_MEMORY = 1024 * 1024  # bodies up to this size are built in memory (one read, one write)
_READ_AT_MOST = 4096  # bytes read from an answer: an endpoint cannot make us read more


@dataclass(frozen=True)
class _Answer:
    status: int
    reason: str
    headers: Mapping[str, str]  # lower-case names
    excerpt: str


class HttpConnector(Connector):
    extension = EXTENSION

    def __init__(
        self,
        *,
        network: NetworkPolicy | None = None,
        resolver: Resolver | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(network=network)
        self._guard = Guard(self.network, resolver or system_resolver)
        self._clock = clock
        self._pools: dict[tuple[object, ...], Outbound] = {}
        self._tokens = TokenCache()

    async def check(self, target: Target) -> CheckResult:
        """Connect (TLS included) and authenticate with a HEAD request; nothing is posted.

        Any answer proves the server is there: many receivers do not implement HEAD
        (Python's http.server answers 501) or answer it differently from a POST to the
        path, so only refused credentials and a redirect of the base URL fail the check;
        the test delivery shows what a POST gets."""
        url = str(target.get("base_url"))
        answer = await self._call(target, "HEAD", url)
        if answer.status in (401, 403, 407):
            raise NeedsReauth(f"{url} refused our credentials ({answer.status} {answer.reason})")
        _raise_for_redirect(url, answer)
        return CheckResult(
            ok=True,
            message=f"Reached {url}: HEAD answered {answer.status} {answer.reason}; "
            "send a test delivery to see what a POST gets.",
            details={"status": answer.status, "auth": target.get("auth") or "none"},
        )

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        url = endpoint(target, parcel.variables)
        body = payload.build(target.get("payload") or DEFAULT_PAYLOAD, parcel)
        answer = await self._post(target, url, body, parcel.export_key)
        _raise_for_error(url, answer)
        return Receipt(
            location=url,
            size=parcel.main.size,
            sha256=body.main_sha256,
            details={"status": answer.status, "webhook_id": parcel.export_key},
        )

    async def test_delivery(self, target: Target) -> CheckResult:
        """POST a small test file the configured way and report the answer as it came."""
        parcel = probe_parcel()
        url = endpoint(target, parcel.variables)
        try:
            body = payload.build(target.get("payload") or DEFAULT_PAYLOAD, parcel)
            answer = await self._post(target, url, body, parcel.export_key)
        except ConnectorError as exc:
            return CheckResult(
                ok=False,
                message=f"Test POST to {url} failed: {exc.message}",
                details={"error_class": exc.error_class.value},
            )
        ok = 200 <= answer.status < 300
        said = f"{answer.status} {answer.reason}" + (
            f": {answer.excerpt}" if answer.excerpt else ""
        )
        if answer.status in (401, 403, 407):
            said += f"; the receiver {REFUSED_SIGNED}"
        return CheckResult(
            ok=ok,
            message=f"Test POST to {url} answered {said}",
            details={
                "status": answer.status,
                "answer": answer.excerpt,
                "webhook_id": parcel.export_key,
            },
        )

    async def _post(self, target: Target, url: str, body: payload.Body, key: str) -> _Answer:
        timestamp = int(self._clock())
        signer = Signer(parse_secrets(target.secrets.get("signing_secret", "")), key, timestamp)
        if body.length <= IN_MEMORY:
            # Small bodies are read once and sent in one write; large ones are streamed
            # twice (sign, then send) so that no whole file sits in memory.
            whole = b"".join(body.chunks())
            signer.update(whole)
            body = payload.Body((whole,), body.content_type, body.headers, body.main_sha256)
        else:
            for chunk in body.chunks():
                signer.update(chunk)
        headers = {
            **body.headers,
            "Content-Type": body.content_type,
            "Content-Length": str(body.length),
            "webhook-id": key,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signer.header(),
            "Idempotency-Key": key,
        }
        return await self._call(target, "POST", url, headers=headers, body=body)

    async def _call(
        self,
        target: Target,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: payload.Body | None = None,
    ) -> _Answer:
        """One request with the target's authentication; with OAuth, a refused token is
        replaced once. Transport failures arrive classified (connectors/outbound.py)."""
        outbound = self._outbound(target)
        tokens: list[str] = []  # OAuth access tokens used: secrets too, though not stored
        try:
            auth_headers, token = await self._auth(outbound, target)
            tokens.append(token)
            answer = await _send(outbound, method, url, {**(headers or {}), **auth_headers}, body)
            if answer.status == 401 and token:
                auth_headers, token = await self._auth(outbound, target, stale=token)
                tokens.append(token)
                answer = await _send(
                    outbound, method, url, {**(headers or {}), **auth_headers}, body
                )
        except UntrustedCertificate as exc:
            raise Misconfigured(
                f"{exc.message}; if it comes from a company CA, add that CA to the "
                "installation's CA bundle"
            ) from None
        # Redact before shortening, so no secret survives cut in half at the end.
        excerpt = _shorten(redact(answer.excerpt, [*target.secrets.values(), *tokens]))
        return _Answer(answer.status, answer.reason, answer.headers, excerpt)

    async def _auth(
        self, outbound: Outbound, target: Target, *, stale: str = ""
    ) -> tuple[dict[str, str], str]:
        """The authentication headers, and the OAuth token used (to renew it on a 401)."""
        method = target.get("auth") or "none"
        secrets = target.secrets
        if method == "basic":
            pair = f"{target.get('username') or ''}:{secrets.get('password', '')}".encode()
            return {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}, ""
        if method == "bearer":
            return {"Authorization": f"Bearer {secrets.get('token', '')}"}, ""
        if method == "api_key":
            return {str(target.get("api_key_header")): secrets.get("api_key", "")}, ""
        if method == "oauth2":
            credentials = ClientCredentials(
                token_url=str(target.get("oauth_token_url")),
                client_id=str(target.get("oauth_client_id")),
                client_secret=secrets.get("oauth_client_secret", ""),
                scope=str(target.get("oauth_scope") or ""),
                send_in_body=target.get("oauth_client_auth") == "body",
            )
            token = await self._tokens.token(outbound, credentials, stale=stale)
            return {"Authorization": f"Bearer {token}"}, token
        return {}, ""

    def _outbound(self, target: Target) -> Outbound:
        """One connection pool per installation and TLS/timeout setting, for deliveries
        and OAuth token requests alike."""
        ca_bundle = target.get("ca_bundle") or None
        seconds = float(target.get("timeout") or 30)
        key = (target.installation_id, ca_bundle, seconds)
        outbound = self._pools.get(key)
        if outbound is None:
            outbound = Outbound(
                self._guard,
                tls=client_context(ca_bundle),
                timeout=seconds,
                max_connections=int(target.get("parallel") or 8),
            )
            self._pools[key] = outbound
        return outbound

    @classmethod
    def destination(cls, target: Target, variables: dict[str, str], file_name: str) -> str:
        return endpoint(target, variables)

    async def close(self) -> None:
        for outbound in self._pools.values():
            await outbound.close()
        self._pools.clear()


def endpoint(target: Target, variables: dict[str, str]) -> str:
    """The base URL plus the rendered path, each segment percent-encoded."""
    base = str(target.get("base_url"))
    template = target.get("path")
    if not template:
        return base
    rendered = PathTemplate.parse(str(template)).render(variables)
    if not rendered:
        return base
    tail = "/".join(quote(segment, safe="") for segment in rendered.split("/"))
    return f"{base.rstrip('/')}/{tail}"


async def _send(
    outbound: Outbound,
    method: str,
    url: str,
    headers: dict[str, str],
    body: payload.Body | None,
) -> _Answer:
    """One request; an answer is read up to 4 KB."""
    content: Body = None
    if body is not None:
        first = body.parts[0]
        content = first if len(body.parts) == 1 and isinstance(first, bytes) else body.stream()
    answer = await outbound.request(
        method, url, headers=headers, body=content, read_at_most=_READ_AT_MOST
    )
    text = re.sub(r"[\x00-\x1f\x7f\s]+", " ", answer.text()).strip()  # one line, no controls
    return _Answer(answer.status, answer.reason, answer.headers, text)


def _shorten(text: str) -> str:
    return text[:EXCERPT] + ("…" if len(text) > EXCERPT else "")


def _raise_for_unusable(url: str, answer: _Answer) -> None:
    """What no delivery can get past: redirects, a gone endpoint, rate limits, server
    errors."""
    _raise_for_redirect(url, answer)
    status = answer.status
    if status == 410:
        raise Gone(_said(f"{url} no longer exists; it answered", answer))
    limited = _rate_limit(url, answer)
    if limited is not None:
        raise limited
    if status >= 500 or status == 408:
        raise TransientError(_said(f"{url} answered", answer))


def _raise_for_redirect(url: str, answer: _Answer) -> None:
    if 300 <= answer.status < 400:
        raise Misconfigured(
            f"{url} redirects to {answer.headers.get('location', '?')}; redirects are not "
            "followed: set the base URL to the final address"
        )


def _raise_for_error(url: str, answer: _Answer) -> None:
    if 200 <= answer.status < 300:
        return
    _raise_for_unusable(url, answer)
    if answer.status in (401, 403, 407):
        # A receiver that cannot verify the signature (wrong secret, or a payload its
        # library does not read) answers as one that refuses the credentials.
        raise NeedsReauth(_said(f"{url} {REFUSED_SIGNED}:", answer))
    if answer.status == 414:
        # The URL comes from the path template: every document would be refused alike.
        raise Misconfigured(
            _said(f"{url} is longer than the receiver accepts; shorten the path:", answer)
        )
    raise Rejected(_said(f"{url} rejected the document:", answer))


def _rate_limit(url: str, answer: _Answer) -> RateLimited | None:
    wait = retry_after.parse(answer.headers.get("retry-after"))
    if answer.status == 429 or (answer.status == 503 and wait is not None):
        when = f"; retry after {wait:.0f} s" if wait is not None else ""
        return RateLimited(f"{url} asks us to slow down ({answer.status}){when}", retry_after=wait)
    return None


def _said(prefix: str, answer: _Answer) -> str:
    text = f"{prefix} {answer.status} {answer.reason}".rstrip()
    return f"{text}: {answer.excerpt}" if answer.excerpt else text
