"""`make chaos`: 5,000 exports (2,500 documents, each to an HTTP receiver, and to an SFTP
server (2/9), a cloud folder (Dropbox, Google Drive, OneDrive) or an accounting package
(Octopus, Yuki, ClearFacts, Exact Online) (1/9 each), at their local stand-ins)
delivered while everything goes wrong:

- worker processes are SIGKILLed at random moments, each 1 to 3 s (times the number of
  workers) after it is up (has its database open), and restarted; counted from the
  restart instead, a machine loaded enough that starting Python takes longer than the
  interval would kill every worker before it claims anything, and nothing would move;
- the receiver answers 500, 429 or never answers on 20 % of requests, and goes down for
  30 s once;
- the database connection is cut once (PostgreSQL: every backend terminated; SQLite: the
  database held under an exclusive lock for a while);
- the cloud stand-ins start with expired access tokens and throttled (429 with
  Retry-After), and every 2 to 5 s one of them expires its tokens again (every worker
  needs a refresh, one per grant) or throttles its next calls;
- every 2 to 5 s one accounting package forgets its tokens or sessions early (not Exact:
  see accounting.fault), or answers 5xx or 429 to its next calls; Exact Online's tokens
  live 40 s, so its rotating refresh token is used every half minute under the kills;
  its per-company limits (60 calls a minute, 5,000 a day, 10 failing calls an hour) are
  enforced by its stand-in on a clock EXACT_SCALE times faster, and the pacer runs as
  fast (PASSEUR_PACING_TIME_SCALE), so its share takes a minute rather than ten.

It ends when every export is delivered, checks every target holds each document exactly
once, writes bench/results/chaos.json and exits non-zero on any loss, any duplicate, or
any call over Exact's limits or lock-out its stand-in counted.
Octopus, Yuki and ClearFacts cannot promise one copy (no lookup, no idempotency key;
docs/octopus.md, docs/yuki.md, docs/clearfacts.md): a worker killed between their upload
and its record sends again, so their second copies are counted apart
(`unpromised_copies`) and do not fail the run. Exact Online looks up before it creates:
its second copies are duplicates.
SQLite runs one worker process, PostgreSQL two.

    python -m bench.chaos [--documents 2500] [--database sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from bench import accounting, clouds
from bench.harness import make_app, postgres_database, save
from bench.servers import HttpServer, sftp_server, start_http_receiver
from bench.workers import _has_open as workers_has_open
from bench.workers import worker_env
from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.domain.documents import DocumentKind
from passeur.domain.extensions import Installation
from passeur.domain.partners import ClientStatus
from passeur.formats.corpus import make_padded_pdf
from passeur.services import clients, documents, installations, intake, integrations, partners
from passeur.storage.db import reading
from passeur.storage.tables import documents as documents_table
from passeur.storage.tables import exports

USER, PASSWORD = "chaos", "chaos-password"
EXACT_SCALE = 10.0  # Exact's minute lasts 6 s: 60 calls per 6 s per company
SCHEDULE = "0,0.5s,1s,2s,3s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s,5s"


class Chaos:
    """Kills and restarts workers, takes the receiver down once, cuts the database once.

    A worker is killed 1 to 3 s (times the number of workers) after it is up, so that
    each one works a while however long Python takes to start on a loaded machine."""

    def __init__(
        self, app: App, env: dict[str, str], workers: int, logs: Path, rng: random.Random
    ) -> None:
        self.app, self.env, self.logs, self.rng = app, env, logs, rng
        self.spawned_at = [0.0] * workers
        self.processes = [self._spawn(n) for n in range(workers)]
        self.kill_at: list[float | None] = [None] * workers  # set once the worker is up
        self.kills = 0
        self.startups: list[float] = []  # seconds from a (re)start to the worker being up

    def _spawn(self, n: int) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{n}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "passeur", "worker", "--concurrency", "16"],
            env=self.env,
            stdout=log,
            stderr=log,
        )
        self.spawned_at[n] = time.monotonic()
        return process

    def tick(self, now: float) -> None:
        """Give a worker that has come up its moment of death; kill one whose moment came."""
        for n, process in enumerate(self.processes):
            if self.kill_at[n] is None and _is_up(process.pid, self.app):
                self.startups.append(now - self.spawned_at[n])
                self.kill_at[n] = now + self.rng.uniform(1, 3) * len(self.processes)
            at = self.kill_at[n]
            if at is not None and now >= at:
                process.send_signal(signal.SIGKILL)
                process.wait()
                self.kills += 1
                self.kill_at[n] = None
                self.processes[n] = self._spawn(n)

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


def _is_up(pid: int, app: App) -> bool:
    """Whether the worker has its database open: the SQLite file, or a TCP connection to
    PostgreSQL's port (read from /proc, as bench.workers does for SQLite)."""
    url = app.engine.url
    if url.get_backend_name() == "sqlite":
        return workers_has_open(pid, Path(url.database or ""))
    port = f"{url.port or 5432:04X}"
    with contextlib.suppress(OSError):
        inodes = set()
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        for table in ("tcp", "tcp6"):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[2].endswith(f":{port}") and fields[3] == "01" and fields[9] in inodes:
                    return True
    return False


def cut_database(app: App) -> None:
    if app.engine.dialect.name == "postgresql":
        with app.engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            conn.commit()
        return
    # SQLite has no connection to cut: take the database away from every writer instead.
    path = app.engine.url.database
    assert path is not None
    blocker = sqlite3.connect(path, isolation_level=None, timeout=30)
    blocker.execute("BEGIN EXCLUSIVE")
    time.sleep(5)
    blocker.execute("ROLLBACK")
    blocker.close()


def populate(app: App, receiver: HttpServer, secret: str, sftp: Any, count: int) -> dict[int, str]:
    """`count` approved documents: every one to the HTTP receiver, and each to an SFTP
    server (2/9) or one of the cloud folders or accounting packages (1/9 each), one
    client per second target (Exact Online: two clients, each its own company).
    Each installation's extension, by id."""
    partner = partners.create_partner(app, "Chaos")
    http = installations.install(
        app, partner.id, "http", "receiver",
        {"base_url": receiver.url, "allow_plain_http": "yes", "signing_secret": secret,
         "timeout": "2", "parallel": "16"},
    )  # fmt: skip
    files = installations.install(
        app, partner.id, "sftp", "server",
        {"host": "127.0.0.1", "port": str(sftp.port), "username": USER, "password": PASSWORD,
         "host_key": sftp.public_key, "upload_path": "/in/[invoice_type]", "parallel": "16"},
    )  # fmt: skip
    # (installation, the values of each client's integration with it, its ninths)
    seconds: list[tuple[Installation, list[dict[str, str]], int]] = [(files, [{}], 2)]
    for slug in clouds.STAND_INS:
        cloud = installations.install(app, partner.id, slug, slug, {"parallel": "8"})
        clouds.sign_in(app, partner.id, cloud.id)
        seconds.append((cloud, [{}], 1))
    for slug in ("octopus", "yuki", "clearfacts", "exact_online"):
        package, values = accounting.install(app, partner.id, slug)
        seconds.append((package, values, 1))
    units = sum(weight for _, _, weight in seconds)
    plan = [
        (second, values, count * weight // units // len(each))
        for second, each, weight in seconds
        for values in each
    ]
    plan[0] = (plan[0][0], plan[0][1], count - sum(n for _, _, n in plan[1:]))
    made = 0
    for index, (second, values, documents_for) in enumerate(plan):
        client = clients.create_client(
            app, partner.id, f"Client {second.extension} {index}", uen_number="0403170701",
            external_ref=f"X{index}", status=ClientStatus.ACTIVE,
        )  # fmt: skip
        integrations.add(app, partner.id, client.id, http.id, {})
        integrations.add(app, partner.id, client.id, second.id, values)
        for n in range(made, made + documents_for):
            data = make_padded_pdf(8 * 1024, seed=n)
            doc = intake.upload(
                app, partner.id, client.id, f"c{n}.pdf", data, kind=DocumentKind.PURCHASE_INVOICE
            )
            documents.approve(app, partner.id, doc.id)
        made += documents_for
    return {inst.id: inst.extension for inst in (http, *(s for s, _, _ in seconds))}


def delivered(app: App) -> int:
    with reading(app.engine) as conn:
        query = select(func.count()).select_from(exports).where(exports.c.state == "delivered")
        return int(conn.execute(query).scalar_one())


def check_targets(
    app: App,
    receiver: HttpServer,
    sftp_root: Path,
    events: Path,
    stand_ins: dict[str, Any],
    packages: dict[str, Any],
    extensions: dict[int, str],
) -> dict[str, int]:
    """Every export at its target exactly once, byte for byte (SFTP, cloud folders) or
    signed (HTTP)."""
    with reading(app.engine) as conn:
        rows = conn.execute(
            select(
                exports.c.id, exports.c.document_id, exports.c.state, exports.c.attempts,
                exports.c.receipt, exports.c.installation_id, exports.c.integration_id,
                exports.c.version, documents_table.c.sha256,
            ).join(documents_table, documents_table.c.id == exports.c.document_id)
        ).all()  # fmt: skip
    accepted: Counter[str] = Counter()
    repeats = 0
    for line in receiver.journal.read_text().splitlines():
        entry = json.loads(line)
        if "accepted" in entry:
            accepted[entry["accepted"]] += 1
        else:
            repeats += 1
    puts = Counter(json.loads(line)["path"] for line in events.read_text().splitlines())
    files = Counter(p.name.split("_d")[-1] for p in sftp_root.rglob("*.pdf"))
    held = {slug: clouds.copies(server) for slug, server in stand_ins.items()}
    held.update({slug: accounting.copies(server) for slug, server in packages.items()})
    lost = duplicates = 0
    unpromised: Counter[str] = Counter()
    for row in rows:
        receipt = row.receipt or {}
        if row.state != "delivered":
            lost += 1
        elif "webhook_id" in receipt:  # HTTP
            lost += accepted[receipt["webhook_id"]] == 0
            duplicates += max(0, accepted[receipt["webhook_id"]] - 1)
        elif (slug := extensions[row.installation_id]) in packages:
            lost += not accounting.holds(packages[slug], receipt, row.sha256)
            extra = max(0, held[slug][row.document_id] - 1)
            if slug in accounting.PROMISED:
                duplicates += extra
            else:
                unpromised[slug] += extra
        elif slug in stand_ins:
            lost += not clouds.holds(stand_ins[slug], receipt, row.sha256)
            duplicates += max(0, held[slug][row.document_id] - 1)
        else:  # SFTP
            landed = sftp_root / receipt["location"]
            same = landed.exists() and hashlib.sha256(landed.read_bytes()).hexdigest() == row.sha256
            lost += not same
            duplicates += max(0, files[f"{row.document_id}.pdf"] - 1)
    return {
        "exports": len(rows),
        "delivered": sum(1 for r in rows if r.state == "delivered"),
        "lost": lost,
        "duplicates_at_target": duplicates,
        "unpromised_copies": dict(unpromised),
        "redeliveries_absorbed": repeats + sum(n - 1 for n in puts.values() if n > 1),
        "max_attempts": max((r.attempts for r in rows), default=0),
    }


def run_one(database: str, url: str, folder: Path, count: int, workers: int) -> dict[str, Any]:
    secret = new_secret()
    events = folder / "sftp-events.jsonl"
    rng = random.Random(11)
    with (
        sftp_server(folder / "sftp", USER, PASSWORD, events) as sftp,
        clouds.cloud_stand_ins() as stand_ins,
        accounting.stand_ins(EXACT_SCALE) as packages,
    ):
        receiver = start_http_receiver(
            folder / "receiver", secret, failure_ratio=0.2, failures="500,429,timeout"
        )
        app = make_app(folder / "data", url, allowed_networks="127.0.0.0/8",
                       retry_schedule=SCHEDULE, lease_seconds=3.0,
                       pacing_time_scale=EXACT_SCALE,
                       **clouds.settings(stand_ins),
                       **accounting.settings(packages))  # fmt: skip
        faults: Counter[str] = Counter()
        try:
            extensions = populate(app, receiver, secret, sftp, count)
            env = worker_env(app, PASSEUR_WORKER_BATCH="16", PASSEUR_POLL_SECONDS="0.5")
            (folder / "logs").mkdir()
            # A worker killed between a rotating provider's refresh answer and its commit
            # has lost the new refresh token; where the provider (Exact, by its
            # documentation) keeps the earlier one alive until the new one is used, the
            # next refresh works. Microsoft keeps old ones alive altogether, ClearFacts
            # says "max 10 active": their stand-ins, stricter by default, follow Exact's
            # rule here.
            stand_ins["onedrive"].old_lives_until_new_used = True
            packages["clearfacts"].old_lives_until_new_used = True
            for server in stand_ins.values():  # the first tries meet both at once
                server.expire_access_tokens()
                server.fail_next(429, 3, retry_after=1)
            start = time.monotonic()
            chaos = Chaos(app, env, workers, folder / "logs", random.Random(7))
            receiver_down_at, cut_at = start + 8, start + 15
            receiver_back_at = None
            cut_done = False
            next_fault = start + rng.uniform(2, 5)
            total = 2 * count
            deadline = start + 1800
            report_at = start + 30
            while (done := delivered(app)) < total:
                now = time.monotonic()
                if now >= report_at:  # a line every 30 s, to see a stall while it happens
                    print(f"{database}: {done}/{total} delivered after {now - start:.0f} s, "
                          f"{chaos.kills} kills", flush=True)  # fmt: skip
                    report_at = now + 30
                if now > deadline:
                    raise RuntimeError("chaos did not converge in 30 minutes")
                chaos.tick(now)
                if now >= next_fault:
                    faults[clouds.fault(stand_ins, rng)] += 1
                    faults[accounting.fault(packages, rng)] += 1
                    next_fault = now + rng.uniform(2, 5)
                if receiver_down_at and now >= receiver_down_at:
                    receiver.process.send_signal(signal.SIGKILL)
                    receiver.process.wait()
                    receiver_down_at, receiver_back_at = 0.0, now + 30
                if receiver_back_at and now >= receiver_back_at:
                    receiver = start_http_receiver(
                        folder / "receiver", secret, port=receiver.port, failure_ratio=0.2,
                        failures="500,429,timeout", seed=2,
                    )  # fmt: skip
                    receiver_back_at = None
                if not cut_done and now >= cut_at:
                    threading.Thread(target=cut_database, args=(app,), daemon=True).start()
                    cut_done = True
                time.sleep(0.1)
            wall = time.monotonic() - start
            chaos.stop()
            figures: dict[str, Any] = check_targets(
                app, receiver, folder / "sftp" / USER, events, stand_ins, packages, extensions
            )
            figures["cloud_faults"] = dict(faults)
            figures["token_refreshes"] = {s: x.refreshes for s, x in stand_ins.items()}
            figures["token_refreshes"]["clearfacts"] = packages["clearfacts"].refreshes
            figures["package_sign_ins"] = {
                "octopus": sum(packages["octopus"].sign_ins.values()),
                "yuki": packages["yuki"].sign_ins,
            }
            figures["exact_online"] = accounting.exact_limits(packages["exact_online"])
            figures["exact_time_scale"] = EXACT_SCALE
        finally:
            receiver.process.terminate()
            receiver.process.wait(10)
            app.close()
    figures.update(
        {
            "wall_s": round(wall, 1),
            "worker_processes": workers,
            "workers_killed": chaos.kills,
            "worker_start_s": _spread(chaos.startups),
        }
    )
    print(f"{database}: {json.dumps(figures)}")
    return figures


def _spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values) or [0.0]
    return {
        "median": round(ordered[len(ordered) // 2], 2),
        "max": round(ordered[-1], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2500)
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"] = run_one("sqlite", "", Path(tmp), args.documents, workers=1)
    if args.database in ("postgresql", "both"):
        with tempfile.TemporaryDirectory() as tmp, postgres_database() as url:
            results["postgresql"] = run_one("postgresql", url, Path(tmp), args.documents, 2)
    save("chaos", results)
    bad = [
        name
        for name, f in results.items()
        if f["lost"]
        or f["duplicates_at_target"]
        or f["exact_online"]["violations"]
        or f["exact_online"]["lockouts"]
    ]
    if bad:
        print(f"FAILED: loss, duplicates or Exact's limits exceeded on {', '.join(bad)}")
        raise SystemExit(1)
    print("chaos: every export delivered once; results in bench/results/chaos.json")


if __name__ == "__main__":
    main()
