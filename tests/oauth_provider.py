"""An extension that signs in with OAuth (none is registered yet), and a sign-in against
the local stand-in provider, for the OAuth tests."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from passeur.bootstrap import App
from passeur.connectors import oauth, registry
from passeur.connectors.base import CheckResult, Connector, Parcel, Receipt
from passeur.connectors.errors import NeedsReauth
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Answer, Outbound
from passeur.delivery.worker import Worker
from passeur.domain.exports import ExportState
from passeur.domain.extensions import Extension, IntegrationStatus, OAuthSpec, Target
from passeur.domain.fields import Field
from passeur.sandbox.oauth_server import OAuthServer
from passeur.services import exports, integrations, oauth_grants, oauth_signin
from tests.factories import Firm, approve_invoices

REDIRECT_URI = "http://127.0.0.1:9/oauth/callback"  # never contacted: we read the redirect

FAKE = Extension(
    slug="fakebooks",
    name="Fake Books",
    category="Accounting software",
    summary="A test double of an accounting package that signs in with OAuth.",
    install_fields=(Field("company", "Company"), Field("api_url", "API")),
    oauth=OAuthSpec(
        provider="Fake Books",
        authorize_url_setting="fakebooks_authorize_url",
        client_id_setting="fakebooks_client_id",
        scope="books",
        token_url_setting="fakebooks_token_url",
    ),
)


class ProbeConnector(Connector):
    """Fake Books' connector: delivering is asking its API who we are, with a token it
    asks for each time (and once more after a 401)."""

    extension = FAKE

    async def check(self, target: Target) -> CheckResult:
        await self._me(target)
        return CheckResult(True, "signed in")

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        await self._me(target)
        return Receipt(location=f"probe/{parcel.export_key}", size=0, sha256="")

    async def _me(self, target: Target) -> None:
        assert target.tokens is not None
        http = Outbound(Guard(self.network))
        url = f"{target.get('api_url')}/api/me"

        used = ""

        async def call(token: str) -> Answer:
            nonlocal used
            used = token
            return await http.request("GET", url, headers={"Authorization": f"Bearer {token}"})

        try:
            answer = await oauth.with_token(target.tokens, call)
        finally:
            await http.close()
        if answer.status == 401:
            # Careless on purpose: the worker must redact the token it was handed.
            raise NeedsReauth(f"Fake Books refused the access token {used}")
        assert answer.status == 200, answer


def register(monkeypatch: pytest.MonkeyPatch, ext: Extension) -> None:
    """Add an extension to the registry for one test (every way of looking one up)."""
    known, lookup = registry.extensions(), registry.extension
    monkeypatch.setattr(registry, "extensions", lambda: {**known, ext.slug: ext})
    monkeypatch.setattr(registry, "extension", lambda s: ext if s == ext.slug else lookup(s))
    classes = registry.connector_class
    monkeypatch.setattr(
        registry,
        "connector_class",
        lambda s: ProbeConnector if s == ext.slug else classes(s),
    )


def use_provider(monkeypatch: pytest.MonkeyPatch, provider: OAuthServer) -> None:
    """The operator's settings for Fake Books point at the stand-in."""
    settings = {
        "fakebooks_authorize_url": provider.authorize_url,
        "fakebooks_token_url": provider.token_url,
        "fakebooks_client_id": provider.client_id,
    }
    monkeypatch.setattr(oauth_grants, "provider_setting", lambda app, name: settings.get(name, ""))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def approve_at(url: str) -> dict[str, str]:
    """Open the provider's sign-in page as the person's browser would; the code and state
    it sends back to the callback."""
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        opener.open(url, timeout=10)
    except urllib.error.HTTPError as answer:
        assert answer.code == 302, answer.code
        back = urlsplit(answer.headers["location"])
        return {k: v[0] for k, v in parse_qs(back.query).items()}
    raise AssertionError("the provider did not redirect")


async def sign_in(app: App, partner_id: int, installation_id: int) -> None:
    url = oauth_signin.begin(app, partner_id, installation_id, REDIRECT_URI)
    answer = approve_at(url)
    await oauth_signin.finish(app, partner_id, answer["state"], answer["code"], REDIRECT_URI)


async def revoked_while_working(
    app: App, f: Firm, shared_data: Path, integration_id: int, revoke: Callable[[], None]
) -> None:
    """With one export delivered, the grant is revoked and two more invoices approved:
    the worker parks them and the integration needs attention with "Sign in again"."""
    revoke()
    approve_invoices(app, f, shared_data, 2)
    await Worker(app).run(asyncio.Event(), drain=True)
    states = sorted(r["export"].state for r in exports.list_exports(app, f.partner_id))
    assert states == [
        ExportState.DELIVERED,
        ExportState.NEEDS_ATTENTION,
        ExportState.NEEDS_ATTENTION,
    ]
    parked = integrations.get(app, f.partner_id, integration_id)
    assert parked.status is IntegrationStatus.NEEDS_ATTENTION
    assert parked.status_reason.startswith("Sign in again")
