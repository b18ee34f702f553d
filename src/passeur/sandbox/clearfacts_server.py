"""A local ClearFacts on loopback: its GraphQL API and its OpenID Connect sign-in, faithful
to reference/targets.md §5.3 and ClearFacts' developer documentation.

* `POST /graphql` runs real GraphQL (graphql-core) on the documented part of the schema:
  the `administrations` query (name, companyNumber, accountManager, emails {type,
  emailAddress}, address) and the `uploadFile(vatnumber, filename, invoicetype)`
  mutation, `InvoiceTypeArgument` being PURCHASE or SALE, answering `{uuid,
  amountOfPages}`. Queries come as JSON; the upload as multipart/form-data with the
  parts `query`, `variables` (JSON) and `file`, as ClearFacts documents it. A query
  that does not validate gets GraphQL's own errors.
* Tokens: a personal access token (exactly 80 characters, no expiry, its own scopes) or
  an access token of the sign-in (`OAuthServer`: one hour, rotating refresh tokens with
  `rotate`, as ClearFacts does with `offline_access`). A missing, unknown or expired
  token gets 401; a token without the scope a call needs gets 403 (ClearFacts does not
  document these statuses: the usual GraphQL-over-HTTP choice, noted in the guide).
* The upload's rules: an administration (VAT number) this login does not reach, a file
  that is not a PDF, a JPEG or a UBL invoice, or no file at all, is refused in a
  GraphQL error (HTTP 200, `data.uploadFile` null). `reject_next(message)` refuses the
  next uploads with ClearFacts' words (a closed period...), `fail_next` answers a status
  (429 with Retry-After, 5xx), `internal_next` hides a failure behind "Internal server
  error" as a GraphQL server does.
* What arrived is kept (`uploads`): the administration, file name, invoice type, bytes.
  ClearFacts has no idempotency: two uploads of the same file are two documents here too.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from passeur.sandbox.faults import Faults
from passeur.sandbox.oauth_server import OAuthServer

SCHEMA = build_schema(
    """
    enum InvoiceTypeArgument { PURCHASE SALE }
    type Email { type: String, emailAddress: String }
    type Country { iso2: String, name: String }
    type Address { streetAddress: String, country: Country }
    type Administration {
      name: String, companyNumber: String, accountManager: String,
      emails: [Email], address: Address
    }
    type File { uuid: String, amountOfPages: Int }
    type Query { administrations: [Administration] }
    type Mutation {
      uploadFile(vatnumber: String!, filename: String!, invoicetype: InvoiceTypeArgument!): File
    }
    """
)
ALL_SCOPES = frozenset({"openid", "read_administrations", "upload_document", "offline_access"})
_UBL_ROOT = re.compile(
    rb"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*)*<([\w.-]+:)?(Invoice|CreditNote)\b", re.S
)
PAGE = re.compile(rb"/Type\s*/Page\b")


@dataclass
class Administration:
    name: str
    company_number: str  # ten digits, as ClearFacts writes it
    office: str = "acme"

    def shown(self) -> dict[str, Any]:
        number = self.company_number
        return {
            "name": self.name,
            "companyNumber": number,
            "accountManager": f"account.manager@{self.office}.be",
            "emails": [
                {
                    "type": "purchase",
                    "emailAddress": f"aankoop-{number}@{self.office}.clearfacts.be",
                },
                {"type": "sale", "emailAddress": f"verkoop-{number}@{self.office}.clearfacts.be"},
            ],
            "address": {"streetAddress": "Street 16", "country": {"iso2": "BE", "name": "Belgium"}},
        }


@dataclass(frozen=True)
class Uploaded:
    uuid: str
    administration: str
    file_name: str
    invoice_type: str
    media_type: str
    content: bytes
    token: str = field(repr=False, default="")


class ClearfactsServer(OAuthServer):
    expires_in_as_string = False  # a number, as OpenID Connect servers send it
    refresh_answer_repeats_token = True

    def __init__(self, *, access_lifetime: float = 3600.0, rotate: bool = True, **kw: Any):
        super().__init__(access_lifetime=access_lifetime, rotate=rotate, **kw)
        self.known = [  # the administrations this login reaches
            Administration("Bakkerij Janssens", "0403170701"),
            Administration("Acme Company", "0123123123"),
        ]
        self.personal_tokens: dict[str, frozenset[str]] = {}
        self.uploads: list[Uploaded] = []
        self.calls: list[str] = []  # "administrations" / "uploadFile", in order
        self.faults = Faults()
        self._rejections: list[str] = []
        self._internal = 0
        self._store = threading.Lock()
        self.app.router.routes.extend(
            [
                Route("/oauth2-server/authorize", self._authorize),
                Route("/oauth2-server/token", self._token, methods=["POST"]),
                Route("/graphql", self._graphql, methods=["POST"]),
            ]
        )

    # What tests and the demo read and switch.

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth2-server/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/oauth2-server/token"

    def settings(self) -> dict[str, str]:
        """The operator's settings that send passeur's ClearFacts extension here."""
        return {
            "clearfacts_client_id": self.client_id,
            "clearfacts_authorize_url": self.authorize_url,
            "clearfacts_token_url": self.token_url,
            "clearfacts_api_url": self.url,
        }

    def personal_token(self, scopes: frozenset[str] = ALL_SCOPES) -> str:
        """A new personal access token (80 characters) with these scopes."""
        token = secrets.token_urlsafe(60)[:80]
        self.personal_tokens[token] = scopes
        return token

    def fail_next(self, status: int, n: int = 1, *, retry_after: float | None = None) -> None:
        self.faults.add(status, n, retry_after, "")

    def reject_next(self, message: str, n: int = 1) -> None:
        """Refuse the next n uploads with this message (ClearFacts' words)."""
        with self._store:
            self._rejections += [message] * n

    def internal_next(self, n: int = 1) -> None:
        with self._store:
            self._internal += n

    def stored(self) -> list[tuple[str, bytes]]:
        """Every upload held: (file name, bytes); one entry per upload, duplicates too."""
        with self._store:
            return [(u.file_name, u.content) for u in self.uploads]

    def delivered(self, receipt: Mapping[str, Any]) -> bytes | None:
        """The bytes of the upload passeur's receipt names (by its uuid)."""
        with self._store:
            for upload in self.uploads:
                if upload.uuid == receipt.get("location"):
                    return upload.content
        return None

    # The API.

    async def _graphql(self, request: Request) -> Response:
        fault = self.faults.take()
        if fault is not None:
            body = {
                "errors": [{"message": "Too many requests" if fault.status == 429 else "Error"}]
            }
            return JSONResponse(body, fault.status, headers=self.faults.headers(fault))
        token, scopes = self._caller(request)
        if token is None:
            return JSONResponse({"errors": [{"message": "Unauthorized"}]}, 401)
        upload: tuple[str, bytes] | None = None
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            async with request.form(max_part_size=64 * 1024 * 1024) as form:
                query = str(form.get("query") or "")
                variables = _json(form.get("variables"))
                part = form.get("file")
                if isinstance(part, UploadFile):
                    upload = (part.content_type or "", await part.read())
        else:
            try:
                asked = json.loads(await request.body())
            except ValueError:
                return JSONResponse({"errors": [{"message": "Syntax error: JSON"}]}, 400)
            query, variables = str(asked.get("query") or ""), asked.get("variables") or {}
        context = {"token": token, "scopes": scopes, "file": upload}
        result = graphql_sync(
            SCHEMA, query, root_value=self, context_value=context, variable_values=variables
        )
        if result.errors and any(_denied(e) for e in result.errors):
            message = next(e.message for e in result.errors if _denied(e))
            return JSONResponse({"errors": [{"message": message}]}, 403)
        return JSONResponse(result.formatted)

    def _caller(self, request: Request) -> tuple[str | None, frozenset[str]]:
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        if token in self.personal_tokens:
            return token, self.personal_tokens[token]
        if self.bearer(request) == "valid":
            return token, ALL_SCOPES
        return None, frozenset()

    # Resolvers (graphql-core calls the root value's attributes by field name).

    def administrations(self, info: Any) -> list[dict[str, Any]]:
        _needs(info, "read_administrations")
        self.calls.append("administrations")
        return [a.shown() for a in self.known]

    def uploadFile(
        self, info: Any, vatnumber: str, filename: str, invoicetype: str
    ) -> dict[str, Any]:
        _needs(info, "upload_document")
        self.calls.append("uploadFile")
        if not any(a.company_number == vatnumber for a in self.known):
            raise GraphQLError(f"No administration found for vatnumber {vatnumber}")
        sent = info.context["file"]
        if sent is None:
            raise GraphQLError("No file was uploaded")
        media_type, content = sent
        kind = _kind(content)
        if kind is None:
            raise GraphQLError(
                "Unsupported file type: upload a PDF, a JPEG or an XML invoice "
                "(Peppol BIS Billing 3, UBL.BE or e-fff)"
            )
        with self._store:
            if self._internal:
                self._internal -= 1
                raise GraphQLError("Internal server error")
            if self._rejections:
                raise GraphQLError(self._rejections.pop(0))
            made = Uploaded(
                str(uuid.uuid4()).upper(), vatnumber, filename, invoicetype, media_type, content,
                info.context["token"],
            )  # fmt: skip
            self.uploads.append(made)
        pages = max(1, len(PAGE.findall(content))) if kind == "pdf" else 1
        return {"uuid": made.uuid, "amountOfPages": pages}


def _needs(info: Any, scope: str) -> None:
    if scope not in info.context["scopes"]:
        raise GraphQLError(f"Access denied: the token lacks the scope {scope}")


def _denied(error: GraphQLError) -> bool:
    return error.message.startswith("Access denied")


def _kind(content: bytes) -> str | None:
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if _UBL_ROOT.match(content.removeprefix(b"\xef\xbb\xbf")):
        return "xml"
    return None


def _json(raw: Any) -> dict[str, Any]:
    try:
        found = json.loads(str(raw or "{}"))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}
