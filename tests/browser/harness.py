"""Browser-test helpers: a live server, Debian's Chromium, screenshots and an axe-core check.

The fixtures in conftest.py use these; tests import `screenshot`, `assert_accessible` and
`run_async` from here.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
import uvicorn
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, ViewportSize
from starlette.types import ASGIApp

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "var" / "test-artifacts" / "browser"
AXE_SCRIPT = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# Debian's Chromium (`make chromium`); Playwright never downloads a browser here.
CHROMIUM = Path(os.environ.get("PASSEUR_TEST_CHROMIUM", "/usr/bin/chromium"))
# Root needs --no-sandbox; the others keep a closed network quiet and the launch light.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@contextmanager
def serve(web: ASGIApp, *, start_timeout: float = 10.0) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a thread; yield its base URL, then stop it.

    The socket is bound here, on 127.0.0.1 port 0, and handed to uvicorn: no port is picked
    and released, so nothing else can take it in between.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    config = uvicorn.Config(web, log_config=None, access_log=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"live-server-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the live server stopped before it started (see its log)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the live server did not start within {start_timeout} s")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()
        if thread.is_alive():
            raise RuntimeError(f"the live server on port {port} did not stop")


def current_test_name() -> str:
    """`<module>.<test>[params]` of the running test, safe as a folder name."""
    node_id = os.environ.get("PYTEST_CURRENT_TEST", "outside-pytest").rsplit(" (", 1)[0]
    path, _, test = node_id.partition("::")
    name = f"{Path(path).stem}.{test.replace('::', '.')}" if test else Path(path).stem
    return _safe(name)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-\[\]]+", "_", name).strip("_") or "unnamed"


def artifacts_dir() -> Path:
    """var/test-artifacts/browser/<test>: the running test's screenshots (not created here)."""
    return ARTIFACTS / current_test_name()


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under var/test-artifacts/browser/<test>/<name>.png; return its path."""
    path = artifacts_dir() / f"{_safe(name)}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True, animations="disabled")
    return path


WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
BLOCKING_IMPACTS = ("critical", "serious")
IMPACTS = ("critical", "serious", "moderate", "minor")

# Runs in the page: only what the report needs crosses back (ids, texts, selectors).
_AXE_RUN = """async (tags) => {
  const results = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return {
    violations: results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
      targets: v.nodes.map((n) => n.target),
    })),
    passes: results.passes.length,
    incomplete: results.incomplete.length,
  };
}"""


@dataclass(frozen=True)
class AxeViolation:
    id: str
    impact: str
    help: str
    help_url: str
    targets: tuple[str, ...]  # one CSS selector per offending element

    def describe(self, first: int = 3) -> str:
        shown = ", ".join(self.targets[:first])
        more = f" (+{len(self.targets) - first} more)" if len(self.targets) > first else ""
        return f"{self.id} [{self.impact}] {self.help}: {shown}{more}"


@dataclass(frozen=True)
class AxeSummary:
    context_name: str
    by_impact: dict[str, int]  # violated rules per impact: critical, serious, moderate, minor
    passes: int  # rules that passed
    incomplete: int  # rules axe could not decide (to review by hand)
    violations: tuple[AxeViolation, ...]  # every impact, the blocking ones included

    def __str__(self) -> str:
        counts = ", ".join(f"{self.by_impact[impact]} {impact}" for impact in IMPACTS)
        return (
            f"axe on {self.context_name}: {counts} "
            f"({self.passes} rules passed, {self.incomplete} incomplete)"
        )


def assert_accessible(page: Page, *, context_name: str) -> AxeSummary:
    """Run axe-core (WCAG 2.0/2.1 A and AA) on the page; fail on serious or critical violations.

    Returns the summary (counts by impact, the moderate and minor violations) for printing.
    """
    if not AXE_SCRIPT.is_file():
        pytest.fail(
            f"axe-core is missing ({AXE_SCRIPT.relative_to(ROOT)}): run `npm ci` "
            "(or `make browser`, which does it)",
            pytrace=False,
        )
    if not page.evaluate("() => typeof window.axe === 'object'"):
        _inject_axe(page)
    raw: dict[str, Any] = page.evaluate(_AXE_RUN, list(WCAG_TAGS))
    violations = tuple(
        AxeViolation(
            id=v["id"],
            impact=v["impact"] or "minor",
            help=v["help"],
            help_url=v["helpUrl"],
            targets=tuple(_selector(target) for target in v["targets"]),
        )
        for v in raw["violations"]
    )
    by_impact = {impact: 0 for impact in IMPACTS}
    for violation in violations:
        by_impact[violation.impact] = by_impact.get(violation.impact, 0) + 1
    summary = AxeSummary(context_name, by_impact, raw["passes"], raw["incomplete"], violations)
    blocking = [v for v in violations if v.impact in BLOCKING_IMPACTS]
    if blocking:
        lines = "\n".join(f"  - {v.describe()}" for v in blocking)
        raise AssertionError(
            f"axe found {len(blocking)} serious or critical violation(s) on {context_name}:\n"
            f"{lines}\n{summary}"
        )
    return summary


def _inject_axe(page: Page) -> None:
    try:
        page.add_script_tag(path=AXE_SCRIPT)
    except PlaywrightError as error:
        if "Content Security Policy" not in error.message:
            raise
        # The page forbids inline scripts; an evaluation from Playwright is not subject to it.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;undefined")


def _selector(target: Any) -> str:
    # A target is a list of selectors; nested lists step into iframes or shadow roots.
    if isinstance(target, list):
        return " >> ".join(_selector(part) for part in target)
    return str(target)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from a browser test, e.g. a worker drain.

    Playwright's sync API leaves its own event loop marked as running on the test's thread
    between calls, so `asyncio.run()` there refuses to start; a fresh thread has no loop.
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser-test-async") as pool:
        return pool.submit(asyncio.run, coro).result()
