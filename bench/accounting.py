"""The accounting-package stand-ins (Octopus, Yuki) for the chaos run: started on loopback
in this process with limits a long run does not reach (the daily caps are the pacer's
and the stand-in's business, tested in tests/), installed as a partner would, faulted on
a schedule, and asked what they hold."""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from passeur.bootstrap import App
from passeur.domain.extensions import Installation
from passeur.sandbox import octopus_server, yuki_server
from passeur.sandbox.threaded import Threaded
from passeur.services import installations

_DOCUMENT = re.compile(r"_d(\d+)\.[A-Za-z0-9]+$")
PLENTY = 100_000


@contextlib.contextmanager
def stand_ins() -> Iterator[dict[str, Any]]:
    made = {
        "octopus": octopus_server.OctopusServer(
            caps={"import": PLENTY, "dossiers": PLENTY, "connect": PLENTY}
        ),
        "yuki": yuki_server.YukiServer(calls_per_day=PLENTY),
    }
    runners = {slug: Threaded(server) for slug, server in made.items()}
    try:
        yield {slug: runner.start() for slug, runner in runners.items()}
    finally:
        for runner in runners.values():
            runner.stop()


def settings(servers: dict[str, Any]) -> dict[str, str]:
    return {k: v for server in servers.values() for k, v in server.settings().items()}


def install(app: App, partner_id: int, slug: str) -> tuple[Installation, dict[str, str]]:
    """The installation, and the client values its integrations get."""
    if slug == "octopus":
        values = {"user": octopus_server.USER, "password": octopus_server.PASSWORD}
        values["per_day"] = str(PLENTY)
        client = {"dossier": "101"}
    else:
        values = {"access_key": yuki_server.ACCESS_KEY, "calls_per_day": str(PLENTY)}
        client = {"administration": next(iter(yuki_server.ADMINISTRATIONS))}
    return installations.install(app, partner_id, slug, slug, {**values}), client


def fault(servers: dict[str, Any], rng: random.Random) -> str:
    """Its tokens or sessions die early (one new sign-in per worker), or its next calls
    answer 500 or 429."""
    slug = rng.choice(sorted(servers))
    server = servers[slug]
    roll = rng.random()
    if roll < 0.4:
        getattr(server, "expire_tokens" if slug == "octopus" else "expire_sessions")()
        return f"{slug}: tokens expired"
    status = 500 if roll < 0.7 else 429
    server.faults.add(status, rng.randint(1, 5), 1 if status == 429 else None, "sandbox fault")
    return f"{slug}: {status}"


def copies(server: Any) -> Counter[int]:
    """How many files the stand-in holds of each document (file names end in `_d<id>.`)."""
    found: Counter[int] = Counter()
    for item in server.stored():
        named = _DOCUMENT.search(item.file_name)
        if named:
            found[int(named.group(1))] += 1
    return found


def holds(server: Any, receipt: dict[str, Any], sha256: str) -> bool:
    key = "import_id" if "import_id" in receipt else "document_id"
    found = [i.data for i in server.stored() if i.id == receipt.get(key)]
    return len(found) == 1 and hashlib.sha256(found[0]).hexdigest() == sha256
