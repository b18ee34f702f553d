"""A local Octopus (Inaras) on loopback, faithful to reference/targets.md §5.1: the REST
API and the file-import API on one port, under their real path prefixes.

* Sign-in: `POST …/authentication` with the `softwareHouseUuid` header and
  `{"user", "password"}` gives a token that lives `token_lifetime` seconds (10 minutes).
  There is no refresh: a client signs in again. A wrong software house or login: 401.
* Dossier tokens: the REST API's `POST /dossiers?dossierId=` (header `Token`) answers
  `{"Dossiertoken"}` (the capital D as reported); the file-import API's
  `POST /authentication/connect` (headers `authenticationToken`, `dossierId`) answers
  `{"dossierToken"}`. A dossier token dies with the token it came from (our assumption:
  its own lifetime is not documented). A dossier the login cannot open: 404.
* `GET /dossiers` lists `{"dossierKey": {"id"}, "dossierDescription"}`.
* File import: `POST /dossiers/{id}/files/imports/withtoken` (header `dossierToken`,
  `{"fileName", "fileData"}` base64, optional `?subfolder=`) stores the file in the
  dossier's Document Import Viewer. Only PDF and XML (UBL, e-fff) are taken; anything
  else, or data that is not base64, is refused with 400.
* Bookings: `POST /dossiers/{id}/buysellbookings` enforces the next-sequence-number
  rule: `documentSequenceNr` must be the journal's `lastBookedDocumentNr` + 1, else 400
  with an errorCode; bookyears and journals can be read.
* Errors are `{"technicalInfo", "errorCode", "errorMessage"}`. Per-endpoint daily caps
  (`caps`, a third-party listing's kind of numbers) answer 429 once used up.
* Knobs for tests: `expire_tokens()`, `reject_next(message)`, `faults` (the next n calls
  answer a status), and counters (`sign_ins`, `connects`, `refused`).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passeur.sandbox.faults import Faults
from passeur.sandbox.loopback_app import LoopbackApp
from passeur.sandbox.threaded import Threaded

REST = "/octopus-rest-api/v1"
FILES = "/octopus-file-import-api/v1"
SOFTWARE_HOUSE = "5d1c0e4e-6f4c-4a5e-9a0b-2f4b0d7a11c3"
USER, PASSWORD = "boekhouding@firm.example", "octopus-password"
ACCEPTED = (".pdf", ".xml")
CAPS = {"import": 400, "dossiers": 100, "connect": 1000}


@dataclass
class Imported:
    id: str
    dossier: int
    file_name: str
    data: bytes
    subfolder: str


@dataclass
class Journal:
    key: str
    name: str
    last: int = 0


@dataclass
class Dossier:
    id: int
    description: str
    mailbox: str
    journals: dict[str, Journal] = field(default_factory=dict)


@dataclass
class _Token:
    user: str
    expires_at: float
    dossier: int | None = None
    parent: str = ""


class OctopusServer:
    def __init__(
        self,
        *,
        software_house: str = SOFTWARE_HOUSE,
        users: dict[str, str] | None = None,
        token_lifetime: float = 600.0,
        caps: dict[str, int] | None = None,
    ) -> None:
        self.software_house = software_house
        self.users = users if users is not None else {USER: PASSWORD}
        self.token_lifetime = token_lifetime
        self.caps = dict(CAPS if caps is None else caps)
        self.dossiers: dict[int, Dossier] = {}
        for number, name in ((101, "Bakkerij Janssens BV"), (102, "Garage Peeters NV")):
            journals = {"A1": Journal("A1", "Aankopen"), "V1": Journal("V1", "Verkopen")}
            mailbox = f"{name.split()[0].lower()}{number}@docin.octopus.be"
            self.dossiers[number] = Dossier(number, name, mailbox, journals)
        self.imports: list[Imported] = []
        self.sign_ins: Counter[str] = Counter()  # by API: "rest", "files"
        self.connects = 0
        self.refused = 0  # calls answered 401 (an expired or unknown token)
        self.calls: Counter[str] = Counter()  # by capped endpoint, this day
        self.faults = Faults()
        self._reject: list[str] = []
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        app = Starlette(
            routes=[
                Route(f"{REST}/authentication", self._sign_in, methods=["POST"]),
                Route(f"{REST}/dossiers", self._dossiers, methods=["GET"]),
                Route(f"{REST}/dossiers", self._open_dossier, methods=["POST"]),
                Route(f"{REST}/dossiers/{{dossier:int}}/bookyears", self._bookyears),
                Route(
                    f"{REST}/dossiers/{{dossier:int}}/bookyears/{{year:int}}/journals",
                    self._journals,
                ),
                Route(
                    f"{REST}/dossiers/{{dossier:int}}/buysellbookings",
                    self._book,
                    methods=["POST"],
                ),
                Route(f"{FILES}/authentication", self._sign_in, methods=["POST"]),
                Route(f"{FILES}/authentication/connect", self._connect, methods=["POST"]),
                Route(
                    f"{FILES}/dossiers/{{dossier:int}}/files/imports/withtoken",
                    self._import,
                    methods=["POST"],
                ),
            ]
        )
        self._server = LoopbackApp(app)

    # ---- what tests and the demo use

    @property
    def url(self) -> str:
        return self._server.url

    def settings(self) -> dict[str, str]:
        """The operator settings that point passeur at this stand-in."""
        return {
            "octopus_api_url": f"{self.url}{REST}",
            "octopus_file_import_url": f"{self.url}{FILES}",
            "octopus_software_house_uuid": self.software_house,
        }

    def expire_tokens(self) -> None:
        """Every token given so far is refused from now on (as after 10 minutes)."""
        with self._lock:
            for token in self._tokens.values():
                token.expires_at = 0.0

    def reject_next(self, message: str) -> None:
        """The next import is refused with 400 and this errorMessage."""
        with self._lock:
            self._reject.append(message)

    def new_day(self) -> None:
        with self._lock:
            self.calls.clear()

    def stored(self, dossier: int | None = None) -> list[Imported]:
        with self._lock:
            return [i for i in self.imports if dossier is None or i.dossier == dossier]

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    # ---- the API

    async def _sign_in(self, request: Request) -> Response:
        api = "rest" if request.url.path.startswith(REST) else "files"
        if (fault := self._fault()) is not None:
            return fault
        if request.headers.get("softwareHouseUuid") != self.software_house:
            return _error(401, 1001, "Unknown software house")
        try:
            body = await request.json()
        except ValueError:
            return _error(400, 1000, "The request body is not JSON")
        user, password = str(body.get("user", "")), str(body.get("password", ""))
        known = self.users.get(user)
        if known is None or not secrets.compare_digest(known, password):
            return _error(401, 1002, "Invalid user or password")
        with self._lock:
            self.sign_ins[api] += 1
            token = self._issue(_Token(user, time.monotonic() + self.token_lifetime))
        return JSONResponse({"token": token})

    async def _dossiers(self, request: Request) -> Response:
        _, refusal = self._user(request.headers.get("Token"))
        if refusal is not None:
            return refusal
        if (over := self._count("dossiers")) is not None:
            return over
        listed = [
            {"dossierKey": {"id": d.id}, "dossierDescription": d.description}
            for d in self.dossiers.values()
        ]
        return JSONResponse(listed)

    async def _open_dossier(self, request: Request) -> Response:
        raw = request.query_params.get("dossierId", "")
        answer = self._dossier_token(request.headers.get("Token"), raw)
        if isinstance(answer, Response):
            return answer
        return JSONResponse({"Dossiertoken": answer})

    async def _connect(self, request: Request) -> Response:
        if (fault := self._fault()) is not None:
            return fault
        raw = request.headers.get("dossierId", "")
        answer = self._dossier_token(request.headers.get("authenticationToken"), raw)
        if isinstance(answer, Response):
            return answer
        return JSONResponse({"dossierToken": answer})

    def _dossier_token(self, header: str | None, raw: str) -> str | Response:
        token, refusal = self._user(header)
        if refusal is not None:
            return refusal
        if (over := self._count("connect")) is not None:
            return over
        if not raw.isdigit() or int(raw) not in self.dossiers:
            return _error(404, 2001, f"Dossier {raw} not found or not accessible for this user")
        assert token is not None
        with self._lock:
            self.connects += 1
            parent = self._tokens[token]
            return self._issue(_Token(parent.user, parent.expires_at, int(raw), token))

    async def _import(self, request: Request) -> Response:
        dossier = int(request.path_params["dossier"])
        refusal = self._dossier(request.headers.get("dossierToken"), dossier)
        if refusal is not None:
            return refusal
        if (fault := self._fault()) is not None:
            return fault
        if (over := self._count("import")) is not None:
            return over
        try:
            body = await request.json()
            name, data = str(body["fileName"]), base64.b64decode(body["fileData"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            return _error(400, 3001, "fileName and fileData (base64) are required")
        with self._lock:
            said = self._reject.pop(0) if self._reject else None
        if said is not None:
            return _error(400, 3003, said)
        if not name.lower().endswith(ACCEPTED) or not data:
            return _error(400, 3002, f"File type of {name} is not supported (PDF or XML only)")
        made = Imported(
            str(uuid.uuid4()), dossier, name, data, request.query_params.get("subfolder", "")
        )
        with self._lock:
            self.imports.append(made)
        return JSONResponse({"id": made.id, "fileName": name}, status_code=201)

    async def _bookyears(self, request: Request) -> Response:
        dossier = int(request.path_params["dossier"])
        refusal = self._dossier(request.headers.get("dossierToken"), dossier)
        if refusal is not None:
            return refusal
        year = {
            "bookyearKey": {"id": 2026},
            "bookyearDescription": "2026",
            "closed": False,
            "startDate": "2026-01-01",
            "endDate": "2026-12-31",
            "periods": [{"bookyearPeriod": m, "startDate": "", "endDate": ""} for m in range(13)],
        }
        return JSONResponse([year])

    async def _journals(self, request: Request) -> Response:
        dossier = int(request.path_params["dossier"])
        refusal = self._dossier(request.headers.get("dossierToken"), dossier)
        if refusal is not None:
            return refusal
        with self._lock:
            listed = [
                {"journalKey": j.key, "name": j.name, "closed": False,
                 "lastBookedDocumentNr": j.last, "currencyCode": "EUR"}
                for j in self.dossiers[dossier].journals.values()
            ]  # fmt: skip
        return JSONResponse(listed)

    async def _book(self, request: Request) -> Response:
        """The next-sequence-number rule: gaps and repeats are refused."""
        dossier = int(request.path_params["dossier"])
        refusal = self._dossier(request.headers.get("dossierToken"), dossier)
        if refusal is not None:
            return refusal
        try:
            data = (await request.json())["buySellBookingServiceData"]
            key, number = str(data["journalKey"]), int(data["documentSequenceNr"])
        except (ValueError, KeyError, TypeError):
            return _error(400, 4000, "buySellBookingServiceData with journalKey and "
                          "documentSequenceNr is required")  # fmt: skip
        with self._lock:
            journal = self.dossiers[dossier].journals.get(key)
            if journal is None:
                return _error(400, 4001, f"Journal {key} does not exist")
            if number != journal.last + 1:
                return _error(
                    400,
                    4002,
                    f"documentSequenceNr {number} is not the next number of journal {key} "
                    f"(expected {journal.last + 1})",
                )
            journal.last = number
        return Response(status_code=201)

    # ---- rules shared by the routes

    def _issue(self, token: _Token) -> str:
        value = secrets.token_urlsafe(24)
        self._tokens[value] = token
        return value

    def _user(self, header: str | None) -> tuple[str | None, Response | None]:
        with self._lock:
            token = self._tokens.get(header or "")
            if token is None or token.dossier is not None or token.expires_at < time.monotonic():
                self.refused += 1
                return None, _error(401, 1003, "Token is invalid or expired")
        return header, None

    def _dossier(self, header: str | None, dossier: int) -> Response | None:
        with self._lock:
            token = self._tokens.get(header or "")
            parent = self._tokens.get(token.parent) if token is not None else None
            if (
                token is None
                or token.dossier != dossier
                or parent is None
                or parent.expires_at < time.monotonic()
            ):
                self.refused += 1
                return _error(401, 1004, "Dossier token is invalid or expired")
        return None

    def _count(self, endpoint: str) -> Response | None:
        with self._lock:
            if self.calls[endpoint] >= self.caps.get(endpoint, 10**9):
                return _error(429, 5001, f"Daily limit of {self.caps[endpoint]} calls reached")
            self.calls[endpoint] += 1
        return None

    def _fault(self) -> Response | None:
        fault = self.faults.take()
        if fault is None:
            return None
        return _error(fault.status, 9000, fault.reason, self.faults.headers(fault))


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {
        "technicalInfo": f"sandbox error {code}",
        "errorCode": code,
        "errorMessage": message,
    }
    return JSONResponse(body, status_code=status, headers=headers)


# On its own event loop in a thread (the demo, the chaos run).
ThreadedOctopusServer = Threaded[OctopusServer]
