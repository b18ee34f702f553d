"""Every message the UI shows has a French and a Dutch translation with the same values."""

from __future__ import annotations

import re

import pytest

from passeur.web import i18n, messages

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize("locale", ["fr", "nl"])
def test_no_message_lacks_a_translation(locale: str) -> None:
    gaps = messages.missing(locale)
    assert gaps == [], (
        f"{len(gaps)} message(s) without a {locale} translation; "
        f"run `python -m passeur.web.messages` and add them: {gaps[:10]}"
    )


@pytest.mark.parametrize("locale", ["fr", "nl"])
def test_translations_keep_every_placeholder(locale: str) -> None:
    for message in i18n.catalog(locale):
        if not message.id or not isinstance(message.id, str):
            continue
        wanted = set(_PLACEHOLDER.findall(message.id))
        assert set(_PLACEHOLDER.findall(str(message.string))) == wanted, message.id


def test_the_check_finds_a_message_that_is_not_translated(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real = messages.used
    monkeypatch.setattr(messages, "used", lambda: real() | {"A message nobody translated"})
    assert messages.missing("fr") == ["A message nobody translated"]


def test_messages_are_found_in_templates_python_and_declarations() -> None:
    found = messages.used()
    assert "Skip to content" in found  # a template
    assert "Wrong e-mail address or password." in found  # web Python, N_()
    assert "Upload path" in found  # the SFTP extension's declaration


@pytest.mark.parametrize("locale", ["fr", "nl"])
def test_plural_messages_have_every_form_of_the_language(locale: str) -> None:
    catalog = i18n.catalog(locale)
    for message in catalog:
        if isinstance(message.id, tuple):
            forms = [s for s in message.string if s]
            assert len(forms) == catalog.num_plurals, (message.id, catalog.num_plurals)
