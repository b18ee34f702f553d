"""feed_rate_ratio: the API extension's feed consumed end to end (pull a page, download
every file's bytes from the blob store and check its SHA-256, acknowledge each item), in
items per second from their release, over the HTTP extension's delivery rate measured in
the same run on the same documents (one worker in this process, POSTing to a loopback
receiver in its own process). Both on SQLite, both timed from the release of exports held
behind a paused integration, so each side pays its outbox and ledger.

The readers call the services directly (what the REST API puts HTTP in front of), each
with its own name, as several consumers of one feed would; leases keep them apart.
feed_api_ratio is the same read through the REST API: a uvicorn server in this process,
each reader an HTTP client with a bearer token (pull, GET each file's href and check its
SHA-256, acknowledge the page's items in one POST), over the same HTTP extension rate;
the recommended way, with the page's files inline (`inline_max_bytes`, so no download
request per item). feed_api_links_ratio reads the same through each file's link.

    python -m bench.feed_rate [--documents 1000] [--readers 2] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
import uvicorn

from bench.harness import make_app, save
from bench.http_throughput import http_values, in_process_rate
from bench.population import held_exports, release
from bench.servers import http_receiver
from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.formats.corpus import make_padded_pdf
from passeur.sandbox.feed_reader import FeedReader
from passeur.services import api_clients
from passeur.web.app import create

SIZE = 30 * 1024
PAGE = 50
INLINE = 256 * 1024  # files up to this size come in the page


def feed_rate(folder: Path, payloads: list[bytes], readers: int) -> float:
    """Items per second read and acknowledged from the feed, from their release."""
    app = make_app(folder)
    try:
        held = held_exports(app, "api", {"lease_minutes": 10}, payloads)
        start = time.perf_counter()
        release(app, held)
        ids = (held.partner_id, held.integration_id)
        with ThreadPoolExecutor(readers) as pool:
            read = sum(pool.map(lambda n: _drain(app, *ids, n), range(readers)))
        seconds = time.perf_counter() - start
        if read != len(payloads):
            raise RuntimeError(f"{read} items read of {len(payloads)}: lost or doubled")
        return len(payloads) / seconds
    finally:
        app.close()


def _drain(app: App, partner_id: int, integration_id: int, n: int) -> int:
    reader = FeedReader(app, partner_id, integration_id, name=f"reader-{n}", keep=False)
    return reader.drain(PAGE)


def api_rate(folder: Path, payloads: list[bytes], readers: int, inline: bool = True) -> float:
    """Items per second read and acknowledged through the REST API, from their release."""
    app = make_app(folder, api_rate_limit=10_000_000)
    try:
        held = held_exports(app, "api", {"lease_minutes": 10}, payloads)
        made, _ = api_clients.create(app, held.partner_id, "reader", "feeds:read feeds:write")
        token = api_clients.create_personal_token(app, held.partner_id, made.id, "bench").token
        with _serve(app) as base:
            start = time.perf_counter()
            release(app, held)
            with ThreadPoolExecutor(readers) as pool:
                read = sum(
                    pool.map(
                        lambda _n: _drain_http(base, token, held.integration_id, inline),
                        range(readers),
                    )
                )
            seconds = time.perf_counter() - start
        if read != len(payloads):
            raise RuntimeError(f"{read} items read of {len(payloads)}: lost or doubled")
        return len(payloads) / seconds
    finally:
        app.close()


def _drain_http(base: str, token: str, integration_id: int, inline: bool) -> int:
    """Read the feed through the API until a pull comes back empty; items read."""
    count = 0
    auth = {"authorization": f"Bearer {token}"}
    params = {"limit": PAGE, "inline_max_bytes": INLINE if inline else 0}
    with httpx2.Client(base_url=base, headers=auth, timeout=60) as api:
        while True:
            page = api.get(f"/api/v1/feeds/{integration_id}/items", params=params)
            items = page.raise_for_status().json()["items"]
            if not items:
                return count
            for item in items:
                for f in item["files"]:
                    digest = hashlib.sha256()
                    if f["content_base64"] is not None:
                        digest.update(base64.b64decode(f["content_base64"]))
                    else:
                        with api.stream("GET", f["href"]) as answer:
                            for chunk in answer.raise_for_status().iter_bytes():
                                digest.update(chunk)
                    if digest.hexdigest() != f["sha256"]:
                        raise RuntimeError(f"item {item['id']}: {f['role']} does not match")
            ids = [item["id"] for item in items]  # the page's items, acknowledged at once
            acks = api.post(f"/api/v1/feeds/{integration_id}/acks", json={"ids": ids})
            acks.raise_for_status()
            count += len(ids)


@contextlib.contextmanager
def _serve(app: App) -> Iterator[str]:
    """The web app on a loopback port, served by uvicorn on a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(create(app), log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def http_rate(folder: Path, payloads: list[bytes], concurrency: int) -> float:
    secret = new_secret()
    with http_receiver(folder / "receiver", secret) as server:
        app = make_app(folder / "http", worker_concurrency=concurrency,
                       worker_batch=concurrency, allowed_networks="127.0.0.0/8")  # fmt: skip
        try:
            held = held_exports(app, "http", http_values(server, secret, concurrency), payloads)
            return in_process_rate(app, held, len(payloads))
        finally:
            app.close()


def run(documents: int, readers: int = 2, concurrency: int = 32) -> dict[str, float]:
    payloads = [make_padded_pdf(SIZE, seed=n) for n in range(documents)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        http = http_rate(folder / "http", payloads, concurrency)
        feed = feed_rate(folder / "feed", payloads, readers)
        api = api_rate(folder / "api", payloads, readers)
        links = api_rate(folder / "links", payloads, readers, inline=False)
    return {
        "feed_rate_ratio": feed / http,
        "feed_api_ratio": api / http,
        "feed_api_links_ratio": links / http,
        "feed_items_per_s": feed,
        "feed_api_items_per_s": api,
        "feed_api_links_items_per_s": links,
        "feed_http_deliveries_per_s": http,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    figures = run(args.documents, args.readers, args.concurrency)
    print(
        f"feed: {figures['feed_items_per_s']:.0f} items/s pulled, downloaded and acknowledged "
        f"({args.readers} readers); HTTP extension: {figures['feed_http_deliveries_per_s']:.0f} "
        f"deliveries/s; ratio {figures['feed_rate_ratio']:.2f} (target >= 1.0)"
    )
    print(
        f"feed through the REST API, files inline: {figures['feed_api_items_per_s']:.0f} "
        f"items/s; ratio {figures['feed_api_ratio']:.2f} (target >= 1.0)"
    )
    print(
        f"feed through the REST API, a download per file: "
        f"{figures['feed_api_links_items_per_s']:.0f} items/s; "
        f"ratio {figures['feed_api_links_ratio']:.2f}"
    )
    save("feed_rate", figures)


if __name__ == "__main__":
    main()
