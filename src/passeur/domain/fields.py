"""Configuration fields declared once by each extension.

One declaration drives the web form, the API JSON schema, `passeur extensions describe` and
the docs; validation of saved values happens here too, so every entry point refuses the
same bad input with the same message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from passeur.domain import paths
from passeur.domain.errors import InvalidInput


class FieldKind(StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    PATH = "path"  # a path template (domain/paths.py)
    EMAIL = "email"
    URL = "url"
    HOST = "host"


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = False
    default: Any = None
    help: str = ""
    secret: bool = False  # write-only: encrypted at rest, never returned or logged
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    advanced: bool = False
    check: Callable[[Any], None] | None = None  # extra rule; raises InvalidInput
    overridable: bool = True  # an installation value a client's integration may override

    @property
    def longest(self) -> int:
        """The most characters a value may have (a PEM bundle or a key is multiline)."""
        return 100_000 if self.kind is FieldKind.MULTILINE else 2_000

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description (the API schema and the CLI use it)."""
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "kind": self.kind.value,
            "required": self.required,
            "secret": self.secret,
            "advanced": self.advanced,
        }
        if self.default is not None:
            out["default"] = self.default
        if self.help:
            out["help"] = self.help
        if self.choices:
            out["choices"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if not self.overridable:
            out["overridable"] = False
        return out

    def clean(self, raw: Any) -> Any:
        """Turn raw input (str from CLI/forms, or JSON values) into a checked value."""
        if raw is None or (isinstance(raw, str) and raw.strip() == ""):
            return None
        if isinstance(raw, str) and len(raw) > self.longest:
            raise InvalidInput(f"{self.label} is longer than {self.longest:,} characters")
        value = _CLEANERS[self.kind](self, raw)
        controls = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"  # tabs, LF and CR are judged below
        if isinstance(value, str) and re.search(controls, value):
            raise InvalidInput(f"{self.label} contains control characters")
        if (
            self.kind is not FieldKind.MULTILINE
            and isinstance(value, str)
            and ("\n" in value or "\r" in value)
        ):
            raise InvalidInput(f"{self.label} may not contain line breaks")
        if self.check is not None:
            self.check(value)
        return value


def _text(field: Field, raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidInput(f"{field.label} must be text")
    return raw if field.secret or field.kind is FieldKind.MULTILINE else raw.strip()


def _integer(field: Field, raw: Any) -> int:
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None:
        raise InvalidInput(f"{field.label} must be a whole number")
    if field.minimum is not None and value < field.minimum:
        raise InvalidInput(f"{field.label} must be at least {field.minimum}")
    if field.maximum is not None and value > field.maximum:
        raise InvalidInput(f"{field.label} must be at most {field.maximum}")
    return value


def _boolean(field: Field, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidInput(f"{field.label} must be yes or no")


def _choice(field: Field, raw: Any) -> str:
    value = _text(field, raw)
    if value not in field.choices:
        raise InvalidInput(f"{field.label} must be one of: {', '.join(field.choices)}")
    return value


def _path(field: Field, raw: Any) -> str:
    value = _text(field, raw)
    try:
        paths.validate(value)
    except InvalidInput as exc:
        raise InvalidInput(f"{field.label}: {exc}") from None
    return value


_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)


def _email(field: Field, raw: Any) -> str:
    value = _text(field, raw)
    if len(value) > 254 or not _EMAIL.match(value):
        raise InvalidInput(f"{field.label}: {value!r} is not an e-mail address")
    return value


def _url(field: Field, raw: Any) -> str:
    value = _text(field, raw)
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        raise InvalidInput(f"{field.label} must be an http:// or https:// URL")
    return value


_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$|^\[?[0-9A-Fa-f:.]+\]?$"
)


def _host(field: Field, raw: Any) -> str:
    value = _text(field, raw)
    if not _HOST.match(value):
        raise InvalidInput(f"{field.label}: {value!r} is not a host name or IP address")
    return value


_CLEANERS: dict[FieldKind, Callable[[Field, Any], Any]] = {
    FieldKind.TEXT: _text,
    FieldKind.MULTILINE: _text,
    FieldKind.INTEGER: _integer,
    FieldKind.BOOLEAN: _boolean,
    FieldKind.CHOICE: _choice,
    FieldKind.PATH: _path,
    FieldKind.EMAIL: _email,
    FieldKind.URL: _url,
    FieldKind.HOST: _host,
}


def clean_values(
    fields: Sequence[Field], raw: Mapping[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """Check every given value against its field; refuse unknown names.

    With `partial`, required fields may be absent (an update, or integration overrides).
    Returns only the values that were given (defaults are applied when reading).
    """
    by_name = {f.name: f for f in fields}
    unknown = sorted(set(raw) - set(by_name))
    if unknown:
        raise InvalidInput(
            f"unknown field(s): {', '.join(unknown)}; expected: {', '.join(by_name) or 'none'}"
        )
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        try:
            value = by_name[name].clean(value)
        except InvalidInput as exc:
            raise InvalidInput(str(exc), field=name) from None
        if value is not None:
            cleaned[name] = value
    if not partial:
        missing = [f for f in fields if f.required and f.name not in cleaned]
        if missing:
            labels = ", ".join(f.label for f in missing)
            raise InvalidInput(f"missing required field(s): {labels}", field=missing[0].name)
    return cleaned


def with_defaults(fields: Sequence[Field], values: Mapping[str, Any]) -> dict[str, Any]:
    out = {f.name: f.default for f in fields if f.default is not None}
    out.update(values)
    return out
