"""Octopus and Yuki end to end against their stand-ins: installed with the partner's
credentials, an unknown dossier or administration refused when the integration is saved
(nothing saved), a name resolved to its id, an approved UBL invoice delivered by the
worker as e-fff (its UBL with the PDF embedded, which intake reads back), a document whose
totals do not add up held for the package that books (Yuki) and not for the one that
files (Octopus), and a document the target refuses failed with its words, once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from passeur.bootstrap import App, build
from passeur.delivery.worker import Worker
from passeur.domain.documents import DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ErrorClass, ExportState
from passeur.domain.templates import Verdict
from passeur.formats.intake import read_document
from passeur.sandbox import octopus_server, yuki_server
from passeur.sandbox.threaded import Threaded
from passeur.services import (
    clients,
    documents,
    exports,
    installations,
    intake,
    integration_import,
    integrations,
    template_plans,
    templates,
)
from passeur.storage import schema
from tests.conftest import make_settings
from tests.factories import approve_invoices, firm


@dataclass
class Package:
    slug: str
    server: Any
    install: dict[str, str]
    field: str  # the client's field the target must know
    unknown: str
    named: str  # a name the target lists, and the id it is stored as
    stored_as: str
    secret: str
    books: bool  # the package books what it receives: unbalanced totals wait for a person

    def held(self) -> list[bytes]:
        return [item.data for item in self.server.stored()]


def octopus() -> Package:
    server = octopus_server.OctopusServer()
    return Package(
        "octopus", server,
        {"user": octopus_server.USER, "password": octopus_server.PASSWORD},
        "dossier", "999", "Garage Peeters NV", "102", octopus_server.PASSWORD, False,
    )  # fmt: skip


def yuki() -> Package:
    server = yuki_server.YukiServer()
    garage = next(i for i, n in yuki_server.ADMINISTRATIONS.items() if n.startswith("Garage"))
    return Package(
        "yuki", server, {"access_key": yuki_server.ACCESS_KEY},
        "administration", "Bakkerij Peeters", "Garage Peeters NV", garage,
        yuki_server.ACCESS_KEY, True,
    )  # fmt: skip


@pytest.fixture(params=["octopus", "yuki"])
def package(request: pytest.FixtureRequest) -> Iterator[Package]:
    made = {"octopus": octopus, "yuki": yuki}[request.param]()
    threaded = Threaded(made.server)
    threaded.start()
    yield made
    threaded.stop()


@pytest.fixture
def package_app(tmp_path: Path, package: Package) -> Iterator[App]:
    url = f"sqlite:///{tmp_path / 'passeur.db'}"
    settings = make_settings(
        tmp_path / "data", url, allowed_networks="127.0.0.0/8", **package.server.settings()
    )
    built = build(settings)
    schema.upgrade(built.engine)
    yield built
    built.close()


async def test_vetted_when_saved_then_delivered_then_a_refusal_fails_once(
    package_app: App, package: Package, shared_data: Path
) -> None:
    app, f = package_app, firm(package_app, n_clients=1)
    client_id = f.clients[0].id
    inst = installations.install(app, f.partner_id, package.slug, package.slug, package.install)

    with pytest.raises(InvalidInput, match=f"no {package.field} '{package.unknown}'") as caught:
        await asyncio.to_thread(
            integrations.add, app, f.partner_id, client_id, inst.id,
            {package.field: package.unknown},
        )  # fmt: skip
    assert caught.value.field == package.field
    assert integrations.list_integrations(app, f.partner_id) == []

    added = await asyncio.to_thread(
        integrations.add, app, f.partner_id, client_id, inst.id, {package.field: package.named}
    )
    assert added.config == {package.field: package.stored_as}

    [first] = approve_invoices(app, f, shared_data, 1)
    await Worker(app).run(asyncio.Event(), drain=True)
    [listed] = exports.list_exports(app, f.partner_id)
    assert listed["export"].state is ExportState.DELIVERED
    document = documents.get(app, f.partner_id, first)
    [held] = package.held()
    arrived = read_document(held)  # what intake would make of it
    assert arrived.embedded_pdf is not None and arrived.embedded_pdf.startswith(b"%PDF")
    assert arrived.number == document.number == "Snippet1"
    assert arrived.metadata["totals"] == document.metadata["totals"]

    good = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
    broken = good.replace(b">1656.25</cbc:PayableAmount>", b">1665.25</cbc:PayableAmount>")
    uneven = intake.upload(
        app, f.partner_id, client_id, "uneven.xml", broken, kind=DocumentKind.PURCHASE_INVOICE
    )
    documents.approve(app, f.partner_id, uneven.id)
    await Worker(app).run(asyncio.Event(), drain=True)
    [waiting] = [r["export"] for r in exports.list_exports(app, f.partner_id)
                 if r["export"].document_id == uneven.id]  # fmt: skip
    if package.books:
        assert waiting.state is ExportState.NEEDS_ATTENTION and len(package.held()) == 1
        assert "its totals do not add up (BR-CO-16)" in waiting.last_error
    else:
        assert waiting.state is ExportState.DELIVERED and len(package.held()) == 2
    delivered = len(package.held())

    package.server.reject_next("The period 2026/03 is closed")
    approve_invoices(app, f, shared_data, 1)
    await Worker(app).run(asyncio.Event(), drain=True)
    failed = [r["export"] for r in exports.list_exports(app, f.partner_id)]
    [refused] = [e for e in failed if e.state is ExportState.FAILED]
    assert refused.state is ExportState.FAILED and refused.attempts == 1
    assert refused.last_error_class is ErrorClass.REJECTED
    assert "The period 2026/03 is closed" in refused.last_error
    assert package.secret not in refused.last_error
    assert len(package.held()) == delivered


async def test_templates_and_imports_are_checked_with_the_target_before_saving(
    package_app: App, package: Package
) -> None:
    app, f = package_app, firm(package_app, n_clients=2)
    pid = f.partner_id
    inst = installations.install(app, pid, package.slug, package.slug, package.install).id
    text = f"client,{package.field}\nC000,{package.unknown}\nC001,{package.named}\n"

    plan = await asyncio.to_thread(integration_import.preview, app, pid, inst, text)
    refused, added = plan.rows
    assert refused.verdict is Verdict.REFUSED and refused.field == package.field
    assert f"no {package.field} '{package.unknown}'" in refused.reason  # the target's verdict
    assert added.verdict is Verdict.ADD and added.values == {package.field: package.stored_as}
    await asyncio.to_thread(integration_import.confirm, app, pid, inst, text)
    [made] = integrations.list_integrations(app, pid)
    assert (made.client_id, made.config) == (f.clients[1].id, {package.field: package.stored_as})

    template = templates.create(app, pid, "Unknown value")
    templates.set_integration(app, pid, template.id, inst, {package.field: package.unknown})
    shown = await asyncio.to_thread(template_plans.preview, app, pid, template.id, f.clients[0].id)
    [line] = shown.integrations
    assert line.verdict is Verdict.REFUSED and package.unknown in line.reason
    with pytest.raises(InvalidInput, match=f"no {package.field} '{package.unknown}'"):
        await asyncio.to_thread(template_plans.apply, app, pid, template.id, f.clients[0].id)
    with pytest.raises(InvalidInput, match="Unknown value"):
        await asyncio.to_thread(clients.create_client, app, pid, "New NV", template=template.id)
    assert len(integrations.list_integrations(app, pid)) == 1
    assert [c.name for c in clients.list_clients(app, pid)] == [c.name for c in f.clients]

    good = templates.create(app, pid, "Known value")
    templates.set_integration(app, pid, good.id, inst, {package.field: package.named})
    await asyncio.to_thread(template_plans.apply, app, pid, good.id, f.clients[0].id)
    on_first = [
        i for i in integrations.list_integrations(app, pid) if i.client_id == f.clients[0].id
    ]
    assert [i.config for i in on_first] == [{package.field: package.stored_as}]
