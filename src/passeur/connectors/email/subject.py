"""The subject template: `[invoice_type] [document_number] - [client_name]`.

It takes the path variables (domain/paths.py). A template is checked when it is saved
(unknown variables, unbalanced brackets, line breaks are refused); values are cleaned
when it is rendered, so a client name holding a line break cannot add a header.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from passeur.domain.errors import InvalidInput
from passeur.domain.paths import VARIABLES

DEFAULT = "[invoice_type] [document_number] - [client_name]"
MAX_LENGTH = 200
_TOKEN = re.compile(r"\[([^\[\]]*)\]")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+")


def check(template: str) -> None:
    if len(template) > MAX_LENGTH:
        raise InvalidInput(f"the subject is longer than {MAX_LENGTH} characters")
    if _CONTROLS.search(template):
        raise InvalidInput("the subject may not contain line breaks or control characters")
    rest = _TOKEN.sub("", template)
    if "[" in rest or "]" in rest:
        raise InvalidInput("the subject has an unbalanced '[' or ']'")
    for name in _TOKEN.findall(template):
        if name not in VARIABLES:
            known = ", ".join(f"[{v}]" for v in VARIABLES)
            raise InvalidInput(f"unknown variable [{name}] in the subject; known: {known}")


def render(template: str, values: Mapping[str, str]) -> str:
    """The subject for one document: variables filled in, on one line."""
    text = _TOKEN.sub(lambda m: _CONTROLS.sub(" ", values.get(m.group(1), "")), template)
    return re.sub(r"\s+", " ", _CONTROLS.sub(" ", text)).strip()[:MAX_LENGTH] or "Document"
