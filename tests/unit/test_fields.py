import pytest

from passeur.connectors.sftp import EXTENSION as SFTP
from passeur.domain.errors import InvalidInput
from passeur.domain.fields import Field, FieldKind, clean_values


def test_sftp_declares_both_field_sets_and_secrets() -> None:
    names = [f.name for f in SFTP.install_fields]
    assert names[:4] == ["host", "port", "username", "password"]
    assert SFTP.secret_names() == {"password", "private_key"}
    client_fields = {f.name for f in SFTP.client_fields}
    assert "upload_path" in client_fields and "host" in client_fields
    assert not client_fields & SFTP.secret_names(), "a client may never override a secret"
    assert all(not f.required for f in SFTP.client_fields)


def test_install_values_are_cleaned_and_checked() -> None:
    cleaned = SFTP.clean_install({"host": " sftp.example.be ", "port": "2222", "username": "u"})
    assert cleaned == {"host": "sftp.example.be", "port": 2222, "username": "u"}


@pytest.mark.parametrize(
    "values, message",
    [
        ({"host": "h", "username": "u", "port": "0"}, "at least 1"),
        ({"host": "h", "username": "u", "port": "x"}, "whole number"),
        ({"host": "bad host!", "username": "u"}, "not a host name"),
        ({"username": "u"}, "missing required field"),
        ({"host": "h", "username": "u", "colour": "blue"}, "unknown field"),
        ({"host": "h", "username": "u\r\nX-Injected: 1"}, "line breaks"),
        ({"host": "h", "username": "u", "upload_path": "../x"}, "Upload path"),
        ({"host": "h", "username": "u", "host_key": "not a key"}, "Host key"),
    ],
)
def test_bad_install_values_are_refused(values: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        SFTP.clean_install(values)


def test_one_of_password_or_key_is_required() -> None:
    with pytest.raises(InvalidInput, match="Password or Private key"):
        SFTP.check_complete({"host", "username"})
    SFTP.check_complete({"host", "username", "private_key"})


def test_email_and_choice_fields() -> None:
    fields = [
        Field("to", "Address", FieldKind.EMAIL),
        Field("mode", "Mode", FieldKind.CHOICE, choices=("a", "b")),
    ]
    assert clean_values(fields, {"to": "ap@firm.be", "mode": "a"}) == {
        "to": "ap@firm.be",
        "mode": "a",
    }
    with pytest.raises(InvalidInput, match="not an e-mail"):
        clean_values(fields, {"to": "ap@firm.be>\r\nBcc: x@y.z"})
    with pytest.raises(InvalidInput, match="one of: a, b"):
        clean_values(fields, {"mode": "c"})


def test_a_value_longer_than_a_field_can_hold_is_refused() -> None:
    host = Field("host", "Host", FieldKind.HOST)
    with pytest.raises(InvalidInput, match="Host is longer than 2,000 characters"):
        host.clean("a" * 2001)
    key = Field("private_key", "Private key", FieldKind.MULTILINE, secret=True)
    assert key.clean("k" * 50_000) == "k" * 50_000
    with pytest.raises(InvalidInput, match="longer than 100,000"):
        key.clean("k" * 100_001)
