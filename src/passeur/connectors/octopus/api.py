"""Octopus's two APIs and their two-level tokens (reference/targets.md §5.1).

Signing in (`POST /authentication`, the operator's `softwareHouseUuid` in a header, the
partner's user and password in the body) gives a token for 10 minutes; a dossier token
is then asked with it. Octopus has no refresh: one signs in again. So each worker keeps,
per installation and API, the token and the dossier tokens made with it:

* a token is used for at most `TOKEN_LIFE - RENEW_MARGIN` seconds after it was given,
  then a new sign-in is made before the next call (never a call that must fail first);
* a dossier token is kept while the token it came from is, and dropped with it;
* a 401 on a call (Octopus forgot the token early) renews once: the token, then the
  dossier token; a second 401 is "sign in again". A refused sign-in is NeedsReauth
  straight away, without a second try (a password is not tried twice);
* one sign-in at a time per installation and API in a worker: tries that find the token
  old wait for the one sign-in instead of making their own.

Errors come as `{"technicalInfo", "errorCode", "errorMessage"}`; `failure` turns an
answer into our error classes, with Octopus's message in words.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from passeur.connectors import retry_after
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.outbound import Answer, Outbound
from passeur.domain.extensions import Target

TOKEN_LIFE = 600.0  # seconds: Octopus's token lives 10 minutes
RENEW_MARGIN = 60.0  # a token is not used in its last minute
READ_AT_MOST = 256 * 1024


@dataclass
class _Session:
    """One installation's sign-in to one API, in this worker."""

    token: str = ""
    given_at: float = 0.0
    dossiers: dict[int, str] = field(default_factory=dict)  # made with `token`
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class Sessions:
    """The tokens of every installation this worker serves (a connector holds one)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._sessions: dict[tuple[str, ...], _Session] = {}

    def of(self, base: str, target: Target) -> _Session:
        # A changed login or software house is another session: the old token is not used.
        login = f"{target.get('user')}\0{target.secrets.get('password', '')}"
        house = target.secrets.get("software_house", "")
        key = (base, hashlib.sha256(f"{login}\0{house}".encode()).hexdigest())
        return self._sessions.setdefault(key, _Session())

    def fresh(self, session: _Session) -> bool:
        return bool(session.token) and self.clock() - session.given_at < TOKEN_LIFE - RENEW_MARGIN


class OctopusApi:
    """The calls one try makes to one Octopus API for one installation."""

    def __init__(self, http: Outbound, sessions: Sessions, target: Target, base: str) -> None:
        self.http = http
        self.sessions = sessions
        self.target = target
        self.base = base.rstrip("/")
        self.rest = self.base == str(target.get("api_url") or "").rstrip("/")
        self.session = sessions.of(self.base, target)

    async def token(self, refused: str = "") -> str:
        session = self.session
        if self.sessions.fresh(session) and session.token != refused:
            return session.token
        async with session.lock:
            if self.sessions.fresh(session) and session.token != refused:
                return session.token  # another try signed in meanwhile
            house = self.target.secrets.get("software_house", "")
            if not house:
                raise Misconfigured(
                    "Octopus is not set up: the operator must set "
                    "PASSEUR_OCTOPUS_SOFTWARE_HOUSE_UUID"
                )
            body = {
                "user": str(self.target.get("user") or ""),
                "password": self.target.secrets.get("password", ""),
            }
            answer = await self._send("POST", "/authentication", {"softwareHouseUuid": house}, body)
            if answer.status in (401, 403):
                raise NeedsReauth(
                    f"Octopus refused the sign-in of {body['user']!r}: {said(answer)}; "
                    "check the Octopus user and password (and the operator's software house id)"
                )
            if answer.status != 200:
                raise failure(answer, "signing in")
            token = str(_json(answer).get("token") or "")
            if not token:
                raise TransientError("Octopus answered the sign-in without a token")
            session.token, session.given_at, session.dossiers = token, self.sessions.clock(), {}
            return token

    async def dossier_token(self, dossier: int, refused: str = "") -> str:
        session = self.session
        token = await self.token()
        held = session.dossiers.get(dossier)
        if held and held != refused:
            return held
        answer = await self._open(token, dossier)
        if answer.status == 401:  # the token died before its time: sign in again, once
            token = await self.token(refused=token)
            answer = await self._open(token, dossier)
        if answer.status == 401:
            raise NeedsReauth(f"Octopus refused a new sign-in's token: {said(answer)}")
        if answer.status in (403, 404):
            raise Misconfigured(
                f"Octopus cannot open dossier {dossier} for {self.target.get('user')!r}: "
                f"{said(answer)}; check the client's dossier"
            )
        if answer.status != 200:
            raise failure(answer, f"opening dossier {dossier}")
        data = _json(answer)
        made = str(data.get("dossierToken") or data.get("Dossiertoken") or "")
        if not made:
            raise TransientError("Octopus answered without a dossier token")
        if session.token == token:
            session.dossiers[dossier] = made
        return made

    async def _open(self, token: str, dossier: int) -> Answer:
        if self.rest:
            return await self._send("POST", f"/dossiers?dossierId={dossier}", {"Token": token})
        headers = {"authenticationToken": token, "dossierId": str(dossier)}
        return await self._send("POST", "/authentication/connect", headers)

    async def dossiers(self) -> list[tuple[int, str]]:
        """The dossiers the login may open (REST API): (number, name)."""
        answer = await self.call_signed_in("GET", "/dossiers")
        if answer.status != 200:
            raise failure(answer, "listing the dossiers")
        found = []
        for item in _json_list(answer):
            key = item.get("dossierKey") or {}
            if isinstance(key, dict) and str(key.get("id", "")).isdigit():
                found.append((int(key["id"]), str(item.get("dossierDescription") or "")))
        return found

    async def call_signed_in(self, method: str, path: str, body: Any = None) -> Answer:
        token = await self.token()
        answer = await self._send(method, path, {"Token": token}, body)
        if answer.status == 401:
            token = await self.token(refused=token)
            answer = await self._send(method, path, {"Token": token}, body)
            if answer.status == 401:
                raise NeedsReauth(f"Octopus refused a new sign-in's token: {said(answer)}")
        return answer

    async def call_in_dossier(self, dossier: int, method: str, path: str, body: Any) -> Answer:
        """A dossier-scoped call; after a 401 once more with a new dossier token (and a new
        sign-in when Octopus refuses that too)."""
        made = await self.dossier_token(dossier)
        answer = await self._send(method, path, {"dossierToken": made}, body)
        if answer.status == 401:
            self.session.dossiers.pop(dossier, None)
            fresh = await self.dossier_token(dossier, refused=made)
            answer = await self._send(method, path, {"dossierToken": fresh}, body)
            if answer.status == 401:
                raise NeedsReauth(f"Octopus refused a new dossier token: {said(answer)}")
        return answer

    async def _send(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> Answer:
        sent = {"Accept": "application/json", **headers}
        data = None
        if body is not None:
            sent["Content-Type"] = "application/json"
            data = json.dumps(body).encode()
        return await self.http.request(
            method, f"{self.base}{path}", headers=sent, body=data, read_at_most=READ_AT_MOST
        )


def said(answer: Answer) -> str:
    """Octopus's own words for an answer: its errorMessage, else the status."""
    try:
        data = answer.json()
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("errorMessage"):
        code = f" (error {data['errorCode']})" if data.get("errorCode") is not None else ""
        return f"{str(data['errorMessage'])[:300]}{code}"
    return f"HTTP {answer.status} {answer.reason}".strip()


def failure(answer: Answer, doing: str) -> ConnectorError:
    """What an answer that is not a success means for the retry policy."""
    status = answer.status
    if status == 429:
        wait = retry_after.parse(answer.headers.get("retry-after"))
        return RateLimited(
            f"Octopus's limit was reached while {doing}: {said(answer)}", retry_after=wait
        )
    if status >= 500 or status == 408:
        return TransientError(f"Octopus failed while {doing}: {said(answer)}")
    if status in (401, 403):
        return NeedsReauth(f"Octopus refused us while {doing}: {said(answer)}")
    if status == 404:
        return Misconfigured(f"Octopus does not know what we asked while {doing}: {said(answer)}")
    return Rejected(f"Octopus refused the document: {said(answer)}")


def _json(answer: Answer) -> dict[str, Any]:
    try:
        data = answer.json()
    except ValueError:
        raise TransientError("Octopus answered something that is not JSON") from None
    return data if isinstance(data, dict) else {}


def _json_list(answer: Answer) -> list[dict[str, Any]]:
    try:
        data = answer.json()
    except ValueError:
        raise TransientError("Octopus answered something that is not JSON") from None
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []
