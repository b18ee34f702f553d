"""The accounting-package stand-ins for the chaos run (Octopus, Yuki, ClearFacts, Exact
Online): started on loopback in this process with limits a long run does not reach,
except Exact's per-company limits, which are kept on a clock `time_scale` times faster
(the pacer runs as fast: PASSEUR_PACING_TIME_SCALE); installed as a partner would,
faulted on a schedule, and asked what they hold."""

from __future__ import annotations

import contextlib
import hashlib
import random
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

from bench import clouds
from passeur.bootstrap import App
from passeur.domain.extensions import Installation
from passeur.sandbox import octopus_server, yuki_server
from passeur.sandbox.clearfacts_server import ClearfactsServer
from passeur.sandbox.exact_online_server import ExactOnlineServer
from passeur.sandbox.threaded import Threaded
from passeur.services import installations

_DOCUMENT = re.compile(r"_d(\d+)\.[A-Za-z0-9]+$")
_SUBJECT = re.compile(r"\(passeur (\d+)\)$")
PLENTY = 100_000
CLEARFACTS_VAT = "BE0403170701"  # an administration the stand-in knows
EXACT_COMPANIES = (123456, 234567)  # the stand-in's divisions; a client each
# Exact's access tokens live 40 s here instead of 600: a refresh (and a rotation of the
# refresh token) every half minute, across every worker, during the run.
EXACT_ACCESS_LIFETIME = 40.0
# Who keeps one copy on redelivery (a lookup first); the others cannot promise it.
PROMISED = frozenset({"exact_online"})


@contextlib.contextmanager
def stand_ins(time_scale: float = 1.0) -> Iterator[dict[str, Any]]:
    made: dict[str, Any] = {
        "octopus": octopus_server.OctopusServer(
            caps={"import": PLENTY, "dossiers": PLENTY, "connect": PLENTY}
        ),
        "yuki": yuki_server.YukiServer(calls_per_day=PLENTY),
        "clearfacts": ClearfactsServer(client_id="bench-clearfacts"),
        "exact_online": ExactOnlineServer(
            client_id="bench-exact",
            time_scale=time_scale,
            access_lifetime=EXACT_ACCESS_LIFETIME,
        ),
    }
    runners = {slug: Threaded(server) for slug, server in made.items()}
    try:
        yield {slug: runner.start() for slug, runner in runners.items()}
    finally:
        for runner in runners.values():
            runner.stop()


def settings(servers: dict[str, Any]) -> dict[str, str]:
    return {k: v for server in servers.values() for k, v in server.settings().items()}


def install(app: App, partner_id: int, slug: str) -> tuple[Installation, list[dict[str, str]]]:
    """The installation (signed in where it signs in), and the values of the integrations
    its clients get (Exact: one client per company)."""
    values: dict[str, str] = {}
    clients: list[dict[str, str]]
    if slug == "octopus":
        values = {"user": octopus_server.USER, "password": octopus_server.PASSWORD}
        values["per_day"] = str(PLENTY)
        clients = [{"dossier": "101"}]
    elif slug == "yuki":
        values = {"access_key": yuki_server.ACCESS_KEY, "calls_per_day": str(PLENTY)}
        clients = [{"administration": next(iter(yuki_server.ADMINISTRATIONS))}]
    elif slug == "clearfacts":
        clients = [{"vat_number": CLEARFACTS_VAT}]
    else:
        clients = [{"company_code": str(code)} for code in EXACT_COMPANIES]
    installation = installations.install(app, partner_id, slug, slug, values)
    if slug in ("clearfacts", "exact_online"):
        clouds.sign_in(app, partner_id, installation.id)
    return installation, clients


def fault(servers: dict[str, Any], rng: random.Random) -> str:
    """One fault at one package: its tokens or sessions die early (one new sign-in or
    refresh per worker), or its next calls answer 5xx or 429 (with Retry-After; Exact
    with its rate-limit reset header). Exact's access tokens are not killed early: a
    401 counts towards its lock-out, and its tokens rotate on their own every 30 s.
    Not at a package whose last faulty answers have not all been given (clouds.fault)."""
    slug = rng.choice(sorted(servers))
    server = servers[slug]
    if server.faults.pending():  # skipped, not moved: a busy target would get them all
        return f"{slug}: none (the last ones not used yet)"
    roll = rng.random()
    if roll < 0.4 and slug != "exact_online":
        expire = {"octopus": "expire_tokens", "yuki": "expire_sessions"}
        getattr(server, expire.get(slug, "expire_access_tokens"))()
        return f"{slug}: tokens expired"
    status = 429 if roll > 0.7 else rng.choice((500, 503))
    n = rng.randint(1, 5)
    if slug == "exact_online":
        server.fail_next(status, n)
    elif slug == "clearfacts":
        server.fail_next(status, n, retry_after=1 if status == 429 else None)
    else:
        server.faults.add(status, n, 1 if status == 429 else None, "sandbox fault")
    return f"{slug}: {status}"


def copies(server: Any) -> Counter[int]:
    """How many copies the stand-in holds of each document: files whose names end in
    `_d<id>.`; Exact: documents whose subject names passeur's document, and files
    attached to one document more than once."""
    found: Counter[int] = Counter()
    if isinstance(server, ExactOnlineServer):
        for division in EXACT_COMPANIES:
            for document in server.documents_in(division):
                named = _SUBJECT.search(document.subject)
                if named:
                    found[int(named.group(1))] += max(1, len(document.attachments))
        return found
    for item in server.stored():
        name = item[0] if isinstance(item, tuple) else item.file_name
        named = _DOCUMENT.search(name)
        if named:
            found[int(named.group(1))] += 1
    return found


def holds(server: Any, receipt: dict[str, Any], sha256: str) -> bool:
    """Whether the stand-in holds the document where the receipt says, byte for byte."""
    if isinstance(server, ClearfactsServer | ExactOnlineServer):
        content = server.delivered(receipt)
        return content is not None and hashlib.sha256(content).hexdigest() == sha256
    key = "import_id" if "import_id" in receipt else "document_id"
    found = [i.data for i in server.stored() if i.id == receipt.get(key)]
    return len(found) == 1 and hashlib.sha256(found[0]).hexdigest() == sha256


def exact_limits(server: ExactOnlineServer) -> dict[str, int]:
    """What Exact's stand-in counted against passeur: calls over a limit (429s it had
    to give), lock-outs, failing calls, and the calls it accepted."""
    return {
        "violations": server.violations,
        "lockouts": server.lockouts,
        "failing_calls": server.failing_calls,
        "calls": sum(len(t) for t in server.call_times.values()),
        "token_refreshes": server.refreshes,
    }
