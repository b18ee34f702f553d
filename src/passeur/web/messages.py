"""Which messages the UI shows, and which of them a catalogue lacks.

Messages come from three places: `_()` in templates, `N_()`/`_()` in the web's Python,
and the extensions' declarations (names, summaries, field labels and help), which the
forms translate when they render them. `python -m passeur.web.messages` prints the
missing ones of each language as .po entries to fill in.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from babel.messages.extract import extract_from_dir

from passeur.connectors import registry
from passeur.delivery import notice_mail
from passeur.domain import notices
from passeur.web import i18n

WEB = Path(__file__).parent
_METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
_KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}


def used() -> set[str]:
    """Every message id the UI can show."""
    found: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), _METHODS, keywords=_KEYWORDS, options_map={"**.html": {}}
    ):
        if isinstance(message, tuple):
            found.update(m for m in message if m)
        elif message:
            found.add(message)
    return found | set(declared())


def declared() -> Iterable[str]:
    """What the extensions' declarations show in the UI, and what notifications say (in
    the UI and in their e-mails)."""
    yield from notices.TITLES.values()
    yield from notices.MODE_LABELS.values()
    yield from notice_mail.MESSAGES
    for ext in registry.extensions().values():
        yield from (ext.name, ext.summary, ext.sends)
        for field in ext.install_fields + ext.integration_fields:
            yield field.label
            if field.help:
                yield field.help


def missing(locale: str) -> list[str]:
    # A plural entry is keyed by its singular: its plural id counts as translated too.
    have: set[str] = set()
    for message in i18n.catalog(locale):
        if message.id and message.string:
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            have.update(str(i) for i in ids)
    return sorted(m for m in used() if m not in have)


def _po_entry(message: str) -> str:
    escaped = message.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'msgid "{escaped}"\nmsgstr ""\n'


if __name__ == "__main__":
    for code in i18n.LOCALES:
        if code == i18n.DEFAULT:
            continue
        gaps = missing(code)
        print(f"# {code}: {len(gaps)} missing", file=sys.stderr)
        for message in gaps:
            print(f"# {code}\n{_po_entry(message)}")
