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
import uuid
from datetime import timedelta
from typing import Any

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.base import Connector
from passeur.connectors.errors import ConnectorError
from passeur.delivery import context, ledger, wakeups
from passeur.delivery.claims import claim as claim_due
from passeur.delivery.ledger import Claim, Outcome
from passeur.domain.errors import DomainError
from passeur.domain.exports import ErrorClass

log = logging.getLogger("passeur.worker")


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, app: App, *, concurrency: int | None = None, name: str = "") -> None:
        self.app = app
        self.name = name or worker_name()
        self.concurrency = concurrency or app.settings.worker_concurrency
        self.lease = timedelta(seconds=app.settings.lease_seconds)
        self._connectors: dict[str, Connector] = {}
        self._inflight: dict[int, Claim] = {}
        self._wake = asyncio.Event()
        self.delivered = 0
        self.failed_tries = 0

    def wake(self) -> None:
        """Claim now instead of at the next poll (a new export was created)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, *, drain: bool = False) -> None:
        """Work until `stop` is set; with `drain`, also stop once nothing is due or running."""
        tasks: set[asyncio.Task[None]] = set()
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        housekeeping = asyncio.create_task(self._housekeeping(stop))
        watching = threading.Event()
        watcher = wakeups.watch(
            self.app.engine, wakeups.threadsafe(asyncio.get_running_loop(), self._wake), watching
        )
        try:
            while not stop.is_set():
                free = self.concurrency - len(tasks)
                got: list[Claim] = []
                if free > 0:
                    self._wake.clear()
                    limit = min(free, self.app.settings.worker_batch)
                    try:
                        got = await asyncio.to_thread(
                            claim_due, self.app.engine, self.name, limit, self.lease
                        )
                    except Exception:  # the database may be briefly gone: wait, try again
                        log.exception("claiming failed; trying again")
                        await self._idle(tasks, stop)
                        continue
                for claim in got:
                    self._inflight[claim.export_id] = claim
                    task = asyncio.create_task(self._deliver(claim))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                if got:
                    continue  # more may be due: claim again while slots are free
                if drain and not tasks:
                    return
                await self._idle(tasks, stop)
        finally:
            watching.set()
            await asyncio.to_thread(watcher.join, 2.0)
            heartbeat.cancel()
            housekeeping.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            for connector in self._connectors.values():
                await connector.close()

    async def _idle(self, tasks: set[asyncio.Task[None]], stop: asyncio.Event) -> None:
        """Sleep until a try finishes, a wake-up, a stop, or the poll interval."""
        waiters: list[asyncio.Future[Any]] = [
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        ]
        if len(tasks) >= self.concurrency:
            waiters.extend(tasks)  # full: wait for a slot rather than poll
        await asyncio.wait(
            waiters, timeout=self.app.settings.poll_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        for waiter in waiters[:2]:
            waiter.cancel()

    async def _deliver(self, claim: Claim) -> None:
        secrets: dict[str, str] = {}
        try:
            job = await asyncio.to_thread(context.load, self.app, claim)
            secrets = job.target.secrets
            connector = self._connector(job.target.extension)
            receipt = await asyncio.wait_for(
                connector.deliver(job.target, job.parcel),
                timeout=self.app.settings.delivery_timeout_seconds,
            )
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
            log.exception("export %s: unexpected error", claim.export_id)
            outcome = Outcome(
                delivered=False,
                error_class=ErrorClass.TRANSIENT,
                message=redact(f"unexpected error: {type(exc).__name__}: {exc}", secrets),
            )
        try:
            held = await self._record(claim, outcome)
        finally:
            self._inflight.pop(claim.export_id, None)
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
        if not held:
            log.warning("export %s: lease lost before the try finished", claim.export_id)

    async def _record(self, claim: Claim, outcome: Outcome) -> bool:
        """Finish the try in the ledger, riding out a short database outage.

        If the database stays away longer than the lease, the export is claimed again
        later and delivered once more, which every connector makes harmless.
        """
        delay = 0.1
        deadline = asyncio.get_running_loop().time() + self.lease.total_seconds()
        while True:
            try:
                return await asyncio.to_thread(
                    ledger.finish, self.app.engine, claim, outcome, self.app.settings.schedule
                )
            except Exception:
                if asyncio.get_running_loop().time() + delay > deadline:
                    log.exception("export %s: could not record its try", claim.export_id)
                    return False
                log.warning("export %s: recording failed, retrying", claim.export_id)
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

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        interval = max(0.2, self.lease.total_seconds() / 3)
        while not stop.is_set():
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
