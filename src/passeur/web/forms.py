"""Forms generated from an extension's field declarations: no template per extension.

`install_form` and `client_form` turn declared fields and current values into what
templates/fields.html renders; `parse` turns a submitted form back into the
`dict[str, str]` the services expect. Secrets are write-only: a form never holds their
value, an empty secret input keeps the secret, and its "Remove" box forgets it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension
from passeur.domain.fields import Field, FieldKind

REMOVE = "__remove"  # suffix of a secret's "Remove" box
_TRUE = ("1", "true", "yes", "on")
_INPUT_TYPES = {
    FieldKind.INTEGER: "number",
    FieldKind.EMAIL: "email",
    FieldKind.URL: "url",
}


@dataclass(frozen=True)
class FormField:
    """One declared field as a form shows it."""

    field: Field
    value: str = ""  # never a secret's value
    is_set: bool = False  # a secret that has a value: shown as "set"
    inherited: str | None = None  # a client form: the installation's value (None: none)
    error: str = ""

    @property
    def name(self) -> str:
        return self.field.name

    @property
    def follows_installation(self) -> bool:
        """A client's field that may be left empty to keep the installation's value."""
        return self.inherited is not None

    @property
    def input_type(self) -> str:
        if self.field.secret:
            return "password"
        return _INPUT_TYPES.get(self.field.kind, "text")

    @property
    def widget(self) -> str:
        """checkbox, select, textarea or input."""
        kind = self.field.kind
        if kind is FieldKind.BOOLEAN:
            return "select" if self.follows_installation else "checkbox"
        if kind is FieldKind.CHOICE:
            return "select"
        if kind is FieldKind.MULTILINE:
            return "textarea"
        return "input"

    @property
    def checked(self) -> bool:
        return self.value.lower() in _TRUE

    @property
    def options(self) -> list[str]:
        if self.field.kind is FieldKind.BOOLEAN:
            return ["true", "false"]
        return list(self.field.choices)

    @property
    def removable(self) -> bool:
        return self.field.secret and self.is_set and not self.field.required


@dataclass(frozen=True)
class Form:
    """The generated fields, split as the page shows them."""

    fields: list[FormField]
    error: str = ""  # a refusal that names no field

    @property
    def basic(self) -> list[FormField]:
        """Shown first: the form's own fields (a client's, on a client's form), and the
        paths, which are what a client's form is mostly for."""
        return [f for f in self.fields if not f.field.advanced and not self._tucked(f)]

    @property
    def overridable(self) -> list[FormField]:
        """A client's form: the installation's other values this client may replace,
        folded away (most clients keep them)."""
        return [f for f in self.fields if not f.field.advanced and self._tucked(f)]

    @property
    def overrides_open(self) -> bool:
        return any(f.error or f.value for f in self.overridable)

    @staticmethod
    def _tucked(f: FormField) -> bool:
        return f.follows_installation and f.field.kind is not FieldKind.PATH

    @property
    def advanced(self) -> list[FormField]:
        return [f for f in self.fields if f.field.advanced]

    @property
    def advanced_open(self) -> bool:
        return any(f.error for f in self.advanced)

    @property
    def secret_names(self) -> list[str]:
        return [f.name for f in self.fields if f.field.secret]

    @property
    def path_fields(self) -> list[str]:
        return [f.name for f in self.fields if f.field.kind is FieldKind.PATH]


def refusal(exc: InvalidInput) -> dict[str, Any]:
    """A service's refusal as a form shows it: beside its field, else above the form
    (the `errors` and `error` of install_form and client_form)."""
    return {
        "errors": {exc.field: str(exc)} if exc.field else {},
        "error": "" if exc.field else str(exc),
    }


def install_form(
    ext: Extension,
    values: Mapping[str, Any] | None = None,
    *,
    secrets_set: frozenset[str] = frozenset(),
    errors: Mapping[str, str] | None = None,
    error: str = "",
) -> Form:
    """The installation's form: its values (defaults for a new one), secrets only as set."""
    shown = dict(values) if values is not None else _defaults(ext.install_fields)
    return Form(
        [
            FormField(
                f,
                value="" if f.secret else _text(shown.get(f.name)),
                is_set=f.secret and f.name in secrets_set,
                error=(errors or {}).get(f.name, ""),
            )
            for f in ext.install_fields
        ],
        error=error,
    )


def client_form(
    ext: Extension,
    overrides: Mapping[str, Any],
    installation_values: Mapping[str, Any],
    *,
    secrets_set: frozenset[str] = frozenset(),
    errors: Mapping[str, str] | None = None,
    error: str = "",
) -> Form:
    """A client's form: its own fields and the installation's values it may override,
    each shown with the installation's value as a placeholder to confirm or replace."""
    install_names = {f.name for f in ext.install_fields}
    return Form(
        [
            FormField(
                f,
                value="" if f.secret else _text(overrides.get(f.name)),
                is_set=f.secret and f.name in secrets_set,
                inherited=(
                    _text(installation_values.get(f.name)) if f.name in install_names else None
                ),
                error=(errors or {}).get(f.name, ""),
            )
            for f in ext.client_fields
        ],
        error=error,
    )


def parse(
    fields: Sequence[Field], form: Mapping[str, Any], *, client: bool = False
) -> dict[str, str]:
    """The submitted values of the declared fields only, as text.

    An unticked checkbox is "false" (installation forms; a client's form offers "as the
    installation" instead). An empty secret is left out (kept); a ticked "Remove" box
    gives "" (forgotten).
    """
    out: dict[str, str] = {}
    for f in fields:
        raw = form.get(f.name)
        if f.secret:
            if _ticked(form.get(f.name + REMOVE)):
                out[f.name] = ""
            elif isinstance(raw, str) and raw != "":
                out[f.name] = raw
            continue
        if f.kind is FieldKind.BOOLEAN and not client:
            out[f.name] = "true" if _ticked(raw) else "false"
            continue
        if isinstance(raw, str):
            out[f.name] = raw
    return out


def shown_again(
    fields: Sequence[Field], form: Mapping[str, Any], *, client: bool = False
) -> dict[str, str]:
    """What the person typed, to show again after a refusal (never a secret)."""
    secrets = {f.name for f in fields if f.secret}
    return {k: v for k, v in parse(fields, form, client=client).items() if k not in secrets}


def _defaults(fields: Sequence[Field]) -> dict[str, Any]:
    return {f.name: f.default for f in fields if f.default is not None}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ticked(raw: Any) -> bool:
    return isinstance(raw, str) and raw.lower() in _TRUE
