"""docs/api.md's curl walkthrough and its httpx example, run as they are printed, against a
live server: the page cannot drift from what the API does."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import ClientStatus
from passeur.services import api_clients, clients, documents, feeds, partners
from passeur.storage.db import reading
from passeur.storage.tables import documents as documents_table
from passeur.web.app import create
from tests.browser.harness import serve
from tests.factories import SAMPLE_INVOICE, upload_invoice
from tests.integration.test_feeds import states

OTHER_INVOICE = "ubl/odoo-BEG-testcase01_minimal_invoice.xml"
THIRD_INVOICE = "ubl/peppol-vat-category-E.xml"

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "api.md").read_text()


def blocks(language: str) -> list[str]:
    found = re.findall(rf"```{language}\n(.*?)```", PAGE, re.S)
    assert found, f"docs/api.md has its {language} blocks"
    return found


def block(language: str) -> str:
    return blocks(language)[0]


def test_the_curl_walkthrough_and_the_httpx_example_run_as_printed(
    sqlite_app: App, shared_data: Path, tmp_path: Path
) -> None:
    app = sqlite_app
    firm = partners.create_partner(app, "Firm")
    clients.create_client(app, firm.id, "Bakkerij Peeters", status=ClientStatus.ACTIVE)
    made, secret = api_clients.create(app, firm.id, "Our ERP sync", "all")
    (tmp_path / "invoice.xml").write_bytes((shared_data / SAMPLE_INVOICE).read_bytes())
    second = (shared_data / OTHER_INVOICE).read_bytes()
    (tmp_path / "invoice-2.xml").write_bytes(second)
    # httpx2 is the project's httpx (stack.md pitfall 1): the example's `import httpx` gets it.
    (tmp_path / "shim").mkdir()
    (tmp_path / "shim" / "httpx.py").write_text("from httpx2 import *  # noqa: F403\n")
    with serve(create(app)) as base:
        env = {**os.environ, "PASSEUR": base, "CLIENT_ID": made.client_key, "CLIENT_SECRET": secret}
        shell = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block("sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert shell.returncode == 0, shell.stdout + shell.stderr
        assert '"name":"Bakkerij Peeters"' in shell.stdout
        assert '{"set":true}' in shell.stdout and "s3cret" not in shell.stdout
        assert '"lifecycle":"approved"' in shell.stdout
        assert re.search(
            r'"state":"pending","filename":"invoice.xml","installation_name":"Our SFTP"',
            shell.stdout,
        )
        python = subprocess.run(
            [sys.executable, "-c", block("python")],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(tmp_path / "shim")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert python.returncode == 0, python.stderr
        assert "404 /api/v1/problems/not-found client 999999 does not exist" in python.stdout

        # The feed (steps 6-9): the approved document was pulled, its file matched, the
        # acknowledgement made it delivered, and the next pull was empty.
        assert "received.xml: OK" in shell.stdout
        assert (tmp_path / "received.xml").read_bytes() == second
        assert '"state":"delivered"' in shell.stdout
        assert shell.stdout.rstrip().endswith('{"items":0}')
        found = re.search(r"^feed: (\d+)$", shell.stdout, re.M)
        assert found
        feed = int(found.group(1))
        # Two more items for the Python reader: the first document sent to the feed too,
        # and a new one approved.
        with reading(app.engine) as conn:
            query = select(documents_table).where(documents_table.c.filename == "invoice.xml")
            first = conn.execute(query).one()
        documents.resend(app, firm.id, first.id, [feed])
        third = _approved(app, firm.id, first.client_id, shared_data / THIRD_INVOICE)
        reader = subprocess.run(
            [sys.executable, "-c", blocks("python")[1]],
            cwd=tmp_path,
            env={**env, "FEED": str(feed), "PYTHONPATH": str(tmp_path / "shim")},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert reader.returncode == 0, reader.stderr
        assert "received 2 documents" in reader.stdout
    for doc_id, expected in ((first.id, (shared_data / SAMPLE_INVOICE)), (third, None)):
        kept = list((tmp_path / "inbox" / str(doc_id)).iterdir())
        assert kept, doc_id
        if expected is not None:
            assert kept[0].read_bytes() == expected.read_bytes()
    assert feeds.pull(app, firm.id, feed).items == [], "acknowledged items never come back"
    assert states(app, feed) == ["delivered"] * 3


def _approved(app: App, partner_id: int, client_id: int, path: Path) -> int:
    made = upload_invoice(app, partner_id, client_id, path, DocumentKind.PURCHASE_INVOICE)
    return documents.approve(app, partner_id, made.id).id
