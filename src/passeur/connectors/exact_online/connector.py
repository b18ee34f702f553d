"""Exact Online: each document into the client's company, as a document of the matching
type (purchase or sales invoice) with the file attached, for the accountant to book.

* The company is the integration's Company Code, which is Exact's division number. It
  is checked against the divisions the signed-in user reaches when the integration is
  saved (`vet`), and at delivery from the cached list (reference data:
  the divisions and the document types are read once an hour per worker, not per try).
* Redelivery creates nothing twice: the document's subject names passeur's document;
  a try first looks it up (`Subject eq '…'`), then its attachments, and only makes what
  is missing. A new document costs three calls: the lookup, the document, the file.
* The file is `accounting_file`'s: e-fff (the UBL with its PDF embedded) for a document
  that came as UBL, the PDF alone for one that came as a PDF.
* Every call to a company goes through `target.calls` (delivery/call_pacer.py): 60 a
  minute and 5,000 a day per company over every worker, and no call once half of
  Exact's hourly budget of failing calls is used, so the lock-out is never reached.
* Classified answers (api.failure): 400 on a create is the target's refusal, in its
  words, never retried; 401 twice is "sign in again"; 403 WrongDivision a configuration
  matter; 429 waits for the reset Exact gives; 5xx are transient.
"""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

from passeur.connectors.accounting_file import accounting_file
from passeur.connectors.base import CheckResult, Connector, Parcel, ParcelFile, Receipt
from passeur.connectors.errors import Misconfigured, Rejected
from passeur.connectors.exact_online.api import ExactApi
from passeur.connectors.exact_online.extension import EXTENSION
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Outbound
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target

REFERENCE_LIFETIME = 3600.0  # seconds a worker keeps divisions and document types
LARGEST = 25 * 1024 * 1024  # a file is sent base64 in one JSON body
TYPE_NAMES = {Family.PURCHASES: "purchase invoice", Family.SALES: "sales invoice"}
TYPE_FALLBACK = {Family.PURCHASES: 20, Family.SALES: 10}


def subject(parcel: Parcel) -> str:
    """What names the document in Exact, stable across tries and resends (the lookup key)."""
    document = parcel.document
    return f"{document.number or document.filename} (passeur {document.id})"[:200]


class ExactOnlineConnector(Connector):
    extension = EXTENSION

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._http: Outbound | None = None
        self._divisions: dict[tuple[int, str], tuple[float, dict[int, str]]] = {}
        self._types: dict[tuple[int, str, int], tuple[float, dict[Family, int]]] = {}

    def outbound(self) -> Outbound:
        if self._http is None:
            self._http = Outbound(Guard(self.network), max_connections=32)
        return self._http

    async def check(self, target: Target) -> CheckResult:
        api = ExactApi(self.outbound(), target)
        me = await api.me()
        name, current = me.get("FullName", ""), me.get("CurrentDivision", "")
        message = f"Signed in to Exact Online ({target.get('country')}) as {name}."
        if target.get("company_code"):
            description = await self._company(api, target)
            message += f" Company {target.get('company_code')}: {description}."
        return CheckResult(True, message, {"user": name, "current_division": current})

    async def vet(self, target: Target) -> dict[str, Any]:
        """Refuse a Company Code the signed-in user cannot reach (the integration is
        not saved); the code itself is stored as given."""
        api = ExactApi(self.outbound(), target)
        code = int(target.get("company_code") or 0)
        divisions = await self._divisions_of(api, target, fresh=True)
        if code not in divisions:
            known = ", ".join(str(c) for c in sorted(divisions)[:10])
            raise InvalidInput(
                f"Exact Online has no company {code} for this connection (it reaches: "
                f"{known or 'none'})",
                field="company_code",
            )
        return {}

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        family = parcel.document.family
        if family not in TYPE_NAMES:
            raise Rejected(f"Exact Online takes purchase and sales invoices, not {family.value}")
        chosen = await accounting_file(parcel)
        if chosen.size > LARGEST:
            raise Rejected(f"the file is larger than Exact Online takes ({LARGEST} bytes)")
        api = ExactApi(self.outbound(), target)
        await self._company(api, target)
        division = int(target.get("company_code"))
        wanted = subject(parcel)
        quoted = wanted.replace("'", "''")
        found = await api.get(
            division, "documents/Documents", {"$filter": f"Subject eq '{quoted}'", "$select": "ID"}
        )
        if found:
            document_id = str(found[0]["ID"])
            attached = await api.get(
                division,
                "documents/DocumentAttachments",
                {"$filter": f"Document eq guid'{document_id}'", "$select": "ID,FileName,FileSize"},
            )
            same = [a for a in attached if a.get("FileName") == chosen.name]
            if same:
                return _receipt(division, document_id, str(same[0]["ID"]), chosen)
        else:
            kinds = await self._types_of(api, target, division)
            made = await api.post(
                division,
                "documents/Documents",
                {
                    "Subject": wanted,
                    "Type": kinds[family],
                    "DocumentDate": parcel.document.issue_date or None,
                    "Body": f"Sent by passeur for {parcel.client_name}",
                },
            )
            document_id = str(made["ID"])
        with chosen.open() as stream:
            content = stream.read()
        attachment = await api.post(
            division,
            "documents/DocumentAttachments",
            {
                "Document": document_id,
                "FileName": chosen.name,
                "Attachment": base64.b64encode(content).decode("ascii"),
            },
        )
        return _receipt(division, document_id, str(attachment["ID"]), chosen, content)

    async def _company(self, api: ExactApi, target: Target) -> str:
        code = int(target.get("company_code") or 0)
        divisions = await self._divisions_of(api, target)
        if code not in divisions:
            raise Misconfigured(
                f"Exact Online has no company {code} for this connection: correct the "
                "client's Company Code"
            )
        return divisions[code]

    async def _divisions_of(
        self, api: ExactApi, target: Target, *, fresh: bool = False
    ) -> dict[int, str]:
        key = (target.installation_id, str(target.get("api_url")))
        held = self._divisions.get(key)
        if held is not None and not fresh and time.monotonic() < held[0]:
            return held[1]
        current = int((await api.me()).get("CurrentDivision") or 0)
        rows = await api.get(
            current, "system/Divisions", {"$select": "Code,Description", "$top": "1000"}
        )
        divisions = {int(r["Code"]): str(r.get("Description", "")) for r in rows}
        self._divisions[key] = (time.monotonic() + REFERENCE_LIFETIME, divisions)
        return divisions

    async def _types_of(self, api: ExactApi, target: Target, division: int) -> dict[Family, int]:
        key = (target.installation_id, str(target.get("api_url")), division)
        held = self._types.get(key)
        if held is not None and time.monotonic() < held[0]:
            return held[1]
        rows = await api.get(division, "documents/DocumentTypes", {"$select": "ID,Description"})
        by_name = {str(r.get("Description", "")).lower(): int(r["ID"]) for r in rows}
        kinds = {f: by_name.get(name, TYPE_FALLBACK[f]) for f, name in TYPE_NAMES.items()}
        self._types[key] = (time.monotonic() + REFERENCE_LIFETIME, kinds)
        return kinds

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


def _receipt(
    division: int, document_id: str, attachment_id: str, chosen: ParcelFile, content: bytes = b""
) -> Receipt:
    digest = hashlib.sha256(content).hexdigest() if content else chosen.sha256
    return Receipt(
        location=f"exact:{division}/documents/{document_id}",
        size=chosen.size,
        sha256=digest,
        details={"division": division, "document": document_id, "attachment": attachment_id},
    )
