"""Browser fixtures: Debian's Chromium through Playwright's sync API, and a live server.

Every test in this folder gets the `browser` marker (`pytest -m "not browser"` skips them).
Fixtures:
  browser      one Chromium for all the tests in tests/browser (package scope, see below)
  page         a fresh context and page per test (1280x800), closed afterwards; a failed test
               leaves var/test-artifacts/browser/<test>/failure.png
  live_server  live_server(app) -> base URL: serves a passeur App (web.app.create) or any ASGI
               app on 127.0.0.1 until the test ends
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.types import ASGIApp

from passeur.bootstrap import App
from passeur.web.app import create
from tests.browser.harness import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    artifacts_dir,
    screenshot,
    serve,
)

HERE = Path(__file__).parent
_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Package scope, not session: between sync calls Playwright marks its event loop as
    running on the main thread, which would break asyncio.run() and pytest-asyncio in the
    test folders that run after this one. It stops when the last browser test is done."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium`", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    shutil.rmtree(artifacts_dir(), ignore_errors=True)  # only this run's screenshots remain
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    opened = context.new_page()
    try:
        yield opened
        call = request.node.stash.get(_REPORTS, {}).get("call")
        if call is not None and call.failed and not opened.is_closed():
            screenshot(opened, "failure")
    finally:
        context.close()


@pytest.fixture
def live_server() -> Iterator[Callable[[App | ASGIApp], str]]:
    with ExitStack() as servers:

        def start(app: App | ASGIApp) -> str:
            web = create(app) if isinstance(app, App) else app
            return servers.enter_context(serve(web))

        yield start
