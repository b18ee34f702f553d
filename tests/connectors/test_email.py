"""E-mail against a real SMTP server on loopback (aiosmtpd) with STARTTLS and AUTH."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from passeur.connectors.base import Parcel, ParcelFile, Receipt
from passeur.connectors.email import EXTENSION, EmailConnector
from passeur.connectors.errors import (
    Misconfigured,
    NeedsReauth,
    Rejected,
    TransientError,
)
from passeur.domain.documents import DocumentKind
from passeur.domain.extensions import Target, effective_config
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.smtp_server import SmtpSandbox
from passeur.sandbox.tls import SandboxTls
from tests.connectors.contract import CONTENT, ConnectorContract
from tests.connectors.parcels import make_parcel
from tests.ports import refusing_port

USER, PASSWORD = "firm@smtp.example", "correct-horse-battery"
PURCHASES = "aankoop-c042@inbox.example"
SALES = "verkoop-c042@inbox.example"
STATEMENTS = "coda-c042@inbox.example"
LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")


@pytest.fixture(scope="module")
def tls() -> SandboxTls:
    return SandboxTls.make()


@pytest.fixture
def server(tls: SandboxTls, tmp_path: Path) -> Iterator[SmtpSandbox]:
    sandbox = SmtpSandbox(
        users={USER: PASSWORD}, security="starttls", tls=tls, tls_folder=tmp_path / "tls"
    ).start()
    yield sandbox
    sandbox.stop()


def make_target(
    server: SmtpSandbox, tls: SandboxTls, addresses: dict[str, str] | None = None, **config: object
) -> Target:
    values: dict[str, object] = {
        "host": "localhost",
        "port": server.port,
        "security": server.security,
        "username": USER,
        "sender_address": "exports@firm.example",
        "sender_name": "Fiduciaire Dupont",
        "ca_bundle": tls.ca_pem,
        **config,
    }
    own = addresses if addresses is not None else {"purchases_address": PURCHASES}
    return Target(1, 1, "email", effective_config(EXTENSION, values, own), {"password": PASSWORD})


@pytest.fixture
async def connector() -> EmailConnector:  # type: ignore[misc]
    made = EmailConnector(network=LOOPBACK)
    yield made
    await made.close()


@pytest.fixture
def target(server: SmtpSandbox, tls: SandboxTls) -> Target:
    return make_target(server, tls)


@pytest.fixture
def bad_credentials_target(target: Target) -> Target:
    return replace(target, secrets={"password": "wrong-password-123"})


@pytest.fixture
def unreachable_target(target: Target) -> Iterator[Target]:
    with refusing_port() as port:
        yield replace(target, config={**target.config, "port": port})


@pytest.fixture
def fetch(server: SmtpSandbox) -> Callable[[Receipt], Awaitable[bytes]]:
    async def read(receipt: Receipt) -> bytes:
        [mail] = [m for m in server.messages if m.message_id == receipt.location]
        [attachment] = list(mail.parsed().iter_attachments())
        return bytes(attachment.get_payload(decode=True))

    return read


@pytest.fixture
def copies(server: SmtpSandbox) -> Callable[[Parcel], Awaitable[int]]:
    """Distinct Message-IDs received for the document (what an inbox that dedupes keeps)."""

    async def count(parcel: Parcel) -> int:
        return len({i for i in server.message_ids() if f"psr-d{parcel.document.id}-" in i})

    return count


class TestEmailContract(ConnectorContract):
    slug = "email"


@pytest.fixture
def parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path / "blobs", CONTENT)


async def test_success_over_starttls_with_auth(
    connector: EmailConnector, server: SmtpSandbox, target: Target, parcel: Parcel
) -> None:
    receipt = await connector.deliver(target, parcel)
    [mail] = server.messages
    assert mail.secure and mail.user == USER
    assert mail.mail_from == "exports@firm.example" and mail.rcpt_tos == (PURCHASES,)
    assert receipt.location == mail.message_id == "<psr-d7-i1-v1@firm.example>"
    assert receipt.details["to"] == PURCHASES
    msg = mail.parsed()
    assert msg["Subject"] == "purchases INV-2026-001 - Bakkerij Janssens"
    assert msg["To"] == PURCHASES
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_filename() == parcel.main.name
    assert server.logins == [(USER, True)]


async def test_implicit_tls(connector: EmailConnector, tls: SandboxTls, tmp_path: Path) -> None:
    server = SmtpSandbox(
        users={USER: PASSWORD}, security="tls", tls=tls, tls_folder=tmp_path / "tls"
    ).start()
    try:
        target = make_target(server, tls)
        assert "with TLS" in (await connector.check(target)).message
        await connector.deliver(target, make_parcel(tmp_path, CONTENT))
        [mail] = server.messages
        assert mail.secure and mail.user == USER
    finally:
        server.stop()


async def test_a_wrong_password_needs_reauth_and_leaks_nothing(
    connector: EmailConnector, server: SmtpSandbox, bad_credentials_target: Target, parcel: Parcel
) -> None:
    with pytest.raises(NeedsReauth, match="535") as caught:
        await connector.deliver(bad_credentials_target, parcel)
    assert "wrong-password-123" not in caught.value.message
    assert server.messages == [] and server.logins == [(USER, False)]


async def test_a_refused_recipient_is_a_configuration_error(
    connector: EmailConnector, server: SmtpSandbox, target: Target, parcel: Parcel
) -> None:
    server.faults.refuse_recipients.add(PURCHASES)
    with pytest.raises(Misconfigured, match=f"refused the recipient \\({PURCHASES}: 550"):
        await connector.deliver(target, parcel)
    assert server.messages == []


async def test_a_deferred_recipient_is_transient(
    connector: EmailConnector, server: SmtpSandbox, target: Target, parcel: Parcel
) -> None:
    server.faults.defer_recipients.add(PURCHASES)
    with pytest.raises(TransientError, match="450"):
        await connector.deliver(target, parcel)


async def test_a_refused_sender_is_a_configuration_error(
    connector: EmailConnector, server: SmtpSandbox, target: Target, parcel: Parcel
) -> None:
    server.faults.refuse_senders.add("exports@firm.example")
    with pytest.raises(Misconfigured, match="allow-list"):
        await connector.deliver(target, parcel)


async def test_a_connection_dropped_mid_message_is_transient_and_the_resend_is_recognisable(
    connector: EmailConnector, server: SmtpSandbox, target: Target, parcel: Parcel
) -> None:
    server.faults.drop_mid_message = True
    with pytest.raises(TransientError, match="lost"):
        await connector.deliver(target, parcel)
    assert server.messages == []
    server.faults.drop_mid_message = False
    receipt = await connector.deliver(target, parcel)
    assert receipt.location == "<psr-d7-i1-v1@firm.example>"
    assert server.message_ids() == {receipt.location}


async def test_a_refused_message_is_rejected(
    connector: EmailConnector, server: SmtpSandbox, target: Target, parcel: Parcel
) -> None:
    server.faults.data_reply = "554 5.7.1 Message refused as spam"
    with pytest.raises(Rejected, match="554"):
        await connector.deliver(target, parcel)


async def test_the_servers_size_limit_is_a_rejection(
    connector: EmailConnector, tls: SandboxTls, tmp_path: Path
) -> None:
    server = SmtpSandbox(
        users={USER: PASSWORD},
        tls=tls,
        tls_folder=tmp_path / "tls",
        size_limit=10_000,
    ).start()
    try:
        with pytest.raises(Rejected, match="552"):
            await connector.deliver(make_target(server, tls), make_parcel(tmp_path, CONTENT))
        assert server.messages == []
    finally:
        server.stop()


async def test_our_size_limit_is_clear_and_nothing_is_sent(
    connector: EmailConnector, server: SmtpSandbox, tls: SandboxTls, tmp_path: Path
) -> None:
    big = make_parcel(tmp_path, b"%PDF" + b"x" * 900_000, media_type="application/pdf")
    with pytest.raises(
        Rejected, match=r"would be 1\.2 MB, above this installation's limit of 1 MB"
    ):
        await connector.deliver(make_target(server, tls, max_message_mb=1), big)
    assert server.messages == [] and server.logins == []


async def test_each_family_goes_to_its_own_address(
    connector: EmailConnector, server: SmtpSandbox, tls: SandboxTls, tmp_path: Path
) -> None:
    addresses = {
        "purchases_address": PURCHASES,
        "sales_address": SALES,
        "statements_address": STATEMENTS,
    }
    target = make_target(server, tls, addresses)
    kinds = [
        (DocumentKind.PURCHASE_INVOICE, "application/xml"),
        (DocumentKind.SALES_INVOICE, "application/xml"),
        (DocumentKind.ENRICHED_MOVEMENT_REPORT, "text/plain"),
    ]
    for n, (kind, media_type) in enumerate(kinds, start=1):
        parcel = make_parcel(
            tmp_path / str(n), CONTENT, document_id=n, kind=kind, media_type=media_type
        )
        await connector.deliver(target, parcel)
    assert [m.rcpt_tos for m in server.messages] == [(PURCHASES,), (SALES,), (STATEMENTS,)]
    coda = server.messages[2].parsed()
    assert coda["Subject"].startswith("cod ")
    [attachment] = list(coda.iter_attachments())
    assert attachment.get_filename().endswith(".cod")
    assert attachment.get_payload(decode=True) == CONTENT


async def test_a_family_without_an_address_is_not_sent_anywhere(
    connector: EmailConnector, server: SmtpSandbox, target: Target, tmp_path: Path
) -> None:
    sales = make_parcel(tmp_path, CONTENT, kind=DocumentKind.SALES_INVOICE)
    with pytest.raises(Rejected, match="no sales address"):
        await connector.deliver(target, sales)
    assert server.messages == [] and server.logins == []


async def test_pdf_and_ubl_both_attached_when_chosen(
    connector: EmailConnector, server: SmtpSandbox, tls: SandboxTls, parcel: Parcel
) -> None:
    pdf = ParcelFile(
        "pdf",
        parcel.main.name.replace(".xml", ".pdf"),
        "application/pdf",
        8,
        "x",
        lambda: io.BytesIO(b"%PDF-1.7"),
    )
    with_pdf = replace(parcel, files=(parcel.main, pdf))
    await connector.deliver(make_target(server, tls, attachments="both"), with_pdf)
    names = [a.get_filename() for a in server.messages[0].parsed().iter_attachments()]
    assert names == [parcel.main.name, pdf.name]


async def test_the_subject_template_is_used(
    connector: EmailConnector, server: SmtpSandbox, tls: SandboxTls, parcel: Parcel
) -> None:
    target = make_target(server, tls, subject="[external_id] [year]-[month]: [document_number]")
    await connector.deliver(target, parcel)
    assert server.messages[0].parsed()["Subject"] == "C042 2026-03: INV-2026-001"


async def test_starttls_is_never_skipped(
    connector: EmailConnector, tls: SandboxTls, tmp_path: Path, parcel: Parcel
) -> None:
    plain = SmtpSandbox(security="none").start()  # offers no STARTTLS
    try:
        target = make_target(plain, tls, security="starttls", username=None)
        with pytest.raises(Misconfigured, match="does not offer STARTTLS"):
            await connector.deliver(replace(target, secrets={}), parcel)
        assert plain.messages == []
        # Without a login, an unencrypted server may be chosen explicitly.
        open_target = make_target(plain, tls, security="none", username=None)
        await connector.deliver(replace(open_target, secrets={}), parcel)
        assert len(plain.messages) == 1
    finally:
        plain.stop()


async def test_an_untrusted_certificate_is_refused(
    connector: EmailConnector, server: SmtpSandbox, tls: SandboxTls, parcel: Parcel
) -> None:
    other = SandboxTls.make()
    with pytest.raises(Misconfigured, match=r"certificate .* cannot be verified"):
        await connector.deliver(make_target(server, tls, ca_bundle=other.ca_pem), parcel)
    assert server.logins == [], "no password may go to a server we cannot verify"


async def test_loopback_is_refused_by_default(
    server: SmtpSandbox, target: Target, parcel: Parcel
) -> None:
    connector = EmailConnector()
    with pytest.raises(Misconfigured, match=r"localhost \(.+\) is a loopback address"):
        await connector.deliver(target, parcel)
    assert server.logins == []


async def test_check_logs_in_without_sending(
    connector: EmailConnector, server: SmtpSandbox, target: Target
) -> None:
    result = await connector.check(target)
    assert result.ok and f"logged in as {USER}" in result.message and "STARTTLS" in result.message
    assert server.messages == [] and server.logins == [(USER, True)]


async def test_the_test_message_reports_what_the_server_said(
    connector: EmailConnector, server: SmtpSandbox, tls: SandboxTls
) -> None:
    target = make_target(server, tls, {"purchases_address": PURCHASES, "sales_address": SALES})
    result = await connector.test_delivery(target)
    assert result.ok and "accepted the test message" in result.message
    [mail] = server.messages
    assert set(mail.rcpt_tos) == {PURCHASES, SALES}
    assert mail.parsed()["Subject"].startswith("Test: ")
    assert "psr-test-" in mail.message_id
    server.faults.refuse_recipients.add(SALES)
    partly = await connector.test_delivery(target)
    assert not partly.ok and f"refused {SALES}: 550" in partly.message
    server.faults.refuse_recipients.add(PURCHASES)
    refused = await connector.test_delivery(target)
    assert not refused.ok and "refused every recipient" in refused.message


async def test_a_test_message_without_addresses_goes_to_the_sender(
    connector: EmailConnector, server: SmtpSandbox, tls: SandboxTls
) -> None:
    result = await connector.test_delivery(make_target(server, tls, {}))
    assert result.ok
    assert server.messages[0].rcpt_tos == ("exports@firm.example",)
