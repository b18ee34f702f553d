"""`passeur templates` and `passeur clients create --template` from a terminal."""

from __future__ import annotations

import pytest

from tests.acceptance.test_cli_flow import passeur  # noqa: F401  (the fixture)

# Many passeur processes one after the other: slow on a loaded machine, never stuck.
pytestmark = pytest.mark.timeout(600)


def test_templates_from_the_command_line(passeur) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    passeur("users", "add", "ada@firm.be", "--role", "accountant")
    passeur("installations", "create", "sftp", "--name", "Office", "--set", "host=127.0.0.1",
            "--set", "username=u", "--set", "password=p")  # fmt: skip
    assert "template 1 Small firms" in passeur(
        "templates", "create", "Small firms", "--user", "1=edit", "--default"
    )
    passeur("templates", "set-integration", "1", "--installation", "1", "--set",
            "upload_path=/in/[uen_number]")  # fmt: skip
    assert "Small firms (default)" in passeur("templates", "list")

    refused = passeur("clients", "create", "No number Co", code=2)
    assert "uses [uen_number]" in refused
    assert "No number Co" not in passeur("clients", "list")
    passeur("clients", "create", "New Co", "--uen", "0202239951")
    assert "{'upload_path': '/in/[uen_number]'}" in passeur("integrations", "list")

    passeur("clients", "create", "Bare Co", "--uen", "0403170701", "--no-template")
    dry = passeur("templates", "apply", "1", "--client", "2", "--dry-run")
    assert "dry run: 2 to add, nothing saved" in dry
    assert "Bare" not in passeur("integrations", "list", "--client", "2")
    assert "applied: 2 added" in passeur("templates", "apply", "1", "--client", "2")
    assert "--user takes ID=edit" in passeur("templates", "create", "X", "--user", "a", code=2)


def test_bulk_activation_from_the_command_line(passeur, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    passeur("installations", "create", "sftp", "--name", "Office", "--set", "host=127.0.0.1",
            "--set", "username=u", "--set", "password=p")  # fmt: skip
    for ref in ("A1", "A2"):
        passeur("clients", "create", f"Client {ref}", "--external-ref", ref)
    csv_file = tmp_path / "clients.csv"
    csv_file.write_bytes(
        "\ufeffRéférence client (client);Chemin de dépôt (upload_path)\r\n"
        "A1;/in/a1\r\nA2;/in/../x\r\nZZ;/in\r\n".encode()
    )
    dry = passeur("integrations", "import", str(csv_file), "--installation", "1", "--dry-run")
    assert "dry run: 1 add, 1 refused, 1 unknown_client; nothing saved" in dry
    assert "no client has the reference" in dry
    assert "Office" not in passeur("integrations", "list") and "/in/a1" not in passeur(
        "integrations", "list"
    )
    done = passeur("integrations", "import", str(csv_file), "--installation", "1")
    assert "added to 1 clients" in done
    assert "/in/a1" in passeur("integrations", "list")
    bad = tmp_path / "bad.csv"
    bad.write_text("Colour\nred\n")
    assert "unknown column 'Colour'" in passeur(
        "integrations", "import", str(bad), "--installation", "1", code=2
    )


def test_client_import_from_the_command_line(passeur, tmp_path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    passeur("db", "upgrade")
    passeur("partners", "create", "Firm")
    listing = tmp_path / "clients.csv"
    listing.write_text(
        "Legal name;Country;Contact e-mail;Contact first name;Contact last name;Contact locale\n"
        "Bakkerij Peeters;BE;an@peeters.be;An;Peeters;nl-BE\n"
        "Bad;BE;nope;B;M;fr-BE\n"
    )
    dry = passeur("clients", "import", str(listing), "--dry-run")
    assert "dry run: 1 add, 1 refused; nothing saved" in dry and "not an e-mail" in dry
    assert "Peeters" not in passeur("clients", "list")
    assert "1 clients added as drafts" in passeur("clients", "import", str(listing))
    assert "Bakkerij Peeters" in passeur("clients", "list")
