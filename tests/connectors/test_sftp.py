"""SFTP against a real asyncssh server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest

from passeur.connectors.base import Parcel, Receipt
from passeur.connectors.errors import Misconfigured, TransientError
from passeur.connectors.sftp import SftpConnector
from passeur.domain.extensions import Target, effective_config
from passeur.sandbox.sftp_server import SftpSandbox
from tests.connectors.contract import CONTENT, ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.ports import refusing_port

USER, PASSWORD = "firm", "correct-horse-battery"


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[SftpSandbox]:
    server = SftpSandbox(tmp_path / "sftp", passwords={USER: PASSWORD})
    await server.start()
    yield server
    await server.stop()


def make_target(sandbox: SftpSandbox, **config: object) -> Target:
    from passeur.connectors.sftp import EXTENSION

    values = {
        "host": "127.0.0.1",
        "port": sandbox.port,
        "username": USER,
        "host_key": sandbox.public_host_key,
        **config,
    }
    secrets = {"password": PASSWORD}
    return Target(1, 1, "sftp", effective_config(EXTENSION, values), secrets)


@pytest.fixture
async def connector() -> AsyncIterator[SftpConnector]:
    made = SftpConnector()
    yield made
    await made.close()


@pytest.fixture
def target(sandbox: SftpSandbox) -> Target:
    return make_target(sandbox)


@pytest.fixture
def bad_credentials_target(target: Target) -> Target:
    return replace(target, secrets={"password": "wrong-password-123"})


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config={**target.config, "port": port})


@pytest.fixture
def fetch(sandbox: SftpSandbox):  # type: ignore[no-untyped-def]
    async def read(receipt: Receipt) -> bytes:
        return (sandbox.root / USER / receipt.location).read_bytes()

    return read


@pytest.fixture
def copies(sandbox: SftpSandbox):  # type: ignore[no-untyped-def]
    async def count(parcel: Parcel) -> int:
        home = sandbox.root / USER
        return sum(1 for p in home.rglob("*") if p.is_file() and f"d{parcel.document.id}" in p.name)

    return count


class TestSftpContract(ConnectorContract):
    slug = "sftp"


@pytest.fixture
def parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path / "blobs", CONTENT)


async def test_upload_goes_to_the_rendered_folder(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    receipt = await connector.deliver(make_target(sandbox), parcel)
    assert receipt.location == (
        "invoice_import/C042_0403170701/purchases/2026-03-01_INV-2026-001_d7.xml"
    )
    home = sandbox.root / USER
    leftovers = [p.name for p in home.rglob("*") if p.name.endswith(".part")]
    assert leftovers == []
    assert sandbox.events == [{"user": USER, "action": "rename", "path": receipt.location}]


async def test_root_folder_and_custom_path(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    (sandbox.root / USER / "in").mkdir(parents=True)
    target = make_target(sandbox, root="in", upload_path="[year]/[month]/[invoice_type]")
    receipt = await connector.deliver(target, parcel)
    assert receipt.location.startswith("in/2026/03/purchases/")


async def test_check_without_a_pin_shows_the_fingerprint_and_sends_no_password(
    connector: SftpConnector, sandbox: SftpSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from passeur.sandbox import sftp_server

    tried: list[str] = []

    real = sftp_server._Auth.validate_password

    def spy(self: sftp_server._Auth, username: str, password: str) -> bool:
        tried.append(password)
        return real(self, username, password)

    monkeypatch.setattr(sftp_server._Auth, "validate_password", spy)
    target = make_target(sandbox, host_key=None)
    result = await connector.check(replace(target, config={**target.config, "host_key": None}))
    assert not result.ok
    assert result.details["fingerprint"] == sandbox.fingerprint
    assert result.details["host_key"] == sandbox.public_host_key
    assert sandbox.fingerprint in result.message
    assert tried == [], "no credential may reach a server whose key is not pinned"


async def test_a_different_host_key_is_refused(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    other = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    target = make_target(sandbox, host_key=other.strip())
    with pytest.raises(Misconfigured, match="host key mismatch") as caught:
        await connector.deliver(target, parcel)
    assert sandbox.fingerprint in caught.value.message
    assert not any((sandbox.root / USER).rglob("*.xml"))


async def test_a_pin_given_as_fingerprint_works(
    connector: SftpConnector, sandbox: SftpSandbox
) -> None:
    result = await connector.check(make_target(sandbox, host_key=sandbox.fingerprint))
    assert result.ok


async def test_delivery_refuses_an_unpinned_server(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    target = make_target(sandbox)
    with pytest.raises(Misconfigured, match="not pinned"):
        await connector.deliver(replace(target, config={**target.config, "host_key": None}), parcel)


async def test_no_write_permission_is_a_configuration_error(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    (sandbox.root / USER / "locked").mkdir(parents=True)
    sandbox.faults.read_only.add("locked")
    target = make_target(sandbox, upload_path="/locked/[invoice_type]")
    with pytest.raises(Misconfigured, match="no permission"):
        await connector.deliver(target, parcel)
    assert list((sandbox.root / USER / "locked").iterdir()) == []


async def test_server_gone_mid_upload_is_transient_and_leaves_no_file(
    connector: SftpConnector, sandbox: SftpSandbox, tmp_path: Path
) -> None:
    big = make_parcel(tmp_path / "big", b"x" * (3 * 1024 * 1024), document_id=99)
    sandbox.faults.drop_after_bytes = 512 * 1024
    with pytest.raises(TransientError):
        await connector.deliver(make_target(sandbox), big)
    finals = [p for p in (sandbox.root / USER).rglob("*.xml") if p.is_file()]
    assert finals == [], "a half upload must never sit under the final name"
    sandbox.faults.drop_after_bytes = None
    receipt = await connector.deliver(make_target(sandbox), big)
    assert (sandbox.root / USER / receipt.location).stat().st_size == 3 * 1024 * 1024


@pytest.mark.parametrize("size", [1, 30 * 1024, 256 * 1024, 256 * 1024 + 1, 1024 * 1024])
async def test_a_file_that_fits_one_write_request_goes_in_one_and_others_in_several(
    connector: SftpConnector, sandbox: SftpSandbox, tmp_path: Path, size: int
) -> None:
    data = (bytes(range(256)) * (size // 256 + 1))[:size]
    receipt = await connector.deliver(make_target(sandbox), make_parcel(tmp_path / "p", data))
    assert (sandbox.root / USER / receipt.location).read_bytes() == data
    # The sandbox takes writes of up to 4 MiB; the connector sends at most 256 KiB a request.
    assert sum(sandbox.write_sizes) == size and max(sandbox.write_sizes) <= 256 * 1024
    assert len(sandbox.write_sizes) == (1 if size <= 256 * 1024 else -(-size // (256 * 1024)))


async def test_connections_are_reused_per_installation(
    connector: SftpConnector, sandbox: SftpSandbox, tmp_path: Path
) -> None:
    target = make_target(sandbox)
    for n in range(3):
        await connector.deliver(target, make_parcel(tmp_path / str(n), CONTENT, document_id=n))
    assert len(connector._sessions) == 1


async def test_private_key_login(tmp_path: Path) -> None:
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    server = SftpSandbox(tmp_path / "sftp", client_keys={USER: client_key})
    await server.start()
    connector = SftpConnector()
    try:
        target = make_target(server)
        target = replace(target, secrets={"private_key": client_key.export_private_key().decode()})
        receipt = await connector.deliver(target, make_parcel(tmp_path / "p", CONTENT))
        assert (server.root / USER / receipt.location).read_bytes() == CONTENT
    finally:
        await connector.close()
        await server.stop()


async def test_readback_verification(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    receipt = await connector.deliver(make_target(sandbox, verify_readback=True), parcel)
    assert receipt.size == len(CONTENT)


def _cipher(connector: SftpConnector) -> str:
    [session] = connector._sessions.values()
    return str(session.connection.get_extra_info("send_cipher"))


async def test_aes_gcm_is_preferred_when_the_server_offers_it(
    connector: SftpConnector, target: Target, parcel: Parcel
) -> None:
    await connector.deliver(target, parcel)
    assert _cipher(connector) == "aes128-gcm@openssh.com"


async def test_a_server_without_aes_gcm_still_gets_its_files(tmp_path: Path) -> None:
    server = SftpSandbox(
        tmp_path / "sftp", {USER: PASSWORD}, ciphers=["chacha20-poly1305@openssh.com"]
    )
    await server.start()
    connector = SftpConnector()
    try:
        receipt = await connector.deliver(make_target(server), make_parcel(tmp_path / "p", CONTENT))
        assert (server.root / USER / receipt.location).read_bytes() == CONTENT
        assert _cipher(connector) == "chacha20-poly1305@openssh.com"
    finally:
        await connector.close()
        await server.stop()


async def test_check_finds_a_root_folder_it_cannot_write_in_and_leaves_nothing(
    connector: SftpConnector, sandbox: SftpSandbox
) -> None:
    (sandbox.root / USER / "locked").mkdir(parents=True)
    sandbox.faults.read_only.add("locked")
    with pytest.raises(Misconfigured, match="no permission to write in 'root folder locked'"):
        await connector.check(make_target(sandbox, root="locked"))
    assert list((sandbox.root / USER / "locked").iterdir()) == []
    result = await connector.check(make_target(sandbox))
    assert result.ok
    leftovers = [p for p in (sandbox.root / USER).rglob(".passeur-check-*")]
    assert leftovers == [], "the write probe removes its file"


async def test_a_name_the_server_finds_too_long_is_a_configuration_error(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    """Trying again cannot shorten a name: a person must, so it is not transient."""
    sandbox.faults.name_max = 20  # the file name has 30 bytes, its folders fewer than 20
    target = make_target(sandbox, upload_path="/in/[invoice_type]")
    with pytest.raises(Misconfigured, match=r"refused a name in 'in/purchases' as too long"):
        await connector.deliver(target, parcel)
    assert not [p for p in (sandbox.root / USER).rglob("*") if p.is_file()]


async def test_a_path_saved_before_the_limits_is_a_configuration_error_at_delivery(
    connector: SftpConnector, sandbox: SftpSandbox, parcel: Parcel
) -> None:
    for config, words in [
        ({"root": "r" * 300}, "is 300 bytes; servers accept at most 255"),
        ({"upload_path": "/[client_name]_[external_id]_[document_number]"}, "can render to"),
    ]:
        with pytest.raises(Misconfigured, match=words):
            await connector.deliver(make_target(sandbox, **config), parcel)
    assert sandbox.logins == [], "refused before connecting"
