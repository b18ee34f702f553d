"""The cloud folders' layout: where a document lands, under which name, what each family
sends, and the declaration the three providers share.

The layout is the one accountants' software watches (product.md §3.2):

    [root folder/]Invoice_import/<Company name>_<VAT number>/AP    purchases
                                                            /AR    sales
                                                            /Statements   CODA, CAMT.053
                                                            /Other        other documents

An installation may give a root folder it all goes under, and a path template in the SFTP
extension's language (`[uen_number]`, `[invoice_type]`, `[year]`, …) instead of the layout.

Names come from the client's data (a company name, a document number), so each one is
cleaned for the provider it goes to (`NameRules`): characters the provider refuses become
`_`, trailing dots and spaces go, names reserved by Windows get a `_` in front, and a name
too long is shortened in its middle, never in the document's unique id or its extension.
A value can never add a folder: a `/` in it is a character to replace like any other, and
a name can never be `.` or `..`. Two documents never collide, even on a provider that
ignores case (Dropbox, OneDrive): every file name ends in the document's own id.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from passeur.connectors.fields import parallel_field, parallel_pacing
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, OAuthSpec, Pacing
from passeur.domain.fields import Field, FieldKind
from passeur.domain.paths import PathTemplate

LAYOUT_ROOT = "Invoice_import"
FAMILY_FOLDERS: dict[Family, str] = {
    Family.PURCHASES: "AP",  # accounts payable
    Family.SALES: "AR",  # accounts receivable
    Family.STATEMENTS: "Statements",
    Family.OTHER: "Other",
}
SENDS = (
    "one file per document, the file as received: purchases (AP) and sales (AR) as their "
    "UBL (e-fff, with its PDF embedded where there is one) or their PDF when that is all "
    "there is; statements (Statements) as their CODA (.cod) or CAMT.053 (.xml); other "
    "documents (Other) as they came"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"com{i}" for i in range(10)] + [f"lpt{i}" for i in range(10)]
)


@dataclass(frozen=True)
class NameRules:
    """What one provider accepts in a file or folder name."""

    provider: str
    forbidden: str  # characters replaced by "_" ("/" always is)
    max_name: int  # characters in one name
    max_path: int  # characters in a whole path
    ignores_case: bool  # "AP" and "ap" are the same folder
    reserved: frozenset[str] = frozenset()  # names refused whatever their extension

    def clean(self, value: str, *, keep_tail: str = "") -> str:
        """One name, safe for this provider. `keep_tail` (a unique id and an extension)
        survives any shortening, so two documents' names stay different."""
        text = unicodedata.normalize("NFC", str(value))
        text = _CONTROL.sub("_", text)
        text = "".join("_" if c in self.forbidden or c in "/\\" else c for c in text)
        text = text.strip(" ").rstrip(". ")
        if keep_tail and text.endswith(keep_tail):
            head = text[: len(text) - len(keep_tail)]
            text = head[: max(1, self.max_name - len(keep_tail))] + keep_tail
        text = text[: self.max_name].rstrip(". ") or "_"
        if set(text) <= {"."}:
            text = "_"
        if text.split(".", 1)[0].lower() in self.reserved:
            text = f"_{text}"[: self.max_name]
        return text

    def same(self, a: str, b: str) -> bool:
        """Whether the provider takes two names for one (Dropbox and OneDrive ignore case)."""
        return a.casefold() == b.casefold() if self.ignores_case else a == b


DROPBOX = NameRules("Dropbox", forbidden='<>:"|?*', max_name=255, max_path=4096, ignores_case=True)
GOOGLE_DRIVE = NameRules(
    "Google Drive", forbidden="", max_name=255, max_path=32767, ignores_case=False
)
ONEDRIVE = NameRules(
    "OneDrive",
    forbidden='"*:<>?|#%',
    max_name=255,
    max_path=400,
    ignores_case=True,
    reserved=_WINDOWS_RESERVED | {".lock", "desktop", "_vti_"},
)


def _check_root(value: str) -> None:
    for part in value.strip("/").split("/"):
        if value.strip("/") and part.strip() in ("", ".", ".."):
            raise InvalidInput(
                "the root folder is folder names separated by '/', without '.' or '..'",
                field="root_folder",
            )
    if "\\" in value or _CONTROL.search(value):
        raise InvalidInput("use '/' between folders in the root folder", field="root_folder")


ROOT_FOLDER = Field(
    "root_folder",
    "Root folder",
    help="A folder everything goes under, e.g. Accounting; empty: the top of the account.",
    check=_check_root,
    overridable=False,
)
PATH_TEMPLATE = Field(
    "path_template",
    "Path template",
    FieldKind.PATH,
    advanced=True,
    overridable=False,
    help="Instead of Invoice_import/<Company name>_<VAT number>/AP|AR|Statements|Other: "
    "a folder with variables such as [vat_number], [invoice_type] and [year].",
)
FIELDS = (ROOT_FOLDER, PATH_TEMPLATE)
# Parallel writes to one account contend (Dropbox: too_many_write_operations): a few at once.
PACING = Pacing(max_concurrent=4)


def extension(slug: str, name: str, oauth: OAuthSpec, stand_in: str) -> Extension:
    """A cloud folder's declaration: no client field, every family, the layout's fields."""
    return Extension(
        slug=slug,
        name=name,
        category="Cloud folder",
        summary=f"Put each document in a {name.removeprefix('Microsoft ')} folder that "
        "accounting software watches.",
        install_fields=(*FIELDS, parallel_field("Parallel uploads", PACING.max_concurrent)),
        families=frozenset(Family),
        sends=SENDS,
        pacing=PACING,
        pace=parallel_pacing(PACING),
        oauth=oauth,
        stand_in=stand_in,
    )


def family_of(variables: Mapping[str, str]) -> Family:
    kind = variables.get("invoice_type", "")
    return next((f for f in Family if f.invoice_type == kind), Family.OTHER)


def folders(config: Mapping[str, Any], variables: Mapping[str, str], rules: NameRules) -> list[str]:
    """The folder names, top first, a document with these path variables goes into."""
    root = [p for p in str(config.get("root_folder") or "").split("/") if p.strip()]
    template = str(config.get("path_template") or "")
    if template:
        # The template language keeps each value inside its own folder name.
        rendered = PathTemplate.parse(template).render(variables)
        relative = [p for p in rendered.split("/") if p]
    else:
        company = variables.get("client_name") or "Client"
        vat = variables.get("vat_number") or variables.get("uen_number") or ""
        client = f"{company}_{vat}" if vat else company
        relative = [LAYOUT_ROOT, client, FAMILY_FOLDERS[family_of(variables)]]
    return [rules.clean(p) for p in root + relative]


def file_name(name: str, rules: NameRules) -> str:
    """A parcel file's name (date_number_d<id>.ext), safe for the provider; the unique
    id and the extension are never cut."""
    tail = re.search(r"_d\d+(\.[A-Za-z0-9]{1,8})?$", name)
    return rules.clean(name, keep_tail=tail.group(0) if tail else "")


def path(
    config: Mapping[str, Any], variables: Mapping[str, str], name: str, rules: NameRules
) -> list[str]:
    """Every name from the top folder to the file; refused when the provider cannot hold
    a path that long (a shorter root folder or template fixes it)."""
    names = [*folders(config, variables, rules), file_name(name, rules)]
    length = sum(len(n) + 1 for n in names)
    if length > rules.max_path:
        raise InvalidInput(
            f"the path would be {length} characters; {rules.provider} takes at most "
            f"{rules.max_path}: choose a shorter root folder or path template"
        )
    return names
