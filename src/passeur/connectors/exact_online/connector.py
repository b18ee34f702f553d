"""Exact Online: each document into the client's company, as a document of the matching
type (purchase or sales invoice) with the file attached, and booked as a purchase or
sales entry in the installation's journal where the document carries what an entry
needs (entries.py: a UBL naming the other party by VAT number, with its VAT breakdown).

* An entry: its supplier or customer account is looked up by VAT number, created when
  missing; a line per VAT rate on the installation's GL account with the company's VAT
  code for that rate; linked to the document. Its description is the document's subject
  (passeur's stable key): a try first looks it up there, so a redelivery books nothing
  twice. A rate the company has no VAT code for leaves the document to book by hand
  (the receipt says why). Exact refusing the entry (a closed period, an unknown VAT
  code or journal) is the target's refusal, in its words, never retried.
* The journals are checked against the company's when the integration is saved.

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

import asyncio
import base64
import hashlib
import time
from dataclasses import replace
from typing import Any

from passeur.connectors.accounting_file import accounting_file
from passeur.connectors.base import CheckResult, Connector, Parcel, ParcelFile, Receipt
from passeur.connectors.errors import Misconfigured, Rejected
from passeur.connectors.exact_online import entries
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
        self._reference: dict[tuple[int, str, int, str], tuple[float, list[dict[str, Any]]]] = {}

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
        journals = await self._listed(api, target, code, "financial/Journals", fresh=True)
        codes = {str(j.get("Code")) for j in journals}
        for name in ("purchase_journal", "sales_journal"):
            wanted = str(target.get(name) or "")
            if wanted and wanted not in codes:
                raise InvalidInput(
                    f"company {code} in Exact Online has no journal {wanted!r} (its journals: "
                    f"{', '.join(sorted(codes)) or 'none'})",
                    field=name,
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
                done = _receipt(division, document_id, str(same[0]["ID"]), chosen)
                return await self._booked(api, target, parcel, division, document_id, done)
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
        done = _receipt(division, document_id, str(attachment["ID"]), chosen, content)
        return await self._booked(api, target, parcel, division, document_id, done)

    async def _booked(
        self,
        api: ExactApi,
        target: Target,
        parcel: Parcel,
        division: int,
        document_id: str,
        done: Receipt,
    ) -> Receipt:
        """The entry for the document, when it carries what one needs (looked up first)."""
        plan = await asyncio.to_thread(entries.plan, parcel)
        if plan is None:
            return done
        kind, key = plan.kind, subject(parcel)
        quoted = key.replace("'", "''")
        found = await api.get(
            division, kind.endpoint, {"$filter": f"Description eq '{quoted}'", "$select": "EntryID"}
        )
        journal = str(target.get(kind.journal_field) or "")
        if found:
            return _with_entry(done, str(found[0]["EntryID"]), journal)
        vat_codes = await self._listed(api, target, division, "vat/VATCodes")
        codes = [entries.vat_code(vat_codes, kind, part.rate) for part in plan.parts]
        missing = [p.rate for p, c in zip(plan.parts, codes, strict=True) if c is None]
        if missing:
            why = f"no VAT code at {missing[0].normalize()} % in the company: book it by hand"
            return replace(done, details={**done.details, "entry": "", "entry_not_made": why})
        gl_code = str(target.get(kind.gl_field) or "")
        gl_rows = await self._listed(api, target, division, "financial/GLAccounts")
        gl = next((str(r["ID"]) for r in gl_rows if str(r.get("Code")) == gl_code), None)
        if gl is None:
            raise Misconfigured(
                f"company {division} in Exact Online has no GL account {gl_code!r}: correct "
                f"the installation's {kind.gl_field.replace('_', ' ')}"
            )
        account = await self._account(api, division, plan)
        body = {
            "Journal": journal,
            kind.party: account,
            "EntryDate": plan.date,
            "DueDate": plan.due_date,
            "Currency": plan.currency,
            "YourRef": plan.your_ref,
            "Description": key,
            "Type": kind.types[1] if plan.credit else kind.types[0],
            "Document": document_id,
            kind.lines: [
                {
                    "GLAccount": gl,
                    "AmountFC": float(abs(part.base)),
                    "VATCode": code,
                    "VATAmountFC": float(abs(part.vat)),
                    "Description": f"VAT {part.rate.normalize()} %",
                }
                for part, code in zip(plan.parts, codes, strict=True)
            ],
        }
        made = await api.post(division, kind.endpoint, body)
        return _with_entry(done, str(made["EntryID"]), journal)

    async def _account(self, api: ExactApi, division: int, plan: entries.EntryPlan) -> str:
        """The supplier's or customer's account, by VAT number; made when missing."""
        quoted = plan.vat_number.replace("'", "''")
        found = await api.get(
            division, "crm/Accounts", {"$filter": f"VATNumber eq '{quoted}'", "$select": "ID"}
        )
        if found:
            return str(found[0]["ID"])
        role = {"IsSupplier": True} if plan.kind.party == "Supplier" else {"Status": "C"}
        made = await api.post(
            division, "crm/Accounts", {"Name": plan.name, "VATNumber": plan.vat_number, **role}
        )
        return str(made["ID"])

    async def _listed(
        self, api: ExactApi, target: Target, division: int, resource: str, *, fresh: bool = False
    ) -> list[dict[str, Any]]:
        """A company's reference data (journals, VAT codes, GL accounts), kept an hour."""
        key = (target.installation_id, str(target.get("api_url")), division, resource)
        held = self._reference.get(key)
        if held is not None and not fresh and time.monotonic() < held[0]:
            return held[1]
        rows = await api.get(division, resource, {"$top": "1000"})
        self._reference[key] = (time.monotonic() + REFERENCE_LIFETIME, rows)
        return rows

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


def _with_entry(done: Receipt, entry_id: str, journal: str) -> Receipt:
    return replace(done, details={**done.details, "entry": entry_id, "journal": journal})
