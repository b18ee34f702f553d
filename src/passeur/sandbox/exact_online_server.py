"""A local Exact Online (REST API v1) on loopback, faithful to reference/targets.md §1.

One port plays one country instance (`country`, "be" by default) under the path prefix
`/{country}`, so `https://start.exactonline.be/api/...` is `{url}/be/api/...`. A token
or a sign-in on another country's prefix is refused, as a token minted on .nl does not
work on .be.

* OAuth (`OAuthServer`'s rules): `/{c}/api/oauth2/auth` and `/{c}/api/oauth2/token`;
  access tokens live 600 s, `expires_in` is a string, every refresh rotates the refresh
  token, and earlier ones die once the new one (or an access token given with it) is
  used (one used again after that: 401 "Old refresh token used"); a refresh while the
  newest access token has more than 30 s left is 400 `Reason: TooEarlyToRefreshTokens`.
* `GET /{c}/api/v1/current/Me`, `GET /{c}/api/v1/{div}/system/Divisions` and
  `hrm/Divisions`, `financial/Journals`, `documents/DocumentTypes`,
  `documents/Documents` (GET with `$filter=Subject eq '...'`, POST),
  `documents/DocumentAttachments` (POST with base64 `Attachment`, GET). Lists answer
  `{"d": {"results": [...]}}`; POST answers 201 `{"d": {...}}`.
* Limits per division, on a clock `time_scale` times faster than real (the benchmark
  shortens the minute): 60 calls a minute, 5,000 a day. Every answer carries
  `X-RateLimit-*` and `X-RateLimit-Minutely-*` (resets in epoch milliseconds); a call
  over a limit is 429 with only the exceeded window's headers and is counted in
  `violations`.
* Entries: `financial/GLAccounts`, `vat/VATCodes`, `crm/Accounts` (GET by
  `VATNumber eq '…'`, POST), `purchaseentry/PurchaseEntries` and
  `salesentry/SalesEntries` (GET by `Description eq '…'`, POST). An entry is refused
  (400, in words) as Exact does when its journal does not exist, its date falls in a
  closed period, its supplier or customer account, a line's GL account or VAT code is
  unknown; kept in `entries` otherwise.
* Failing calls (400, 401, 403, 404) are counted per division and endpoint; the 10th
  in an hour locks that endpoint out for an hour (403), counted in `lockouts`.
* `fail_next(status, n)` answers the next n company calls with a 5xx, or with a 429
  whose `X-RateLimit-Minutely-Reset` is a second away (the chaos run's faults: Exact
  throttling for reasons of its own); these are not the client's violations.
* Errors in the OData envelope `{"error": {"code": "", "message": {"lang", "value"}}}`:
  403 "Forbidden - WrongDivision" for a division the user cannot reach; 400 with a
  period-closed text for a document dated before `closed_before`; 400 for a missing
  mandatory field or an attachment that is not base64.

What arrived is kept (`documents`, `attachments`) so tests check it is the document.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passeur.sandbox.faults import Faults
from passeur.sandbox.oauth_server import OAuthServer
from passeur.sandbox.threaded import Threaded

PER_MINUTE = 60
PER_DAY = 5000
LOCKOUT_AFTER = 10  # failing calls per hour per division and endpoint
TYPES = {10: "Sales invoice", 20: "Purchase invoice", 183: "General attachment"}
_SUBJECT = re.compile(r"^Subject eq '((?:[^']|'')*)'$")
_EQUALS = re.compile(r"^(\w+) eq '((?:[^']|'')*)'$")
_PARENT = re.compile(r"^Document eq guid'([0-9a-f-]{36})'$")


@dataclass
class Division:
    code: int
    description: str
    vat_number: str = ""
    country: str = "BE"
    journals: tuple[tuple[str, str, int], ...] = (
        ("600", "Purchases", 22),
        ("700", "Sales", 20),
    )
    gl_accounts: tuple[str, ...] = ("604000", "700000")
    # (code, percentage as a fraction, VATTransactionType: P purchase, S sales, B both)
    vat_codes: tuple[tuple[str, float, str], ...] = (
        ("0", 0.0, "B"),
        ("6", 0.06, "B"),
        ("12", 0.12, "B"),
        ("21", 0.21, "B"),
    )


@dataclass
class StoredEntry:
    id: str
    division: int
    kind: str  # "purchase" or "sales"
    body: dict[str, Any]


@dataclass
class StoredDocument:
    id: str
    division: int
    subject: str
    type: int
    date: str
    body: dict[str, Any]
    attachments: list[str] = field(default_factory=list)


@dataclass
class StoredAttachment:
    id: str
    document: str
    file_name: str
    content: bytes


@dataclass
class _Window:
    start: int = -1
    count: int = 0


class ExactOnlineServer(OAuthServer):
    expires_in_as_string = True

    def __init__(
        self,
        *,
        country: str = "be",
        access_lifetime: float = 600.0,
        time_scale: float = 1.0,
        divisions: tuple[Division, ...] = (),
        **kw: Any,
    ) -> None:
        super().__init__(access_lifetime=access_lifetime, rotate=True, **kw)
        self.country = country
        self.refresh_window = 30.0  # Exact: no refresh before the token's last 30 s
        self.old_lives_until_new_used = True  # targets.md §1.2
        self.time_scale = time_scale
        self.per_minute = PER_MINUTE
        self.per_day = PER_DAY
        self.divisions = {
            d.code: d
            for d in divisions
            or (
                Division(123456, "Bakkerij Janssens", "BE0403170701"),
                Division(234567, "Garage Peeters", "BE0203201340"),
            )
        }
        self.closed_before = ""  # ISO date: documents dated earlier are refused
        self.documents: dict[str, StoredDocument] = {}
        self.accounts: dict[str, dict[str, Any]] = {}  # ID -> the account, with Division
        self.entries: dict[str, StoredEntry] = {}
        self.attachments: dict[str, StoredAttachment] = {}
        self.calls: list[str] = []
        self.calls_per_division: dict[int, int] = defaultdict(int)
        self.call_times: dict[int, list[float]] = defaultdict(list)  # accepted, per division
        self.violations = 0  # calls answered 429: a client that exceeded a limit
        self.failing_calls = 0
        self.lockouts = 0
        self.faults = Faults()
        self._minute: dict[int, _Window] = defaultdict(_Window)
        self._day: dict[int, _Window] = defaultdict(_Window)
        self._errors: dict[tuple[int, str], list[float]] = defaultdict(list)
        self._locked: dict[tuple[int, str], float] = {}
        self._ids = itertools.count(1)
        self._store = threading.Lock()
        prefix = "/{country}/api"
        self.app.router.routes.extend(
            [
                Route(f"{prefix}/oauth2/auth", self._country(self._authorize)),
                Route(f"{prefix}/oauth2/token", self._country(self._token), methods=["POST"]),
                Route(f"{prefix}/v1/current/Me", self._country(self._me_current)),
                Route(
                    prefix + "/v1/{division:int}/{service}/{entity}",
                    self._country(self._rest),
                    methods=["GET", "POST"],
                ),
            ]
        )

    # What tests and the demo use.

    @property
    def base_url(self) -> str:
        """What `https://start.exactonline.{country}` is here."""
        return f"{self.url}/{self.country}"

    @property
    def authorize_url(self) -> str:
        return f"{self.base_url}/api/oauth2/auth"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/api/oauth2/token"

    def settings(self) -> dict[str, str]:
        """The operator's settings that send passeur's Exact Online extension here (the
        country is the installation's, in the URL as on Exact's hosts)."""
        return {
            "exact_online_client_id": self.client_id,
            "exact_online_authorize_url": f"{self.url}/{{country}}/api/oauth2/auth",
            "exact_online_token_url": f"{self.url}/{{country}}/api/oauth2/token",
            "exact_online_api_url": f"{self.url}/{{country}}/api/v1",
        }

    def stored(self) -> list[tuple[str, bytes]]:
        """Every attachment held: (file name, bytes)."""
        with self._store:
            return [(a.file_name, a.content) for a in self.attachments.values()]

    def delivered(self, receipt: dict[str, Any]) -> bytes | None:
        """The bytes attached to the document passeur's receipt names."""
        with self._store:
            found = self.attachments.get(str(receipt.get("attachment", "")))
            return None if found is None else found.content

    def attached(self, document_id: str) -> list[tuple[str, bytes]]:
        """The files attached to one document: (file name, bytes)."""
        with self._store:
            found = self.documents.get(document_id)
            held = [self.attachments[a] for a in found.attachments] if found else []
            return [(a.file_name, a.content) for a in held]

    def documents_in(self, division: int) -> list[StoredDocument]:
        with self._store:
            return [d for d in self.documents.values() if d.division == division]

    def window_seconds(self) -> float:
        return 60.0 / self.time_scale

    def fail_next(self, status: int, n: int = 1) -> None:
        self.faults.add(status, n, None, "sandbox fault")

    # Routing.

    def _country(self, handler: Any) -> Any:
        async def route(request: Request) -> Response:
            if request.path_params.get("country") != self.country:
                return _error(401, "This app is registered in another country's Exact Online")
            return await handler(request)

        return route

    async def _me_current(self, request: Request) -> Response:
        self.calls.append("GET /current/Me")
        if self.bearer(request) != "valid":
            return _error(401, "Unauthorized")
        first = min(self.divisions)
        me = {"CurrentDivision": first, "UserID": str(uuid.UUID(int=1)), "FullName": "Accountant"}
        return JSONResponse({"d": {"results": [me]}})

    async def _rest(self, request: Request) -> Response:
        division = int(request.path_params["division"])
        endpoint = f"{request.path_params['service']}/{request.path_params['entity']}"
        self.calls.append(f"{request.method} {division}/{endpoint}")
        fault = self.faults.take()
        if fault is not None:
            if fault.status != 429:
                return _error(fault.status, "Internal server error")
            reset = str(int((time.time() + 1) * 1000))
            headers = {"X-RateLimit-Minutely-Reset": reset, "X-RateLimit-Minutely-Remaining": "0"}
            return _error(429, "API rate limit exceeded", headers)
        with self._store:
            self.calls_per_division[division] += 1
            refused = self._limits(division)
            if refused is not None:
                return refused
            if self._is_locked(division, endpoint):
                return _error(403, "Forbidden - too many failing calls: blocked for an hour")
        response = await self._answer(request, division, endpoint)
        with self._store:
            if response.status_code in (400, 401, 403, 404):
                self._count_failure(division, endpoint)
        response.headers.update(self._rate_headers(division))
        return response

    async def _answer(self, request: Request, division: int, endpoint: str) -> Response:
        if self.bearer(request) != "valid":
            return _error(401, "Unauthorized")
        if division not in self.divisions:
            return _error(403, "Forbidden - WrongDivision")
        handler = {
            ("GET", "system/Divisions"): self._list_divisions,
            ("GET", "hrm/Divisions"): self._list_divisions,
            ("GET", "financial/Journals"): self._journals,
            ("GET", "documents/DocumentTypes"): self._types,
            ("GET", "documents/Documents"): self._find_documents,
            ("POST", "documents/Documents"): self._add_document,
            ("GET", "documents/DocumentAttachments"): self._find_attachments,
            ("POST", "documents/DocumentAttachments"): self._add_attachment,
            ("GET", "financial/GLAccounts"): self._gl_accounts,
            ("GET", "vat/VATCodes"): self._vat_codes,
            ("GET", "crm/Accounts"): self._find_accounts,
            ("POST", "crm/Accounts"): self._add_account,
            ("GET", "purchaseentry/PurchaseEntries"): self._finder("purchase"),
            ("POST", "purchaseentry/PurchaseEntries"): self._adder("purchase"),
            ("GET", "salesentry/SalesEntries"): self._finder("sales"),
            ("POST", "salesentry/SalesEntries"): self._adder("sales"),
        }.get((request.method, endpoint))
        if handler is None:
            return _error(404, f"Resource not found: {endpoint}")
        return await handler(request, division)

    # Limits.

    def _now(self) -> float:
        return time.time() * self.time_scale  # scaled seconds since the epoch

    def _limits(self, division: int) -> Response | None:
        now = self._now()
        minute, day = self._minute[division], self._day[division]
        for window, length in ((minute, 60), (day, 86400)):
            index = math.floor(now / length)
            if window.start != index:
                window.start, window.count = index, 0
        if day.count >= self.per_day:
            self.violations += 1
            return _error(429, "API rate limit exceeded", self._day_headers(division))
        if minute.count >= self.per_minute:
            self.violations += 1
            return _error(429, "API rate limit exceeded", self._minute_headers(division))
        minute.count += 1
        day.count += 1
        self.call_times[division].append(time.monotonic())
        return None

    def _reset_ms(self, window: _Window, length: float) -> str:
        return str(int((window.start + 1) * length / self.time_scale * 1000))

    def _day_headers(self, division: int) -> dict[str, str]:
        day = self._day[division]
        return {
            "X-RateLimit-Limit": str(self.per_day),
            "X-RateLimit-Remaining": str(max(0, self.per_day - day.count)),
            "X-RateLimit-Reset": self._reset_ms(day, 86400),
        }

    def _minute_headers(self, division: int) -> dict[str, str]:
        minute = self._minute[division]
        return {
            "X-RateLimit-Minutely-Limit": str(self.per_minute),
            "X-RateLimit-Minutely-Remaining": str(max(0, self.per_minute - minute.count)),
            "X-RateLimit-Minutely-Reset": self._reset_ms(minute, 60),
        }

    def _rate_headers(self, division: int) -> dict[str, str]:
        with self._store:
            return {**self._day_headers(division), **self._minute_headers(division)}

    def _count_failure(self, division: int, endpoint: str) -> None:
        self.failing_calls += 1
        now = self._now()
        recent = [t for t in self._errors[(division, endpoint)] if t > now - 3600]
        recent.append(now)
        self._errors[(division, endpoint)] = recent
        if len(recent) >= LOCKOUT_AFTER and (division, endpoint) not in self._locked:
            self._locked[(division, endpoint)] = now + 3600
            self.lockouts += 1

    def _is_locked(self, division: int, endpoint: str) -> bool:
        until = self._locked.get((division, endpoint))
        if until is not None and until <= self._now():
            del self._locked[(division, endpoint)]
            return False
        return until is not None

    # Resources.

    async def _list_divisions(self, request: Request, division: int) -> Response:
        rows = [
            {"Code": d.code, "Description": d.description, "VATNumber": d.vat_number}
            | {"Country": d.country}
            for d in self.divisions.values()
        ]
        return _results(rows)

    async def _journals(self, request: Request, division: int) -> Response:
        rows = [
            {"Code": code, "Description": text, "Type": kind}
            for code, text, kind in self.divisions[division].journals
        ]
        return _results(rows)

    async def _types(self, request: Request, division: int) -> Response:
        return _results([{"ID": k, "Description": v} for k, v in TYPES.items()])

    async def _find_documents(self, request: Request, division: int) -> Response:
        wanted = request.query_params.get("$filter", "")
        match = _SUBJECT.match(wanted.strip())
        if wanted and match is None:
            return _error(400, f"Invalid $filter: {wanted[:100]}")
        subject = match.group(1).replace("''", "'") if match else None
        with self._store:
            rows = [
                _document(d)
                for d in self.documents.values()
                if d.division == division and (subject is None or d.subject == subject)
            ]
        return _results(rows)

    async def _add_document(self, request: Request, division: int) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("Subject") or "Type" not in body:
            return _error(400, "Mandatory fields missing: Subject, Type")
        if body["Type"] not in TYPES:
            return _error(400, f"Document type {body['Type']} does not exist")
        date = str(body.get("DocumentDate", ""))[:10]
        if self.closed_before and date and date < self.closed_before:
            return _error(400, f"The period of {date} is closed: no new entries can be made")
        with self._store:
            made = StoredDocument(
                str(uuid.uuid4()), division, str(body["Subject"]), int(body["Type"]), date, body
            )
            self.documents[made.id] = made
        return JSONResponse({"d": _document(made)}, status_code=201)

    async def _find_attachments(self, request: Request, division: int) -> Response:
        wanted = request.query_params.get("$filter", "")
        match = _PARENT.match(wanted.strip())
        if wanted and match is None:
            return _error(400, f"Invalid $filter: {wanted[:100]}")
        with self._store:
            rows = [
                _attachment(a)
                for a in self.attachments.values()
                if self.documents[a.document].division == division
                and (match is None or a.document == match.group(1))
            ]
        return _results(rows)

    async def _add_attachment(self, request: Request, division: int) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not all(
            body.get(k) for k in ("Document", "FileName", "Attachment")
        ):
            return _error(400, "Mandatory fields missing: Document, FileName, Attachment")
        try:
            content = base64.b64decode(str(body["Attachment"]), validate=True)
        except (binascii.Error, ValueError):
            return _error(400, "Attachment is not valid base64")
        with self._store:
            parent = self.documents.get(str(body["Document"]))
            if parent is None or parent.division != division:
                return _error(404, "Document not found")
            made = StoredAttachment(str(uuid.uuid4()), parent.id, str(body["FileName"]), content)
            self.attachments[made.id] = made
            parent.attachments.append(made.id)
        return JSONResponse({"d": _attachment(made)}, status_code=201)

    # Entries and what they need (targets.md §1.5).

    async def _gl_accounts(self, request: Request, division: int) -> Response:
        return _results(
            [
                {"ID": _guid("gl", division, c), "Code": c}
                for c in self.divisions[division].gl_accounts
            ]
        )

    async def _vat_codes(self, request: Request, division: int) -> Response:
        rows = [
            {"Code": c, "Percentage": p, "VATTransactionType": t, "Description": f"{p:.0%}"}
            for c, p, t in self.divisions[division].vat_codes
        ]
        return _results(rows)

    async def _find_accounts(self, request: Request, division: int) -> Response:
        wanted = _EQUALS.match(request.query_params.get("$filter", "").strip())
        if wanted is None or wanted.group(1) != "VATNumber":
            return _error(400, "Invalid $filter: give VATNumber eq '...'")
        value = wanted.group(2).replace("''", "'")
        with self._store:
            rows = [
                {k: v for k, v in a.items() if k != "Division"}
                for a in self.accounts.values()
                if a["Division"] == division and a.get("VATNumber") == value
            ]
        return _results(rows)

    async def _add_account(self, request: Request, division: int) -> Response:
        body = await _json(request)
        if not isinstance(body, dict) or not body.get("Name"):
            return _error(400, "Mandatory field missing: Name")
        with self._store:
            made = {**body, "ID": str(uuid.uuid4()), "Division": division}
            self.accounts[made["ID"]] = made
        return JSONResponse(
            {"d": {k: v for k, v in made.items() if k != "Division"}}, status_code=201
        )

    def _finder(self, kind: str) -> Any:
        async def find(request: Request, division: int) -> Response:
            wanted = _EQUALS.match(request.query_params.get("$filter", "").strip())
            if wanted is None or wanted.group(1) != "Description":
                return _error(400, "Invalid $filter: give Description eq '...'")
            value = wanted.group(2).replace("''", "'")
            with self._store:
                rows = [
                    {"EntryID": e.id, **{k: e.body.get(k) for k in ("Description", "Journal")}}
                    for e in self.entries.values()
                    if e.division == division
                    and e.kind == kind
                    and e.body.get("Description") == value
                ]
            return _results(rows)

        return find

    def _adder(self, kind: str) -> Any:
        async def add(request: Request, division: int) -> Response:
            body = await _json(request)
            refused = self._refusal(body, division, kind)
            if refused is not None:
                return _error(400, refused)
            with self._store:
                made = StoredEntry(str(uuid.uuid4()), division, kind, body)
                self.entries[made.id] = made
            return JSONResponse({"d": {"EntryID": made.id, **body}}, status_code=201)

        return add

    def _refusal(self, body: Any, division: int, kind: str) -> str | None:
        """What Exact would say against this entry, or None."""
        party, lines = (
            ("Supplier", "PurchaseEntryLines")
            if kind == "purchase"
            else ("Customer", "SalesEntryLines")
        )
        if not isinstance(body, dict) or not all(body.get(k) for k in ("Journal", party, lines)):
            return f"Mandatory fields missing: Journal, {party}, {lines}"
        company = self.divisions[division]
        if body["Journal"] not in {code for code, _, _ in company.journals}:
            return f"Journal {body['Journal']} does not exist"
        date = str(body.get("EntryDate", ""))[:10]
        if self.closed_before and date and date < self.closed_before:
            return f"The period of {date} is closed: no new entries can be made"
        account = self.accounts.get(str(body[party]))
        if account is None or account["Division"] != division:
            return f"{party} {body[party]} does not exist"
        known_gl = {_guid("gl", division, c) for c in company.gl_accounts}
        known_vat = {c for c, _, _ in company.vat_codes}
        for line in body[lines]:
            if line.get("GLAccount") not in known_gl:
                return f"GL account {line.get('GLAccount')} does not exist"
            if line.get("VATCode") not in known_vat:
                return f"VAT code {line.get('VATCode')!r} is unknown in this administration"
        return None


def _guid(kind: str, division: int, code: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}/{division}/{code}"))


def _document(d: StoredDocument) -> dict[str, Any]:
    return {
        "ID": d.id,
        "Subject": d.subject,
        "Type": d.type,
        "TypeDescription": TYPES.get(d.type, ""),
        "DocumentDate": d.date,
        "HID": 0,
    }


def _attachment(a: StoredAttachment) -> dict[str, Any]:
    return {
        "ID": a.id,
        "Document": a.document,
        "FileName": a.file_name,
        "FileSize": float(len(a.content)),
        "Url": f"/docs/SysAttachment.aspx?ID={a.id}",
    }


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _results(rows: list[dict[str, Any]]) -> Response:
    return JSONResponse({"d": {"results": rows}})


def _error(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": "", "message": {"lang": "", "value": text}}}
    return JSONResponse(body, status_code=status, headers=headers)


ThreadedExactOnlineServer = Threaded[ExactOnlineServer]
