"""The SFTP connector's pin hook: only the host key whose fingerprint the person
confirmed is pinned, and only while the server still shows it."""

from __future__ import annotations

import asyncssh
import pytest

from passeur.connectors.base import CheckResult, Connector
from passeur.connectors.http import HttpConnector
from passeur.connectors.sftp import SftpConnector, fingerprint
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target

KEY = asyncssh.generate_private_key("ssh-ed25519")
OPENSSH = KEY.export_public_key("openssh").decode().strip()
TARGET = Target(installation_id=1, integration_id=None, extension="sftp", config={}, secrets={})


def shown(key: str = OPENSSH) -> CheckResult:
    return CheckResult(ok=False, message="confirm it", details={"host_key": key})


def test_the_confirmed_key_is_pinned() -> None:
    assert SftpConnector().pin(TARGET, shown(), fingerprint(KEY)) == {"host_key": OPENSSH}


def test_another_key_pins_nothing() -> None:
    other = fingerprint(asyncssh.generate_private_key("ssh-ed25519"))
    with pytest.raises(InvalidInput, match="nothing was pinned") as refused:
        SftpConnector().pin(TARGET, shown(), other)
    assert refused.value.field == "trust"


def test_a_confirmation_not_shaped_like_a_fingerprint_is_refused() -> None:
    with pytest.raises(InvalidInput, match="SHA256"):
        SftpConnector().pin(TARGET, shown(), "yes")


def test_a_key_already_pinned_needs_nothing_and_another_is_refused() -> None:
    ok = CheckResult(
        ok=True, message="matches", details={"pinned": True, "fingerprint": fingerprint(KEY)}
    )
    assert SftpConnector().pin(TARGET, ok, fingerprint(KEY)) == {}
    other = fingerprint(asyncssh.generate_private_key("ssh-ed25519"))
    with pytest.raises(InvalidInput, match="is pinned, not"):
        SftpConnector().pin(TARGET, ok, other)


def test_a_connector_without_anything_to_pin_pins_nothing() -> None:
    connector: Connector = HttpConnector()
    assert connector.pin(TARGET, shown(), fingerprint(KEY)) == {}
    assert SftpConnector.pin_follows == frozenset({"host"})
