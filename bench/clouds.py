"""The cloud-folder stand-ins (Dropbox, Google Drive, OneDrive) for the chaos run and the
benchmarks: started on loopback in this process, signed in to as `passeur installations
connect` does it, faulted on a schedule, and asked what they hold."""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

from passeur.bootstrap import App
from passeur.cli import loopback
from passeur.sandbox.serve import STAND_INS
from passeur.sandbox.threaded import Threaded

_DOCUMENT = re.compile(r"_d(\d+)\.[A-Za-z0-9]+$")


@contextlib.contextmanager
def cloud_stand_ins() -> Iterator[dict[str, Any]]:
    """The three stand-ins, started (each on its own event loop thread), by slug."""
    runners = {slug: Threaded(made(client_id=f"bench-{slug}")) for slug, made in STAND_INS.items()}
    try:
        yield {slug: runner.start() for slug, runner in runners.items()}
    finally:
        for runner in runners.values():
            runner.stop()


def settings(stand_ins: dict[str, Any]) -> dict[str, str]:
    """The operator settings that point passeur at the stand-ins."""
    return {k: v for server in stand_ins.values() for k, v in server.settings().items()}


def sign_in(app: App, partner_id: int, installation_id: int) -> None:
    """Sign the installation in, with a browser that approves at once."""

    def browser(url: str) -> None:
        opened = threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read())
        opened.start()

    loopback.connect(app, partner_id, installation_id, browser, timeout=30)


def fault(stand_ins: dict[str, Any], rng: random.Random) -> str:
    """One fault at one stand-in: its access tokens expire (passeur must refresh, once per
    grant over every worker), or its next calls are throttled with Retry-After. Not at a
    stand-in whose last faulty answers have not all been given yet: faults stacked faster
    than a target is called (while workers restart, or when its exports wait in order)
    would fail every call it gets, and the run would measure the queue, not passeur."""
    slug = rng.choice(sorted(stand_ins))
    server = stand_ins[slug]
    if server.faults.pending():  # skipped, not moved: a busy target would get them all
        return f"{slug}: none (the last ones not used yet)"
    if rng.random() < 0.5:
        server.expire_access_tokens()
        return f"{slug}: access tokens expired"
    server.fail_next(429, rng.randint(1, 5), retry_after=1)
    return f"{slug}: 429 with Retry-After"


def copies(stand_in: Any) -> Counter[int]:
    """How many files the stand-in holds of each document (file names end in `_d<id>.`)."""
    found: Counter[int] = Counter()
    for path, _ in stand_in.stored():
        named = _DOCUMENT.search(path)
        if named:
            found[int(named.group(1))] += 1
    return found


def holds(stand_in: Any, receipt: dict[str, Any], sha256: str) -> bool:
    """Whether the stand-in holds the document where the receipt says, byte for byte."""
    content = stand_in.delivered(receipt)
    return content is not None and hashlib.sha256(content).hexdigest() == sha256
