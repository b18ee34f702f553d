"""The browser harness works end to end: live server, Chromium, assets, screenshots, axe."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from playwright.sync_api import ConsoleMessage, Page, expect
from starlette.types import ASGIApp

from passeur.bootstrap import App
from passeur.domain.partners import Role
from tests.browser.harness import assert_accessible, run_async, screenshot, serve
from tests.factories import firm
from tests.web.browsing import WEB_PASSWORD, web_user

Serve = Callable[[App | ASGIApp], str]


def test_the_sign_in_page_loads_its_assets_and_passes_axe(
    page: Page, live_server: Serve, sqlite_app: App
) -> None:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Chromium asks for /favicon.ico on its own; the layout does not name an icon yet.
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", on_console)  # failed loads and CSP violations are console errors
    page.goto(live_server(sqlite_app) + "/")
    expect(page).to_have_url(re.compile(r"/signin\?next=%2F$"))
    assert page.evaluate("() => htmx.version") == "2.0.11", "the vendored htmx runs"
    pico = "() => getComputedStyle(document.body).getPropertyValue('--pico-font-family')"
    assert "system-ui" in page.evaluate(pico), "the vendored Pico applies"
    assert errors == [], "no script error, no CSP violation"
    expect(page).to_have_title("Sign in · passeur")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    shot = screenshot(page, "signin")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.parent.name == "test_harness.test_the_sign_in_page_loads_its_assets_and_passes_axe"
    print(assert_accessible(page, context_name="the sign-in page"))


def test_a_person_signs_in_through_the_browser(
    page: Page, live_server: Serve, sqlite_app: App
) -> None:
    f = firm(sqlite_app, n_clients=1)
    web_user(sqlite_app, f.partner_id, "ada@firm.be", Role.ADMINISTRATOR)
    page.goto(live_server(sqlite_app) + "/")
    page.get_by_label("Email address").fill("ada@firm.be")
    page.get_by_label("Password").fill(WEB_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Home")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    screenshot(page, "home")
    print(assert_accessible(page, context_name="the home page"))


def test_the_accessibility_check_fails_on_an_image_without_alt_text(page: Page) -> None:
    page.set_content('<html><body><img src="x.png"></body></html>')
    with pytest.raises(AssertionError, match="image-alt") as failure:
        assert_accessible(page, context_name="a page with a bare image")
    assert "image-alt [critical] Images must have alternative text: img" in str(failure.value)
    assert "a page with a bare image" in str(failure.value)


def test_the_accessibility_check_also_runs_under_a_strict_content_security_policy(
    page: Page, live_server: Serve
) -> None:
    strict = FastAPI()

    @strict.get("/")
    def home() -> HTMLResponse:
        body = "<!doctype html><html lang='en'><title>CSP</title><main><h1>CSP</h1></main>"
        return HTMLResponse(body, headers={"Content-Security-Policy": "script-src 'self'"})

    page.goto(live_server(strict) + "/")
    assert assert_accessible(page, context_name="a page with a CSP").by_impact["critical"] == 0


def test_async_code_runs_between_playwright_calls(page: Page) -> None:
    page.set_content("<title>t</title>")
    assert run_async(asyncio.sleep(0, result=42)) == 42


def test_the_live_server_frees_its_port_when_it_stops() -> None:
    with serve(FastAPI()) as base:
        port = int(base.rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2)
