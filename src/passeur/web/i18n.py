"""The UI's languages: Babel catalogues, the language a request gets, and local formats.

English is the source language. Each other language has one catalogue per area of the UI
(`translations/<locale>/<area>.po`), merged when loaded, so that pages can be worked on
side by side. Catalogues are read from the .po files themselves: no compile step.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal

from passeur.domain.partners import LOCALES

DEFAULT = "en"
TRANSLATIONS = Path(__file__).with_name("translations")
# Dates and amounts as a Belgian reader expects them in each language.
_FORMAT_LOCALE = {"en": "en_BE", "fr": "fr_BE", "nl": "nl_BE"}


def N_(message: str) -> str:
    """Marks a string for the catalogues where it is defined; translated where shown."""
    return message


@cache
def catalog(locale: str) -> Catalog:
    """Every area's catalogue of one language, merged."""
    merged = Catalog(locale=locale)
    for po in sorted((TRANSLATIONS / locale).glob("*.po")):
        with po.open("rb") as f:
            for message in read_po(f, locale=locale):
                if message.id and message.string:
                    merged[message.id] = message
    return merged


@cache
def translations(locale: str) -> gettext.NullTranslations:
    if locale == DEFAULT or locale not in LOCALES:
        return gettext.NullTranslations()
    buffer = BytesIO()
    write_mo(buffer, catalog(locale))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def negotiate(accept_language: str) -> str:
    """The first of our languages the browser asks for (Accept-Language), else English."""
    wanted = []
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            wanted.append((quality, tag.strip().replace("-", "_")))
    wanted.sort(key=lambda item: -item[0])
    preferred = [tag for quality, tag in wanted if quality > 0]
    found = Locale.negotiate(preferred, list(LOCALES), sep="_") if preferred else None
    return found.language if found is not None else DEFAULT


@dataclass(frozen=True)
class Language:
    """What a page needs to speak one language: its words and its formats."""

    code: str

    def gettext(self, message: str, **values: Any) -> str:
        text = translations(self.code).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = translations(self.code).ngettext(singular, plural, n)
        return text % {"n": n, **values}

    def date(self, value: date | datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return format_datetime(value, "short", locale=self.format_locale)
        return format_date(value, "medium", locale=self.format_locale)

    def amount(self, value: Decimal | float | str | None, currency: str = "") -> str:
        if value is None or value == "":
            return ""
        number = Decimal(str(value))
        if currency:
            return format_currency(number, currency, locale=self.format_locale)
        return format_decimal(number, locale=self.format_locale)

    def number(self, value: int) -> str:
        return format_decimal(value, locale=self.format_locale)

    @property
    def format_locale(self) -> str:
        return _FORMAT_LOCALE.get(self.code, "en_BE")

    @property
    def name(self) -> str:
        return NAMES[self.code]


NAMES: Mapping[str, str] = {"en": "English", "fr": "Français", "nl": "Nederlands"}


def language(code: str) -> Language:
    return Language(code if code in LOCALES else DEFAULT)
