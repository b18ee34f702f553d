"""A local Yuki on loopback, faithful to reference/targets.md §5.2: SOAP 1.1 web services
under `/ws/`, namespace `http://www.theyukicompany.com/`.

* `Authenticate(accessKey)` → a session ID (a GUID); an unknown key is a SOAP fault
  "Invalid access key". Sessions last `session_lifetime` seconds (Yuki does not publish
  it: our assumption), then calls with them fault "Session expired".
* `Administrations(sessionID)` → `<Administrations><Administration ID="…"><Name>…`.
* Archive: `UploadDocument(sessionID, fileName, data (base64), folder, administrationID)`
  → the new document's ID. An administration the key's domain does not have, a folder
  that does not exist, data that is not base64 or is empty, or a file type the archive
  does not take fault with soap:Client (the caller's fault) and the reason in words.
* Every call counts against the domain's `calls_per_day` (1,000 included; paid tiers
  5,000 and 10,000); past it, every call faults (our wording of the message).
* What it stores: every upload (`stored()`), with its folder and administration.
* Knobs: `expire_sessions()`, `reject_next(message)`, `faults` (the next n calls answer a
  status), counters `sign_ins` and `calls`.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from passeur.domain.errors import InvalidInput
from passeur.formats.xml import parse_xml
from passeur.sandbox.faults import Faults
from passeur.sandbox.loopback_app import LoopbackApp
from passeur.sandbox.threaded import Threaded

NS = "http://www.theyukicompany.com/"
ACCESS_KEY = "3f1c9d2e-7a4b-4c8d-9e0f-1a2b3c4d5e6f"
ADMINISTRATIONS = {
    "8d2f3c4b-1a0e-4f5d-9c8b-7a6e5d4c3b2a": "Bakkerij Janssens BV",
    "1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d": "Garage Peeters NV",
}
FOLDERS = {0: "Unsorted", 1: "Purchase", 2: "Sales", 7: "To be processed"}
ACCEPTED = (".pdf", ".xml", ".jpg", ".jpeg", ".png", ".tif", ".tiff")


@dataclass
class Uploaded:
    id: str
    administration: str
    folder: int
    file_name: str
    data: bytes


class YukiServer:
    def __init__(
        self,
        *,
        access_key: str = ACCESS_KEY,
        administrations: dict[str, str] | None = None,
        calls_per_day: int = 1000,
        session_lifetime: float = 3600.0,
    ) -> None:
        self.access_key = access_key
        self.administrations = dict(ADMINISTRATIONS if administrations is None else administrations)
        self.calls_per_day = calls_per_day
        self.session_lifetime = session_lifetime
        self.uploads: list[Uploaded] = []
        self.sign_ins = 0
        self.calls = 0  # this day, every operation
        self.faults = Faults()
        self._sessions: dict[str, float] = {}  # session ID -> expires at
        self._reject: list[str] = []
        self._lock = threading.Lock()
        routes = [
            Route(f"/ws/{s}.asmx", self._soap, methods=["POST"]) for s in ("Archive", "Accounting")
        ]
        self._server = LoopbackApp(Starlette(routes=routes))

    @property
    def url(self) -> str:
        return f"{self._server.url}/ws"

    def settings(self) -> dict[str, str]:
        """The operator settings that point passeur at this stand-in (both countries)."""
        return {"yuki_be_url": self.url, "yuki_nl_url": self.url}

    def stored(self, administration: str | None = None) -> list[Uploaded]:
        with self._lock:
            return [u for u in self.uploads if administration in (None, u.administration)]

    def expire_sessions(self) -> None:
        with self._lock:
            self._sessions = dict.fromkeys(self._sessions, 0.0)

    def reject_next(self, message: str) -> None:
        with self._lock:
            self._reject.append(message)

    def new_day(self) -> None:
        with self._lock:
            self.calls = 0

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    async def _soap(self, request: Request) -> Response:
        fault = self.faults.take()
        if fault is not None:
            return Response(
                fault.reason, status_code=fault.status, headers=self.faults.headers(fault)
            )
        try:
            body = parse_xml(await request.body())
            [call] = [e for e in body.iter(f"{{{NS}}}*") if e.getparent() is not None
                      and etree.QName(e.getparent()).localname == "Body"]  # fmt: skip
        except (InvalidInput, ValueError):
            return _fault("soap:Client", "The request is not a SOAP envelope with one operation")
        operation = etree.QName(call).localname
        action = request.headers.get("SOAPAction", "").strip('"')
        if action != f"{NS}{operation}":
            return _fault("soap:Client", f"SOAPAction {action!r} does not match {operation}")
        args = {etree.QName(e).localname: (e.text or "") for e in call}
        with self._lock:
            if self.calls >= self.calls_per_day:
                return _fault(
                    "soap:Server",
                    f"The maximum number of web service calls for today ({self.calls_per_day}) "
                    "has been reached",
                )
            self.calls += 1
        handler = {
            "Authenticate": self._authenticate,
            "Administrations": self._administrations,
            "UploadDocument": self._upload,
        }.get(operation)
        if handler is None:
            return _fault("soap:Client", f"Unknown operation {operation}")
        return handler(args)

    def _authenticate(self, args: dict[str, str]) -> Response:
        if not secrets.compare_digest(args.get("accessKey", ""), self.access_key):
            return _fault("soap:Server", "Invalid access key")
        session = str(uuid.uuid4())
        with self._lock:
            self._sessions[session] = time.monotonic() + self.session_lifetime
            self.sign_ins += 1
        return _result("Authenticate", escape(session))

    def _session_fault(self, args: dict[str, str]) -> Response | None:
        with self._lock:
            expires = self._sessions.get(args.get("sessionID", ""))
        if expires is None or expires < time.monotonic():
            return _fault("soap:Server", "Session expired or invalid; authenticate again")
        return None

    def _administrations(self, args: dict[str, str]) -> Response:
        if (refused := self._session_fault(args)) is not None:
            return refused
        items = "".join(
            f'<Administration ID="{escape(i)}"><Name>{escape(n)}</Name></Administration>'
            for i, n in self.administrations.items()
        )
        return _result("Administrations", f'<Administrations xmlns="">{items}</Administrations>')

    def _upload(self, args: dict[str, str]) -> Response:
        if (refused := self._session_fault(args)) is not None:
            return refused
        administration = args.get("administrationID", "")
        if administration not in self.administrations:
            return _fault(
                "soap:Client", f"Administration {administration} not found in this domain"
            )
        folder = args.get("folder", "")
        if not folder.isdigit() or int(folder) not in FOLDERS:
            return _fault("soap:Client", f"Folder {folder} does not exist")
        name = args.get("fileName", "")
        try:
            data = base64.b64decode(args.get("data", ""), validate=True)
        except (binascii.Error, ValueError):
            return _fault("soap:Client", "data is not base64")
        with self._lock:
            said = self._reject.pop(0) if self._reject else None
        if said is not None:
            return _fault("soap:Client", said)
        if not data or not name.lower().endswith(ACCEPTED):
            return _fault(
                "soap:Client", f"File {name} is empty or of a type the archive does not take"
            )
        made = Uploaded(str(uuid.uuid4()), administration, int(folder), name, data)
        with self._lock:
            self.uploads.append(made)
        return _result("UploadDocument", made.id)


def _envelope(inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        f"<soap:Body>{inner}</soap:Body></soap:Envelope>"
    )


def _result(operation: str, inner: str) -> Response:
    body = _envelope(
        f'<{operation}Response xmlns="{NS}"><{operation}Result>{inner}'
        f"</{operation}Result></{operation}Response>"
    )
    return Response(body, media_type="text/xml; charset=utf-8")


def _fault(code: str, message: str) -> Response:
    body = _envelope(
        f"<soap:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soap:Fault>"
    )
    return Response(body, status_code=500, media_type="text/xml; charset=utf-8")


ThreadedYukiServer = Threaded[YukiServer]
