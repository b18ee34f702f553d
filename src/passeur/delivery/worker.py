"""The worker: claims due exports, delivers them concurrently, records each try.

One loop does the database work, in a thread, one short transaction per trip: it
records the tries that have finished since the last trip (a group commit), then claims
and loads as many new exports as there are free slots. Recording first keeps every
target's pacing exact (a finished try no longer counts as running) and a refusing
target parked before it is called again; one trip instead of two halves the
transactions per export. The connector calls run on the event loop. A heartbeat extends
the leases of tries still running, so only a dead worker's exports are taken over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from passeur.bootstrap import App
from passeur.connectors import registry
from passeur.connectors.base import Connector, Parcel
from passeur.connectors.errors import ConnectorError
from passeur.delivery import context, leases, outcomes, retention, upload_sessions, wakeups
from passeur.delivery.claims import Claimed, claim_in
from passeur.delivery.context import Delivery
from passeur.delivery.event_sender import EventSender
from passeur.delivery.leases import Claim
from passeur.delivery.notice_sender import NoticeSender
from passeur.delivery.outcomes import Outcome
from passeur.delivery.trip_timing import ClaimThrottle, Gather, Linger, Refill
from passeur.domain.errors import DomainError
from passeur.domain.exports import ErrorClass
from passeur.domain.redaction import redact
from passeur.monitoring import logs
from passeur.storage.blobs import BlobUnavailable
from passeur.storage.db import separate_reads, transaction

log = logging.getLogger("passeur.worker")
RECORD_BATCH = 100  # tries recorded in one trip at most


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class _Finished:
    """A finished try waiting to be recorded. A failed one holds its slot (its task
    waits on `recorded`) so that a target that refused us is parked before the next
    call; a delivered one frees its slot at once."""

    claim: Claim
    outcome: Outcome
    recorded: asyncio.Future[bool] | None
    at: float


class Worker:
    def __init__(self, app: App, *, concurrency: int | None = None, name: str = "") -> None:
        self.app = app
        self.name = name or worker_name()
        self.concurrency = concurrency or app.settings.worker_concurrency
        self._refill = Refill(self.concurrency)  # when to claim for freed slots
        self.lease = timedelta(seconds=app.settings.lease_seconds)
        self._schedule = app.settings.schedule
        self._connectors: dict[str, Connector] = {}
        self._loader = context.Loader(app)
        self._inflight: dict[int, Claim] = {}  # claimed and not yet recorded
        self._tasks: set[asyncio.Task[None]] = set()
        self._finished: list[_Finished] = []
        self._changed = asyncio.Event()  # a try finished, or new exports may be due
        self._throttle = ClaimThrottle()  # when to claim after one that found targets full
        self._linger = Linger(batch=self._refill.most)  # when to record without a claim
        self._gather = Gather()  # when to claim after one that took everything due
        self.delivered = 0
        self.failed_tries = 0

    async def run(self, stop: asyncio.Event, *, drain: bool = False) -> None:
        """Work until `stop` is set; with `drain`, also stop once nothing is due or running.
        On a stop, tries in flight finish (their leases still extended) and every
        outcome is recorded before the worker returns."""
        heartbeat = asyncio.create_task(self._heartbeat())
        relay = asyncio.create_task(self._relay(stop))
        housekeeping = asyncio.create_task(self._housekeeping(stop))
        sender = EventSender(
            self.app.engine, self.app.secrets, self.app.settings.network_policy,
            name=self.name, lease=self.lease, schedule=self._schedule,
            poll=self.app.settings.poll_seconds,
        )  # fmt: skip
        halt = asyncio.Event()  # set once the exports are done (a drain has no stop)
        events = asyncio.create_task(sender.run(halt))
        mailer = NoticeSender(
            self.app.engine, self.app.secrets, self.app.settings, name=self.name,
            lease=self.lease, poll=self.app.settings.poll_seconds,
        )  # fmt: skip
        mails = asyncio.create_task(mailer.run(halt))
        relay_halt = asyncio.create_task(_relay_to(stop, halt))
        watching = threading.Event()
        watcher = wakeups.watch(
            self.app.engine, wakeups.threadsafe(asyncio.get_running_loop(), self._changed), watching
        )
        try:
            await self._loop(stop, drain)
        finally:
            watching.set()
            relay.cancel()
            housekeeping.cancel()
            for waiting in self._finished:  # only after an unexpected error: leases expire
                if waiting.recorded is not None and not waiting.recorded.done():
                    waiting.recorded.set_result(False)
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            heartbeat.cancel()
            halt.set()
            relay_halt.cancel()
            await asyncio.gather(events, mails, return_exceptions=True)
            await mailer.close()
            await asyncio.to_thread(watcher.join, 2.0)
            for connector in self._connectors.values():
                await connector.close()

    async def _loop(self, stop: asyncio.Event, drain: bool) -> None:
        loop = asyncio.get_running_loop()
        failing_since: float | None = None
        delay = 0.1
        while True:
            stopping = stop.is_set()
            free = self.concurrency - len(self._tasks)
            now = loop.time()
            # Claim in batches: wait for enough free slots unless the worker is idle.
            refill = self._refill.may_claim(free, now)
            room = not stopping and free >= self._refill.half and self._throttle.may_claim(now)
            record = self._record_now(stopping, now)
            # A trip made to record claims too, refilling or gathering or not: it costs
            # no more.
            wanted = room and (record or (refill and self._gather.may_claim(now)))
            limit = min(free, self.app.settings.worker_batch) if wanted else 0
            if limit or record:
                finished = self._finished[:RECORD_BATCH]
                del self._finished[: len(finished)]
                self._changed.clear()
                try:
                    kept, got, throttled, jobs = await asyncio.to_thread(
                        self._trip, finished, limit
                    )
                except Exception:  # the database may be briefly gone: wait, try again
                    self._finished[:0] = finished
                    failing_since = failing_since or loop.time()
                    if loop.time() - failing_since > self.lease.total_seconds():
                        log.exception("could not record %s tries", len(self._finished))
                        self._settle(self._finished, [False] * len(self._finished))
                        self._finished = []
                    else:
                        log.warning("a trip to the database failed; trying again", exc_info=True)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                failing_since, delay = None, 0.1
                if limit:
                    self._refill.claimed()
                    running = len(self._tasks) + len(got)
                    self._throttle.claimed(running, throttled, loop.time())
                    self._gather.claimed(len(got), limit, throttled, loop.time())
                self._settle(finished, kept)
                for claim in got:
                    self._start(claim, jobs[claim.export_id])
                if got or self._finished:
                    continue  # more may be due: claim again while slots are free
                if limit and drain and not self._tasks:
                    return  # nothing was due and nothing runs
            if stopping and not self._tasks and not self._finished:
                return
            await self._idle(loop.time(), stopping)

    async def _relay(self, stop: asyncio.Event) -> None:
        """A stop is one more change the loop wakes up for."""
        await stop.wait()
        self._changed.set()

    def _record_now(self, stopping: bool, now: float) -> bool:
        """Whether the finished tries should be recorded without waiting for a claim."""
        finished = self._finished
        return self._linger.record_now(
            waiting=len(finished),
            oldest=finished[0].at if finished else now,
            failed=any(f.recorded is not None for f in finished),
            running=len(self._tasks),
            stopping=stopping,
            now=now,
        )

    def _trip(
        self, finished: list[_Finished], limit: int
    ) -> tuple[list[bool], list[Claim], bool, dict[int, Delivery | Exception]]:
        """Record, claim and load in one transaction (in a thread)."""
        with transaction(self.app.engine) as conn:
            done = [(f.claim, f.outcome) for f in finished]
            kept = outcomes.record(conn, done, self._schedule, wake=False) if done else []
            claimed = claim_in(conn, self.name, limit, self.lease) if limit else None
            if done and _room_may_serve_others(claimed, limit):
                wakeups.notify(conn)
        if claimed is None:  # a trip only to record
            return kept, [], False, {}
        if not claimed.claims:
            return kept, [], claimed.throttled, {}
        # Loaded after the commit: the claim holds its targets' pacing rows locked until
        # then, and other workers wait on them. The loader's reads need no common
        # snapshot: what it reads of an approved document does not change.
        try:
            with separate_reads(self.app.engine) as conn:
                jobs = self._loader.load(conn, claimed.claims)
        except Exception:
            # What this trip recorded and claimed is committed. The claimed exports are
            # left to their leases: taken over when those run out, as after a crash,
            # their try abandoned and not counted.
            log.warning("could not load %s claimed exports", len(claimed.claims), exc_info=True)
            return kept, [], claimed.throttled, {}
        return kept, claimed.claims, claimed.throttled, jobs

    async def _idle(self, now: float, stopping: bool) -> None:
        """Sleep until a try finishes, a wake-up, a stop, the end of a lingering commit,
        or the poll interval."""
        free = self.concurrency - len(self._tasks)
        held = self._throttle.before_sleep(now, self._changed.is_set())
        gathering = self._gather.before_sleep(now, self._changed.is_set())
        refilling = self._refill.holding(free, now)
        if stopping or free < self._refill.half or held or gathering or refilling:
            # A wake-up about new exports matters only once slots are free, and the try
            # that frees them (or the end of a refill's wait) wakes the loop then.
            # Otherwise a change that came during the last trip (an export approved after
            # its claim read) is kept.
            self._changed.clear()
        poll = self.app.settings.poll_seconds
        timeout = poll
        if self._finished:
            timeout = self._linger.wait(self._finished[0].at, now, timeout, len(self._tasks))
        timeout = self._throttle.wait(held, now, timeout)
        timeout = self._gather.wait(now, timeout)
        if refilling:
            timeout = self._refill.wait(now, timeout)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        if self._changed.is_set() or timeout >= poll:
            self._throttle.saw_change()

    def _start(self, claim: Claim, job: Delivery | Exception) -> None:
        self._inflight[claim.export_id] = claim
        task = asyncio.create_task(self._deliver(claim, job))
        self._tasks.add(task)
        task.add_done_callback(self._slot_freed)

    def _slot_freed(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._changed.set()

    def _settle(self, finished: list[_Finished], kept: list[bool]) -> None:
        for item, held in zip(finished, kept, strict=True):
            self._inflight.pop(item.claim.export_id, None)
            self._account(item.claim, item.outcome, held)
            if item.recorded is not None and not item.recorded.done():
                item.recorded.set_result(held)

    async def _deliver(self, claim: Claim, job: Delivery | Exception) -> None:
        # This task's own context: every line logged during the try carries its ids, and
        # the target's declared secrets (and the tokens handed out) are masked in them.
        logs.bind(**_ids(claim, job))
        with logs.redacting(lambda: _with_tokens(job, _target_secrets(job)).values()):
            started = time.perf_counter()
            outcome = await self._try(claim, job)
            seconds = time.perf_counter() - started
            extension = "unknown" if isinstance(job, Exception) else job.target.extension
            result = "delivered" if outcome.delivered else str(outcome.error_class)
            # Imported at the first try, not at start (prometheus-client: about 10 ms of
            # a worker's start-up); a scraped worker (--metrics-port) has it from its start.
            from passeur.monitoring.metrics import ATTEMPT_SECONDS

            ATTEMPT_SECONDS.labels(extension, result).observe(seconds)
            log.info(
                "try finished",
                extra={"outcome": result, "seconds": round(seconds, 3), "extension": extension},
            )
        loop = asyncio.get_running_loop()
        recorded = None if outcome.delivered else loop.create_future()
        self._finished.append(_Finished(claim, outcome, recorded, loop.time()))
        self._throttle.try_finished()
        current = asyncio.current_task()
        if recorded is None and current is not None:
            # Its slot is free now: the loop, woken next, claims for it in the same trip
            # that records (not only once the task's done-callback has run, which made
            # a trip to record and another to claim).
            self._tasks.discard(current)
        self._changed.set()
        if recorded is not None:
            await recorded

    async def _try(self, claim: Claim, job: Delivery | Exception) -> Outcome:
        secrets: dict[str, str] = {}
        try:
            if isinstance(job, Exception):
                raise job
            secrets = job.target.secrets
            connector = self._connector(job.target.extension)
            async with asyncio.timeout(self.app.settings.delivery_timeout_seconds):
                parcel = await self._opened(job.parcel)
                receipt = await connector.deliver(job.target, parcel)
            outcome = Outcome(delivered=True, receipt=receipt.as_dict())
        except ConnectorError as exc:
            secrets = _with_tokens(job, secrets)
            outcome = Outcome(
                delivered=False,
                error_class=exc.error_class,
                message=redact(exc.message, secrets.values()),
                retry_after=exc.retry_after,
                reached_target=exc.reached_target,
            )
        except BlobUnavailable as exc:  # the document's file could not be read: try later
            outcome = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message=str(exc))
        except TimeoutError:
            seconds = self.app.settings.delivery_timeout_seconds
            outcome = Outcome(
                delivered=False,
                error_class=ErrorClass.TRANSIENT,
                message=f"the target did not finish within {seconds:.0f} s",
            )
        except DomainError as exc:  # e.g. a path that cannot be rendered for this document
            secrets = _with_tokens(job, secrets)
            outcome = Outcome(
                delivered=False,
                error_class=ErrorClass.MISCONFIGURED,
                message=redact(str(exc), secrets.values()),
            )
        except Exception as exc:  # a bug or an unclassified failure: retry, and tell
            secrets = _with_tokens(job, secrets)
            message = redact(f"unexpected error: {type(exc).__name__}: {exc}", secrets.values())
            # Where it happened, but not the exception's own text unredacted.
            where = "".join(traceback.format_tb(exc.__traceback__))
            log.error("export %s: %s\n%s", claim.export_id, message, where)
            outcome = Outcome(delivered=False, error_class=ErrorClass.TRANSIENT, message=message)
        return outcome

    async def _opened(self, parcel: Parcel) -> Parcel:
        """The parcel with openers the blob store chose for the event loop (an S3 store
        fetches a small file now, without blocking the loop); a local store's are the
        loader's own."""
        if self.app.blobs.opens_quickly:
            return parcel
        files = [
            replace(f, opener=await self.app.blobs.opener(f.sha256, f.size)) for f in parcel.files
        ]
        return replace(parcel, files=tuple(files))

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
                outcome.message,  # redacted when the outcome was made
                extra=_ids(claim, None),
            )
        if not kept:
            log.warning(
                "export %s: lease lost before the try was recorded",
                claim.export_id,
                extra=_ids(claim, None),
            )

    def _connector(self, slug: str) -> Connector:
        if slug not in self._connectors:
            self._connectors[slug] = registry.make_connector(slug, self.app.settings.network_policy)
        return self._connectors[slug]

    async def _housekeeping(self, stop: asyncio.Event) -> None:
        """Prune delivered exports past their retention (and upload sessions past their
        lifetime), once an hour."""
        keep_for = timedelta(days=self.app.settings.retention_days)
        while not stop.is_set():
            try:
                pruned = await asyncio.to_thread(retention.prune, self.app.engine, keep_for)
                if pruned:
                    log.info("pruned %s delivered exports older than %s", pruned, keep_for)
                await asyncio.to_thread(upload_sessions.prune, self.app.engine)
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
                        leases.extend_lease, self.app.engine, claims, self.lease
                    )
                except Exception:  # the database may be briefly gone; try next beat
                    log.exception("could not extend leases")
                    continue
                for export_id in lost & set(self._inflight):
                    log.warning("export %s: lease lost (another worker took it)", export_id)


def _room_may_serve_others(claimed: Claimed | None, limit: int) -> bool:
    """Whether the room that recorded tries freed may serve other workers, so that they
    should be woken. Not after a throttled claim: it took that room back itself, and
    others would find the targets full. Not after a claim that took fewer than it could
    without being throttled either: it took every due export there was, so nothing waits
    for that room (without this, every delivery woke every worker for an empty trip)."""
    if claimed is None:  # a trip only to record: there may be exports waiting for room
        return True
    return not claimed.throttled and len(claimed.claims) >= limit


async def _relay_to(stop: asyncio.Event, halt: asyncio.Event) -> None:
    await stop.wait()
    halt.set()


def _ids(claim: Claim, job: Delivery | Exception | None) -> dict[str, int]:
    """What a log line about this try names (client: once the parcel is loaded)."""
    ids = {
        "partner_id": claim.partner_id,
        "integration_id": claim.integration_id,
        "installation_id": claim.installation_id,
        "export_id": claim.export_id,
        "attempt": claim.attempt,
    }
    if isinstance(job, Delivery):
        ids["client_id"] = job.parcel.document.client_id
        ids["document_id"] = claim.document_id
    return ids


def _target_secrets(job: Delivery | Exception) -> dict[str, str]:
    """The values of the fields the extension declared secret (domain/fields.py), as the
    target holds them."""
    return {} if isinstance(job, Exception) else job.target.secrets


def _with_tokens(job: Delivery | Exception, secrets: dict[str, str]) -> dict[str, str]:
    """The secrets to redact, with the access tokens the connector was handed."""
    tokens = None if isinstance(job, Exception) else job.target.tokens
    if tokens is None:
        return secrets
    return {**secrets, **{f"token{n}": t for n, t in enumerate(tokens.handed_out())}}
