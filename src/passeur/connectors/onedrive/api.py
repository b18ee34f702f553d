"""Microsoft Graph calls for OneDrive over the shared outbound client, what its answers
mean, and the QuickXorHash OneDrive gives every file (business and personal alike)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from passeur.connectors import retry_after
from passeur.connectors.cloud_folder import CloudApi, Reply, call
from passeur.connectors.errors import (
    ConnectorError,
    Misconfigured,
    NeedsReauth,
    RateLimited,
    Rejected,
    TransientError,
)
from passeur.connectors.outbound import Body

FULL = (
    "the OneDrive is full: free some space in it or choose a larger storage plan; "
    "the exports wait and go out once there is room"
)
WIDTH = 160  # bits of a QuickXorHash; each byte moves 11 bits along, so 160 bytes repeat


class GraphApi(CloudApi):
    """The calls one try makes to one installation's OneDrive."""

    provider = "Microsoft"
    default_url = "https://graph.microsoft.com/v1.0"

    def item(self, names: list[str], action: str = "") -> str:
        """`/me/drive/root:/a/b/c.xml:` plus `/content` or `/createUploadSession`."""
        path = "/".join(quote(n, safe="") for n in names)
        return f"{self.url}/me/drive/root:/{path}:{action}"

    async def send(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None = None,
        body: Callable[[], Body] = lambda: None,
    ) -> Reply:
        return await call(self.http, self.tokens, method, url, headers or {}, body)

    async def session(
        self, method: str, upload_url: str, headers: dict[str, str], body: Callable[[], Body]
    ) -> Reply:
        """A request to an upload session: its URL is pre-authenticated, so no token is
        sent (Graph may refuse one). It is used only over https, or on Graph's own host."""
        ours, given = urlsplit(self.url), urlsplit(upload_url)
        if given.scheme != "https" and (given.scheme, given.netloc) != (ours.scheme, ours.netloc):
            raise TransientError("Microsoft gave an upload session at an unexpected address")
        return await call(self.http, None, method, upload_url, headers, body)


def code(reply: Reply) -> str:
    error = reply.data.get("error") if isinstance(reply.data, dict) else None
    return str(error.get("code", "")) if isinstance(error, dict) else ""


def failure(reply: Reply, where: str) -> ConnectorError:
    """What an answer that is not a success means, for the retry policy."""
    status, said = reply.status, code(reply)
    wait = retry_after.parse(reply.headers.get("retry-after"))
    if status == 401:
        return NeedsReauth(f"Microsoft refused the access token ({said or status}); sign in")
    if status == 429 or (status == 503 and wait is not None) or status == 509:
        return RateLimited("OneDrive asks us to slow down", retry_after=wait)
    if status == 507 or said in ("quotaLimitReached", "insufficientStorage"):
        return Misconfigured(FULL)
    if status >= 500:
        return TransientError(f"OneDrive failed ({status}) on {where}")
    if status == 403:
        return Misconfigured(f"OneDrive does not let this account write {where} ({said})")
    return Rejected(f"OneDrive refused {where} ({status} {said})")


class QuickXor:
    """QuickXorHash, fed in pieces. Byte i lands at bit 11·i mod 160, so bytes 160 apart
    land at the same bit: whole 160-byte rows are XORed together first (fast), and
    each of the 160 resulting bytes is placed once at the end."""

    def __init__(self) -> None:
        self.rows = 0  # the XOR of every 160-byte row, as a little-endian integer
        self.length = 0
        self._partial = b""

    def update(self, piece: bytes) -> None:
        data = self._partial + piece
        whole = len(data) - len(data) % WIDTH
        for start in range(0, whole, WIDTH):
            self.rows ^= int.from_bytes(data[start : start + WIDTH], "little")
        self._partial = data[whole:]
        self.length += len(piece)

    def digest(self) -> str:
        rows = self.rows ^ int.from_bytes(self._partial, "little")
        column = rows.to_bytes(WIDTH, "little")
        value, mask = 0, (1 << WIDTH) - 1
        for index, byte in enumerate(column):
            shift = (index * 11) % WIDTH
            value ^= ((byte << shift) | (byte >> (WIDTH - shift))) & mask
        raw = bytearray(value.to_bytes(20, "little"))
        for i, b in enumerate(self.length.to_bytes(8, "little")):
            raw[12 + i] ^= b
        return base64.b64encode(bytes(raw)).decode()
