"""A stand-in for the partner's software that reads an API integration's feed: it pulls
a page, downloads every file of every item, checks each against its size and SHA-256,
and acknowledges the page's items only then, in one call (what a careful reader does).

It calls the services directly; the REST API puts HTTP in front of the same calls.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from passeur.bootstrap import App
from passeur.services import feeds

CHUNK = 1 << 16


@dataclass
class FeedReader:
    app: App
    partner_id: int
    integration_id: int
    name: str = "feed-reader"
    acknowledge: bool = True  # False: fetch and read, then "crash" before acknowledging
    received: dict[int, dict[str, bytes]] = field(default_factory=dict)  # item: role: bytes
    keep: bool = True  # keep the bytes read (tests); a benchmark only counts them
    bytes_read: int = 0

    def read_page(self, limit: int = 50, cursor: str = "") -> feeds.FeedPage:
        """Pull one page, read and check every file, acknowledge each item."""
        page = feeds.pull(
            self.app, self.partner_id, self.integration_id,
            cursor=cursor, limit=limit, reader=self.name,
        )  # fmt: skip
        for item in page.items:
            self.received[item.id] = {f.role: self._download(item.id, f) for f in item.files}
        if self.acknowledge and page.items:  # every file read and checked: the page at once
            ids = [item.id for item in page.items]
            feeds.ack_many(self.app, self.partner_id, self.integration_id, ids, reader=self.name)
        return page

    def drain(self, limit: int = 50) -> int:
        """Read the feed to its end; the number of items read."""
        count, cursor = 0, ""
        while True:
            page = self.read_page(limit, cursor)
            count += len(page.items)
            if not page.next_cursor:
                return count
            cursor = page.next_cursor

    def _download(self, item_id: int, f: feeds.FeedFile) -> bytes:
        _, stream = feeds.open_file(self.app, self.partner_id, self.integration_id, item_id, f.role)
        digest, kept, size = hashlib.sha256(), bytearray(), 0
        with stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                if self.keep:
                    kept += chunk
        if size != f.size or digest.hexdigest() != f.sha256:
            raise ValueError(f"item {item_id}: {f.role} does not match its size and SHA-256")
        self.bytes_read += size
        return bytes(kept)
