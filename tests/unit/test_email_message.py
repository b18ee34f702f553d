"""E-mail pieces without a server: subject template, header safety, routing, size, pacing."""

from __future__ import annotations

import io
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from passeur.connectors.base import Parcel, ParcelFile
from passeur.connectors.email import EXTENSION, EmailConnector, message, subject
from passeur.connectors.errors import Rejected
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target, effective_config
from tests.connectors.parcels import make_parcel

INSTALL = {"host": "smtp.example.com", "sender_address": "exports@firm.example"}
ADDRESSES = {"purchases_address": "aankoop-c042@inbox.example"}


def target(**overrides: object) -> Target:
    config = effective_config(EXTENSION, {**INSTALL, **overrides}, ADDRESSES)
    return Target(1, 1, "email", config, {})


@pytest.fixture
def parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path, b"<Invoice/>")


def parsed(mail: message.Mail):  # type: ignore[no-untyped-def]
    return message_from_bytes(mail.data, policy=policy.default)


def test_the_subject_takes_the_path_variables(parcel: Parcel) -> None:
    subject.check(subject.DEFAULT)
    assert subject.render(subject.DEFAULT, parcel.variables) == (
        "purchases INV-2026-001 - Bakkerij Janssens"
    )
    assert subject.render("[uen_number]/[year]-[month]", parcel.variables) == "0403170701/2026-03"


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("[nope] invoice", "unknown variable"),
        ("[invoice_type", "unbalanced"),
        ("invoice]", "unbalanced"),
        ("Invoice\r\nBcc: spy@evil.example", "line breaks"),
        ("Invoice\nX", "line breaks"),
        ("x" * 201, "longer than"),
    ],
)
def test_bad_subjects_are_refused_when_saved(template: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        subject.check(template)


def test_a_value_with_a_line_break_cannot_add_a_header(parcel: Parcel) -> None:
    sneaky = replace(
        parcel,
        client_name="Evil\r\nBcc: spy@evil.example",
        variables={**parcel.variables, "client_name": "Evil\r\nBcc: spy@evil.example"},
    )
    mail = message.compose(target(), sneaky, ("aankoop-c042@inbox.example",))
    headers = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nBcc:" not in headers
    assert parsed(mail)["Bcc"] is None
    assert parsed(mail)["Subject"] == "purchases INV-2026-001 - Evil Bcc: spy@evil.example"


def test_the_message_id_comes_from_the_export_key(parcel: Parcel) -> None:
    mail = message.compose(target(sender_name="Firm & Co"), parcel, ("a@inbox.example",))
    msg = parsed(mail)
    assert mail.message_id == msg["Message-ID"] == "<psr-d7-i1-v1@firm.example>"
    [sender] = msg["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Firm & Co", "exports@firm.example")
    assert msg["Auto-Submitted"] == "auto-generated"
    again = message.compose(target(), parcel, ("a@inbox.example",))
    assert again.message_id == mail.message_id  # a retry is recognisable
    assert (
        message.compose(
            target(), replace(parcel, export_key="psr-d7-i1-v2"), ("a@x.be",)
        ).message_id
        != mail.message_id
    )


def test_one_attachment_named_after_the_document_byte_for_byte(parcel: Parcel) -> None:
    [attachment] = list(parsed(message.compose(target(), parcel, ("a@x.be",))).iter_attachments())
    assert attachment.get_filename() == "2026-03-01_INV-2026-001_d7.xml"
    assert attachment.get_content() == b"<Invoice/>"


@pytest.mark.parametrize(
    ("choice", "names"),
    [("original", ["doc.xml"]), ("pdf", ["doc.pdf"]), ("both", ["doc.xml", "doc.pdf"])],
)
def test_attachments_as_the_integration_chooses(
    parcel: Parcel, choice: str, names: list[str]
) -> None:
    xml = replace(parcel.main, name="doc.xml")
    pdf = ParcelFile("pdf", "doc.pdf", "application/pdf", 4, "x", lambda: io.BytesIO(b"%PDF"))
    both = replace(parcel, files=(xml, pdf))
    assert [f.name for f in message.attachments(both, choice)] == names
    assert [f.name for f in message.attachments(replace(parcel, files=(xml,)), choice)] == [
        "doc.xml"
    ], "without a PDF, the original goes"


def test_each_family_has_its_address() -> None:
    t = Target(
        1,
        1,
        "email",
        {"purchases_address": "p@x.be", "sales_address": "s@x.be", "statements_address": "c@x.be"},
    )
    assert [message.destination(t, f) for f in Family] == ["p@x.be", "s@x.be", "c@x.be", ""]


def test_a_client_receives_only_the_families_it_has_an_address_for() -> None:
    assert EXTENSION.families_for({"purchases_address": "p@x.be"}) == {Family.PURCHASES}
    assert EXTENSION.families_for({"sales_address": "s@x.be", "statements_address": "c@x.be"}) == {
        Family.SALES,
        Family.STATEMENTS,
    }


@pytest.mark.parametrize(
    ("values", "secrets", "integration", "reason"),
    [
        ({"username": "firm"}, set(), False, "both a username and a password"),
        ({}, {"password"}, False, "both a username and a password"),
        ({"username": "firm", "security": "none"}, {"password"}, False, "travel in clear"),
        ({}, set(), True, "at least one destination address"),
    ],
)
def test_rules_across_fields(
    values: dict[str, str], secrets: set[str], integration: bool, reason: str
) -> None:
    config = effective_config(EXTENSION, {**INSTALL, **values})
    with pytest.raises(InvalidInput, match=reason):
        EXTENSION.check_rules(config, frozenset(secrets), integration=integration)


def test_a_message_above_the_limit_is_refused_before_it_is_read(tmp_path: Path) -> None:
    big = make_parcel(tmp_path, b"x" * 800_000)
    opened: list[int] = []
    counted = replace(big.main, opener=lambda: opened.append(1) or io.BytesIO(b""))  # type: ignore[func-returns-value]
    connector = EmailConnector()
    with pytest.raises(Rejected, match=r"1\.1 MB, above this installation's limit of 1 MB"):
        connector._compose(target(max_message_mb=1), replace(big, files=(counted,)), ("a@x.be",))
    assert opened == []
    connector._compose(target(max_message_mb=2), big, ("a@x.be",))  # fits


def test_each_installation_is_paced_by_its_own_messages_per_minute() -> None:
    assert EXTENSION.pacing_for({"per_minute": 5}).per_minute == 5
    assert EXTENSION.pacing_for({}).per_minute == 30
    assert not any(f.name == "per_minute" for f in EXTENSION.client_fields), (
        "a limit for the whole installation is not a client's to override"
    )
