"""Access tokens for connector tests of extensions that sign in: a real sign-in at the
provider's stand-in (authorization code with PKCE, then refreshes), without a database;
the grant store does the same in the worker (services/oauth_grants.py)."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

from passeur.connectors import oauth
from passeur.connectors.outbound import Outbound
from tests.oauth_provider import REDIRECT_URI, approve_at


class StandInTokens:
    """A TokenSource on one grant: refreshed when refused or about to expire."""

    def __init__(self, http: Outbound, client: oauth.OAuthClient, grant: oauth.Grant) -> None:
        self.http = http
        self.client = client
        self.grant = grant
        self.handed: list[str] = []

    async def token(self, refused: str = "") -> str:
        held = self.grant
        if held.access_token == refused or held.expires_at - time.time() < 1:
            self.grant = await oauth.refresh(self.http, self.client, held.refresh_token)
        self.handed.append(self.grant.access_token)
        return self.grant.access_token

    def handed_out(self) -> list[str]:
        return list(self.handed)


class RefusedTokens:
    """Tokens the provider never issued (a grant that was never there)."""

    def __init__(self) -> None:
        self.n = 0

    async def token(self, refused: str = "") -> str:
        self.n += 1
        return f"not-a-token-{self.n}"

    def handed_out(self) -> list[str]:
        return [f"not-a-token-{i}" for i in range(1, self.n + 1)]


async def sign_in(
    http: Outbound,
    authorize_url: str,
    token_url: str,
    client_id: str,
    params: tuple[tuple[str, str], ...] = (),
) -> StandInTokens:
    """Sign in at the stand-in as a person's browser would, then exchange the code."""
    verifier, challenge = oauth.pkce_pair()
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": REDIRECT_URI,
        "state": "test",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **dict(params),
    }
    answer = await asyncio.to_thread(approve_at, f"{authorize_url}?{urlencode(query)}")
    client = oauth.OAuthClient(token_url, client_id)
    grant = await oauth.exchange_code(http, client, answer["code"], REDIRECT_URI, verifier)
    return StandInTokens(http, client, grant)
