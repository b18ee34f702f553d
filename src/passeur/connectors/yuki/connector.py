"""Yuki: each document into the client's administration, through the archive's
`UploadDocument` (reference/targets.md §5.2), into the installation's folder (7, "to be
processed", by default).

* What is sent: `accounting_file` (e-fff, the UBL with its PDF embedded; a document that
  came as a PDF, the PDF alone), base64, under the document's deterministic file name.
* Sessions: `Authenticate(accessKey)` gives a session ID, kept per installation in this
  worker and used until Yuki refuses it; then one new session and the call once more.
  A refused key is "sign in again" at once (never tried twice).
* The client's administration is checked when its integration is saved (`vet`): an ID
  or a name Yuki does not list for this key is refused with the list it does show; a
  name is stored as its ID.
* Redelivery: Yuki cannot promise one copy (EXTENSION.redelivery says why).
* Errors: soap.classify (a refused document is rejected with Yuki's words, not retried;
  the day's allowance used up waits; Yuki's own failures are transient).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from typing import Any

from passeur.connectors.accounting_file import accounting_file
from passeur.connectors.base import CheckResult, Connector, Parcel, Receipt
from passeur.connectors.errors import Misconfigured, NeedsReauth, Rejected
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.connectors.yuki import soap
from passeur.connectors.yuki.extension import EXTENSION
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy

SHOWN = 20  # administrations named in a message


class YukiConnector(Connector):
    extension = EXTENSION

    def __init__(self, *, network: NetworkPolicy | None = None) -> None:
        super().__init__(network=network)
        self._http: Outbound | None = None
        self._sessions: dict[tuple[str, str], str] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    def outbound(self) -> Outbound:
        if self._http is None:
            self._http = Outbound(Guard(self.network), max_connections=16)
        return self._http

    async def check(self, target: Target) -> CheckResult:
        listed = await self._administrations(target)
        given = str(target.get("administration") or "")
        if given and _find(listed, given) is None:
            raise Misconfigured(f"Yuki lists no administration {given!r}; {_names(listed)}")
        return CheckResult(
            True,
            f"Signed in to Yuki with the access key; {_names(listed)}.",
            {"administrations": [{"id": i, "name": n} for i, n in listed]},
        )

    async def vet(self, target: Target) -> dict[str, Any]:
        given = str(target.get("administration") or "").strip()
        if not given:
            return {}
        listed = await self._administrations(target)
        found = _find(listed, given)
        if found is None:
            raise InvalidInput(
                f"Yuki has no administration {given!r} for this access key; {_names(listed)}",
                field="administration",
            )
        return {"administration": found}

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        chosen = await accounting_file(parcel)
        administration = str(target.get("administration") or "")
        folder = int(target.get("folder") if target.get("folder") is not None else 7)
        with chosen.open() as handle:
            data = base64.b64encode(handle.read()).decode("ascii")
        args = [
            ("fileName", chosen.name),
            ("data", data),
            ("folder", str(folder)),
            ("administrationID", administration),
        ]
        reply = await self._call(target, "Archive", "UploadDocument", args)
        if not reply.ok:
            raise soap.classify(reply, f"{chosen.name}")
        made = (reply.result.text or "").strip() if reply.result is not None else ""
        if not made:
            raise Rejected(f"Yuki did not take {chosen.name} (it gave no document ID)")
        return Receipt(
            location=f"administration {administration}, folder {folder}: {chosen.name}",
            size=chosen.size,
            sha256=chosen.sha256,
            details={"document_id": made, "administration": administration, "folder": folder},
        )

    async def _administrations(self, target: Target) -> list[tuple[str, str]]:
        reply = await self._call(target, "Archive", "Administrations", [])
        if not reply.ok or reply.result is None:
            raise soap.classify(reply, "listing the administrations")
        return [
            (str(item.get("ID") or ""), item.findtext("Name") or "")
            for item in reply.result.iter("Administration")
        ]

    async def _call(
        self, target: Target, service: str, operation: str, args: list[tuple[str, str]]
    ) -> soap.Reply:
        """A call with the installation's session; once more with a new one if Yuki
        refused the session."""
        url = f"{_host(target)}/{service}.asmx"
        session = await self._session(target)
        reply = await soap.call(self.outbound(), url, operation, [("sessionID", session), *args])
        if not reply.ok and reply.session_refused:
            session = await self._session(target, refused=session)
            reply = await soap.call(
                self.outbound(), url, operation, [("sessionID", session), *args]
            )
        return reply

    async def _session(self, target: Target, refused: str = "") -> str:
        key = target.secrets.get("access_key", "")
        if not key:
            raise NeedsReauth("the installation has no Yuki access key")
        held = (_host(target), hashlib.sha256(key.encode()).hexdigest())
        session = self._sessions.get(held, "")
        if session and session != refused:
            return session
        async with self._locks.setdefault(held, asyncio.Lock()):
            session = self._sessions.get(held, "")
            if session and session != refused:
                return session  # another try signed in meanwhile
            url = f"{_host(target)}/Archive.asmx"
            reply = await soap.call(self.outbound(), url, "Authenticate", [("accessKey", key)])
            made = (reply.result.text or "").strip() if reply.result is not None else ""
            if not made:
                raise soap.classify(reply, "signing in")
            self._sessions[held] = made
            return made

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


def _host(target: Target) -> str:
    country = str(target.get("country") or "be")
    url = str(target.get(f"{country}_url") or "").rstrip("/")
    if not url:
        raise Misconfigured(f"Yuki is not set up: the operator's Yuki URL for {country} is empty")
    return url


def _find(listed: list[tuple[str, str]], given: str) -> str | None:
    """An administration by its ID, or by its name when exactly one has it."""
    by_id = [i for i, _ in listed if i.lower() == given.lower()]
    if by_id:
        return by_id[0]
    named = [i for i, name in listed if name.casefold() == given.casefold()]
    return named[0] if len(named) == 1 else None


def _names(listed: list[tuple[str, str]]) -> str:
    if not listed:
        return "it lists no administration for this key"
    shown = ", ".join(f"{name} ({i})" for i, name in listed[:SHOWN])
    more = f" and {len(listed) - SHOWN} more" if len(listed) > SHOWN else ""
    return f"the administrations it lists: {shown}{more}"
