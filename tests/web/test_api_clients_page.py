"""Settings → API clients: an administrator makes one (the secret shown once), a token,
and revokes it; other roles do not reach the page."""

from __future__ import annotations

import re

from passeur.bootstrap import App
from passeur.domain.partners import Role
from passeur.services import api_clients
from tests.factories import firm
from tests.web.browsing import signed_in, web_user


def test_an_administrator_creates_an_api_client_and_its_secret_is_shown_once(
    sqlite_app: App,
) -> None:
    app = sqlite_app
    f = firm(app, n_clients=1)
    web_user(app, f.partner_id, "admin@firm.be", Role.ADMINISTRATOR)
    web_user(app, f.partner_id, "acc@firm.be", Role.ACCOUNTANT)
    admin = signed_in(app, "admin@firm.be")
    made = admin.post(
        "/settings/api-clients", {"name": "ERP", "scopes": ["clients:read", "exports:read"]}
    )
    assert made.status_code == 200
    secret = re.search(r"<code>(pcs_[^<]+)</code>", made.text).group(1)  # type: ignore[union-attr]
    (client,) = api_clients.list_api_clients(app, f.partner_id)
    assert client.scopes == {"clients:read", "exports:read"}
    assert api_clients.exchange(app, client.client_key, secret).info.scopes == client.scopes
    again = admin.get("/settings/api-clients")
    assert secret not in again.text and client.client_key in again.text
    token = admin.post(
        f"/settings/api-clients/{client.id}/tokens", {"name": "nightly", "days": "7"}
    )
    value = re.search(r"<code>(psp_[^<]+)</code>", token.text).group(1)  # type: ignore[union-attr]
    assert api_clients.authenticate(app, value).api_client_id == client.id
    admin.post(f"/settings/api-clients/{client.id}/revoke")
    assert "Revoked" in admin.get("/settings/api-clients").text
    refused = admin.post("/settings/api-clients", {"name": "Bad", "scopes": ["root:write"]})
    assert refused.status_code == 400 and len(api_clients.list_api_clients(app, f.partner_id)) == 1
    accountant = signed_in(app, "acc@firm.be")
    assert accountant.get("/settings/api-clients").status_code == 404
    assert 'href="/settings/api-clients"' not in accountant.get("/").text
