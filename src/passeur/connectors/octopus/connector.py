"""Octopus: each document into the client's dossier, through the file-import API (it lands
in the dossier's Document Import Viewer), or by e-mail to the dossier's mailbox.

* What is sent: `accounting_file` (e-fff, the UBL with its PDF embedded; a document that
  came as a PDF, the PDF alone), under the document's deterministic file name, base64
  in the import's JSON body.
* Sign-in and tokens: api.py (the partner's login and the operator's software house id;
  a 10-minute token, then a dossier token, both kept and renewed before they run out).
* The client's dossier is checked when its integration is saved (`vet`): a number or a
  name Octopus does not list for this login is refused with the list it does show, and
  a name is stored as its number.
* Mailbox delivery is the e-mail extension's sending path (its composing, SMTP session,
  classification and Message-ID), pointed at the dossier's `…@docin.octopus.be` address.
* Redelivery: Octopus cannot promise one copy (EXTENSION.redelivery says why).
* Errors: a refused login is "sign in again"; an unknown dossier is a configuration
  matter; a document Octopus refuses (400, its errorMessage) is rejected, not retried;
  429 waits; 5xx and the network are transient (api.failure).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from passeur.connectors.accounting_file import accounting_file
from passeur.connectors.base import CheckResult, Connector, Parcel, Receipt
from passeur.connectors.email import EXTENSION as EMAIL
from passeur.connectors.email import EmailConnector
from passeur.connectors.errors import Misconfigured
from passeur.connectors.network import Guard
from passeur.connectors.octopus.api import OctopusApi, Sessions, failure
from passeur.connectors.octopus.extension import EXTENSION
from passeur.connectors.outbound import Outbound
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy

SHOWN_DOSSIERS = 20  # dossiers named in a message


class OctopusConnector(Connector):
    extension = EXTENSION

    def __init__(
        self,
        *,
        network: NetworkPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(network=network)
        self.sessions = Sessions(clock)
        self.mail = EmailConnector(network=self.network)
        self._http: Outbound | None = None

    def outbound(self) -> Outbound:
        if self._http is None:
            self._http = Outbound(Guard(self.network), max_connections=16)
        return self._http

    def api(self, target: Target, which: str) -> OctopusApi:
        base = str(target.get(which) or "")
        if not base:
            raise Misconfigured(f"Octopus is not set up: the operator's {which} is empty")
        return OctopusApi(self.outbound(), self.sessions, target, base)

    async def check(self, target: Target) -> CheckResult:
        if target.get("delivery") == "mailbox":
            result = await self.mail.check(mail_target(target))
            return replace(result, message=f"Delivery by mailbox. {result.message}")
        listed = await self.api(target, "api_url").dossiers()
        user = target.get("user")
        dossier = str(target.get("dossier") or "")
        if dossier and _find(listed, dossier) is None:
            raise Misconfigured(
                f"Octopus lists no dossier {dossier!r} for {user!r}; {_names(listed)}"
            )
        return CheckResult(
            True,
            f"Signed in to Octopus as {user!r}; {_names(listed)}.",
            {"dossiers": [{"id": n, "name": name} for n, name in listed]},
        )

    async def vet(self, target: Target) -> dict[str, Any]:
        """The client's dossier, checked against the list Octopus gives this login."""
        if target.get("delivery") == "mailbox":
            return {}
        given = str(target.get("dossier") or "").strip()
        listed = await self.api(target, "api_url").dossiers()
        found = _find(listed, given)
        if found is None:
            raise InvalidInput(
                f"Octopus has no dossier {given!r} for {target.get('user')!r}; {_names(listed)}",
                field="dossier",
            )
        return {"dossier": str(found)}

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        chosen = await accounting_file(parcel)
        if target.get("delivery") == "mailbox":
            receipt = await self.mail.deliver(mail_target(target), replace(parcel, files=(chosen,)))
            return replace(receipt, details={**receipt.details, "route": "mailbox"})
        dossier = _number(target)
        with chosen.open() as handle:
            data = handle.read()
        body = {"fileName": chosen.name, "fileData": base64.b64encode(data).decode("ascii")}
        api = self.api(target, "file_import_url")
        path = f"/dossiers/{dossier}/files/imports/withtoken"
        answer = await api.call_in_dossier(dossier, "POST", path, body)
        if answer.status not in (200, 201):
            raise failure(answer, f"importing {chosen.name}")
        try:
            made = answer.json()
        except ValueError:
            made = {}
        return Receipt(
            location=f"dossier {dossier}: {chosen.name}",
            size=chosen.size,
            sha256=chosen.sha256,
            details={
                "route": "import",
                "dossier": dossier,
                "file_name": chosen.name,
                "import_id": str(made.get("id", "")) if isinstance(made, dict) else "",
            },
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
        await self.mail.close()


def mail_target(target: Target) -> Target:
    """The e-mail extension's target for the dossier's mailbox: its SMTP settings, the
    mailbox as every family's address, the file as the one attachment."""
    address = target.get("mailbox_address")
    config = {
        "host": target.get("smtp_host"),
        "port": target.get("smtp_port"),
        "security": target.get("smtp_security"),
        "username": target.get("smtp_username"),
        "sender_address": target.get("sender_address"),
        "timeout": target.get("timeout"),
        "attachments": "original",
        "purchases_address": address,
        "sales_address": address,
        "other_address": address,
    }
    secrets = {}
    if target.secrets.get("smtp_password"):
        secrets["password"] = target.secrets["smtp_password"]
    values = {k: v for k, v in config.items() if v is not None}
    return Target(
        target.installation_id,
        target.integration_id,
        EMAIL.slug,
        effective_config(EMAIL, values),
        secrets,
    )


def _find(listed: list[tuple[int, str]], given: str) -> int | None:
    """A dossier by its number, or by its name when exactly one has it."""
    if given.isdigit():
        return next((n for n, _ in listed if n == int(given)), None)
    named = [n for n, name in listed if name.casefold() == given.casefold()]
    return named[0] if len(named) == 1 else None


def _names(listed: list[tuple[int, str]]) -> str:
    if not listed:
        return "it lists no dossier for this login"
    shown = ", ".join(f"{n} {name}" for n, name in listed[:SHOWN_DOSSIERS])
    more = f" and {len(listed) - SHOWN_DOSSIERS} more" if len(listed) > SHOWN_DOSSIERS else ""
    return f"the dossiers it lists: {shown}{more}"


def _number(target: Target) -> int:
    given = str(target.get("dossier") or "")
    if not given.isdigit():
        raise Misconfigured(
            f"the client's Octopus dossier {given!r} is not a dossier number; save the "
            "integration again so that passeur looks it up"
        )
    return int(given)
