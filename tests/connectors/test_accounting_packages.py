"""Count-e, Pingwin, Onea and Wings Online: the contract suite on the channel each is
declared with (SFTP to a watched folder, e-mail to an import address), against the real
SFTP and SMTP stand-ins, and what their catalogue rows say."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import pytest

from passeur.connectors import accounting_packages, registry
from passeur.connectors.accounting_packages import (
    CountEConnector,
    OneaConnector,
    PingwinConnector,
    WingsOnlineConnector,
)
from passeur.connectors.base import Connector, Parcel, Receipt
from passeur.domain.documents import DocumentKind, Family
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.sftp_server import SftpSandbox
from passeur.sandbox.smtp_server import SmtpSandbox
from passeur.sandbox.tls import SandboxTls
from tests.connectors.contract import CONTENT, ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.ports import refusing_port

USER, PASSWORD = "firm", "correct-horse-battery"
PURCHASES = "aankoop-c042@import.example"
LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")


@pytest.fixture(scope="module")
def tls() -> SandboxTls:
    return SandboxTls.make()


class _Package(ConnectorContract):
    """The fixtures the suite needs, for a package on one channel (names no slug)."""

    made: ClassVar[type[Connector]]

    @pytest.fixture
    async def connector(self) -> AsyncIterator[Connector]:
        connector = self.made(network=LOOPBACK)
        yield connector
        await connector.close()

    @pytest.fixture
    def parcel(self, tmp_path: Path) -> Parcel:
        return make_parcel(tmp_path / "blobs", CONTENT)

    @pytest.fixture
    def bad_credentials_target(self, target: Target) -> Target:
        return replace(target, secrets={"password": "wrong-password-123"})

    @pytest.fixture
    def unreachable_target(self, target: Target) -> Iterator[Target]:
        with refusing_port() as port:
            yield replace(target, config={**target.config, "port": port})

    def _target(self, values: dict[str, Any], own: dict[str, Any] | None = None) -> Target:
        ext = self.made.extension
        config = effective_config(ext, values, own or {})
        return Target(1, 1, ext.slug, config, {"password": PASSWORD})


class _BySftp(_Package):
    @pytest.fixture
    async def sandbox(self, tmp_path: Path) -> AsyncIterator[SftpSandbox]:
        server = SftpSandbox(tmp_path / "sftp", passwords={USER: PASSWORD})
        await server.start()
        yield server
        await server.stop()

    @pytest.fixture
    def target(self, sandbox: SftpSandbox) -> Target:
        values = {"host": "127.0.0.1", "port": sandbox.port, "username": USER}
        return self._target({**values, "host_key": sandbox.public_host_key})

    @pytest.fixture
    def fetch(self, sandbox: SftpSandbox) -> Callable[[Receipt], Awaitable[bytes]]:
        async def read(receipt: Receipt) -> bytes:
            return (sandbox.root / USER / receipt.location).read_bytes()

        return read

    @pytest.fixture
    def copies(self, sandbox: SftpSandbox) -> Callable[[Parcel], Awaitable[int]]:
        async def count(parcel: Parcel) -> int:
            files = (sandbox.root / USER).rglob("*")
            return sum(1 for p in files if p.is_file() and f"d{parcel.document.id}" in p.name)

        return count


class _ByEmail(_Package):
    @pytest.fixture
    def server(self, tls: SandboxTls, tmp_path: Path) -> Iterator[SmtpSandbox]:
        sandbox = SmtpSandbox(
            users={USER: PASSWORD}, security="starttls", tls=tls, tls_folder=tmp_path / "tls"
        ).start()
        yield sandbox
        sandbox.stop()

    @pytest.fixture
    def target(self, server: SmtpSandbox, tls: SandboxTls) -> Target:
        values = {
            "host": "localhost",
            "port": server.port,
            "username": USER,
            "sender_address": "exports@firm.example",
            "ca_bundle": tls.ca_pem,
        }
        return self._target(values, {"purchases_address": PURCHASES})

    @pytest.fixture
    def fetch(self, server: SmtpSandbox) -> Callable[[Receipt], Awaitable[bytes]]:
        async def read(receipt: Receipt) -> bytes:
            [mail] = [m for m in server.messages if m.message_id == receipt.location]
            assert mail.rcpt_tos == (PURCHASES,)
            [attachment] = list(mail.parsed().iter_attachments())
            return bytes(attachment.get_payload(decode=True))

        return read

    @pytest.fixture
    def copies(self, server: SmtpSandbox) -> Callable[[Parcel], Awaitable[int]]:
        async def count(parcel: Parcel) -> int:
            return len({i for i in server.message_ids() if f"psr-d{parcel.document.id}-" in i})

        return count


class TestCountEContract(_BySftp):
    slug = "count_e"
    made = CountEConnector


class TestPingwinContract(_BySftp):
    slug = "pingwin"
    made = PingwinConnector

    async def test_a_sales_invoice_goes_to_the_client_s_sales_folder(
        self, connector: Connector, target: Target, tmp_path: Path
    ) -> None:
        sale = make_parcel(tmp_path, CONTENT, kind=DocumentKind.SALES_INVOICE)
        receipt = await connector.deliver(target, sale)
        assert receipt.location == "0403170701/sales/2026-03-01_INV-2026-001_d7.xml"


class TestOneaContract(_ByEmail):
    slug = "onea"
    made = OneaConnector


class TestWingsOnlineContract(_ByEmail):
    slug = "wings_online"
    made = WingsOnlineConnector


@pytest.mark.parametrize("made", accounting_packages.CONNECTORS)
def test_the_catalogue_says_the_channel_and_that_no_api_is_available(
    made: type[Connector],
) -> None:
    ext = registry.extension(made.extension.slug)
    assert ext.category == "Accounting software"
    assert "a direct API connection is not available" in ext.summary
    channel = "by SFTP to the folder" if ext.stand_in.endswith("sftp_server") else "by e-mail"
    assert channel in ext.summary
    assert ext.families == {Family.PURCHASES, Family.SALES}
