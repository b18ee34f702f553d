"""The worker: claims due exports, delivers them concurrently, records each try.

Database work runs in threads (short transactions); the connector calls run on the event
loop. A heartbeat extends the leases of tries still running, so only a dead worker's
exports are taken over.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
import traceback
import uuid
from datetime import timedelta
from typing import Any

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.base import Connector
from passeur.connectors.errors import ConnectorError
from passeur.delivery import context, ledger, wakeups
from passeur.delivery.claims import claim as claim_due
from passeur.delivery.context import Delivery
from passeur.delivery.ledger import Claim, Outcome
from passeur.domain.errors import DomainError
from passeur.domain.exports import ErrorClass

log = logging.getLogger("passeur.worker")
RECORD_BATCH = 100  # outcomes recorded in one transaction at most


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, app: App, *, concurrency: int | None = None, name: str = "") -> None:
        self.app = app
        self.name = name or worker_name()
        self.concurrency = concurrency or app.settings.worker_concurrency
        self._claim_threshold = max(1, self.concurrency // 4)
        self.lease = timedelta(seconds=app.settings.lease_seconds)
        self._connectors: dict[str, Connector] = {}
        self._loader = context.Loader(app)
        self._inflight: dict[int, Claim] = {}
        self._wake = asyncio.Event()
        self._finished: asyncio.Queue[tuple[Claim, Outcome, asyncio.Future[bool] | None]] = (
            asyncio.Queue()
        )
        self.delivered = 0
        self.failed_tries = 0

    async def run(self, stop: asyncio.Event, *, drain: bool = False) -> None:
        """Work until `stop` is set; with `drain`, also stop once nothing is due or running."""
        tasks: set[asyncio.Task[None]] = set()
        heartbeat = asyncio.create_task(self._heartbeat())
        recorder = asyncio.create_task(self._recorder())
        housekeeping = asyncio.create_task(self._housekeeping(stop))
        watching = threading.Event()
        watcher = wakeups.watch(
            self.app.engine, wakeups.threadsafe(asyncio.get_running_loop(), self._wake), watching
        )
        try:
            while not stop.is_set():
                free = self.concurrency - len(tasks)
                got: list[Claim] = []
                # Claim in batches: wait for a few free slots unless the worker is idle.
                if free >= self._claim_threshold or (free > 0 and not tasks):
                    self._wake.clear()
                    limit = min(free, self.app.settings.worker_batch)
                    try:
                        got, jobs = await asyncio.to_thread(self._claim, limit)
                    except Exception:  # the database may be briefly gone: wait, try again
                        log.exception("claiming failed; trying again")
                        await self._idle(tasks, stop)
                        continue
                for claim in got:
                    self._inflight[claim.export_id] = claim
                    task = asyncio.create_task(self._deliver(claim, jobs[claim.export_id]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if got:
                    continue  # more may be due: claim again while slots are free
                if drain and not tasks and not self._inflight:
                    return
                await self._idle(tasks, stop)
        finally:
            watching.set()
            housekeeping.cancel()
            if tasks:  # tries in flight finish, their leases still extended
                await asyncio.gather(*tasks, return_exceptions=True)
            await self._finished.join()  # every outcome recorded before leaving
            heartbeat.cancel()
            recorder.cancel()
            await asyncio.to_thread(watcher.join, 2.0)
            for connector in self._connectors.values():
                await connector.close()

    async def _idle(self, tasks: set[asyncio.Task[None]], stop: asyncio.Event) -> None:
        """Sleep until a try finishes, a wake-up (when a slot is free), a stop, or the poll
        interval. A finished try frees a slot and may free room in a target's pacing."""
        own: list[asyncio.Future[Any]] = [asyncio.ensure_future(stop.wait())]
        if len(tasks) < self.concurrency:
            own.append(asyncio.ensure_future(self._wake.wait()))
        await asyncio.wait(
            [*own, *tasks],
            timeout=self.app.settings.poll_seconds,
            return_when=asyncio.FIRST_COMPLETED,
        )
        for waiter in own:
            waiter.cancel()

    def _claim(self, limit: int) -> tuple[list[Claim], dict[int, Delivery | Exception]]:
        """Claim a batch and load what its deliveries need (one trip to a thread)."""
        got = claim_due(self.app.engine, self.name, limit, self.lease)
        return got, self._loader.load(got)

    async def _deliver(self, claim: Claim, job: Delivery | Exception) -> None:
        secrets: dict[str, str] = {}
        try:
            if isinstance(job, Exception):
                raise job
            secrets = job.target.secrets
            connector = self._connector(job.target.extension)
            async with asyncio.timeout(self.app.settings.delivery_timeout_seconds):
                receipt = await connector.deliver(job.target, job.parcel)
            outcome = Outcome(delivered=True, receipt=receipt.as_dict())
        except ConnectorError as exc:
            outcome = Outcome(
                delivered=False,
                error_class=exc.error_class,
                message=redact(exc.message, secrets),
                retry_after=exc.retry_after,
            )
        except TimeoutError:
            seconds = self.app.settings.delivery_timeout_seconds
            outcome = Outcome(
                delivered=False,
                error_class=ErrorClass.TRANSIENT,
                message=f"the target did not finish within {seconds:.0f} s",
            )
        except DomainError as exc:  # e.g. a path that cannot be rendered for this document
            outcome = Outcome(
                delivered=False,
                error_class=ErrorClass.MISCONFIGURED,
                message=redact(str(exc), secrets),
            )
        except Exception as exc:  # a bug or an unclassified failure: retry, and tell
            message = redact(f"unexpected error: {type(exc).__name__}: {exc}", secrets)
            # Where it happened, but not the exception's own text unredacted.
            where = "".join(traceback.format_tb(exc.__traceback__))
            log.error("export %s: %s\n%s", claim.export_id, message, where)
            outcome = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message=message)
        # A delivered try frees its slot at once: the outcome reaches the ledger with the next
        # group commit (the claim stays leased until then). A failed one holds its slot
        # until recorded, so that a target that refused us is parked before the next call.
        recorded: asyncio.Future[bool] | None = None
        if not outcome.delivered:
            recorded = asyncio.get_running_loop().create_future()
        self._finished.put_nowait((claim, outcome, recorded))
        if recorded is not None:
            await recorded

    async def _recorder(self) -> None:
        """Group commit: every outcome waiting is recorded in one transaction.

        A short database outage is ridden out; if it lasts longer than the lease, the
        exports are claimed again later and delivered once more, which every connector
        makes harmless.
        """
        while True:
            batch = [await self._finished.get()]
            while not self._finished.empty() and len(batch) < RECORD_BATCH:
                batch.append(self._finished.get_nowait())
            held = await self._finish_many([(claim, outcome) for claim, outcome, _ in batch])
            for (claim, outcome, recorded), kept in zip(batch, held, strict=True):
                self._inflight.pop(claim.export_id, None)
                self._account(claim, outcome, kept)
                if recorded is not None and not recorded.done():
                    recorded.set_result(kept)
                self._finished.task_done()

    def _account(self, claim: Claim, outcome: Outcome, kept: bool) -> None:
        if outcome.delivered:
            self.delivered += 1
        else:
            self.failed_tries += 1
            log.info(
                "export %s try %s: %s: %s",
                claim.export_id,
                claim.attempt,
                outcome.error_class,
                outcome.message,
            )
        if not kept:
            log.warning("export %s: lease lost before the try was recorded", claim.export_id)

    async def _finish_many(self, items: list[tuple[Claim, Outcome]]) -> list[bool]:
        delay = 0.1
        deadline = asyncio.get_running_loop().time() + self.lease.total_seconds()
        while True:
            try:
                return await asyncio.to_thread(
                    ledger.finish_many, self.app.engine, items, self.app.settings.schedule
                )
            except Exception:
                if asyncio.get_running_loop().time() + delay > deadline:
                    log.exception("could not record %s tries", len(items))
                    return [False] * len(items)
                log.warning("recording %s tries failed, retrying", len(items))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _connector(self, slug: str) -> Connector:
        if slug not in self._connectors:
            self._connectors[slug] = registry.make_connector(slug, self.app.settings.network_policy)
        return self._connectors[slug]

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """Prune delivered exports past their retention, once an hour."""
        retention = timedelta(days=self.app.settings.retention_days)
        while not stop.is_set():
            try:
                pruned = await asyncio.to_thread(ledger.prune, self.app.engine, retention)
                if pruned:
                    log.info("pruned %s delivered exports older than %s", pruned, retention)
            except Exception:
                log.exception("pruning failed; trying again in an hour")
            await asyncio.sleep(3600)

    async def _heartbeat(self) -> None:
        """Extend the leases of every try in flight or waiting to be recorded, until
        cancelled (after the last one is recorded, also on a graceful stop)."""
        interval = max(0.2, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(interval)
            claims = list(self._inflight.values())
            if claims:
                try:
                    lost = await asyncio.to_thread(
                        ledger.extend_lease, self.app.engine, claims, self.lease
                    )
                except Exception:  # the database may be briefly gone; try next beat
                    log.exception("could not extend leases")
                    continue
                for export_id in lost & set(self._inflight):
                    log.warning("export %s: lease lost (another worker took it)", export_id)


def redact(message: str, secrets: dict[str, str]) -> str:
    """Never let a secret reach an attempt record or a log line."""
    for value in secrets.values():
        if value and len(value) >= 4:
            message = message.replace(value, "***")
    return message
