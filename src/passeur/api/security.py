"""Who calls: a bearer token (OAuth client-credentials access token or personal access
token) of one API client, checked on every request, then its rate limit and the scope.

    @router.get("/clients")
    def list_clients(caller: ApiCaller = Depends(requires("clients:read"))) -> …
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from fastapi import Request, Security
from fastapi.openapi.models import OAuthFlowClientCredentials, OAuthFlows
from fastapi.security import OAuth2

from passeur.api.problems import ApiProblem
from passeur.bootstrap import App
from passeur.domain.api_scopes import FAMILIES, SCOPES
from passeur.services import api_clients
from passeur.services.api_clients import ApiCaller, Unauthenticated

__all__ = ["ApiCaller", "bearer_token", "requires", "the_app"]

TOKEN_URL = "/api/v1/oauth/token"

_SCOPE_HELP = {
    f"{family}:{mode}": f"{'Read' if mode == 'read' else 'Change'} {family}"
    for family in FAMILIES
    for mode in ("read", "write")
}
assert set(_SCOPE_HELP) == SCOPES

# Documented in the schema as OAuth 2.0 client credentials; a personal access token is
# sent the same way (Authorization: Bearer …).
scheme = OAuth2(
    flows=OAuthFlows(
        clientCredentials=OAuthFlowClientCredentials(tokenUrl=TOKEN_URL, scopes=_SCOPE_HELP)
    ),
    scheme_name="oauth2",
    description="A bearer token: an access token from POST /api/v1/oauth/token, or a "
    "personal access token made by an administrator.",
    auto_error=False,
)


def the_app(request: Request) -> App:
    app: App = request.app.state.passeur
    return app


def bearer_token(authorization: str) -> str:
    kind, _, token = (authorization or "").partition(" ")
    return token.strip() if kind.lower() == "bearer" else ""


def requires(scope: str) -> Callable[..., object]:
    """A dependency: the caller behind the bearer token, within its rate limit, holding
    `scope` (401 without a valid token, 429 past the limit, 403 without the scope)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope}")

    def caller(
        request: Request, authorization: str | None = Security(scheme, scopes=[scope])
    ) -> ApiCaller:
        app = the_app(request)
        token = bearer_token(authorization or "")
        try:
            found, wait = api_clients.admit(app, token)  # one statement on PostgreSQL
        except Unauthenticated as exc:
            raise ApiProblem(
                "unauthenticated", str(exc), headers=_challenge("invalid_token")
            ) from None
        if wait:
            raise ApiProblem(
                "rate-limited",
                f"this API client made more than {app.settings.api_rate_limit} requests in "
                f"{app.settings.api_rate_window_seconds} s; retry after {wait} s",
                headers={"retry-after": str(wait)},
            )
        if scope not in found.scopes:
            raise ApiProblem(
                "insufficient-scope",
                f"this token does not hold the scope {scope}",
                headers=_challenge("insufficient_scope", scope),
            )
        # The audit trail says where a change came from: the API, and the caller's address.
        found = replace(found, origin=f"api {request.client.host if request.client else ''}")
        request.state.caller = found
        return found

    return caller


def _challenge(error: str, scope: str = "") -> dict[str, str]:
    extra = f', scope="{scope}"' if scope else ""
    return {"www-authenticate": f'Bearer error="{error}"{extra}'}
