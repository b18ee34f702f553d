"""Calling a provider's API (a fresh token for each call, once more after a 401), and what
the three cloud connectors share: one pool of connections per worker, the layout, the
single-request limit and chunk size, folders made once per worker."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from passeur.connectors import oauth
from passeur.connectors.base import Connector
from passeur.connectors.cloud_folder.layout import NameRules, path
from passeur.connectors.errors import Misconfigured, NeedsReauth
from passeur.connectors.network import Guard
from passeur.connectors.outbound import Answer, Body, Outbound
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target, TokenSource
from passeur.domain.network import NetworkPolicy

READ_AT_MOST = 256 * 1024  # a provider's answer is metadata: small


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
