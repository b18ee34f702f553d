"""The whole flow from a terminal, as an accountant's operator would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from passeur.sandbox.sftp_server import SftpSandbox, ThreadedSftpSandbox
from passeur.storage.secret_box import new_key

# Many passeur processes one after the other: slow on a loaded machine, never stuck.
pytestmark = pytest.mark.timeout(600)

USER, PASSWORD = "firm", "cli-sandbox-password"


@pytest.fixture
def sftp(tmp_path: Path) -> Iterator[SftpSandbox]:
    runner = ThreadedSftpSandbox(SftpSandbox(tmp_path / "sftp", passwords={USER: PASSWORD}))
    yield runner.start()
    runner.stop()


@pytest.fixture
def passeur(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "PASSEUR_DATA_DIR": str(tmp_path / "data"),
        "PASSEUR_DATABASE_URL": "",
        "PASSEUR_SECRET_KEYS": new_key(),
        "PASSEUR_RETRY_SCHEDULE": "0,1s",
        "PASSEUR_POLL_SECONDS": "0.1",
    }

    def run(*args: str, stdin: str = "", code: int = 0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "passeur", *args],
            input=stdin,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == code, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    run.env = env  # type: ignore[attr-defined]  (for a process a test starts beside)
    return run


def test_the_whole_flow_from_the_command_line(
    passeur,
    sftp: SftpSandbox,
    shared_data: Path,  # type: ignore[no-untyped-def]
) -> None:
    assert "database at revision" in passeur("db", "upgrade")
    assert "sftp" in passeur("extensions", "list")
    described = passeur("extensions", "describe", "sftp")
    assert "Installation fields" in described and "secret, write-only" in described
    schema = json.loads(passeur("extensions", "describe", "sftp", "--json"))
    assert [f["name"] for f in schema["install_fields"]][:3] == ["host", "port", "username"]

    assert passeur("partners", "create", "Firm").startswith("partner 1")
    passeur(
        "clients",
        "create",
        "Bakkerij Janssens",
        "--uen",
        "0403.170.701",
        "--external-ref",
        "C001",
        "--status",
        "active",
    )
    passeur(
        "installations",
        "create",
        "sftp",
        "--name",
        "Office server",
        "--set",
        "host=127.0.0.1",
        "--set",
        f"port={sftp.port}",
        "--set",
        f"username={USER}",
        "--set",
        "password=-",
        stdin=PASSWORD,
    )
    shown = passeur("installations", "show", "1")
    assert PASSWORD not in shown and '"password"' in shown  # listed as set, never its value

    unpinned = passeur("installations", "check", "1", code=1)
    assert sftp.fingerprint in unpinned
    wrong = "SHA256:" + "A" * 43
    assert "nothing was pinned" in passeur("installations", "check", "1", "--trust", wrong, code=2)
    pinned = passeur("installations", "check", "1", "--trust", sftp.fingerprint)
    assert f"host key {sftp.fingerprint} pinned" in pinned and "matches" not in pinned
    again = passeur("installations", "check", "1", "--trust", sftp.fingerprint)
    assert "matches the pinned one" in again

    passeur("integrations", "add", "1", "1")
    invoice = shared_data / "ubl/peppol-base-example.xml"
    assert "client_action_needed" in passeur(
        "documents", "upload", "1", str(invoice), "--kind", "purchase_invoice"
    )
    assert "queued" in passeur("documents", "approve", "1")
    assert "pending" in passeur("exports", "list")
    drained = passeur("worker", "--drain")
    assert "1 delivered" in drained and "no export waiting" in drained
    [export] = json.loads(passeur("exports", "list", "--json"))
    assert export["state"] == "delivered"
    landed = sftp.root / USER / export["receipt"]["location"]
    assert landed.read_bytes() == invoice.read_bytes()
    assert "ready_to_process" in passeur("documents", "list")

    # A failing target, then a fix and a retry by hand.
    passeur("installations", "update", "1", "--set", "port=1")
    passeur(
        "documents",
        "upload",
        "1",
        str(shared_data / "ubl/peppol-vat-category-Z.xml"),
        "--kind",
        "purchase_invoice",
    )
    passeur("documents", "approve", "2")
    passeur("worker", "--drain")
    [failed, _] = json.loads(passeur("exports", "list", "--json"))
    assert failed["state"] in ("retrying", "failed") and "cannot reach" in failed["last_error"]
    passeur("installations", "update", "1", "--set", f"port={sftp.port}")
    assert "pending" in passeur("exports", "retry", str(failed["id"]))
    passeur("worker", "--drain")
    shown = passeur("exports", "show", str(failed["id"]))
    assert "delivered to" in shown and "try 1" in shown

    refused = passeur("exports", "retry", str(failed["id"]), code=2)
    assert "only failed" in refused


def test_bad_input_is_a_clear_error_and_changes_nothing(passeur) -> None:  # type: ignore[no-untyped-def]
    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    assert "not a valid" in passeur("clients", "create", "X", "--uen", "0403170702", code=2)
    assert "must stay in its root" in passeur(
        "installations",
        "create",
        "sftp",
        "--set",
        "host=h",
        "--set",
        "username=u",
        "--set",
        "password=p",
        "--set",
        "upload_path=/a/../..",
        code=2,
    )
    assert "at most 255 per name" in passeur(
        "installations", "create", "sftp", "--set", "host=h", "--set", "username=u",
        "--set", "password=p",
        "--set", "upload_path=/in/[client_name]_[external_id]_[document_number]",
        code=2,
    )  # fmt: skip
    assert "may not contain control characters" in passeur(
        "clients", "create", "Evil\x1b[2J", code=2
    )
    assert "no extension" in passeur("installations", "create", "ftp", code=2)
    listed = passeur("installations", "list")
    assert listed.strip().count("\n") == 0  # only the header line
    assert passeur("clients", "list").strip().count("\n") == 0


def test_inspect_shows_what_intake_would_decide_and_stores_nothing(
    passeur,
    shared_data: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    good = shared_data / "ubl/peppol-base-example.xml"
    bad = shared_data / "coda/pycoda-Coda_faulty_version.INVALID.txt"
    text = passeur("documents", "inspect", str(good))
    assert "number: Snippet1" in text and "total: 1656.25 EUR" in text
    shown = passeur("documents", "inspect", "--json", str(good), str(bad), code=1).splitlines()
    assert shown[-1] == "error: 1 of 2 file(s) would be refused"  # stderr comes last here
    first, second = (json.loads(line) for line in shown[:-1])
    assert first["type"] == "ubl" and first["number"] == "Snippet1" and first["errors"] == []
    assert first["total"] == "1656.25" and first["supplier"]["vat"] == "GB1232434"
    assert second["type"] is None and "version" in second["errors"][0].lower()
    assert not (tmp_path / "data" / "passeur.db").exists(), "inspect stores nothing"


def test_users_business_users_and_their_clients(passeur) -> None:  # type: ignore[no-untyped-def]
    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    passeur("clients", "create", "Bakkerij Janssens", "--status", "active")
    assert "belongs to one client" in passeur(
        "users", "add", "a@b.be", "--role", "business", code=2
    )
    added = passeur("users", "add", "anna@bakkerij.be", "--role", "business", "--client", "1")
    assert added.strip() == "user 1 anna@bakkerij.be (business user of client 1)"
    passeur("users", "add", "ada@firm.be", "--role", "accountant")
    assert "already exists" in passeur(
        "users", "add", "ADA@firm.be", "--role", "administrator", code=2
    )
    assert "is a business user" in passeur("users", "assign", "1", "1", code=2)
    assert "can view client 1" in passeur("users", "assign", "2", "1", "--access", "view")
    listed = passeur("users", "list")
    assert "business user of client 1" in listed and "ada@firm.be" in listed
    assert "no longer sees client 1" in passeur("users", "unassign", "2", "1")
    assert "is not assigned to client 1" in passeur("users", "unassign", "2", "1", code=2)


def test_a_bad_setting_is_one_clear_line(passeur, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-m", "passeur", "partners", "list"],
        env={
            **os.environ,
            "PASSEUR_DATA_DIR": str(tmp_path / "data"),
            "PASSEUR_LEASE_SECONDS": "-1",
            "PASSEUR_RETRY_SCHEDULE": "0,soon",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "error: PASSEUR_LEASE_SECONDS: Input should be greater than 0",
        "error: PASSEUR_RETRY_SCHEDULE: Value error, retry delay 'soon' is not a duration "
        "(e.g. 0, 5s, 5m, 2h, 1d)",
    ]
    assert not (tmp_path / "data" / "passeur.db").exists()
