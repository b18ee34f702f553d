"""`passeur integrations backfill` from a terminal: a dry run, then a run a worker
delivers, with its progress; nothing doubled."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from passeur.sandbox.sftp_server import SftpSandbox
from tests.acceptance.test_cli_flow import PASSWORD, USER, passeur, sftp  # noqa: F401

# Many passeur processes one after the other: slow on a loaded machine, never stuck.
pytestmark = pytest.mark.timeout(600)


def test_backfill_from_the_command_line(  # type: ignore[no-untyped-def]
    passeur,  # noqa: F811
    sftp: SftpSandbox,  # noqa: F811
    shared_data: Path,
    tmp_path: Path,
) -> None:
    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    passeur("clients", "create", "Client", "--uen", "0403170701", "--external-ref", "C1")
    passeur("installations", "create", "sftp", "--name", "Office", "--set", "host=127.0.0.1",
            "--set", f"port={sftp.port}", "--set", f"username={USER}", "--set",
            f"password={PASSWORD}", "--set", f"host_key={sftp.public_host_key}")  # fmt: skip
    for name in ("peppol-base-example.xml", "peppol-vat-category-Z.xml"):
        passeur("documents", "upload", "1", str(shared_data / "ubl" / name),
                "--kind", "purchase_invoice")  # fmt: skip
    passeur("documents", "approve", "1")
    passeur("documents", "approve", "2")
    passeur("integrations", "add", "1", "1")  # after the approvals: no export
    days = ("--since", "2026-01-01", "--until", "2099-12-31")
    assert "a backfill covers at most a year" in passeur(
        "integrations", "backfill", "1", *days, code=2
    )
    days = ("--since", "2026-01-01", "--until", "2026-12-31")
    dry = passeur("integrations", "backfill", "1", *days, "--dry-run")
    assert "dry run: 2 documents would be sent; nothing saved" in dry
    assert json.loads(passeur("exports", "list", "--json")) == []

    env = passeur.env
    worker = subprocess.Popen([sys.executable, "-m", "passeur", "worker"], env=env)
    try:
        done = passeur("integrations", "backfill", "1", *days)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert "backfill 1: 2 documents" in done and "backfill 1: 2 delivered, 0 failed" in done
    assert [e["state"] for e in json.loads(passeur("exports", "list", "--json"))] == [
        "delivered"
    ] * 2
    again = passeur("integrations", "backfill", "1", *days, "--dry-run")
    assert "dry run: 0 documents" in again


def test_resending_several_documents_is_one_transaction(  # type: ignore[no-untyped-def]
    passeur,  # noqa: F811
    shared_data: Path,
) -> None:
    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    passeur("clients", "create", "Client", "--uen", "0403170701", "--external-ref", "C1")
    passeur("installations", "create", "sftp", "--name", "Office", "--set", "host=127.0.0.1",
            "--set", "port=1", "--set", "username=u", "--set", "password=p")  # fmt: skip
    passeur("integrations", "add", "1", "1")
    for name in ("peppol-base-example.xml", "peppol-vat-category-Z.xml"):
        passeur("documents", "upload", "1", str(shared_data / "ubl" / name),
                "--kind", "purchase_invoice")  # fmt: skip
    passeur("documents", "approve", "1")
    before = passeur("exports", "list", "--json")
    assert "has not been released" in passeur("documents", "resend", "1", "2", code=2)
    assert passeur("exports", "list", "--json") == before  # all or none
    passeur("documents", "approve", "2")
    said = passeur("documents", "resend", "1", "2")
    assert "document 1: 1 export(s) queued" in said and "document 2: 1 export(s) queued" in said
