"""Several machines (issue 18, item 2; the setup of docs/deployment.md): two `passeur
serve` and three `passeur worker` processes, each with a data folder of its own, against
one PostgreSQL database and one S3 bucket, with the same secret key. Documents uploaded
through either web process (over HTTP, signed in once) are delivered exactly once each,
and by more than one worker."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import select

from passeur.bootstrap import App, build
from passeur.domain.partners import Role
from passeur.formats.corpus import make_padded_pdf
from passeur.sandbox.http_receiver import HttpReceiver, ThreadedHttpReceiver
from passeur.sandbox.s3_server import S3Sandbox
from passeur.services import installations, integrations, partners, sessions
from passeur.storage.db import reading
from passeur.storage.tables import attempts
from tests.conftest import make_settings, s3_settings
from tests.factories import firm
from tests.integration.processes import (
    Machines,
    machine_env,
    spawn_web,
    spawn_worker,
    wait_listening,
)

pytestmark = pytest.mark.slow

SECRET = "whsec_" + "bWFjaGluZXMtYXJlLW1hbnktYnV0LXRoZS1rZXktaXMtb25l"
PASSWORD = "correct horse battery staple"
DOCUMENTS = 24  # twelve through each web process
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    # Slow enough (0.15 s a request) that a single worker could not keep up alone.
    runner = ThreadedHttpReceiver(HttpReceiver(SECRET))
    server = runner.start()
    server.faults.delay = 0.15
    yield server
    runner.stop()


@pytest.fixture
def setup(tmp_path: Path, postgres_url: str, s3: S3Sandbox) -> Iterator[App]:
    """The installation's settings (PostgreSQL, a new bucket, one key), as the operator's
    `passeur` commands on the first machine would leave them."""
    settings = make_settings(
        tmp_path / "operator", postgres_url, allowed_networks="127.0.0.0/8", **s3_settings(s3)
    )
    app = build(settings)
    yield app
    app.close()


def test_two_web_processes_and_three_workers_deliver_each_upload_once(
    setup: App, receiver: HttpReceiver, tmp_path: Path
) -> None:
    app = setup
    f = firm(app, n_clients=1)
    client_id = f.clients[0].id
    values = {"base_url": receiver.url, "allow_plain_http": "yes", "signing_secret": SECRET,
              "payload": "raw"}  # fmt: skip
    inst = installations.install(app, f.partner_id, "http", "ERP", values)
    integrations.add(app, f.partner_id, client_id, inst.id, {})
    partners.add_user(app, f.partner_id, "biz@client.be", "biz", {Role.BUSINESS},
                      client_id=client_id)  # fmt: skip
    sessions.set_password(app, "biz@client.be", PASSWORD)

    with Machines() as machines:
        webs = [machines.add(spawn_web(machine_env(app, tmp_path / f"web{n}"))) for n in (1, 2)]
        workers = [
            machines.add(spawn_worker(machine_env(app, tmp_path / f"worker{n}",
                                                  PASSEUR_WORKER_BATCH="1"), "--concurrency", "1"))
            for n in (1, 2, 3)
        ]  # fmt: skip
        urls = [machines.web_url(web) for web in webs]
        for url in urls:
            machines.wait_ready(url)
        wait_listening(app.settings.database_url, len(workers), machines)

        payloads = [make_padded_pdf(20 * 1024, seed=n) for n in range(DOCUMENTS)]
        with httpx.Client(timeout=30) as browser:
            sign_in(browser, urls[0])  # one session, good on both (it lives in the database)
            ids = [upload_and_approve(browser, urls[n % 2], f"inv{n}.pdf", data)
                   for n, data in enumerate(payloads)]  # fmt: skip
        assert len(set(ids)) == DOCUMENTS

        machines.poll(lambda: len(receiver.accepted) >= DOCUMENTS, "every document delivered")
        outputs = machines.stop(workers)

    # Once each: one accepted request per document, with its own file, and no repeats.
    posts = Counter(seen.webhook_id for seen in receiver.seen if seen.method == "POST")
    assert len(posts) == DOCUMENTS and set(posts.values()) == {1}, posts
    assert receiver.duplicates == 0
    got = {r.headers["x-passeur-document-id"]: r.sha256 for r in receiver.accepted.values()}
    assert sorted(got) == sorted(str(i) for i in ids)
    assert sorted(got.values()) == sorted(hashlib.sha256(p).hexdigest() for p in payloads)
    # By more than one machine's worker: the ledger's tries and the workers' own words.
    with reading(app.engine) as conn:
        tries = conn.execute(select(attempts.c.export_id, attempts.c.worker)).all()
    assert len(tries) == DOCUMENTS and len({t.export_id for t in tries}) == DOCUMENTS
    assert len({t.worker for t in tries}) >= 2, Counter(t.worker for t in tries)
    said = [int(m.group(1)) for out in outputs if (m := re.search(r": (\d+) delivered", out))]
    assert len(said) == 3 and sum(said) == DOCUMENTS and sum(n > 0 for n in said) >= 2, outputs


def sign_in(browser: httpx.Client, url: str) -> None:
    page = browser.get(f"{url}/signin")
    form = {"csrf_token": csrf(page.text), "email": "biz@client.be", "password": PASSWORD,
            "next": "/business"}  # fmt: skip
    signed = browser.post(f"{url}/signin", data=form)
    assert signed.status_code == 303, signed.text[:300]


def upload_and_approve(browser: httpx.Client, url: str, name: str, data: bytes) -> int:
    """Through the business space, as the client's own person does: upload, then approve."""
    token = csrf(browser.get(f"{url}/business").text)
    added = browser.post(
        f"{url}/business/documents",
        data={"csrf_token": token, "kind": "purchase_invoice"},
        files={"file": (name, data, "application/pdf")},
    )
    assert added.status_code == 303, added.text[:500]
    document_id = int(added.headers["location"].rsplit("added=", 1)[1])
    approved = browser.post(
        f"{url}/business/documents/{document_id}/approve", data={"csrf_token": token}
    )
    assert approved.status_code == 303, approved.text[:500]
    return document_id


def csrf(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "no CSRF token on the page"
    return found.group(1)
