"""OneDrive (Microsoft Graph): put each document in the shared cloud-folder layout
(connectors/cloud_folder/).

* A file up to `simple_limit` bytes (4 MB, the limit OneDrive documents) goes in one
  `PUT …/root:/<path>:/content`, which makes missing folders. A larger one goes through
  an upload session (`createUploadSession`, whose parent folder must exist: passeur makes
  the folders first, once per worker), in fragments of `chunk` bytes (a multiple of
  320 KiB), streamed. A fragment cut off (a dropped connection, a 5xx, a 416) is not sent
  from the start again: the session says what it expects next (`nextExpectedRanges`).
  The session's URL is kept with the export (`target.uploads`), so the next try (in any
  worker) after one cut off asks it the same (`GET <uploadUrl>`) and sends the rest.
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

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from passeur.connectors.base import CheckResult, Parcel, ParcelFile, Receipt
from passeur.connectors.cloud_folder import (
    ONEDRIVE,
    CloudConnector,
    Kept,
    Progress,
    Reply,
    in_the_way,
    lifetime,
    pieces,
    read_through,
    send_ranges,
)
from passeur.connectors.errors import Misconfigured, TransientError
from passeur.connectors.onedrive.api import GraphApi, QuickXor, code, failure
from passeur.connectors.onedrive.extension import EXTENSION
from passeur.domain.extensions import Target

SIMPLE_LIMIT = 4 * 1024 * 1024
CHUNK = 10 * 320 * 1024  # 3.2 MB: a multiple of 320 KiB, as Graph asks
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


class OneDriveConnector(CloudConnector):
    extension = EXTENSION
    rules = ONEDRIVE
    single_limit_default = SIMPLE_LIMIT
    chunk_default = CHUNK

    async def check(self, target: Target) -> CheckResult:
        api = GraphApi(self.outbound(), target)
        reply = await api.send("GET", f"{api.url}/me/drive")
        if not reply.ok:
            raise failure(reply, "the drive")
        data = reply.data or {}
        owner = ((data.get("owner") or {}).get("user") or {}).get("displayName", "")
        kind = data.get("driveType", "")
        return CheckResult(True, f"Signed in to OneDrive ({kind}) of {owner}.", {"drive": kind})

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        names = self.names(target, parcel.variables, parcel.main.name)
        quick, sha256 = QuickXor(), hashlib.sha256()
        with parcel.main.open() as stream:
            size = read_through(stream, quick.update, sha256.update)
        upload = _Upload(names, parcel.main, size, quick.digest(), sha256.hexdigest())
        api = GraphApi(self.outbound(), target)
        if size <= self.single_limit:
            item = await self._simple(api, upload)
        else:
            kept = Kept(target, parcel.export_key, size, upload.sha256)
            found = await _existing(api, upload)  # a large file already there is not resent
            if found is None:
                try:
                    await self.folders(
                        target.installation_id,
                        names[:-1],
                        lambda name, parent, path: _make_folder(api, parent, name, path),
                        f"{api.url}/me/drive/root/children",
                    )
                    found = await self._session(api, upload, kept)
                except TransientError:
                    self.forget_folders(target.installation_id)  # one may have been deleted
                    raise
            item = found
            await kept.gone()  # delivered: the session (if one is kept) is done with
        if _hash(item) != upload.quick_xor or int(item.get("size", -1)) != size:
            raise TransientError(f"OneDrive holds other bytes at {upload.where}")
        return Receipt(upload.where, size, upload.sha256, details={"id": item.get("id")})

    async def _simple(self, api: GraphApi, upload: _Upload) -> dict[str, Any]:
        url = api.item(upload.names, f"/content?{FAIL}=fail")
        headers = {"Content-Type": upload.file.media_type, "Content-Length": str(upload.size)}
        with upload.file.open() as stream:
            reply = await api.send("PUT", url, headers, lambda: pieces(stream, 0, upload.size))
        return await _written(api, reply, upload)

    async def _session(self, api: GraphApi, upload: _Upload, kept: Kept) -> dict[str, Any]:
        """Through an upload session: the one an earlier try opened, if Graph still has
        it (its `nextExpectedRanges` say where to go on), else a new one."""
        session, start = "", 0
        earlier = await kept.find()
        if earlier is not None:
            reply = await api.session("GET", earlier.handle, {}, lambda: None)
            expected = _next_expected(reply)
            if expected is not None:
                session, start = earlier.handle, expected
            elif reply.status == 404:
                await kept.gone()  # expired or cancelled at Microsoft: a new session
            else:
                raise failure(reply, upload.where)
        if not session:
            body = json.dumps({"item": {FAIL: "fail", "name": upload.names[-1]}}).encode()
            reply = await api.send(
                "POST",
                api.item(upload.names, "/createUploadSession"),
                {"Content-Type": "application/json"},
                lambda: body,
            )
            if reply.status == 404:
                raise TransientError(
                    f"a folder of {upload.where} is gone from OneDrive; made again"
                )
            if not reply.ok:
                return await _written(api, reply, upload)
            session = str(reply.data["uploadUrl"])
            await kept.opened(session, _expires(reply.data.get("expirationDateTime")))
        progress = Progress(start)
        try:
            with upload.file.open() as stream:
                reply = await send_ranges(
                    lambda headers, body: api.session("PUT", session, headers, body),
                    lambda: api.session("GET", session, {}, lambda: None),
                    _next_expected,
                    stream,
                    upload.size,
                    self.chunk,
                    start,
                    progress,
                )
        except TransientError:
            await kept.left_at(progress)
            raise
        if reply.status == 404:
            await kept.gone()
            raise TransientError(f"the upload session of {upload.where} expired; it starts again")
        if not reply.ok:
            await kept.left_at(progress)
        return await _written(api, reply, upload)


def _expires(given: Any) -> float:
    """When Microsoft says the session expires (it gives no fixed lifetime); a day
    when it does not say."""
    try:
        return datetime.fromisoformat(str(given).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return lifetime(1)


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


async def _make_folder(api: GraphApi, children: str, name: str, path: list[str]) -> str:
    """Make the folder in `children` (its parent's children URL); the URL of its own."""
    body = json.dumps({"name": name, "folder": {}, FAIL: "fail"}).encode()
    reply = await api.send("POST", children, {"Content-Type": "application/json"}, lambda: body)
    if not reply.ok and not (reply.status == 409 and code(reply) == "nameAlreadyExists"):
        raise failure(reply, "/" + "/".join(path))
    return api.item(path, "/children")  # made, or there already


def _hash(item: dict[str, Any]) -> str:
    return str(((item.get("file") or {}).get("hashes") or {}).get("quickXorHash", ""))


def _next_expected(reply: Reply) -> int | None:
    """The first byte the session still expects ("26-" or "26-99"); None once the
    answer is the file (or an error)."""
    data = reply.data if isinstance(reply.data, dict) else {}
    if reply.status not in (200, 202) or "id" in data or "nextExpectedRanges" not in data:
        return None
    return int(str((data["nextExpectedRanges"] or ["0-"])[0]).partition("-")[0])
