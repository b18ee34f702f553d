"""A local OAuth 2.0 provider on loopback (authorization code with PKCE, refresh tokens),
faithful to the rules in reference/targets.md, with lifetimes short enough for tests.

* `GET /authorize` approves at once and redirects to `redirect_uri?code=…&state=…`.
  A code lives `code_lifetime` seconds and works once.
* `POST /token`, `grant_type=authorization_code`: the client, the redirect URI and the
  PKCE verifier (S256) must match; `grant_type=refresh_token`: a new access token.
  With `rotate` each refresh gives a new refresh token and the one used stops working:
  a second refresh with it gets 401 "Old refresh token used", which is what two
  unserialised workers would do to each other. With `old_lives_until_new_used` too
  (Exact Online's documented rule, targets.md §1.2: "as soon as the new one is used, all
  earlier refresh tokens of that chain are dead"), the one used keeps working until the
  new refresh token, or an access token given with it, is used: a client that died
  before it kept the new one can refresh again with the one it kept. Without `rotate`
  (Dropbox, Google) the refresh token stays. `expires_in` is a string, as Exact sends it.
* `GET /api/me` answers 200 to a valid bearer token, 401 otherwise (expired or revoked).
* `revoke()` kills every grant (the person withdrew consent); `expire_access_tokens()`
  makes the API refuse the current access tokens while their refresh tokens still work.
* `refresh_window` (Exact's rule, off by default): a refresh while the newest access
  token has more than that many seconds left gets 400 with `Reason: TooEarlyToRefreshTokens`.
* `api_refuses` makes the API answer 401 to every token (refreshing does not help).
* `refreshes` and `exchanges` count the token calls that succeeded; `token_delay`
  holds each token answer back, so that two callers overlap.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from passeur.sandbox.loopback_app import LoopbackApp
from passeur.sandbox.threaded import Threaded


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    method: str
    expires_at: float
    query: dict[str, str] = field(default_factory=dict)  # what the authorize request asked


@dataclass
class _Chain:
    """One grant: its live refresh token and access tokens."""

    refresh_token: str
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expires at
    used: set[str] = field(default_factory=set)  # rotated-away refresh tokens
    revoked: bool = False
    # With `old_lives_until_new_used`: the refresh token before the newest, alive until
    # the newest (or an access token given with it) is used, and those access tokens.
    previous: str = ""
    newest_access: set[str] = field(default_factory=set)


class OAuthServer(LoopbackApp):
    expires_in_as_string = True  # Exact's habit
    # A refresh answer names the refresh token even when it did not change; Dropbox and
    # Google leave it out (a rotating provider always gives the new one).
    refresh_answer_repeats_token = True

    def __init__(
        self,
        *,
        client_id: str = "passeur-test",
        client_secret: str = "",
        access_lifetime: float = 2.0,
        code_lifetime: float = 180.0,
        rotate: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_lifetime = access_lifetime
        self.code_lifetime = code_lifetime
        self.rotate = rotate
        self.old_lives_until_new_used = False
        self.token_delay = 0.0
        self.api_refuses = False  # the API answers 401 to every token (a broken account)
        # Exact: no refresh while the newest access token has more than this left (0: off).
        self.refresh_window = 0.0
        self.refreshes = 0
        self.exchanges = 0
        self.refused_refreshes = 0
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._chains: list[_Chain] = []
        routes = [
            Route("/authorize", self._authorize),
            Route("/token", self._token, methods=["POST"]),
            Route("/api/me", self._me),
        ]
        super().__init__(Starlette(routes=routes), host, port)

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    def revoke(self) -> None:
        """The person withdrew consent: no refresh token or access token works any more."""
        with self._lock:
            for chain in self._chains:
                chain.revoked = True

    def expire_access_tokens(self) -> None:
        """Every access token is refused from now on, as expired (refresh tokens still work)."""
        with self._lock:
            now = time.monotonic()
            for chain in self._chains:
                for token in chain.access_tokens:
                    chain.access_tokens[token] = now

    def live_refresh_tokens(self) -> list[str]:
        with self._lock:
            return [c.refresh_token for c in self._chains if not c.revoked]

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id or query.get("response_type") != "code":
            return PlainTextResponse("unknown client or response type", status_code=400)
        redirect_uri = query.get("redirect_uri", "")
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                self.client_id,
                redirect_uri,
                query.get("code_challenge", ""),
                query.get("code_challenge_method", "plain"),
                time.monotonic() + self.code_lifetime,
                dict(query),
            )
        answer = {"code": code, "state": query.get("state", "")}
        separator = "&" if "?" in redirect_uri else "?"
        return RedirectResponse(f"{redirect_uri}{separator}{urlencode(answer)}", status_code=302)

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode()))
        if not self._client_ok(request, form):
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        with self._lock:
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                return self._exchange(form)
            if grant_type == "refresh_token":
                return self._refresh(form.get("refresh_token", ""))
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    def _client_ok(self, request: Request, form: dict[str, str]) -> bool:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            pair = base64.b64decode(basic[6:]).decode()
            client_id, _, secret = pair.partition(":")
        return client_id == self.client_id and (
            not self.client_secret or secret == self.client_secret
        )

    def _exchange(self, form: dict[str, str]) -> Response:
        code = self._codes.pop(form.get("code", ""), None)  # single use, even when refused
        if code is None or code.expires_at < time.monotonic():
            return _refused("invalid_grant", "the code is unknown, used or expired")
        if code.redirect_uri != form.get("redirect_uri"):
            return _refused("invalid_grant", "redirect_uri does not match")
        if code.challenge and not _verifies(
            form.get("code_verifier", ""), code.challenge, code.method
        ):
            return _refused("invalid_grant", "the code verifier does not match the challenge")
        first = not self._chains
        chain = _Chain(refresh_token=secrets.token_urlsafe(24))
        self._chains.append(chain)
        self.exchanges += 1
        return self._issue(chain, with_refresh=self.gives_refresh_token(code.query, first))

    def _refresh(self, refresh_token: str) -> Response:
        for chain in self._chains:
            if chain.previous and refresh_token == chain.previous and not chain.revoked:
                # The newest was never used (its client died before keeping it): it is
                # replaced, and the one presented stays the previous.
                if self._too_early(chain):
                    return self._too_early_answer()
                chain.used.add(chain.refresh_token)
                chain.refresh_token = secrets.token_urlsafe(24)
                self.refreshes += 1
                chain.newest_access = set()
                return self._issue(chain, with_refresh=True)
            if refresh_token in chain.used and not chain.revoked:
                self.refused_refreshes += 1
                return PlainTextResponse(
                    "Unauthorized Client: Old refresh token used.", status_code=401
                )
            if chain.refresh_token == refresh_token:
                if chain.revoked:
                    break
                if self._too_early(chain):
                    return self._too_early_answer()
                if self.rotate:
                    if chain.previous:  # the newest is used: every earlier one dies
                        chain.used.add(chain.previous)
                    if self.old_lives_until_new_used:
                        chain.previous = refresh_token
                    else:
                        chain.used.add(refresh_token)
                    chain.refresh_token = secrets.token_urlsafe(24)
                    chain.newest_access = set()
                self.refreshes += 1
                repeat = self.rotate or self.refresh_answer_repeats_token
                return self._issue(chain, with_refresh=repeat)
        self.refused_refreshes += 1
        return _refused("invalid_grant", "Token has been expired or revoked.")

    def _too_early_answer(self) -> Response:
        body = {
            "error": "access_denied",
            "error_description": "Rate limit exceeded: access_token not expired",
        }
        return JSONResponse(body, status_code=400, headers={"Reason": "TooEarlyToRefreshTokens"})

    def _too_early(self, chain: _Chain) -> bool:
        if not self.refresh_window or not chain.access_tokens:
            return False
        newest = max(chain.access_tokens.values())
        return newest - time.monotonic() > self.refresh_window

    def gives_refresh_token(self, asked: dict[str, str], first: bool) -> bool:
        """Whether a sign-in with these authorize parameters gets a refresh token (the
        first for this client, or not). A provider's stand-in says its own rule."""
        return True

    def _issue(self, chain: _Chain, *, with_refresh: bool = True) -> Response:
        access = secrets.token_urlsafe(24)
        chain.access_tokens[access] = time.monotonic() + self.access_lifetime
        chain.newest_access.add(access)
        body: dict[str, Any] = {
            "access_token": access,
            "token_type": "bearer",
            # Exact sends a string; Dropbox, Google and Microsoft a number.
            "expires_in": f"{self.access_lifetime:g}"
            if self.expires_in_as_string
            else self.access_lifetime,
        }
        if with_refresh:
            body["refresh_token"] = chain.refresh_token
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    async def _me(self, request: Request) -> Response:
        if self.bearer(request) == "valid":
            return JSONResponse({"ok": True})
        return JSONResponse({"error": "invalid_token"}, status_code=401)

    def bearer(self, request: Request) -> str:
        """What the request's bearer token is: "valid", "expired" (it was ours, its time
        is up) or "invalid" (unknown, revoked, or the API refuses every token). A
        provider's API built on this server answers accordingly."""
        header = request.headers.get("authorization", "")
        token = header[7:] if header.lower().startswith("bearer ") else ""
        with self._lock:
            for chain in self._chains if not self.api_refuses else ():
                expires = chain.access_tokens.get(token)
                if expires is None or chain.revoked:
                    continue
                if token in chain.newest_access and chain.previous:
                    chain.used.add(chain.previous)  # the newest is used: earlier ones die
                    chain.previous = ""
                return "valid" if expires > time.monotonic() else "expired"
        return "invalid"


def _verifies(verifier: str, challenge: str, method: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    else:
        computed = verifier
    return bool(verifier) and secrets.compare_digest(computed, challenge)


def _refused(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


# The OAuthServer on its own event loop in a thread (synchronous tests, the demo).
ThreadedOAuthServer = Threaded[OAuthServer]
