"""Small builders for a partner, clients, an SFTP installation and documents."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from passeur.bootstrap import App
from passeur.domain.access import Actor
from passeur.domain.documents import Document, DocumentKind
from passeur.domain.partners import Access, Client, ClientStatus, Role
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.services import (
    actors,
    clients,
    documents,
    installations,
    intake,
    integrations,
    partners,
)

PASSWORD = "s3cret-sandbox-pass"
USER = "firm"


@dataclass
class Firm:
    partner_id: int
    clients: list[Client]


def firm(app: App, n_clients: int = 2, name: str = "Firm") -> Firm:
    partner = partners.create_partner(app, name)
    numbers = ["0403170701", "0202239951", "0417497106", "0200065765"]
    made = [
        clients.create_client(
            app,
            partner.id,
            f"Client {i}",
            uen_number=numbers[i % len(numbers)],
            external_ref=f"C{i:03d}",
            status=ClientStatus.ACTIVE,
        )
        for i in range(n_clients)
    ]
    return Firm(partner.id, made)


def sftp_installation(app: App, partner_id: int, sandbox: SftpSandbox, **extra: str) -> int:
    values = {
        "host": "127.0.0.1",
        "port": str(sandbox.port),
        "username": USER,
        "password": PASSWORD,
        "host_key": sandbox.public_host_key,
        **extra,
    }
    return installations.install(app, partner_id, "sftp", "SFTP", values).id


def add_integration(app: App, partner_id: int, client_id: int, installation_id: int) -> int:
    return integrations.add(app, partner_id, client_id, installation_id, {}).id


def upload_invoice(
    app: App, partner_id: int, client_id: int, path: Path, kind: DocumentKind
) -> Document:
    return intake.upload(app, partner_id, client_id, path.name, path.read_bytes(), kind=kind)


def person(
    app: App,
    partner_id: int,
    email: str,
    *roles: Role,
    client_id: int | None = None,
    assign: dict[int, Access] | None = None,
) -> Actor:
    """A user of the partner (or, with a client, a business user), assigned to clients,
    as the actor a request of theirs would carry."""
    user = partners.add_user(app, partner_id, email, "", set(roles), client_id=client_id)
    for client, access in (assign or {}).items():
        partners.assign(app, partner_id, user.id, client, access)
    return actors.for_user(app, user.id)


SAMPLE_INVOICE = "ubl/peppol-base-example.xml"


def sample_invoice(app: App, f: Firm, shared_data: Path, *, client: int = 0) -> Document:
    """The public sample invoice, uploaded as a purchase invoice of one client (not approved)."""
    return upload_invoice(
        app,
        f.partner_id,
        f.clients[client].id,
        shared_data / SAMPLE_INVOICE,
        DocumentKind.PURCHASE_INVOICE,
    )


def approve_invoices(
    app: App, f: Firm, shared_data: Path, n: int = 1, *, client: int = 0
) -> list[int]:
    """n purchase invoices of one client (the same public sample), uploaded and approved."""
    ids = []
    for _ in range(n):
        doc = sample_invoice(app, f, shared_data, client=client)
        ids.append(documents.approve(app, f.partner_id, doc.id).id)
    return ids
