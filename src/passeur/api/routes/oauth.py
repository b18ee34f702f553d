"""OAuth 2.0 client credentials (RFC 6749 §4.4): a client id and secret for a short-lived
bearer token. The client authenticates with HTTP Basic or with form fields (§2.3.1)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from passeur.api import problems
from passeur.api.security import the_app
from passeur.services import api_clients
from passeur.services.api_clients import Unauthenticated

router = APIRouter(tags=["oauth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    scope: str


@router.post(
    "/oauth/token",
    response_model=TokenOut,
    responses={401: {"model": problems.Problem, "description": "invalid_client"}},
)
def token(
    request: Request,
    grant_type: Annotated[Literal["client_credentials"], Form()],
    client_id: Annotated[str, Form(max_length=64)] = "",
    client_secret: Annotated[str, Form(max_length=200)] = "",
    scope: Annotated[str, Form(max_length=1000)] = "",
) -> JSONResponse:
    """A bearer token for an API client (no bearer needed here)."""
    basic = _basic(request.headers.get("authorization", ""))
    if basic is not None:
        client_id, client_secret = basic
    try:
        issued = api_clients.exchange(the_app(request), client_id, client_secret, scope)
    except Unauthenticated as exc:
        # RFC 6749 §5.2's `error` member rides along with the problem's own.
        return problems.response(
            "invalid-client",
            str(exc),
            headers={"www-authenticate": "Basic"},
            error="invalid_client",
        )
    answer = TokenOut(
        access_token=issued.token,
        expires_in=issued.expires_in,
        scope=" ".join(sorted(issued.info.scopes)),
    )
    return JSONResponse(answer.model_dump(), headers={"cache-control": "no-store"})


def _basic(header: str) -> tuple[str, str] | None:
    kind, _, value = header.partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
