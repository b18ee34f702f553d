"""What an operator meets on a second try: the same file again, a client created twice,
several documents re-sent at once, and who is assigned to what."""

from __future__ import annotations

from pathlib import Path

import pytest

from passeur.storage.secret_box import new_key
from tests.acceptance.terminal import Operator, clean_environment

# Many passeur processes one after the other: slow on a loaded machine, never stuck.
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def me(tmp_path: Path) -> Operator:
    """An operator with one partner, in a folder of their own."""
    operator = Operator(tmp_path, clean_environment(PASSEUR_SECRET_KEYS=new_key()))
    operator.ok("partners", "create", "Firm")
    return operator


def test_duplicates_ask_for_force_and_nothing_is_created_without_it(
    me: Operator, tmp_path: Path, shared_data: Path
) -> None:
    ok = me.ok
    ok("clients", "create", "Bakkerij Peeters", "--uen", "0403.170.701")
    twice = me.run("clients", "create", "Peeters", "--uen", "0403170701")
    assert twice.code == 2 and twice.error_lines == [
        "error: client 1 Bakkerij Peeters already has enterprise number 0403170701: nothing "
        "created; add --force to do it anyway"
    ]
    assert "Peeters  " not in ok("clients", "list").replace("Bakkerij Peeters", "")
    assert "client 2 Peeters" in ok(
        "clients", "create", "Peeters", "--uen", "0403170701", "--force"
    )

    invoice = tmp_path / "invoice.xml"
    invoice.write_bytes((shared_data / "ubl/peppol-base-example.xml").read_bytes())
    ok("documents", "upload", "1", "invoice.xml", "--kind", "purchase_invoice")
    again = me.run("documents", "upload", "1", "invoice.xml", "--kind", "purchase_invoice")
    assert again.code == 2 and again.error_lines == [
        "error: invoice.xml is already document 1 of client Bakkerij Peeters (the same file): "
        "nothing stored; add --force to do it anyway"
    ]
    assert ok("documents", "list").count("invoice.xml") == 1
    ok("documents", "upload", "1", "invoice.xml", "--kind", "purchase_invoice", "--force")
    assert ok("documents", "list").count("invoice.xml") == 2
    ok("documents", "upload", "2", "invoice.xml", "--kind", "purchase_invoice")  # another client


def test_resend_takes_several_documents_and_users_list_shows_assignments(
    me: Operator, tmp_path: Path, shared_data: Path
) -> None:
    ok = me.ok
    for name in ("One", "Two", "Three"):
        ok("clients", "create", name, "--status", "active")
    ok("users", "add", "ada@firm.be", "--role", "accountant")
    ok("users", "add", "anna@one.be", "--role", "business", "--client", "1")
    ok("users", "assign", "1", "1", "--access", "view")
    ok("users", "assign", "1", "3")
    listed = ok("users", "list").splitlines()
    assert listed[0].split() == ["id", "e-mail", "name", "roles", "clients"]
    assert listed[1].split()[:2] == ["1", "ada@firm.be"]
    assert listed[1].endswith("accountant                 1 (view), 3 (edit)")
    assert listed[2].rstrip().endswith("business user of client 1  1 (own)")

    ok("installations", "create", "sftp", "--set", "host=127.0.0.1", "--set", "username=u",
       "--set", "password=p")  # fmt: skip
    ok("integrations", "add", "1", "1", "--set", "upload_path=/in/[invoice_type]")
    for name in ("a.xml", "b.xml"):
        (tmp_path / name).write_bytes((shared_data / "ubl/peppol-base-example.xml").read_bytes())
        ok("documents", "upload", "1", name, "--kind", "purchase_invoice", "--force")
    ok("documents", "approve", "1", "2")  # exports 1 and 2
    assert ok("documents", "resend", "1", "2").splitlines() == [
        "document 1: 1 export(s) queued: 3",
        "document 2: 1 export(s) queued: 4",
    ]
