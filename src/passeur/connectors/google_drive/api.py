"""Google Drive API v3 calls over the shared outbound client, and what its answers mean."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

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

FOLDER = "application/vnd.google-apps.folder"
FULL = (
    "the Google Drive is full: free some space in it or choose a larger storage plan; "
    "the exports wait and go out once there is room"
)
_RATE = {"userRateLimitExceeded", "rateLimitExceeded", "sharingRateLimitExceeded"}
_DENIED = {"insufficientFilePermissions", "appNotAuthorizedToFile", "domainPolicy", "forbidden"}


class DriveApi(CloudApi):
    """The calls one try makes to one installation's Google Drive."""

    provider = "Google Drive"
    default_url = "https://www.googleapis.com"

    async def get(self, path: str, **query: str) -> Reply:
        return await call(self.http, self.tokens, "GET", self._at(path, query), {})

    async def post_json(self, path: str, metadata: dict[str, Any], **query: str) -> Reply:
        body = json.dumps(metadata).encode()
        headers = {"Content-Type": "application/json; charset=UTF-8"}
        return await call(
            self.http, self.tokens, "POST", self._at(path, query), headers, lambda: body
        )

    async def post(
        self, path: str, headers: dict[str, str], body: Callable[[], Body], **query: str
    ) -> Reply:
        return await call(self.http, self.tokens, "POST", self._at(path, query), headers, body)

    async def to_session(
        self, uri: str, headers: dict[str, str], body: Callable[[], Body]
    ) -> Reply:
        """A PUT to a resumable session: its address is its credential (no token sent)."""
        return await call(self.http, None, "PUT", self.session_uri(uri), headers, body)

    def session_uri(self, uri: str) -> str:
        """The session address Drive gave, if it is on Drive's own host (a Location
        pointing elsewhere is never followed)."""
        ours, given = urlsplit(self.url), urlsplit(uri)
        if (given.scheme, given.netloc) != (ours.scheme, ours.netloc):
            raise TransientError("Google Drive gave an upload session on another host")
        return uri

    async def find(self, name: str, parent: str, *, folder: bool) -> list[dict[str, Any]]:
        """Items of that name in that folder, oldest first (Drive allows several)."""
        kind = "=" if folder else "!="
        q = (
            f"name = '{quoted(name)}' and '{quoted(parent)}' in parents "
            f"and mimeType {kind} '{FOLDER}' and trashed = false"
        )
        fields = "nextPageToken,files(id,name,size,md5Checksum,createdTime)"
        found: list[dict[str, Any]] = []
        token = ""
        while True:
            query = {"q": q, "fields": fields, "spaces": "drive", "pageSize": "100"}
            if token:
                query["pageToken"] = token
            reply = await self.get("/drive/v3/files", **query)
            if not reply.ok:
                raise failure(reply, f"the folder {name!r}")
            found += reply.data.get("files", [])
            token = reply.data.get("nextPageToken") or ""
            if not token:
                return sorted(found, key=lambda f: (f.get("createdTime", ""), f["id"]))

    def _at(self, path: str, query: dict[str, str]) -> str:
        return f"{self.url}{path}" + (f"?{urlencode(query)}" if query else "")


def quoted(value: str) -> str:
    """A value inside '…' in Drive's query language."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def reason(reply: Reply) -> str:
    error = reply.data.get("error") if isinstance(reply.data, dict) else None
    errors = error.get("errors") if isinstance(error, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("reason", ""))
    return ""


def failure(reply: Reply, where: str) -> ConnectorError:
    """What an answer that is not a success means, for the retry policy."""
    status, why = reply.status, reason(reply)
    wait = retry_after.parse(reply.headers.get("retry-after"))
    if status == 401:
        return NeedsReauth(f"Google Drive refused the access token ({why or status}); sign in")
    if status == 429 or why in _RATE:
        # Google says to back off exponentially when it gives no time: the schedule does.
        return RateLimited("Google Drive asks us to slow down", retry_after=wait)
    if status >= 500:
        return TransientError(f"Google Drive failed ({status}) on {where}", retry_after=wait)
    if why in ("storageQuotaExceeded", "quotaExceeded") or status == 507:
        return Misconfigured(FULL)
    if status == 403 or why in _DENIED:
        return Misconfigured(f"Google Drive does not let this account write {where} ({why})")
    if status == 404:
        return TransientError(f"{where} is no longer in Google Drive; it is made again")
    return Rejected(f"Google Drive refused {where} ({status} {why})")
