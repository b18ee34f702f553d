"""`passeur demo`: the whole flow on one machine, with a real SFTP server and the Dropbox,
Google Drive, OneDrive, Octopus and Exact Online stand-ins on loopback.

A partner with three clients; an SFTP installation added to two of them, and Dropbox
(signed in the way `passeur installations connect` does it) to the first, Google Drive
and OneDrive to the second, Octopus (the firm's Octopus login; the client's dossier
named, checked with Octopus and kept by its number) to the first, Exact Online (signed
in once for the firm; the client's Company Code, checked with Exact) to the second; a
generated corpus (PDF invoices, Peppol UBL with the PDF embedded, CODA statements) and
real public samples uploaded, approved, sent; the worker delivers them; the files on the
SFTP server and in the stand-ins' Dropbox, Google Drive and OneDrive are compared byte
for byte with the originals, and what reached Octopus and Exact Online is the original
or, for a UBL, its e-fff: read back as intake reads a file, the same invoice with its
PDF embedded, the bytes passeur's receipt names.

Exact Online's stand-in keeps its limits (60 calls a minute per company) on a clock
EXACT_SCALE times faster, and passeur's pacer runs as fast (PASSEUR_PACING_TIME_SCALE),
so that the demo does not wait a second between two calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import shutil
import socket
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from passeur import samples
from passeur.bootstrap import App, build
from passeur.cli import loopback
from passeur.delivery.worker import Worker
from passeur.domain.documents import Direction, DocumentKind
from passeur.domain.errors import InvalidInput
from passeur.domain.exports import ExportState
from passeur.domain.partners import ClientStatus, Role
from passeur.formats.corpus import generate
from passeur.formats.intake import read_document
from passeur.sandbox import octopus_server
from passeur.sandbox.dropbox_server import DropboxServer, ThreadedDropboxServer
from passeur.sandbox.exact_online_server import ExactOnlineServer, ThreadedExactOnlineServer
from passeur.sandbox.google_drive_server import GoogleDriveServer, ThreadedGoogleDriveServer
from passeur.sandbox.onedrive_server import OneDriveServer, ThreadedOneDriveServer
from passeur.sandbox.sftp_server import SftpSandbox, ThreadedSftpSandbox
from passeur.sandbox.threaded import Threaded
from passeur.services import (
    clients,
    documents,
    exports,
    installations,
    intake,
    integrations,
    partners,
)
from passeur.settings import Settings
from passeur.storage import schema
from passeur.web.listener import listen

SFTP_USER = "firm"
CLOUDS = ("dropbox", "google_drive", "onedrive")
PACKAGES = ("octopus", "exact_online")  # their files are the original or its e-fff
EXACT_COMPANY = 123456  # a company the Exact Online stand-in has
EXACT_SCALE = 20.0  # Exact's minute lasts 3 s in the demo, for its stand-in and the pacer

# Real public samples (../shared/data) added to the generated corpus, with their kind:
# they name other companies, so passeur cannot tell purchase from sale on its own.
SAMPLES: list[tuple[int, str, DocumentKind | None, Direction | None, str]] = [
    (0, "ubl/peppol-base-example.xml", DocumentKind.PURCHASE_INVOICE, None, "approve"),
    (0, "ubl/odoo-BEG-testcase01_minimal_invoice.xml", DocumentKind.SALES_INVOICE, None, "send"),
    (0, "coda/odoo-Ontvangen_CODA.2013-01-11-18.59.15.txt", None, None, ""),
    (1, "ubl/peppol-base-creditnote-correction.xml", None, Direction.PURCHASE, "approve"),
    (1, "coda/pycoda-Coda_v2_3_globalisation.txt", None, None, ""),
    (2, "ubl/peppol-vat-category-Z.xml", DocumentKind.PURCHASE_INVOICE, None, "approve"),
]


ADMIN_EMAIL = "admin@demo.passeur.test"
_HINT = "PASSEUR_WEB_PORT=<port>, e.g. PASSEUR_WEB_PORT={} make demo"
BUSINESS_EMAIL = "owner@demo.passeur.test"


@dataclass
class DemoRun:
    app: App
    partner_id: int
    sftp: SftpSandbox
    sftp_root: Path
    dropbox: DropboxServer
    drive: GoogleDriveServer
    onedrive: OneDriveServer
    sftp_password: str = ""

    def cloud(self, slug: str) -> Any:
        """The stand-in of a cloud folder (each has `stored()` and `delivered(receipt)`)."""
        return {"dropbox": self.dropbox, "google_drive": self.drive, "onedrive": self.onedrive}[
            slug
        ]

    admin_password: str = ""
    business_password: str = ""
    business_client: str = ""
    octopus: octopus_server.OctopusServer | None = None
    exact: ExactOnlineServer | None = None


def prepare(folder: Path, say: Callable[[str], None]) -> tuple[DemoRun, list[Threaded[Any]]]:
    shutil.rmtree(folder, ignore_errors=True)
    dropbox_server = ThreadedDropboxServer(DropboxServer(client_id="passeur-demo"))
    dropbox = dropbox_server.start()
    drive_server = ThreadedGoogleDriveServer(GoogleDriveServer(client_id="passeur-demo"))
    drive = drive_server.start()
    onedrive_server = ThreadedOneDriveServer(OneDriveServer(client_id="passeur-demo"))
    onedrive = onedrive_server.start()
    say(
        f"Cloud stand-ins: Dropbox {dropbox.url}, Google Drive {drive.url}, OneDrive {onedrive.url}"
    )
    octopus_runner = octopus_server.ThreadedOctopusServer(octopus_server.OctopusServer())
    octopus = octopus_runner.start()
    say(f"Octopus stand-in: {octopus.url}")
    exact_runner = ThreadedExactOnlineServer(
        ExactOnlineServer(client_id="passeur-demo", time_scale=EXACT_SCALE)
    )
    exact = exact_runner.start()
    say(f"Exact Online stand-in: {exact.base_url} (its minute lasts {60 / EXACT_SCALE:g} s)")
    values: dict[str, Any] = {
        "data_dir": folder,
        "database_url": "",
        "retry_schedule": "0,1s,2s,5s",
        "poll_seconds": 0.2,
        "allowed_networks": "127.0.0.0/8",  # the stand-ins are on loopback
        **dropbox.settings(),
        **drive.settings(),
        **onedrive.settings(),
        **octopus.settings(),
        **exact.settings(),
        "pacing_time_scale": EXACT_SCALE,
    }
    settings = Settings(**values)
    app = build(settings)
    schema.upgrade(app.engine)
    password = secrets.token_urlsafe(12)
    server = ThreadedSftpSandbox(SftpSandbox(folder / "sftp", passwords={SFTP_USER: password}))
    sftp = server.start()
    say(f"SFTP server on 127.0.0.1:{sftp.port}, host key {sftp.fingerprint}")

    corpus = generate(folder / "corpus", clients=3, seed=2026)
    partner = partners.create_partner(app, "Demo Accountants")
    made = []
    for index in range(3):
        first = next(f for f in corpus if f.client == index)
        made.append(
            clients.create_client(
                app,
                partner.id,
                first.client_name,
                uen_number=first.client_enterprise_number,
                vat_number=f"BE{first.client_enterprise_number}",
                external_ref=f"C{index + 1:03d}",
                status=ClientStatus.ACTIVE,
            )
        )
    inst = installations.install(
        app,
        partner.id,
        "sftp",
        "Firm SFTP server",
        {"host": "127.0.0.1", "port": str(sftp.port), "username": SFTP_USER, "password": password},
    )
    result = asyncio.run(installations.check(app, partner.id, inst.id, trust=sftp.fingerprint))
    say(f"test connection: {result.message}")
    for client in made[:2]:
        integrations.add(app, partner.id, client.id, inst.id, {})
        say(f"SFTP added to {client.name}")
    _cloud(app, partner.id, made[0], "dropbox", "Firm Dropbox", say)
    _cloud(app, partner.id, made[1], "google_drive", "Firm Google Drive", say)
    _cloud(app, partner.id, made[1], "onedrive", "Firm OneDrive", say)
    _octopus(app, partner.id, made[0], say)
    _exact(app, partner.id, made[1], say)
    say(f"{made[2].name} has no integration: its documents stay in passeur, ready to process")

    def upload(index: int, path: Path, kind: Any, direction: Any, release: str) -> None:
        doc = intake.upload(
            app, partner.id, made[index].id, path.name, path.read_bytes(),
            kind=kind, direction=direction,
        )  # fmt: skip
        if release == "approve":
            doc = documents.approve(app, partner.id, doc.id)
        elif release == "send":
            doc = documents.send(app, partner.id, doc.id)
        say(f"{made[index].name}: {doc.kind.value} {doc.number or path.name} -> "
            f"{doc.accounting_status.value}")  # fmt: skip

    # The generated UBL invoices name the client: passeur tells purchases from sales itself.
    invoices = [f for f in corpus if f.type in ("ubl", "coda")]
    waiting = next(f for f in invoices if f.kind is DocumentKind.PURCHASE_INVOICE)
    for generated in invoices:
        release = "" if generated is waiting or generated.type == "coda" else (
            "send" if generated.direction is Direction.SALES else "approve"
        )  # fmt: skip
        upload(generated.client, generated.path, None, None, release)
    data = samples.shared_data()
    if data is not None:
        for index, relative, kind, direction, release in SAMPLES:
            upload(index, data / relative, kind, direction, release)
    run = DemoRun(
        app, partner.id, sftp, folder / "sftp" / SFTP_USER, dropbox, drive, onedrive, password
    )
    run.octopus, run.exact = octopus, exact
    _people(run, made[waiting.client])
    runners: list[Threaded[Any]] = [server, dropbox_server, drive_server, onedrive_server]
    return run, [*runners, octopus_runner, exact_runner]


def _octopus(app: App, partner_id: int, client: Any, say: Callable[[str], None]) -> None:
    """Install Octopus with the firm's login and add it to a client by its dossier's name
    (checked with Octopus when saved, and kept by its number)."""
    login = {"user": octopus_server.USER, "password": octopus_server.PASSWORD}
    inst = installations.install(app, partner_id, "octopus", "Firm Octopus", login)
    result = asyncio.run(installations.check(app, partner_id, inst.id))
    say(f"Octopus test connection: {result.message}")
    added = integrations.add(
        app, partner_id, client.id, inst.id, {"dossier": "Bakkerij Janssens BV"}
    )
    say(f"Octopus added to {client.name}: dossier {added.config['dossier']}")


def _exact(app: App, partner_id: int, client: Any, say: Callable[[str], None]) -> None:
    """Install Exact Online on the Belgian instance, sign in once for the firm, and add
    it to a client by its Company Code (checked with Exact when saved)."""
    inst = installations.install(app, partner_id, "exact_online", "Firm Exact Online", {})
    _sign_in(app, partner_id, inst.id)
    result = asyncio.run(installations.check(app, partner_id, inst.id))
    say(f"Exact Online test connection: {result.message}")
    added = integrations.add(
        app, partner_id, client.id, inst.id, {"company_code": str(EXACT_COMPANY)}
    )
    say(f"Exact Online added to {client.name}: company {added.config['company_code']}")


def _sign_in(app: App, partner_id: int, installation_id: int) -> None:
    """Sign in as `passeur installations connect` does, with a browser that approves at
    once (the stand-ins ask nothing)."""

    def browser(url: str) -> None:
        opened = threading.Thread(target=lambda: urllib.request.urlopen(url, timeout=10).read())
        opened.start()

    loopback.connect(app, partner_id, installation_id, browser, timeout=30)


def _cloud(
    app: App, partner_id: int, client: Any, slug: str, name: str, say: Callable[[str], None]
) -> None:
    """Install a cloud folder and sign in."""
    inst = installations.install(app, partner_id, slug, name, {})
    _sign_in(app, partner_id, inst.id)
    integrations.add(app, partner_id, client.id, inst.id, {})
    say(f"{name} signed in and added to {client.name}")


def _people(run: DemoRun, waiting_client: Any) -> None:
    """A demo administrator, and a business user of the client whose invoice waits."""
    run.admin_password = secrets.token_urlsafe(12)
    run.business_password = secrets.token_urlsafe(12)
    run.business_client = waiting_client.name
    partners.add_user(run.app, run.partner_id, ADMIN_EMAIL, "Demo administrator",
                      {Role.ADMINISTRATOR}, run.admin_password)  # fmt: skip
    partners.add_user(run.app, run.partner_id, BUSINESS_EMAIL, "Demo business owner",
                      {Role.BUSINESS}, run.business_password,
                      client_id=waiting_client.id)  # fmt: skip


def verify(run: DemoRun) -> list[str]:
    """Problems found: an export not delivered, or a file that differs from its original."""
    problems = []
    for row in exports.list_exports(run.app, run.partner_id):
        export = row["export"]
        if export.state is not ExportState.DELIVERED:
            problems.append(f"export {export.id} is {export.state.value}: {export.last_error}")
            continue
        location = export.receipt["location"]
        document = documents.get(run.app, run.partner_id, export.document_id)
        landed = _landed(run, row["extension"], export.receipt)
        if landed is None:
            problems.append(f"export {export.id}: {location} is missing")
            continue
        with run.app.blobs.open(document.sha256) as opened:
            original = opened.read()
        if landed == original:
            continue
        if row["extension"] not in PACKAGES:
            problems.append(f"export {export.id}: {location} differs from the original")
        elif why := _not_its_efff(original, landed, document.number, export.receipt):
            problems.append(f"export {export.id}: {location} {why}")
    if not problems and not exports.list_exports(run.app, run.partner_id):
        problems.append("no export was created")
    return problems


def _not_its_efff(
    original: bytes, landed: bytes, number: str, receipt: dict[str, Any]
) -> str | None:
    """Why a package's file is not the document's e-fff (None when it is): the bytes
    passeur sent; the original byte for byte with one insertion (its PDF) when the original
    is a UBL; read as intake reads a file, the same invoice with a PDF embedded."""
    if hashlib.sha256(landed).hexdigest() != receipt.get("sha256"):
        return "is not the file passeur sent"
    if original.lstrip().startswith(b"<") and not _inserted_into(original, landed):
        return "is not the original UBL with its PDF inserted"
    try:
        reading = read_document(landed)
    except InvalidInput as exc:
        return f"is not a document intake reads: {exc}"
    if reading.type != "ubl" or reading.number != number or reading.embedded_pdf is None:
        return f"is not the e-fff of invoice {number} (read: {reading.type} {reading.number})"
    return None


def _inserted_into(original: bytes, landed: bytes) -> bool:
    """`landed` is `original` with one contiguous insertion."""
    if len(landed) <= len(original):
        return False
    head = 0
    while head < len(original) and original[head] == landed[head]:
        head += 1
    tail = 0
    while tail < len(original) - head and original[-1 - tail] == landed[-1 - tail]:
        tail += 1
    return head + tail >= len(original)


def _landed(run: DemoRun, extension: str, receipt: dict[str, Any]) -> bytes | None:
    if extension == "octopus" and run.octopus is not None:
        found = [i.data for i in run.octopus.stored() if i.id == receipt.get("import_id")]
        return found[0] if found else None
    if extension == "exact_online" and run.exact is not None:
        return run.exact.delivered(receipt)
    if extension in CLOUDS:
        return run.cloud(extension).delivered(receipt)
    path = run.sftp_root / receipt["location"].lstrip("/")
    return path.read_bytes() if path.exists() else None


def report(run: DemoRun, say: Callable[[str], None]) -> None:
    for row in exports.list_exports(run.app, run.partner_id):
        export = row["export"]
        where = export.receipt.get("location", export.last_error)
        say(f"  export {export.id:>3} {row['client_name']:<18} {export.state.value:<10} {where}")
    say(f"Files landed under {run.sftp_root}:")
    for path in sorted(p for p in run.sftp_root.rglob("*") if p.is_file()):
        say(f"  {path.relative_to(run.sftp_root)} ({path.stat().st_size} bytes)")
    for slug in CLOUDS:
        say(f"Files in the {slug} stand-in:")
        for path, content in sorted(run.cloud(slug).stored()):
            say(f"  {slug}:{path} ({len(content)} bytes)")
    if run.octopus is not None:
        say("Files in the Octopus stand-in's Document Import Viewer:")
        for item in run.octopus.stored():
            say(f"  octopus:dossier {item.dossier}/{item.file_name} ({len(item.data)} bytes)")
    if run.exact is not None:
        say("Documents in the Exact Online stand-in (company, subject, attached file):")
        for document in run.exact.documents_in(EXACT_COMPANY):
            for name, content in run.exact.attached(document.id):
                say(f"  exact:{EXACT_COMPANY} {document.subject} / {name} ({len(content)} bytes)")
        for entry in run.exact.entries.values():
            say(f"  exact:{entry.division} {entry.kind} entry, journal {entry.body['Journal']}: "
                f"{entry.body.get('Description')}")  # fmt: skip


async def _serve(run: DemoRun, listener: socket.socket, say: Callable[[str], None]) -> None:
    from passeur.web.app import create, settle

    stop = asyncio.Event()
    worker = Worker(run.app)
    config = uvicorn.Config(create(run.app), log_level="warning")
    settle()
    server = uvicorn.Server(config)
    web = asyncio.create_task(server.serve(sockets=[listener]))
    work = asyncio.create_task(worker.run(stop))
    while not server.started and not web.done():
        await asyncio.sleep(0.05)
    host, port = listener.getsockname()[:2]
    say("")
    say(f"Partner space: http://{host}:{port}/   (Ctrl-C to stop)")
    say(f"  administrator:  {ADMIN_EMAIL}  password {run.admin_password}")
    say(f"  business user of {run.business_client}:  {BUSINESS_EMAIL}  "
        f"password {run.business_password}")  # fmt: skip
    say(f"  SFTP server for a new installation: host 127.0.0.1, port {run.sftp.port}, "
        f"username {SFTP_USER}, password {run.sftp_password}")  # fmt: skip
    say("  The Dropbox, Google Drive and OneDrive stand-ins approve every sign-in at once")
    say(f"  Octopus stand-in login: {octopus_server.USER} / {octopus_server.PASSWORD}")
    say("  Exact Online stand-in: companies 123456 and 234567; sign-ins approved at once")
    say("  Try: Discover more → install SFTP → Test connection → Trust this key; open a")
    say("  client → Integrations → Add integration; sign in as the business user and approve")
    say("  the waiting invoice; watch it arrive on the client's Integrations tab.")
    try:
        await web
    finally:
        stop.set()
        await work


def run_demo(folder: Path, *, check: bool, port: int, say: Callable[[str], None]) -> int:
    listener = None if check else listen("127.0.0.1", port, hint=_HINT.format(port + 1))
    run, stand_ins = prepare(folder, say)
    try:
        asyncio.run(Worker(run.app).run(asyncio.Event(), drain=True))
        say("Exports:")
        report(run, say)
        problems = verify(run)
        for problem in problems:
            say(f"PROBLEM: {problem}")
        if check:
            say(
                "demo check: "
                + (
                    "FAILED"
                    if problems
                    else "every export delivered, every file identical (an accounting "
                    "package's UBL: its e-fff, read back)"
                )
            )
            return 1 if problems else 0
        assert listener is not None
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(run, listener, say))
        return 1 if problems else 0
    finally:
        if listener is not None:
            listener.close()
        for stand_in in stand_ins:
            stand_in.stop()
        run.app.close()
