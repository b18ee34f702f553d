"""OneDrive (Microsoft Graph): put each document in the shared cloud-folder layout
(connectors/cloud_folder.py).

* A file up to `simple_limit` bytes (4 MB, the limit OneDrive documents) goes in one
  `PUT …/root:/<path>:/content`, which makes missing folders. A larger one goes through
  an upload session (`createUploadSession`, whose parent folder must exist: passeur makes
  the folders first, once per worker), in fragments of `chunk` bytes (a multiple of
  320 KiB), streamed. A fragment cut off (a dropped connection, a 5xx, a 416) is not sent
  from the start again: the session says what it expects next (`nextExpectedRanges`).
* Redelivery writes nothing twice: `@microsoft.graph.conflictBehavior=fail`, and a
  `nameAlreadyExists` answer is followed by a look at the file there: the same bytes
  (OneDrive's QuickXorHash, compared with ours) mean delivered; a different file is left
  alone and the export is rejected with a message saying so. A large file is looked up
  before its session starts.
* Classified answers (api.failure): 429, and 503 with `Retry-After`, wait what Microsoft
  says; other 5xx are transient; an expired token is refreshed once, then "sign in
  again"; a full OneDrive (507) is a configuration matter ("the OneDrive is full").
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from passeur.connectors import cloud_folder
from passeur.connectors.base import CheckResult, Connector, Parcel, ParcelFile, Receipt
from passeur.connectors.cloud_folder import ONEDRIVE, Reply, in_the_way, pieces, read_through
from passeur.connectors.errors import Misconfigured, TransientError
from passeur.connectors.network import Guard
from passeur.connectors.onedrive.api import GraphApi, QuickXor, code, failure
from passeur.connectors.onedrive.extension import EXTENSION
from passeur.connectors.outbound import Outbound
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy

SIMPLE_LIMIT = 4 * 1024 * 1024
CHUNK = 10 * 320 * 1024  # 3.2 MB: a multiple of 320 KiB, as Graph asks
RESUMES = 3  # cut fragments resumed within one try
FAIL = "@microsoft.graph.conflictBehavior"


@dataclass(frozen=True)
class _Upload:
    names: list[str]
    file: ParcelFile
    size: int
    quick_xor: str
    sha256: str

    @property
    def where(self) -> str:
        return "/" + "/".join(self.names)


class OneDriveConnector(Connector):
    extension = EXTENSION

    def __init__(
        self,
        *,
        network: NetworkPolicy | None = None,
        simple_limit: int = SIMPLE_LIMIT,
        chunk: int = CHUNK,
    ) -> None:
        super().__init__(network=network)
        self.simple_limit = simple_limit
        self.chunk = chunk
        self._http: Outbound | None = None
        self._folders: set[tuple[int, tuple[str, ...]]] = set()  # made (or found) already
        self._locks: dict[tuple[int, tuple[str, ...]], asyncio.Lock] = {}

    def _outbound(self) -> Outbound:
        if self._http is None:
            self._http = Outbound(Guard(self.network), max_connections=64)
        return self._http

    async def check(self, target: Target) -> CheckResult:
        api = GraphApi(self._outbound(), target)
        reply = await api.send("GET", f"{api.url}/me/drive")
        if not reply.ok:
            raise failure(reply, "the drive")
        data = reply.data or {}
        owner = ((data.get("owner") or {}).get("user") or {}).get("displayName", "")
        kind = data.get("driveType", "")
        return CheckResult(True, f"Signed in to OneDrive ({kind}) of {owner}.", {"drive": kind})

    @classmethod
    def destination(cls, target: Target, variables: dict[str, str], file_name: str) -> str:
        return "/" + "/".join(cloud_folder.path(target.config, variables, file_name, ONEDRIVE))

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        try:
            names = cloud_folder.path(target.config, parcel.variables, parcel.main.name, ONEDRIVE)
        except InvalidInput as exc:
            raise Misconfigured(str(exc)) from None
        quick, sha256 = QuickXor(), hashlib.sha256()
        with parcel.main.open() as stream:
            size = read_through(stream, quick.update, sha256.update)
        upload = _Upload(names, parcel.main, size, quick.digest(), sha256.hexdigest())
        api = GraphApi(self._outbound(), target)
        if size <= self.simple_limit:
            item = await self._simple(api, upload)
        else:
            found = await _existing(api, upload)  # a large file already there is not resent
            if found is None:
                await self._folders_of(api, target.installation_id, names[:-1])
                found = await self._session(api, upload)
            item = found
        if _hash(item) != upload.quick_xor or int(item.get("size", -1)) != size:
            raise TransientError(f"OneDrive holds other bytes at {upload.where}")
        return Receipt(upload.where, size, upload.sha256, details={"id": item.get("id")})

    async def _simple(self, api: GraphApi, upload: _Upload) -> dict[str, Any]:
        url = api.item(upload.names, f"/content?{FAIL}=fail")
        headers = {"Content-Type": upload.file.media_type, "Content-Length": str(upload.size)}
        with upload.file.open() as stream:
            reply = await api.send("PUT", url, headers, lambda: pieces(stream, 0, upload.size))
        return await _written(api, reply, upload)

    async def _folders_of(self, api: GraphApi, installation_id: int, names: list[str]) -> None:
        """Make the folders an upload session needs (its parent must exist)."""
        parent = f"{api.url}/me/drive/root/children"
        for depth in range(1, len(names) + 1):
            key = (installation_id, tuple(names[:depth]))
            if key not in self._folders:
                async with self._locks.setdefault(key, asyncio.Lock()):
                    if key not in self._folders:
                        await _make_folder(api, parent, names[depth - 1], upload=names)
                        self._folders.add(key)
            parent = api.item(names[:depth], "/children")

    async def _session(self, api: GraphApi, upload: _Upload) -> dict[str, Any]:
        body = json.dumps({"item": {FAIL: "fail", "name": upload.names[-1]}}).encode()
        reply = await api.send(
            "POST",
            api.item(upload.names, "/createUploadSession"),
            {"Content-Type": "application/json"},
            lambda: body,
        )
        if not reply.ok:
            return await _written(api, reply, upload)
        session = str(reply.data["uploadUrl"])
        offset, resumes = 0, RESUMES
        with upload.file.open() as stream:
            while True:
                length = min(self.chunk, upload.size - offset)
                last = offset + length - 1
                headers = {
                    "Content-Length": str(length),
                    "Content-Range": f"bytes {offset}-{last}/{upload.size}",
                }
                try:
                    reply = await api.session(
                        "PUT",
                        session,
                        headers,
                        lambda o=offset, n=length: pieces(stream, o, n),  # type: ignore[misc]
                    )
                except TransientError:
                    if resumes == 0:
                        raise
                    resumes, reply = resumes - 1, await _expects(api, session)
                if (reply.status >= 500 or reply.status == 416) and resumes > 0:
                    resumes, reply = resumes - 1, await _expects(api, session)
                if reply.status in (200, 201) and "id" in (reply.data or {}):
                    return dict(reply.data)
                if reply.status in (200, 202) and isinstance(reply.data, dict):
                    offset = _next_expected(reply.data)
                    continue
                if reply.status == 404:
                    raise TransientError(
                        f"the upload session of {upload.where} expired; it starts again"
                    )
                return await _written(api, reply, upload)


async def _written(api: GraphApi, reply: Reply, upload: _Upload) -> dict[str, Any]:
    """The item after an upload, or the reason it was not written."""
    if reply.ok:
        return dict(reply.data)
    if reply.status == 409 and code(reply) == "nameAlreadyExists":
        existing = await _existing(api, upload)  # a different file there: rejected
        if existing is not None:
            return existing  # an earlier try of this export wrote it
        raise TransientError(f"{upload.where} was there, then was not; trying again")
    raise failure(reply, upload.where)


async def _existing(api: GraphApi, upload: _Upload) -> dict[str, Any] | None:
    """The file at the path if it holds our bytes; None when there is none. A different
    file there is the caller's conflict (`nameAlreadyExists` on the write)."""
    reply = await api.send("GET", api.item(upload.names))
    if reply.status == 404:
        return None
    if not reply.ok:
        raise failure(reply, upload.where)
    if "folder" in reply.data:
        raise Misconfigured(f"OneDrive has a folder where {upload.where} should go")
    if _hash(reply.data) == upload.quick_xor and int(reply.data.get("size", -1)) == upload.size:
        return dict(reply.data)
    raise in_the_way("OneDrive", upload.where)


async def _make_folder(api: GraphApi, children: str, name: str, *, upload: list[str]) -> None:
    body = json.dumps({"name": name, "folder": {}, FAIL: "fail"}).encode()
    reply = await api.send("POST", children, {"Content-Type": "application/json"}, lambda: body)
    if reply.ok or (reply.status == 409 and code(reply) == "nameAlreadyExists"):
        return  # made, or there already
    raise failure(reply, "/" + "/".join(upload[:-1]))


async def _expects(api: GraphApi, session: str) -> Reply:
    """Ask the session what it still expects (after a cut)."""
    return await api.session("GET", session, {}, lambda: None)


def _hash(item: dict[str, Any]) -> str:
    return str(((item.get("file") or {}).get("hashes") or {}).get("quickXorHash", ""))


def _next_expected(status: dict[str, Any]) -> int:
    """The first byte the session still expects ("26-" or "26-99")."""
    ranges = status.get("nextExpectedRanges") or ["0-"]
    return int(str(ranges[0]).partition("-")[0])
