"""http_throughput_ratio: 2,000 documents of about 30 KB approved and delivered to a
loopback HTTP receiver (its own process), against the same payloads, signed the same way,
POSTed by the same client library (aiohttp) without passeur, with the same concurrency: the
ratio is passeur's own cost, not a choice of transport. On SQLite with one worker (in this
process) and on PostgreSQL with two worker processes.

    python -m bench.http_throughput [--documents 2000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bench.harness import make_app, postgres_database, save
from bench.population import Held, held_exports, release
from bench.servers import HttpServer, http_receiver
from bench.webhooks import multipart, post_all
from bench.workers import running_workers
from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.delivery.worker import Worker
from passeur.formats.corpus import make_padded_pdf
from passeur.storage.db import reading
from passeur.storage.tables import exports

SIZE = 30 * 1024


def http_values(server: HttpServer, secret: str, concurrency: int) -> dict[str, str]:
    return {
        "base_url": server.url,
        "allow_plain_http": "yes",
        "signing_secret": secret,
        "payload": "multipart",
        "parallel": str(concurrency),
    }


def delivered(app: App) -> int:
    with reading(app.engine) as conn:
        query = select(func.count()).select_from(exports).where(exports.c.state == "delivered")
        return int(conn.execute(query).scalar_one())


async def wait_delivered(app: App, n: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while await asyncio.to_thread(delivered, app) < n:
        if time.monotonic() > deadline:
            raise RuntimeError("the exports were not all delivered in time")
        await asyncio.sleep(0.05)


def passeur_sqlite(
    folder: Path, server: HttpServer, secret: str, payloads: list[bytes], c: int
) -> float:
    app = make_app(folder, worker_concurrency=c, worker_batch=c, allowed_networks="127.0.0.0/8")
    try:
        held = held_exports(app, "http", http_values(server, secret, c), payloads)
        return in_process_rate(app, held, len(payloads))
    finally:
        app.close()


def in_process_rate(app: App, held: Held, count: int) -> float:
    """Exports delivered per second by one worker in this process, from their release."""

    async def timed() -> float:
        stop = asyncio.Event()
        worker = asyncio.create_task(Worker(app).run(stop))
        await asyncio.sleep(0.5)  # started and idle
        start = time.perf_counter()
        await asyncio.to_thread(release, app, held)
        await wait_delivered(app, count)
        seconds = time.perf_counter() - start
        stop.set()
        await worker
        return count / seconds

    return asyncio.run(timed())


def passeur_postgres(
    folder: Path, server: HttpServer, secret: str, payloads: list[bytes], c: int, processes: int
) -> float:
    with postgres_database() as url:
        app = make_app(folder, url, worker_concurrency=c, worker_batch=c,
                       allowed_networks="127.0.0.0/8")  # fmt: skip
        try:
            held = held_exports(app, "http", http_values(server, secret, c), payloads)
            with running_workers(app, processes, concurrency=c):
                start = time.perf_counter()
                release(app, held)
                asyncio.run(wait_delivered(app, len(payloads)))
                return len(payloads) / (time.perf_counter() - start)
        finally:
            app.close()


def run(documents: int, concurrency: int, rounds: int = 2) -> dict[str, float]:
    payloads = [make_padded_pdf(SIZE, seed=n) for n in range(documents)]
    bodies = [multipart(f"f{n}.pdf", p, {"n": n}) for n, p in enumerate(payloads)]
    secret = new_secret()
    ratios: dict[str, list[float]] = {"sqlite": [], "pg": []}
    bare_rates = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with http_receiver(folder / "receiver", secret) as server:
            for n in range(rounds):
                for db in ("sqlite", "pg"):
                    bare = asyncio.run(
                        post_all(server.url, secret, bodies, f"b{n}{db}", concurrency)
                    )
                    bare_rates.append(bare)
                    if db == "sqlite":
                        mine = passeur_sqlite(
                            folder / f"sqlite{n}", server, secret, payloads, concurrency
                        )
                    else:
                        mine = passeur_postgres(
                            folder / f"pg{n}", server, secret, payloads, concurrency, processes=2
                        )
                    ratios[db].append(mine / bare)
    return {
        "http_throughput_ratio_sqlite": statistics.median(ratios["sqlite"]),
        "http_throughput_ratio_postgres": statistics.median(ratios["pg"]),
        "http_bare_requests_per_s": statistics.median(bare_rates),
        "http_concurrency": concurrency,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    figures = run(args.documents, args.concurrency, args.rounds)
    print(
        f"HTTP: bare aiohttp client {figures['http_bare_requests_per_s']:.0f} requests/s; "
        f"passeur ratio {figures['http_throughput_ratio_sqlite']:.2f} on SQLite (1 process, "
        f"target >= 0.8), {figures['http_throughput_ratio_postgres']:.2f} on PostgreSQL "
        "(2 processes, target >= 0.7)"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
