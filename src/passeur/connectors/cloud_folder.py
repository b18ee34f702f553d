"""What the cloud-folder extensions (Dropbox, Google Drive, OneDrive) share: where a
document lands, under which name, and what each family sends.

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

import asyncio
import re
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar

from passeur.connectors import oauth
from passeur.connectors.base import Connector
from passeur.connectors.errors import Misconfigured, NeedsReauth, Rejected, TransientError
from passeur.connectors.fields import parallel_field, parallel_pacing
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Answer, Body, Outbound
from passeur.domain.documents import Family
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, OAuthSpec, Pacing, Target, TokenSource
from passeur.domain.fields import Field, FieldKind
from passeur.domain.network import NetworkPolicy
from passeur.domain.paths import PathTemplate

PIECE = 64 * 1024  # bytes read from the blob store at a time
RESUMES = 3  # cut pieces of an upload session resumed within one try
READ_AT_MOST = 256 * 1024  # a provider's answer is metadata: small
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


def in_the_way(provider: str, where: str) -> Rejected:
    """A different file already has the document's name: it is never overwritten nor
    renamed beside (the software watching the folder would import both)."""
    return Rejected(
        f"a different file named {where} is already in {provider}; it was left as it is: "
        "move or rename it, then resend the document"
    )


# Reading a document's file: a piece at a time, never whole in memory.


def read_through(stream: BinaryIO, *sinks: Callable[[bytes], object]) -> int:
    """Read the whole stream once, handing each piece to every sink (hashers); its size."""
    size = 0
    while piece := stream.read(PIECE):
        size += len(piece)
        for sink in sinks:
            sink(piece)
    return size


async def pieces(stream: BinaryIO, start: int, length: int) -> AsyncIterator[bytes]:
    """`length` bytes of the file from `start`, a piece at a time (a request body)."""
    stream.seek(start)
    left = length
    while left > 0:
        piece = stream.read(min(PIECE, left))
        if not piece:
            raise TransientError("the document's file ended early in the blob store")
        left -= len(piece)
        yield piece


# Calling a provider's API.


class CloudApi:
    """The calls one try makes to one installation's account at the provider."""

    provider: ClassVar[str]
    default_url: ClassVar[str]

    def __init__(self, http: Outbound, target: Target) -> None:
        if target.tokens is None:
            raise NeedsReauth(f"the installation has not signed in to {self.provider}")
        self.http = http
        self.tokens: TokenSource = target.tokens
        self.url = str(target.get("api_url") or self.default_url).rstrip("/")


class CloudConnector(Connector):
    """What the three cloud connectors share: one pool of connections per worker, the
    layout, and the sizes above which a file goes through an upload session."""

    rules: ClassVar[NameRules]
    single_limit_default: ClassVar[int]
    chunk_default: ClassVar[int]

    def __init__(
        self,
        *,
        network: NetworkPolicy | None = None,
        single_limit: int | None = None,
        chunk: int | None = None,
    ) -> None:
        super().__init__(network=network)
        self.single_limit = single_limit or self.single_limit_default
        self.chunk = chunk or self.chunk_default
        self._http: Outbound | None = None
        self._folders: dict[tuple[int, tuple[str, ...]], str] = {}  # by installation, path
        self._locks: dict[tuple[int, tuple[str, ...]], asyncio.Lock] = {}

    def outbound(self) -> Outbound:
        if self._http is None:
            self._http = Outbound(Guard(self.network), max_connections=64)
        return self._http

    @classmethod
    def destination(cls, target: Target, variables: dict[str, str], file_name: str) -> str:
        return "/" + "/".join(path(target.config, variables, file_name, cls.rules))

    def names(self, target: Target, variables: dict[str, str], file_name: str) -> list[str]:
        """The folder names and the file's, or Misconfigured when the provider cannot
        hold that path."""
        try:
            return path(target.config, variables, file_name, self.rules)
        except InvalidInput as exc:
            raise Misconfigured(str(exc)) from None

    async def folders(
        self,
        installation_id: int,
        names: list[str],
        make: Callable[[str, str, list[str]], Awaitable[str]],
        top: str,
    ) -> str:
        """Each folder of `names` made (or found) once per worker: `make(name, parent,
        path)` gives a folder's handle (an id) from its parent's, `top` is the first
        parent's; one worker makes a given folder at a time. The last folder's handle."""
        parent = top
        for depth in range(1, len(names) + 1):
            key = (installation_id, tuple(names[:depth]))
            known = self._folders.get(key)
            if known is None:
                async with self._locks.setdefault(key, asyncio.Lock()):
                    known = self._folders.get(key)
                    if known is None:
                        known = await make(names[depth - 1], parent, names[:depth])
                        self._folders[key] = known
            parent = known
        return parent

    def forget_folders(self, installation_id: int) -> None:
        """A folder may have gone (deleted by a person): look them up again next time."""
        for key in [k for k in self._folders if k[0] == installation_id]:
            del self._folders[key]

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None


@dataclass(frozen=True)
class Reply:
    """A provider's answer: its JSON (None when there is none) and the start of its text."""

    status: int
    data: Any
    text: str
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def call(
    http: Outbound,
    tokens: TokenSource | None,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Callable[[], Body] = lambda: None,
) -> Reply:
    """One call with a fresh access token, once more with a new one after a 401
    (`body` makes the bytes anew for each send). Without `tokens`, no Authorization:
    an upload session's address carries its own credential."""

    async def send(token: str) -> Answer:
        sent = {**headers, "Authorization": f"Bearer {token}"} if token else headers
        return await http.request(method, url, headers=sent, body=body(), read_at_most=READ_AT_MOST)

    answer = await (oauth.with_token(tokens, send) if tokens is not None else send(""))
    data: Any = None
    if answer.headers.get("content-type", "").startswith("application/json"):
        try:
            data = answer.json()
        except ValueError:
            data = None
    return Reply(answer.status, data, answer.text()[:300], answer.headers)


async def send_ranges(
    put: Callable[[dict[str, str], Callable[[], Body]], Awaitable[Reply]],
    ask: Callable[[], Awaitable[Reply]],
    go_on: Callable[[Reply], int | None],
    stream: BinaryIO,
    size: int,
    chunk: int,
) -> Reply:
    """Send a file to an upload session in `chunk`-byte ranges (`Content-Range`, Google
    Drive and OneDrive alike). `go_on` reads the offset the session expects next from an
    answer (None: the answer is the end, a file or an error, for the caller to read).
    After a cut (a dropped connection, a 5xx, a 416) `ask` gets where the session is, at
    most RESUMES times a try, and the upload goes on from there: never from the start."""
    offset, resumes = 0, RESUMES
    while True:
        length = min(chunk, size - offset)
        headers = {
            "Content-Length": str(length),
            "Content-Range": f"bytes {offset}-{offset + length - 1}/{size}",
        }
        try:
            reply = await put(headers, lambda o=offset, n=length: pieces(stream, o, n))  # type: ignore[misc]
        except TransientError:
            if resumes == 0:
                raise
            resumes, reply = resumes - 1, await ask()
        if (reply.status >= 500 or reply.status == 416) and resumes > 0:
            resumes, reply = resumes - 1, await ask()
        expected = go_on(reply)
        if expected is None:
            return reply
        offset = expected
