"""Route tests as a person would browse: sign in, follow forms, with the CSRF token."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from passeur.bootstrap import App
from passeur.domain.partners import Access, Role
from passeur.services import partners, sessions
from passeur.web.app import create

WEB_PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_user(
    app: App,
    partner_id: int,
    email: str,
    *roles: Role,
    client_id: int | None = None,
    assign: dict[int, Access] | None = None,
) -> int:
    """A user who can sign in with WEB_PASSWORD; returns their id."""
    user = partners.add_user(
        app, partner_id, email, email.split("@")[0], set(roles), client_id=client_id
    )
    for client, access in (assign or {}).items():
        partners.assign(app, partner_id, user.id, client, access)
    sessions.set_password(app, email, WEB_PASSWORD)
    return user.id


class Browser:
    """A TestClient that signs in and adds the session's CSRF token to every form."""

    def __init__(self, app: App, **headers: str) -> None:
        self.client = TestClient(create(app), follow_redirects=True, headers=headers)
        self.csrf = ""

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        if not self.csrf:
            self.get("/signin")
        body = {"csrf_token": self.csrf, **(data or {})}
        response = self.client.post(url, data=body, **kwargs)
        found = _CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def htmx(self, method: str, url: str, data: dict[str, Any] | None = None) -> Any:
        """As htmx sends it: the CSRF token in a header, HX-Request set."""
        headers = {"HX-Request": "true", "X-CSRF-Token": self.csrf}
        return self.client.request(method, url, data=data, headers=headers)

    def sign_in(self, email: str, password: str = WEB_PASSWORD) -> Any:
        self.get("/signin")
        response = self.post("/signin", {"email": email, "password": password, "next": "/"})
        assert response.status_code == 200, response.text[:500]
        return response


def signed_in(app: App, email: str, **headers: str) -> Browser:
    browser = Browser(app, **headers)
    browser.sign_in(email)
    return browser
