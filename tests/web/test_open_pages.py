"""Without signing in, no page shows a partner's data: every GET route is walked (with ids
that exist) and must send the visitor to sign in, or show nothing of the partner's.

This is why `passeur serve` on a non-loopback address does not warn about an open status
page (docs/decisions.md, "Serving on a network address").
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from passeur.bootstrap import App
from passeur.web.app import create
from passeur.web.routes import ROUTERS
from tests.web.practice import practice

# Pages meant for visitors who are not signed in; they must not show any partner's data
# (/ready and /metrics answer load balancers and Prometheus: states and totals only).
PUBLIC = {"/signin", "/health", "/ready", "/metrics", "/oauth/callback"}
_PARAMETER = re.compile(r"\{(\w+)(?::\w+)?\}")
_VALUES = {"slug": "sftp", "role": "original"}


def test_no_page_shows_partner_data_without_sign_in(sqlite_app: App, shared_data: Path) -> None:
    made = practice(sqlite_app, shared_data, n_clients=2)
    web = create(sqlite_app)
    visitor = TestClient(web, follow_redirects=False)
    walked = 0
    every = [*web.routes, *(route for router in ROUTERS for route in router.routes)]
    for route in every:
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        url = _PARAMETER.sub(lambda m: _VALUES.get(m.group(1), str(made.clients[0])), route.path)
        answer = visitor.get(url)
        walked += 1
        if route.path in PUBLIC:
            for secret in ("Client 0", "Client 1", "0403170701", "invoice.xml", "SFTP"):
                assert secret not in answer.text, (url, secret)
            continue
        assert answer.status_code in (303, 401, 403, 404), (url, answer.status_code)
        if answer.status_code == 303:
            assert answer.headers["location"].startswith("/signin"), url
    assert walked >= 30, "every GET route of the partner space was tried"
