"""Dropbox API v2 calls over the shared outbound client, and what its answers mean.

RPC routes take JSON in the body; upload routes take their arguments in the
`Dropbox-API-Arg` header (JSON with every character above 0x7E escaped: `json.dumps`
does that) and the bytes as the body, streamed. Each call asks `target.tokens` for an
access token, and once more after a 401 (`oauth.with_token`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from passeur.connectors import retry_after
from passeur.connectors.cloud_folder import CloudApi, Reply, call, read_through
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.outbound import Body, Outbound
from passeur.domain.extensions import Target

BLOCK = 4 * 1024 * 1024  # Dropbox's content-hash block
DEFAULT_WAIT = 5.0  # seconds, when a 429 does not say (the official SDK's default)
FULL = (
    "the Dropbox account is full: free some space in it or choose a larger plan; "
    "the exports wait and go out once there is room"
)


def summary(reply: Reply) -> str:
    """Dropbox's error_summary, e.g. "path/conflict/file/..", or ""."""
    if isinstance(reply.data, dict):
        return str(reply.data.get("error_summary", ""))
    return ""


def _tag(reply: Reply) -> str:
    error = reply.data.get("error") if isinstance(reply.data, dict) else None
    return str(error.get(".tag", "")) if isinstance(error, dict) else ""


class DropboxApi(CloudApi):
    """The calls one try makes to one installation's Dropbox (RPC on `url`, uploads on
    `content_url`)."""

    provider = "Dropbox"
    default_url = "https://api.dropboxapi.com"

    def __init__(self, http: Outbound, target: Target) -> None:
        super().__init__(http, target)
        self.content_url = str(
            target.get("content_url") or "https://content.dropboxapi.com"
        ).rstrip("/")

    async def rpc(self, route: str, arg: Any) -> Reply:
        body = json.dumps(arg).encode()
        headers = {"Content-Type": "application/json"}
        return await self._send(f"{self.url}/2/{route}", headers, lambda: body)

    async def upload(self, route: str, arg: Any, body: Callable[[], Body], length: int) -> Reply:
        """An upload route; `body` makes the bytes anew for each send (a 401 resends)."""
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(length),
            "Dropbox-API-Arg": json.dumps(arg, separators=(",", ":")),  # \\u-escaped
        }
        return await self._send(f"{self.content_url}/2/{route}", headers, body)

    async def _send(self, url: str, headers: dict[str, str], body: Callable[[], Body]) -> Reply:
        return await call(self.http, self.tokens, "POST", url, headers, body)


def failure(reply: Reply, where: str) -> ConnectorError:
    """What an answer that is not a success means, for the retry policy."""
    status, said = reply.status, summary(reply)
    if status == 401:
        return NeedsReauth(f"Dropbox refused the access token ({_tag(reply) or status}); sign in")
    if status == 429 or "too_many_write_operations" in said:
        wait = retry_after.parse(reply.headers.get("retry-after"))
        if wait is None and isinstance(reply.data, dict):
            given = (reply.data.get("error") or {}).get("retry_after")
            wait = float(given) if isinstance(given, int | float) else None
        reason = "too many writes at once" if "write" in said else "too many requests"
        return RateLimited(
            f"Dropbox asks us to slow down ({reason})",
            retry_after=DEFAULT_WAIT if wait is None else wait,
        )
    if status >= 500:
        wait = retry_after.parse(reply.headers.get("retry-after"))
        return TransientError(f"Dropbox failed ({status}) on {where}", retry_after=wait)
    if "insufficient_space" in said:
        return Misconfigured(FULL)
    if status == 403 or "no_write_permission" in said or "team_folder" in said:
        return Misconfigured(f"Dropbox does not let this account write {where} ({said or status})")
    if status == 400:
        return Rejected(f"Dropbox refused the request for {where}: {reply.text}")
    return Rejected(f"Dropbox refused {where} ({said or status})")


@dataclass(frozen=True)
class Hashes:
    sha256: str
    content_hash: str  # Dropbox's
    size: int


def hashes(stream: BinaryIO) -> Hashes:
    """Our SHA-256 and Dropbox's content hash (SHA-256 over the SHA-256 of each 4 MiB
    block), in one read, a piece at a time."""
    whole, blocks = hashlib.sha256(), _Blocks()
    size = read_through(stream, whole.update, blocks.update)
    return Hashes(whole.hexdigest(), blocks.hexdigest(), size)


class _Blocks:
    """Dropbox's content hash, fed in pieces of any size."""

    def __init__(self) -> None:
        self.block, self.in_block, self.blocks = hashlib.sha256(), 0, hashlib.sha256()

    def update(self, piece: bytes) -> None:
        while piece:
            take = piece[: BLOCK - self.in_block]
            self.block.update(take)
            self.in_block += len(take)
            piece = piece[len(take) :]
            if self.in_block == BLOCK:
                self.blocks.update(self.block.digest())
                self.block, self.in_block = hashlib.sha256(), 0

    def hexdigest(self) -> str:
        if self.in_block:
            self.blocks.update(self.block.digest())
            self.block, self.in_block = hashlib.sha256(), 0
        return self.blocks.hexdigest()
