"""Google Drive: put each document in the shared cloud-folder layout
(connectors/cloud_folder/).

Drive knows items by id and lets names repeat in a folder, so passeur finds each folder
by name and parent, and makes it only when it is missing:

* **Folders are made once.** One worker makes a given folder at a time (a lock per
  installation and path) and remembers its id; after making one it looks again, and every
  worker uses the oldest folder of that name, so two workers that raced on different
  machines still put their files in one folder.
* **A retried upload never leaves two files of one name.** Before an upload the folder is
  searched for the file's name: the same bytes there (Drive's MD5) mean it is delivered
  already; a different file of that name is left alone and the export is rejected with a
  message saying so.
* **Uploads are streamed**: up to `single_limit` bytes (5 MB) in one multipart request,
  above it through a resumable session in chunks of `chunk` bytes (a multiple of 256
  KiB). A chunk cut off (a dropped connection, a 5xx) is not sent from the start again:
  passeur asks the session how much it holds and goes on from there. The session is kept
  with the export (`target.uploads`), so a try that ends cut off (or a worker that dies)
  leaves it to the next try, in any worker, which asks it the same and sends the rest.
* Classified answers (api.failure): 429 and 403 rate limits wait (what Google says, or
  the schedule's backoff); 5xx are transient; an expired token is refreshed once, then
  "sign in again"; a full Drive is a configuration matter ("the Google Drive is full").
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from passeur.connectors.base import CheckResult, Parcel, ParcelFile, Receipt
from passeur.connectors.cloud_folder import (
    GOOGLE_DRIVE,
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
from passeur.connectors.errors import TransientError
from passeur.connectors.google_drive.api import FOLDER, DriveApi, failure
from passeur.connectors.google_drive.extension import EXTENSION
from passeur.domain.extensions import Target

SINGLE_LIMIT = 5 * 1024 * 1024  # Drive's limit for a multipart upload
CHUNK = 8 * 1024 * 1024  # a multiple of 256 KiB, as Drive asks of every chunk but the last
SESSION_DAYS = 6  # Google keeps a resumable session about a week: a day's margin


@dataclass(frozen=True)
class _Upload:
    name: str
    folder: str  # the folder's id
    file: ParcelFile
    size: int
    md5: str
    sha256: str
    export_key: str

    def metadata(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "parents": [self.folder],
            "mimeType": self.file.media_type,
            "appProperties": {"passeur_export": self.export_key},
        }


class GoogleDriveConnector(CloudConnector):
    extension = EXTENSION
    rules = GOOGLE_DRIVE
    single_limit_default = SINGLE_LIMIT
    chunk_default = CHUNK

    async def check(self, target: Target) -> CheckResult:
        reply = await DriveApi(self.outbound(), target).get("/drive/v3/about", fields="user")
        if not reply.ok:
            raise failure(reply, "the account")
        email = str(((reply.data or {}).get("user") or {}).get("emailAddress", ""))
        return CheckResult(True, f"Signed in to Google Drive as {email}.", {"account": email})

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        names = self.names(target, parcel.variables, parcel.main.name)
        md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
        with parcel.main.open() as stream:
            size = read_through(stream, md5.update, sha256.update)
        api = DriveApi(self.outbound(), target)
        folder = await self.folders(
            target.installation_id,
            names[:-1],
            lambda name, parent, _: _find_or_make(api, name, parent),
            "root",
        )
        upload = _Upload(
            names[-1],
            folder,
            parcel.main,
            size,
            md5.hexdigest(),
            sha256.hexdigest(),
            parcel.export_key,
        )
        where = "/" + "/".join(names)
        kept = Kept(target, parcel.export_key, size, upload.sha256)
        try:
            made = await self._put(api, upload, where, kept)
        except TransientError:
            self.forget_folders(target.installation_id)
            raise
        if size > self.single_limit:
            await kept.gone()  # delivered: the session (if one is kept) is done with
        if made.get("md5Checksum") != upload.md5 or int(made.get("size", -1)) != size:
            raise TransientError(f"Google Drive holds other bytes at {where}")
        return Receipt(where, size, upload.sha256, details={"id": made.get("id")})

    async def _put(self, api: DriveApi, upload: _Upload, where: str, kept: Kept) -> dict[str, Any]:
        for existing in await api.find(upload.name, upload.folder, folder=False):
            if existing.get("md5Checksum") == upload.md5:
                return existing  # delivered by an earlier try: nothing is sent again
            raise in_the_way("Google Drive", where)
        with upload.file.open() as stream:
            if upload.size <= self.single_limit:
                return await _multipart(api, upload, stream, where)
            return await self._resumable(api, upload, stream, where, kept)

    async def _resumable(
        self, api: DriveApi, upload: _Upload, stream: BinaryIO, where: str, kept: Kept
    ) -> dict[str, Any]:
        """Through a resumable session: the one an earlier try opened, if Drive still has
        it (asked with `bytes */total`: 308 with what it holds), else a new one."""
        session, start = "", 0
        earlier = await kept.find()
        if earlier is not None:
            reply = await _where(api, earlier.handle, upload.size)
            if reply.status == 308:
                session, start = earlier.handle, _held(reply)
            elif reply.ok:
                return dict(reply.data)  # the last chunk arrived, its answer did not
            elif reply.status == 404:
                await kept.gone()  # expired at Google: a new session
            else:
                raise failure(reply, where)
        if not session:
            session = await _open(api, upload, where)
            await kept.opened(session, lifetime(SESSION_DAYS))
        progress = Progress(start)
        try:
            reply = await send_ranges(
                lambda headers, body: api.to_session(session, headers, body),
                lambda: _where(api, session, upload.size),
                lambda answer: _held(answer) if answer.status == 308 else None,
                stream,
                upload.size,
                self.chunk,
                start,
                progress,
            )
        except TransientError:
            await kept.left_at(progress)
            raise
        if reply.ok:
            return dict(reply.data)
        if reply.status == 404:
            await kept.gone()
            raise TransientError(f"the upload session of {where} expired; it starts again")
        await kept.left_at(progress)
        raise failure(reply, where)


async def _open(api: DriveApi, upload: _Upload, where: str) -> str:
    """A new resumable session for the file; its URI."""
    body = json.dumps(upload.metadata()).encode()
    headers = {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Upload-Content-Type": upload.file.media_type,
        "X-Upload-Content-Length": str(upload.size),
    }
    reply = await api.post("/upload/drive/v3/files", headers, lambda: body, uploadType="resumable")
    session = reply.headers.get("location", "")
    if not reply.ok or not session:
        raise failure(reply, where)
    return session


async def _find_or_make(api: DriveApi, name: str, parent: str) -> str:
    found = await api.find(name, parent, folder=True)
    if not found:
        metadata = {"name": name, "mimeType": FOLDER, "parents": [parent]}
        reply = await api.post_json("/drive/v3/files", metadata, fields="id")
        if not reply.ok:
            raise failure(reply, f"the folder {name!r}")
        found = await api.find(name, parent, folder=True)  # the oldest, if another raced us
    if not found:
        raise TransientError(f"the folder {name!r} was made but Google Drive does not list it yet")
    return str(found[0]["id"])


async def _multipart(
    api: DriveApi, upload: _Upload, stream: BinaryIO, where: str
) -> dict[str, Any]:
    boundary = f"passeur-{secrets.token_hex(12)}"
    head = (
        f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
        f"{json.dumps(upload.metadata())}\r\n"
        f"--{boundary}\r\nContent-Type: {upload.file.media_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for piece in pieces(stream, 0, upload.size):
            yield piece
        yield tail

    headers = {
        "Content-Type": f"multipart/related; boundary={boundary}",
        "Content-Length": str(len(head) + upload.size + len(tail)),
    }
    reply = await api.post(
        "/upload/drive/v3/files",
        headers,
        body,
        uploadType="multipart",
        fields="id,name,size,md5Checksum",
    )
    if not reply.ok:
        raise failure(reply, where)
    return dict(reply.data)


async def _where(api: DriveApi, session: str, total: int) -> Reply:
    """Ask the session how much it holds (after a cut): 308 with its Range, or the file."""
    headers = {"Content-Length": "0", "Content-Range": f"bytes */{total}"}
    return await api.to_session(session, headers, lambda: b"")


def _held(reply: Reply) -> int:
    """The next byte a 308 asks for: `Range: bytes=0-<last>`, none when nothing arrived."""
    held = reply.headers.get("range", "")
    return int(held.rpartition("-")[2]) + 1 if held.startswith("bytes=0-") else 0
