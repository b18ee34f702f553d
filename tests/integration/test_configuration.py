"""Bad configuration is refused with a clear error and leaves nothing half-saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from passeur.bootstrap import App
from passeur.domain.errors import Conflict, InvalidInput, NotFound
from passeur.domain.partners import Role
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import clients, installations, intake, integrations, partners
from passeur.storage.db import reading
from passeur.storage.tables import documents as documents_table
from passeur.storage.tables import installations as installations_table
from passeur.storage.tables import integrations as integrations_table
from tests.factories import PASSWORD, add_integration, firm, sftp_installation


def rows(app: App, table) -> int:  # type: ignore[no-untyped-def]
    with reading(app.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize(
    "values, message",
    [
        ({"upload_path": "/in/../../etc"}, "must stay in its root"),
        ({"upload_path": "/in//etc/passwd"}, "absolute jump"),
        ({"upload_path": "/in/[nope]"}, "unknown variable"),
        ({"root": "/srv/" + "r" * 300}, "is 300 bytes; servers accept at most 255"),
        ({"password": ""}, "Password or Private key"),
        ({"port": "70000"}, "at most 65535"),
        ({"host_key": "garbage"}, "Host key"),
        ({"private_key": "-----BEGIN nothing"}, "Private key"),
    ],
)
def test_an_installation_with_bad_values_is_not_saved(
    app: App, values: dict[str, str], message: str
) -> None:
    f = firm(app, n_clients=0)
    good = {"host": "127.0.0.1", "username": "u", "password": PASSWORD}
    with pytest.raises(InvalidInput, match=message):
        installations.install(app, f.partner_id, "sftp", "x", {**good, **values})
    assert rows(app, installations_table) == 0


def test_a_client_override_that_escapes_its_root_is_refused(app: App, sftp: SftpSandbox) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    client = f.clients[0].id
    for path in ("../outside", "/a/../../b", "~/x", "C:/x", "a//b"):
        with pytest.raises(InvalidInput):
            integrations.add(app, f.partner_id, client, inst, {"upload_path": path})
    with pytest.raises(InvalidInput, match=r"secret|unknown field"):
        integrations.add(app, f.partner_id, client, inst, {"password": "override"})
    assert rows(app, integrations_table) == 0
    integration = add_integration(app, f.partner_id, client, inst)
    with pytest.raises(InvalidInput):
        integrations.update(app, f.partner_id, integration, {"upload_path": "/x/../.."})
    assert integrations.get(app, f.partner_id, integration).config == {}


def test_a_path_the_client_cannot_fill_is_refused_when_saved(app: App, sftp: SftpSandbox) -> None:
    f = firm(app, n_clients=0)
    bare = clients.create_client(app, f.partner_id, "No Ref Ltd")
    inst = sftp_installation(app, f.partner_id, sftp)
    with pytest.raises(InvalidInput, match=r"\[external_id\].*no external reference"):
        integrations.add(app, f.partner_id, bare.id, inst, {})
    assert rows(app, integrations_table) == 0
    integrations.add(app, f.partner_id, bare.id, inst, {"upload_path": "/in/[invoice_type]"})


def test_a_client_has_each_installation_once(app: App, sftp: SftpSandbox) -> None:
    f = firm(app, n_clients=1)
    inst = sftp_installation(app, f.partner_id, sftp)
    add_integration(app, f.partner_id, f.clients[0].id, inst)
    with pytest.raises(Conflict, match="already added"):
        add_integration(app, f.partner_id, f.clients[0].id, inst)
    assert rows(app, integrations_table) == 1


def test_secrets_are_sealed_at_rest_and_never_returned(app: App, sftp: SftpSandbox) -> None:
    f = firm(app, n_clients=0)
    inst_id = sftp_installation(app, f.partner_id, sftp)
    with reading(app.engine) as conn:
        row = conn.execute(select(installations_table)).one()
    assert PASSWORD not in row.secrets and PASSWORD not in str(row.config)
    assert row.secrets.startswith("v1.")
    inst = installations.get(app, f.partner_id, inst_id)
    assert inst.secret_fields == {"password"} and "password" not in inst.config
    assert PASSWORD not in repr(inst)


def test_updating_a_secret_keeps_the_others_and_empty_removes_it(
    app: App, sftp: SftpSandbox
) -> None:
    f = firm(app, n_clients=0)
    inst_id = sftp_installation(app, f.partner_id, sftp)
    installations.update(app, f.partner_id, inst_id, {"host": "localhost"})
    assert installations.get(app, f.partner_id, inst_id).secret_fields == {"password"}
    with pytest.raises(InvalidInput, match="Password or Private key"):
        installations.update(app, f.partner_id, inst_id, {"password": ""})
    assert installations.get(app, f.partner_id, inst_id).secret_fields == {"password"}


def test_archiving_a_client_disconnects_its_integrations(app: App, sftp: SftpSandbox) -> None:
    from passeur.domain.extensions import IntegrationStatus
    from passeur.domain.partners import ClientStatus

    f = firm(app, n_clients=1)
    add_integration(app, f.partner_id, f.clients[0].id, sftp_installation(app, f.partner_id, sftp))
    clients.change_status(app, f.partner_id, f.clients[0].id, ClientStatus.ARCHIVED)
    [integration] = integrations.list_integrations(app, f.partner_id)
    assert integration.status is IntegrationStatus.DISCONNECTED
    with pytest.raises(Conflict, match="cannot become active"):
        clients.change_status(app, f.partner_id, f.clients[0].id, ClientStatus.ACTIVE)


def test_tenants_are_walled(app: App, sftp: SftpSandbox, shared_data: Path) -> None:
    from passeur.domain.documents import DocumentKind
    from passeur.services import documents, exports, intake

    a = firm(app, n_clients=1, name="Firm A")
    b = firm(app, n_clients=1, name="Firm B")
    inst = sftp_installation(app, a.partner_id, sftp)
    add_integration(app, a.partner_id, a.clients[0].id, inst)
    source = shared_data / "ubl/peppol-base-example.xml"
    doc = intake.upload(
        app,
        a.partner_id,
        a.clients[0].id,
        source.name,
        source.read_bytes(),
        kind=DocumentKind.PURCHASE_INVOICE,
    )
    documents.approve(app, a.partner_id, doc.id)
    [row] = exports.list_exports(app, a.partner_id)
    with pytest.raises(NotFound):
        clients.get_client(app, b.partner_id, a.clients[0].id)
    with pytest.raises(NotFound):
        documents.get(app, b.partner_id, doc.id)
    with pytest.raises(NotFound):
        installations.get(app, b.partner_id, inst)
    with pytest.raises(NotFound):
        exports.get(app, b.partner_id, row["export"].id)
    with pytest.raises(NotFound):
        exports.retry(app, b.partner_id, row["export"].id)
    with pytest.raises(NotFound):
        integrations.add(app, b.partner_id, b.clients[0].id, inst, {})
    with pytest.raises(NotFound):
        intake.upload(
            app,
            b.partner_id,
            a.clients[0].id,
            "x.xml",
            source.read_bytes(),
            kind=DocumentKind.PURCHASE_INVOICE,
        )
    assert exports.list_exports(app, b.partner_id) == []


TOO_LONG_A_NAME = "/in/[client_name]_[external_id]_[document_number]"  # can reach 282 bytes


def test_an_upload_path_with_names_servers_refuse_is_not_saved(app: App, sftp: SftpSandbox) -> None:
    f = firm(app, n_clients=1)
    good = {"host": "127.0.0.1", "username": "u", "password": PASSWORD}
    with pytest.raises(InvalidInput, match="can render to 282 bytes") as caught:
        installations.install(
            app, f.partner_id, "sftp", "x", {**good, "upload_path": TOO_LONG_A_NAME}
        )
    assert caught.value.field == "upload_path"
    http = {"base_url": "https://erp.example.com", "signing_secret": "whsec_" + "A" * 32}
    with pytest.raises(InvalidInput, match="can render to 282 bytes"):
        installations.install(app, f.partner_id, "http", "x", {**http, "path": TOO_LONG_A_NAME})
    assert rows(app, installations_table) == 0
    inst = sftp_installation(app, f.partner_id, sftp)
    with pytest.raises(InvalidInput, match="can render to 282 bytes"):
        installations.update(app, f.partner_id, inst, {"upload_path": TOO_LONG_A_NAME})
    with pytest.raises(InvalidInput, match="can render to 282 bytes"):
        integrations.add(app, f.partner_id, f.clients[0].id, inst, {"upload_path": TOO_LONG_A_NAME})
    assert rows(app, integrations_table) == 0
    assert "upload_path" not in installations.get(app, f.partner_id, inst).config


def test_names_with_control_characters_are_refused_and_nothing_is_stored(
    app: App, sftp: SftpSandbox, tmp_path: Path
) -> None:
    f = firm(app, n_clients=1)
    client = f.clients[0]
    with pytest.raises(InvalidInput, match="client's name may not contain control"):
        clients.create_client(app, f.partner_id, "\x1b[2JBakkerij")
    with pytest.raises(InvalidInput, match="client's name may not contain control"):
        clients.update_client(app, f.partner_id, client.id, "Two\nLines", uen_number="0403170701")
    with pytest.raises(InvalidInput, match="user's name may not contain control"):
        partners.add_user(app, f.partner_id, "a@firm.be", "Ann\x00", {Role.ACCOUNTANT})
    with pytest.raises(InvalidInput, match="installation's name may not contain control"):
        installations.install(
            app, f.partner_id, "sftp", "SFTP\r\nX",
            {"host": "127.0.0.1", "username": "u", "password": PASSWORD},
        )  # fmt: skip
    with pytest.raises(InvalidInput, match="document's file name may not contain control"):
        intake.upload(app, f.partner_id, client.id, "invoice\n.pdf", b"%PDF-1.4\n")
    assert [c.name for c in clients.list_clients(app, f.partner_id)] == [client.name]
    assert partners.list_users(app, f.partner_id) == []
    assert rows(app, installations_table) == 0
    with reading(app.engine) as conn:
        assert conn.execute(select(func.count()).select_from(documents_table)).scalar_one() == 0
    assert not (app.settings.data_dir / "blobs").exists() or not any(
        p.is_file() for p in (app.settings.data_dir / "blobs").rglob("*")
    )
