"""The one redaction function: worker messages, connector errors, connection tests."""

from __future__ import annotations

from passeur.domain.redaction import MASK, redact


def test_a_secret_value_is_masked() -> None:
    assert redact("login pw=hunter22 failed", ["hunter22"]) == "login pw=*** failed"


def test_every_part_of_a_secret_holding_several_is_masked() -> None:
    rotated = "whsec_new12345 whsec_old67890"
    assert redact("signed with whsec_old67890", [rotated]) == f"signed with {MASK}"


def test_a_secret_containing_another_is_masked_whole() -> None:
    assert redact("token abcd-efgh-ijkl", ["abcd", "abcd-efgh-ijkl"]) == "token ***"


def test_empty_and_very_short_values_mask_nothing() -> None:
    assert redact("an ordinary sentence", ["", "an", "e"]) == "an ordinary sentence"


def test_values_may_come_from_any_iterable() -> None:
    secrets = {"password": "hunter22", "token": "t0k3n-x"}
    assert redact("hunter22 then t0k3n-x", secrets.values()) == "*** then ***"
