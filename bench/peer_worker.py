"""A worker process of a peer job queue (procrastinate or pgqueuer), doing what a passeur
worker does for an HTTP export: read the document's file, wrap it with its metadata, sign
it the Standard Webhooks way and POST it with aiohttp (bench/webhooks.py post_document).
Each queue is used as its documentation shows, with its own defaults but the concurrency.

    python -m bench.peer_worker procrastinate|pgqueuer --dsn D --url U --secret S
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import aiohttp

from bench.webhooks import post_document

TASK = "deliver"


class Sender:
    """One aiohttp session per worker process, at most `limit` connections."""

    def __init__(self, url: str, secret: str, limit: int) -> None:
        self.url, self.secret, self.limit = url, secret, limit
        self._session: aiohttp.ClientSession | None = None

    async def send(self, args: dict[str, Any]) -> None:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=self.limit)
            timeout = aiohttp.ClientTimeout(total=30)
            self._session = aiohttp.ClientSession(connector=connector, timeout=timeout)
        await post_document(
            self._session, self.url, self.secret, Path(args["path"]), args["key"], args["n"]
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def procrastinate_app(dsn: str) -> Any:
    import procrastinate

    return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))


async def run_procrastinate(dsn: str, sender: Sender, concurrency: int) -> None:
    app = procrastinate_app(dsn)

    @app.task(name=TASK)
    async def deliver(**args: Any) -> None:
        await sender.send(args)

    async with app.open_async():
        # Its own signal handlers: SIGTERM finishes the jobs in flight, then returns.
        await app.run_worker_async(concurrency=concurrency, name="bench")


async def run_pgqueuer(dsn: str, sender: Sender, concurrency: int, name: str) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries, QueueManager
    from pgqueuer.models import Job

    conn = await asyncpg.connect(dsn, server_settings={"application_name": name})
    manager = QueueManager(Queries(AsyncpgDriver(conn)))

    @manager.entrypoint(TASK)
    async def deliver(job: Job) -> None:
        await sender.send(json.loads(job.payload or b"{}"))

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, manager.shutdown.set)
    try:
        # The hard cap per worker must be at least twice the batch.
        await manager.run(batch_size=concurrency // 2, max_concurrent_tasks=concurrency)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("queue", choices=["procrastinate", "pgqueuer"])
    parser.add_argument("--dsn", required=True, help="postgresql://… (no driver suffix)")
    parser.add_argument("--url", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--name", default="bench-peer", help="application_name (pgqueuer)")
    args = parser.parse_args()
    sender = Sender(args.url, args.secret, args.concurrency)

    async def work() -> None:
        try:
            if args.queue == "procrastinate":
                await run_procrastinate(args.dsn, sender, args.concurrency)
            else:
                await run_pgqueuer(args.dsn, sender, args.concurrency, args.name)
        finally:
            await sender.close()

    asyncio.run(work())


if __name__ == "__main__":
    main()
