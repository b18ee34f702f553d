"""Dropbox: put each document in the shared cloud-folder layout (connectors/cloud_folder/).

* A file up to `single_limit` bytes (150 MB, Dropbox's limit for one request) goes in one
  `files/upload`; a larger one through an upload session: `start`, `append_v2` in chunks
  of `chunk` bytes, `finish` with the commit. Every body is streamed from the blob store.
* Redelivery writes nothing twice. Uploads use mode `add` with our `content_hash`: the
  same bytes at the same path are a no-op at Dropbox, which answers the file it has. A
  large file is first looked up, and not sent again when its content hash matches. A
  different file already at the path (`path/conflict/file`) is left alone and the export
  is rejected with a message saying so; a file the same as ours found there after a race
  counts as delivered.
* Folders need no call: Dropbox makes the parents of an upload's path.
* An append whose answer is lost (a cut connection, a 5xx) is sent again from where
  Dropbox says it is (`incorrect_offset` gives the offset it holds), a few times per try.
  The session id is kept with the export (`target.uploads`): the next try, in any
  worker, asks Dropbox where that session is (an empty append) and sends the rest.
* Classified answers (api.failure): 429 and `too_many_write_operations` wait what Dropbox
  says; 5xx are transient; an expired token is refreshed once, then "sign in again"; a
  full account is a configuration matter ("the Dropbox account is full"), not a retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from passeur.connectors import cloud_folder
from passeur.connectors.base import CheckResult, Parcel, ParcelFile, Receipt
from passeur.connectors.cloud_folder import (
    CloudConnector,
    Kept,
    Progress,
    Reply,
    in_the_way,
    lifetime,
    pieces,
)
from passeur.connectors.dropbox.api import DropboxApi, Hashes, failure, hashes, summary
from passeur.connectors.dropbox.extension import EXTENSION
from passeur.connectors.errors import ConnectorError, Misconfigured, TransientError
from passeur.domain.extensions import Target

SINGLE_LIMIT = 150 * 1024 * 1024
CHUNK = 8 * 1024 * 1024  # a multiple of 4 MiB, as Dropbox asks of session chunks
RESUMES = 3  # appends sent again within one try after their answer was lost
SESSION_DAYS = 6  # Dropbox keeps an upload session 7 days: a day's margin


@dataclass(frozen=True)
class _Upload:
    path: str
    file: ParcelFile
    hashes: Hashes


class DropboxConnector(CloudConnector):
    extension = EXTENSION
    rules = cloud_folder.DROPBOX
    single_limit_default = SINGLE_LIMIT
    chunk_default = CHUNK

    async def check(self, target: Target) -> CheckResult:
        api = DropboxApi(self.outbound(), target)
        reply = await api.rpc("users/get_current_account", None)
        if not reply.ok:
            raise failure(reply, "the account")
        email = str((reply.data or {}).get("email", ""))
        return CheckResult(True, f"Signed in to Dropbox as {email}.", {"account": email})

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        path = "/" + "/".join(self.names(target, parcel.variables, parcel.main.name))
        with parcel.main.open() as stream:
            found = hashes(stream)
        upload = _Upload(path, parcel.main, found)
        api = DropboxApi(self.outbound(), target)
        if found.size > self.single_limit:
            existing = await _metadata(api, path)
            if existing is not None and existing.get("content_hash") == found.content_hash:
                return _receipt(existing, found)  # already there: nothing is sent again
            kept = Kept(target, parcel.export_key, found.size, found.sha256)
            metadata = await self._session(api, upload, kept)
            await kept.gone()  # delivered: the session is done with
        else:
            metadata = await self._single(api, upload)
        return _receipt(metadata, found)

    async def _single(self, api: DropboxApi, upload: _Upload) -> dict[str, Any]:
        with upload.file.open() as stream:
            reply = await api.upload(
                "files/upload",
                {**_commit(upload), "content_hash": upload.hashes.content_hash},
                lambda: pieces(stream, 0, upload.hashes.size),
                upload.hashes.size,
            )
        return await _written(api, reply, upload)

    async def _session(self, api: DropboxApi, upload: _Upload, kept: Kept) -> dict[str, Any]:
        size = upload.hashes.size
        with upload.file.open() as stream:
            session_id, offset = await _reopen(api, kept)
            if not session_id:
                reply = await api.upload(
                    "files/upload_session/start", {"close": False}, lambda: pieces(stream, 0, 0), 0
                )
                if not reply.ok:
                    raise failure(reply, "a new upload session")
                session_id = str(reply.data["session_id"])
                await kept.opened(session_id, lifetime(SESSION_DAYS))
            progress = Progress(offset)
            try:
                await self._append(api, upload, stream, session_id, progress)
            except ConnectorError:
                await kept.left_at(progress)
                raise
            finish = {
                "cursor": {"session_id": session_id, "offset": size},
                "commit": _commit(upload),
                "content_hash": upload.hashes.content_hash,  # of the whole file
            }
            reply = await api.upload(
                "files/upload_session/finish", finish, lambda: pieces(stream, size, 0), 0
            )
        return await _written(api, reply, upload)

    async def _append(
        self, api: DropboxApi, upload: _Upload, stream: Any, session_id: str, progress: Progress
    ) -> None:
        """Append the file from `progress.confirmed` to its end, the last chunk closing
        the session."""
        size, resumes = upload.hashes.size, RESUMES
        while progress.confirmed < size:
            offset = progress.confirmed
            length = min(self.chunk, size - offset)
            cursor = {"session_id": session_id, "offset": offset}
            arg = {"cursor": cursor, "close": offset + length == size}
            try:
                reply = await api.upload(
                    "files/upload_session/append_v2",
                    arg,
                    lambda o=offset, n=length: pieces(stream, o, n),  # type: ignore[misc]
                    length,
                )
            except TransientError:
                if resumes == 0:
                    raise
                resumes -= 1
                continue  # the same chunk again; Dropbox says if it has it already
            held = _correct_offset(reply)
            if held is not None:
                progress.confirmed = held  # Dropbox kept more (or less) than we heard
            elif reply.ok:
                progress.confirmed = offset + length
            elif reply.status >= 500 and resumes > 0:
                resumes -= 1
            else:
                raise failure(reply, upload.path)


async def _reopen(api: DropboxApi, kept: Kept) -> tuple[str, int]:
    """The session an earlier try opened, and the offset Dropbox holds for it; ("", 0)
    when there is none or Dropbox no longer knows it. Dropbox has no call that asks a
    session where it is: an empty append at the offset last confirmed answers it
    (nothing sent when it is right, `incorrect_offset` with the right one when not)."""
    earlier = await kept.find()
    if earlier is None:
        return "", 0
    cursor = {"session_id": earlier.handle, "offset": earlier.confirmed}
    reply = await api.upload(
        "files/upload_session/append_v2", {"cursor": cursor, "close": False}, lambda: b"", 0
    )
    held = _correct_offset(reply)
    if held is not None:
        return earlier.handle, held
    if reply.ok:
        return earlier.handle, earlier.confirmed
    if reply.status == 409 and _lookup_error(reply) == "closed":
        return earlier.handle, earlier.size  # every byte is there: only the finish is left
    if reply.status == 409:
        await kept.gone()  # not_found (expired) or unusable: a new session
        return "", 0
    raise failure(reply, "an upload session")


def _commit(upload: _Upload) -> dict[str, Any]:
    """Where and how the file is written (Dropbox's CommitInfo)."""
    return {"path": upload.path, "mode": "add", "autorename": False, "mute": True}


async def _written(api: DropboxApi, reply: Reply, upload: _Upload) -> dict[str, Any]:
    """The file's metadata after an upload or a finish, or the reason it was not written."""
    if reply.ok:
        return dict(reply.data)
    if "path/conflict/file" in summary(reply):
        existing = await _metadata(api, upload.path)
        if existing is not None and existing.get("content_hash") == upload.hashes.content_hash:
            return existing  # another try of this export wrote it first
        raise in_the_way("Dropbox", upload.path)
    if "path/conflict/folder" in summary(reply):
        raise Misconfigured(f"Dropbox has a folder where {upload.path} should go")
    raise failure(reply, upload.path)


async def _metadata(api: DropboxApi, path: str) -> dict[str, Any] | None:
    reply = await api.rpc("files/get_metadata", {"path": path})
    if reply.ok:
        return dict(reply.data) if reply.data.get(".tag") == "file" else None
    if "not_found" in summary(reply):
        return None
    raise failure(reply, path)


def _lookup_error(reply: Reply) -> str:
    error = reply.data.get("error") if isinstance(reply.data, dict) else None
    return str(error.get(".tag", "")) if isinstance(error, dict) else ""


def _correct_offset(reply: Reply) -> int | None:
    if reply.status != 409 or not isinstance(reply.data, dict):
        return None
    error = reply.data.get("error") or {}
    if error.get(".tag") == "incorrect_offset":
        return int(error["correct_offset"])
    return None


def _receipt(metadata: dict[str, Any], found: Hashes) -> Receipt:
    size = int(metadata.get("size", -1))
    if size != found.size or metadata.get("content_hash") != found.content_hash:
        raise TransientError(f"Dropbox holds {size} bytes at {metadata.get('path_display')}")
    return Receipt(
        location=str(metadata.get("path_display")),
        size=found.size,
        sha256=found.sha256,
        details={"id": metadata.get("id"), "rev": metadata.get("rev")},
    )
