"""The path-template language: `/invoice_import/[external_id]_[uen_number]/[invoice_type]`.

A template is checked when a configuration is saved and rendered for each export. It can
never leave the root it is rendered under: `..`, `.`, `~`, empty segments, backslashes and
drive letters are refused in the template, and every variable's value is cleaned so that it
stays inside one path segment.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from passeur.domain.errors import InvalidInput

VARIABLES: dict[str, str] = {
    "uen_number": "the client's enterprise number, e.g. 0123456749",
    "invoice_type": "purchases, sales, cod (statements) or other",
    "external_id": "the client's external reference",
    "year": "year of the document's date (issue or statement date; else its release)",
    "month": "month of the document's date (2 digits)",
    "document_number": "the document's own number (invoice number, statement number)",
    "client_name": "the client's name",
    "vat_number": "the client's VAT number, e.g. BE0123456749 (its enterprise number if none)",
}

# The longest value each variable can render to, in bytes (values are cleaned to ASCII):
# an enterprise number has 10 digits, an external reference at most 40 characters
# (domain/partners.py), and free text is cut at VALUE_CUT by clean_segment_value.
VALUE_CUT = 120
LONGEST_VALUE: dict[str, int] = {
    "uen_number": 10,
    "vat_number": 15,  # a country code and at most 13 characters (normalise_vat_number)
    "invoice_type": 9,  # "purchases"
    "external_id": 40,
    "year": 4,
    "month": 2,
    "document_number": VALUE_CUT,
    "client_name": VALUE_CUT,
}
# What SFTP servers and cloud providers accept for one folder or file name, and what
# passeur allows for a whole rendered path (docs/decisions.md, "Paths and file names").
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 1024
# Room kept for the file name a connector adds: `<date>_<number>_d<id>.<ext>` is at most
# 10 + 1 + 120 + 2 + 20 + 5 bytes, and SFTP's staging name adds `.…<export key>.part`.
FILE_NAME_ROOM = 224

_TOKEN = re.compile(r"\[([^\[\]]*)\]")
_LITERAL_OK = re.compile(r"^[A-Za-z0-9 ._\-+@()&,=]*$")
_UNSAFE_IN_VALUE = re.compile(r"[^A-Za-z0-9 ._\-+@()&,=]")
MAX_LENGTH = 400


@dataclass(frozen=True)
class PathTemplate:
    """A validated template; `render` turns it into a relative POSIX path."""

    text: str

    @classmethod
    def parse(cls, text: str) -> PathTemplate:
        return _parsed(text)

    @property
    def variables(self) -> list[str]:
        return _TOKEN.findall(self.text)

    def render(self, values: Mapping[str, str]) -> str:
        """Render to a relative path: no leading slash, no empty or dot segments."""
        missing = [name for name in self.variables if not values.get(name)]
        if missing:
            raise InvalidInput(
                "the path needs " + ", ".join(f"[{n}]" for n in missing) + " but it is empty"
            )
        rendered = _TOKEN.sub(lambda m: clean_segment_value(values[m.group(1)]), self.text)
        segments = [s for s in rendered.strip("/").split("/")]
        if segments == [""]:
            return ""
        for segment in segments:
            if segment in ("", ".", "..") or segment.strip(". ") == "":
                raise InvalidInput(f"the rendered path {rendered!r} has an empty or dot segment")
        return "/".join(segments)  # within the limits: validate() bounds every value


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> PathTemplate:
    """Templates are few and rendered for every export: check each one once."""
    validate(text)
    return PathTemplate(text=text)


def validate(text: str) -> None:
    """Raise InvalidInput with a clear reason when a template could escape or is malformed."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("the path is empty; use '/' for the root folder")
    if len(text) > MAX_LENGTH:
        raise InvalidInput(f"the path is longer than {MAX_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise InvalidInput("the path contains control characters")
    if "\\" in text:
        raise InvalidInput("use '/' to separate folders, not '\\'")
    if re.match(r"^[A-Za-z]:", text):
        raise InvalidInput("the path may not name a drive (e.g. 'C:'); it is relative to the root")
    if text.startswith("~"):
        raise InvalidInput("the path may not start with '~'; it is relative to the root")
    if (
        text.count("[") != text.count("]")
        or _TOKEN.sub("", text).count("[")
        or _TOKEN.sub("", text).count("]")
    ):
        raise InvalidInput("the path has an unbalanced '[' or ']'")
    for name in _TOKEN.findall(text):
        if name not in VARIABLES:
            known = ", ".join(f"[{v}]" for v in VARIABLES)
            raise InvalidInput(f"unknown variable [{name}] in the path; known: {known}")
    body = text[1:] if text.startswith("/") else text
    if body == "":
        return
    for segment in body.rstrip("/").split("/"):
        if segment == "":
            raise InvalidInput("the path has an empty folder name ('//'): an absolute jump")
        if segment in (".", ".."):
            raise InvalidInput(f"the path may not contain '{segment}': it must stay in its root")
        literal = _TOKEN.sub("", segment)
        if not _LITERAL_OK.match(literal):
            raise InvalidInput(f"the folder name {segment!r} has characters that are not allowed")
        if _longest(segment) > MAX_NAME_BYTES:
            raise InvalidInput(
                f"the folder name {segment!r} can render to {_longest(segment)} bytes; servers "
                f"and cloud providers accept at most {MAX_NAME_BYTES} per name: use fewer "
                "variables in it, or put them in folders of their own"
            )
    room = MAX_PATH_BYTES - FILE_NAME_ROOM
    if _longest(body) > room:
        raise InvalidInput(
            f"the path can render to {_longest(body)} bytes; with the file name a path may "
            f"have at most {MAX_PATH_BYTES}, so the folders at most {room}: use fewer "
            "variables or shorter folder names"
        )


def _longest(template: str) -> int:
    """The most bytes `template` can render to: its text, each variable at its longest."""
    return len(_TOKEN.sub("", template).encode()) + sum(
        LONGEST_VALUE[name] for name in _TOKEN.findall(template)
    )


def check_lengths(path: str) -> None:
    """Refuse a path with a name longer than servers accept, or longer than MAX_PATH_BYTES
    in all: a root folder, or a rendered path with its file name (a template saved before
    these limits)."""
    for name in path.split("/"):
        if len(name.encode()) > MAX_NAME_BYTES:
            raise InvalidInput(
                f"the name {_start(name)} is {len(name.encode())} bytes; servers accept at "
                f"most {MAX_NAME_BYTES}: shorten the folder names or the path's variables"
            )
    if len(path.encode()) > MAX_PATH_BYTES:
        raise InvalidInput(
            f"the path {_start(path)} is {len(path.encode())} bytes, more than the "
            f"{MAX_PATH_BYTES} allowed: shorten its folder names or variables"
        )


def _start(text: str) -> str:
    return repr(text) if len(text) <= 40 else f"{text[:40]!r}…"


def clean_segment_value(value: str) -> str:
    """Make a variable's value safe inside one path segment (no '/', no '..', no controls)."""
    ascii_text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE_IN_VALUE.sub("_", ascii_text).strip(" .")
    cleaned = re.sub(r"\.{2,}", ".", cleaned)
    return cleaned[:VALUE_CUT] or "_"


def join_under(root: str, relative: str) -> str:
    """Join a rendered relative path under a root folder, refusing any escape."""
    base = root.rstrip("/") if root not in ("", "/") else root
    if any(part in ("..",) for part in relative.split("/")):
        raise InvalidInput("the path leaves its root")
    if not relative:
        return base or "."
    if base in ("", "."):
        return relative
    if base == "/":
        return "/" + relative
    return f"{base}/{relative}"


def document_variables(
    *,
    uen_number: str,
    external_id: str,
    client_name: str,
    invoice_type: str,
    document_number: str,
    year: int,
    month: int,
    vat_number: str = "",
) -> dict[str, str]:
    """The values of every variable for one document (the same on every try)."""
    return {
        "uen_number": uen_number,
        "invoice_type": invoice_type,
        "external_id": external_id,
        "year": f"{year:04d}",
        "month": f"{month:02d}",
        "document_number": document_number,
        "client_name": client_name,
        # Belgian VAT numbers are BE + the enterprise number: the cloud folders' layout
        # names each client by it, so a client without one still gets a stable folder.
        "vat_number": vat_number or (f"BE{uen_number}" if uen_number else ""),
    }


def file_name(date: str, number: str, document_id: int, extension: str) -> str:
    """Deterministic: the same document always lands under the same name."""
    parts = [clean_segment_value(p) for p in (date, number) if p]
    parts.append(f"d{document_id}")
    return "_".join(parts) + f".{extension}"
