"""An export's upload session kept between tries (`target.uploads`): the next try, in
any worker, asks the provider what the session holds and sends only the rest.

A kept session is used only for the same bytes (size and SHA-256) and until the
provider's lifetime for it ends; the provider is always asked where it is, so what was
kept is a hint (`confirmed`), never trusted over the provider's answer."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from passeur.domain.extensions import Target, UploadSession


@dataclass
class Progress:
    """The bytes the provider last confirmed, as an upload goes (kept if a try ends)."""

    confirmed: int = 0


class Kept:
    """One export's session in the target's store (none when the target keeps none)."""

    def __init__(self, target: Target, export_key: str, size: int, sha256: str) -> None:
        self.store = target.uploads
        self.key = export_key
        self.size = size
        self.sha256 = sha256
        self.session: UploadSession | None = None

    async def find(self) -> UploadSession | None:
        """The session an earlier try opened for these bytes, if it is still alive."""
        if self.store is None:
            return None
        found = await self.store.find(self.key)
        if found is None or found.size != self.size or found.sha256 != self.sha256:
            return None
        self.session = found
        return found

    async def opened(self, handle: str, expires_at: float) -> None:
        """A new session: kept before its first byte, so a try killed at any point
        leaves it for the next."""
        self.session = UploadSession(handle, self.size, self.sha256, expires_at)
        if self.store is not None:
            await self.store.keep(self.key, self.session)

    async def left_at(self, progress: Progress) -> None:
        """The try ends with the session open: keep what the provider confirmed."""
        if self.store is not None and self.session is not None:
            self.session = replace(self.session, confirmed=progress.confirmed)
            await self.store.keep(self.key, self.session)

    async def gone(self) -> None:
        """Delivered, or the provider no longer knows the session: forget it."""
        if self.store is not None:
            await self.store.forget(self.key)
        self.session = None


def lifetime(days: float) -> float:
    """When a session opened now expires, a provider's lifetime of `days` from now."""
    return time.time() + days * 86400
