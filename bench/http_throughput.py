"""http_throughput_ratio: 2,000 documents of about 30 KB approved and delivered to a
loopback HTTP receiver (its own process), against a bare sender doing the same work without
passeur: the same files read from disk, wrapped with their metadata, signed the same way and
POSTed by the same client library (aiohttp), with the same concurrency. The ratio is
passeur's own cost, not a choice of transport. On SQLite with one worker (in this process)
and on PostgreSQL with two worker processes.

Two diagnostics show where passeur's cost lies: the HTTP connector alone (handed the loaded
targets and parcels, no ledger) against the same baseline, and the bare sender with bodies
already in memory (what the baseline was before it read files).

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

from bench.harness import freeze_like_the_cli, make_app, postgres_database, save
from bench.population import Held, deliveries, held_exports, release
from bench.servers import HttpServer, http_receiver
from bench.webhooks import _timed, multipart, post_all, post_files
from bench.workers import running_workers
from passeur.bootstrap import App
from passeur.connectors import registry
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
) -> tuple[float, float]:
    """Deliveries per second through the worker, then through the connector alone."""
    app = make_app(folder, worker_concurrency=c, worker_batch=c, allowed_networks="127.0.0.0/8")
    try:
        held = held_exports(app, "http", http_values(server, secret, c), payloads)
        rate = in_process_rate(app, held, len(payloads))
        return rate, asyncio.run(connector_alone(app, c))
    finally:
        app.close()


def in_process_rate(app: App, held: Held, count: int) -> float:
    """Exports delivered per second by one worker in this process, from their release."""
    freeze_like_the_cli()

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


async def connector_alone(app: App, c: int) -> float:
    """The HTTP connector handed every export's target and parcel, loaded beforehand; the
    receiver drops them as repeats of what the worker sent, with the same 2xx."""
    jobs = deliveries(app)
    connector = registry.make_connector("http", app.settings.network_policy)
    try:

        async def send(n: int) -> None:
            await connector.deliver(jobs[n].target, jobs[n].parcel)

        return await _timed(send, len(jobs), c)
    finally:
        await connector.close()


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
    ratios: dict[str, list[float]] = {"sqlite": [], "pg": [], "connector": [], "in_memory": []}
    bare_rates = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        files = write_files(folder / "documents", payloads)
        with http_receiver(folder / "receiver", secret) as server:
            asyncio.run(post_files(server.url, secret, files[:200], "warm-up", concurrency))
            for n in range(rounds):
                for db in ("sqlite", "pg"):
                    bare = asyncio.run(
                        post_files(server.url, secret, files, f"b{n}{db}", concurrency)
                    )
                    bare_rates.append(bare)
                    if db == "sqlite":
                        mine, alone = passeur_sqlite(
                            folder / f"sqlite{n}", server, secret, payloads, concurrency
                        )
                        ratios["connector"].append(alone / bare)
                        in_memory = post_all(server.url, secret, bodies, f"m{n}", concurrency)
                        ratios["in_memory"].append(asyncio.run(in_memory) / bare)
                    else:
                        mine = passeur_postgres(
                            folder / f"pg{n}", server, secret, payloads, concurrency, processes=2
                        )
                    ratios[db].append(mine / bare)
    return {
        "http_throughput_ratio_sqlite": statistics.median(ratios["sqlite"]),
        "http_throughput_ratio_postgres": statistics.median(ratios["pg"]),
        "http_connector_alone_ratio": statistics.median(ratios["connector"]),
        "http_bare_in_memory_ratio": statistics.median(ratios["in_memory"]),
        "http_bare_requests_per_s": statistics.median(bare_rates),
        "http_concurrency": concurrency,
    }


def write_files(folder: Path, payloads: list[bytes]) -> list[Path]:
    """The documents as files, for the bare sender to read as passeur reads its blobs."""
    folder.mkdir(parents=True)
    paths = [folder / f"f{n}.pdf" for n in range(len(payloads))]
    for path, data in zip(paths, payloads, strict=True):
        path.write_bytes(data)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    figures = run(args.documents, args.concurrency, args.rounds)
    print(
        f"HTTP: bare aiohttp sender {figures['http_bare_requests_per_s']:.0f} requests/s; "
        f"passeur ratio {figures['http_throughput_ratio_sqlite']:.2f} on SQLite (1 process, "
        f"target >= 0.8), {figures['http_throughput_ratio_postgres']:.2f} on PostgreSQL "
        "(2 processes, target >= 0.7); diagnostics: the HTTP connector alone "
        f"{figures['http_connector_alone_ratio']:.2f}, the bare sender with bodies in memory "
        f"{figures['http_bare_in_memory_ratio']:.2f}"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
