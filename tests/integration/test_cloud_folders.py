"""Dropbox, Google Drive and OneDrive end to end against their stand-ins: signed in from the
terminal (the loopback flow of `passeur installations connect`), documents delivered by
the worker into the documented layout, a revoked grant parking the integration with
"Sign in again" and its exports waiting, then going out after a new sign-in. Nothing is
lost, nothing is written twice."""

from __future__ import annotations

import asyncio
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from passeur.bootstrap import App, build
from passeur.cli import loopback
from passeur.delivery.worker import Worker
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ExportState
from passeur.sandbox.dropbox_server import DropboxServer
from passeur.sandbox.google_drive_server import GoogleDriveServer
from passeur.sandbox.onedrive_server import OneDriveServer
from passeur.sandbox.threaded import Threaded
from passeur.services import documents, exports, installations
from passeur.storage import schema
from tests.conftest import make_settings
from tests.factories import add_integration, approve_invoices, firm
from tests.oauth_provider import revoked_while_working

FOLDER = "/Invoice_import/Client 0_BE0403170701/AP/"


@dataclass
class Cloud:
    slug: str
    server: Any  # DropboxServer | GoogleDriveServer | OneDriveServer

    def stored(self) -> list[tuple[str, bytes]]:
        return list(self.server.stored())


@pytest.fixture(params=["dropbox", "google_drive", "onedrive"])
def cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:
    made = {
        "dropbox": DropboxServer,
        "google_drive": GoogleDriveServer,
        "onedrive": OneDriveServer,
    }[request.param]
    threaded = Threaded(made(client_id=f"passeur-{request.param}"))
    yield Cloud(request.param, threaded.start())
    threaded.stop()


@pytest.fixture
def cloud_app(tmp_path: Path, database_url: str, cloud: Cloud) -> Iterator[App]:
    settings = make_settings(
        tmp_path / "data",
        database_url,
        allowed_networks="127.0.0.0/8",
        **cloud.server.settings(),
    )
    built = build(settings)
    if built.engine.dialect.name == "sqlite":
        schema.upgrade(built.engine)
    yield built
    built.close()


def connect(app: App, partner_id: int, installation_id: int) -> None:
    """`passeur installations connect`, with a browser that approves at once."""

    def browser(url: str) -> None:
        opened = threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read())
        opened.start()

    loopback.connect(app, partner_id, installation_id, browser, timeout=30)


def states(app: App, partner_id: int) -> list[ExportState]:
    return sorted(r["export"].state for r in exports.list_exports(app, partner_id))


async def test_delivered_into_the_layout_then_parked_on_revocation_then_sent_after_sign_in(
    cloud_app: App, cloud: Cloud, shared_data: Path
) -> None:
    f = firm(cloud_app, n_clients=1)
    partner_id = f.partner_id
    installation = installations.install(cloud_app, partner_id, cloud.slug, "Cloud", {})
    integration_id = add_integration(cloud_app, partner_id, f.clients[0].id, installation.id)
    await asyncio.to_thread(connect, cloud_app, partner_id, installation.id)
    assert cloud.server.exchanges == 1

    [first] = approve_invoices(cloud_app, f, shared_data, 1)
    await Worker(cloud_app).run(asyncio.Event(), drain=True)
    assert states(cloud_app, partner_id) == [ExportState.DELIVERED]
    [(path, content)] = cloud.stored()
    assert path.startswith(FOLDER) and path.endswith(f"_d{first}.xml")
    document = documents.get(cloud_app, partner_id, first)
    with cloud_app.blobs.open(document.sha256) as blob:
        assert content == blob.read()

    # The accountant removed passeur's access at the provider.
    await revoked_while_working(cloud_app, f, shared_data, integration_id, cloud.server.revoke)
    assert len(cloud.stored()) == 1

    await asyncio.to_thread(connect, cloud_app, partner_id, installation.id)
    await Worker(cloud_app).run(asyncio.Event(), drain=True)
    assert states(cloud_app, partner_id) == [ExportState.DELIVERED] * 3
    assert len(cloud.stored()) == 3 and len({path for path, _ in cloud.stored()}) == 3


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_forged_callback_is_refused_and_changes_nothing(
    cloud_app: App, cloud: Cloud
) -> None:
    f = firm(cloud_app, n_clients=1)
    installation = installations.install(cloud_app, f.partner_id, cloud.slug, "Cloud", {})
    seen: list[str] = []

    def replay(url: str) -> None:
        # An answer with a state passeur never gave, then nothing more.
        seen.append(url)
        back = url.split("redirect_uri=")[1].split("&")[0]
        callback = urllib.request.unquote(back) + "?state=forged&code=x"
        threading.Thread(target=lambda: urllib.request.urlopen(callback, timeout=10)).start()

    with pytest.raises(InvalidInput, match="unknown or was already used"):
        await asyncio.to_thread(
            loopback.connect, cloud_app, f.partner_id, installation.id, replay, timeout=30
        )
    assert seen and cloud.server.exchanges == 0
    assert installations.get(cloud_app, f.partner_id, installation.id).secret_fields == frozenset()
