"""Exact Online REST calls over the shared outbound client, and what its answers mean.

Every call to a company asks `target.calls` for a slot first (the per-company limits,
over every worker) and reports a failing answer back (the hourly error budget); it asks
`target.tokens` for an access token, and once more after a 401 (`oauth.with_token`).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

from passeur.connectors import oauth
from passeur.connectors.cloud_folder import Reply
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.outbound import Answer, Outbound
from passeur.domain.extensions import CallGate, Target, TokenSource

READ_AT_MOST = 1024 * 1024  # a page of 60 entities, or one created entity
FAILING = (400, 401, 403, 404)  # what Exact counts towards its lock-out


def said(reply: Reply) -> str:
    """Exact's error text (`error.message.value`), or the start of the body."""
    if isinstance(reply.data, dict):
        error = reply.data.get("error")
        if isinstance(error, dict):
            message = error.get("message")
            if isinstance(message, dict) and message.get("value"):
                return str(message["value"])[:500]
    return reply.text[:200]


class ExactApi:
    """The calls one try makes to one installation's Exact Online."""

    def __init__(self, http: Outbound, target: Target) -> None:
        if target.tokens is None:
            raise NeedsReauth("the installation has not signed in to Exact Online")
        self.http = http
        self.tokens: TokenSource = target.tokens
        self.gate: CallGate | None = target.calls
        self.url = str(target.get("api_url") or "").rstrip("/")
        if not self.url:
            raise Misconfigured("Exact Online's API address is not set")

    async def me(self) -> dict[str, Any]:
        reply = await self._send("GET", f"{self.url}/current/Me", None)
        if not reply.ok:
            raise failure(reply, "the signed-in user")
        return dict(_results(reply)[0]) if _results(reply) else {}

    async def get(
        self, division: int, resource: str, query: dict[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The entities of one page (Exact gives 60 a page; we ask for what fits)."""
        url = f"{self.url}/{division}/{resource}"
        if query:
            url += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
        reply = await self.call(division, "GET", url, None)
        if not reply.ok:
            raise failure(reply, resource)
        return _results(reply)

    async def post(self, division: int, resource: str, body: dict[str, Any]) -> dict[str, Any]:
        reply = await self.call(division, "POST", f"{self.url}/{division}/{resource}", body)
        if not reply.ok:
            raise failure(reply, resource, creating=True)
        data = reply.data.get("d") if isinstance(reply.data, dict) else None
        if not isinstance(data, dict):
            raise TransientError(f"Exact Online answered {resource} without the entity")
        return data

    async def call(self, division: int, method: str, url: str, body: Any) -> Reply:
        """One call to a company, inside its limits; a failing answer is counted."""
        account = str(division)
        if self.gate is not None:
            await self.gate.call(account)
        reply = await self._send(method, url, body)
        if reply.status in FAILING and self.gate is not None:
            await self.gate.failed(account)
        return reply

    async def _send(self, method: str, url: str, body: Any) -> Reply:
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json"}
        if payload is not None:
            headers |= {"Content-Type": "application/json", "Prefer": "return=representation"}

        async def send(token: str) -> Answer:
            sent = {**headers, "Authorization": f"Bearer {token}"}
            return await self.http.request(
                method, url, headers=sent, body=payload, read_at_most=READ_AT_MOST
            )

        answer = await oauth.with_token(self.tokens, send)
        data: Any = None
        try:
            data = answer.json()
        except ValueError:
            data = None
        return Reply(answer.status, data, answer.text()[:300], answer.headers)


def _results(reply: Reply) -> list[dict[str, Any]]:
    d = reply.data.get("d") if isinstance(reply.data, dict) else None
    if isinstance(d, dict) and isinstance(d.get("results"), list):
        return [r for r in d["results"] if isinstance(r, dict)]
    if isinstance(d, dict):
        return [d]
    raise TransientError("Exact Online answered without its d.results")


def failure(reply: Reply, where: str, *, creating: bool = False) -> ConnectorError:
    """What an answer that is not a success means, for the retry policy."""
    status, text = reply.status, said(reply)
    if status == 401:
        return NeedsReauth("Exact Online refused the access token: sign in again")
    if status == 429:
        return RateLimited(
            "Exact Online asks us to slow down (its limit of calls per company)",
            retry_after=_reset(reply.headers),
        )
    if status >= 500:
        return TransientError(f"Exact Online failed ({status}) on {where}")
    if status == 403 and "WrongDivision" in text:
        return Misconfigured(
            "this Exact Online connection cannot reach the client's company: check its "
            "Company Code, or sign in with a user who has access to it"
        )
    if status == 403 and "blocked" in text.lower():
        return TransientError(
            f"Exact Online has blocked calls for an hour: {text}", retry_after=3600
        )
    if status == 400 and creating:
        return Rejected(f"Exact Online refused the document: {text}")
    if status == 403:
        return Misconfigured(f"Exact Online does not allow {where}: {text}")
    return Misconfigured(f"Exact Online refused {where} ({status}): {text}")


def _reset(headers: dict[str, str]) -> float | None:
    """Seconds until the exceeded window resets (Exact sends epoch milliseconds; on a
    429 only the exceeded window's headers are there)."""
    for name in ("x-ratelimit-minutely-reset", "x-ratelimit-reset"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, int(value) / 1000 - time.time())
            except ValueError:
                continue
    return None
