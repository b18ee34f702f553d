"""What an operator meets on a second try: the same file again, a client created twice,
several documents re-sent at once, and who is assigned to what."""

from __future__ import annotations

from pathlib import Path

from passeur.storage.secret_box import new_key
from tests.acceptance.terminal import clean_environment, passeur


def test_duplicates_ask_for_force_and_nothing_is_created_without_it(
    tmp_path: Path, shared_data: Path
) -> None:
    env = clean_environment(PASSEUR_SECRET_KEYS=new_key())

    def ok(*args: str) -> str:
        ran = passeur(*args, cwd=tmp_path, env=env)
        assert ran.code == 0, (args, ran.err)
        return ran.out

    ok("partners", "create", "Firm")
    ok("clients", "create", "Bakkerij Peeters", "--uen", "0403.170.701")
    twice = passeur("clients", "create", "Peeters", "--uen", "0403170701", cwd=tmp_path, env=env)
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
    again = passeur(
        "documents", "upload", "1", "invoice.xml", "--kind", "purchase_invoice",
        cwd=tmp_path, env=env,
    )  # fmt: skip
    assert again.code == 2 and again.error_lines == [
        "error: invoice.xml is already document 1 of client Bakkerij Peeters (the same file): "
        "nothing stored; add --force to do it anyway"
    ]
    assert ok("documents", "list").count("invoice.xml") == 1
    ok("documents", "upload", "1", "invoice.xml", "--kind", "purchase_invoice", "--force")
    assert ok("documents", "list").count("invoice.xml") == 2
    ok("documents", "upload", "2", "invoice.xml", "--kind", "purchase_invoice")  # another client


def test_resend_takes_several_documents_and_users_list_shows_assignments(
    tmp_path: Path, shared_data: Path
) -> None:
    env = clean_environment(PASSEUR_SECRET_KEYS=new_key())

    def ok(*args: str) -> str:
        ran = passeur(*args, cwd=tmp_path, env=env)
        assert ran.code == 0, (args, ran.err)
        return ran.out

    ok("partners", "create", "Firm")
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
