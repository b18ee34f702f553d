"""latency_p50_ms / latency_p99_ms: from an approval's commit to the receiver's 2xx, at 50
documents per second for 60 s, with one worker process that is woken (LISTEN/NOTIFY on
PostgreSQL, data_version on SQLite) rather than polling.

    python -m bench.latency [--rate 50] [--seconds 60] [--database postgresql|sqlite]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import make_app, postgres_database, save
from bench.servers import http_receiver
from bench.workers import running_workers
from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import ClientStatus
from passeur.formats.corpus import make_padded_pdf
from passeur.services import clients, documents, installations, intake, integrations, partners


def measure(app: App, folder: Path, rate: float, seconds: float) -> list[float]:
    secret = new_secret()
    count = int(rate * seconds)
    with http_receiver(folder / "receiver", secret) as server:
        partner = partners.create_partner(app, "Bench")
        client = clients.create_client(
            app, partner.id, "Client", uen_number="0403170701", external_ref="B1",
            status=ClientStatus.ACTIVE,
        )  # fmt: skip
        values = {"base_url": server.url, "allow_plain_http": "yes", "signing_secret": secret}
        inst = installations.install(app, partner.id, "http", "bench", values)
        integrations.add(app, partner.id, client.id, inst.id, {})
        data = make_padded_pdf(30 * 1024)
        waiting = [
            intake.upload(
                app, partner.id, client.id, f"f{n}.pdf", data, kind=DocumentKind.PURCHASE_INVOICE
            ).id
            for n in range(count)
        ]
        committed: dict[int, float] = {}
        with running_workers(app, 1, concurrency=16):
            start = time.perf_counter()
            for n, document_id in enumerate(waiting):
                pause = start + n / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                documents.approve(app, partner.id, document_id)
                committed[document_id] = time.time()  # the commit has returned
            deadline = time.monotonic() + 60
            while server.accepted() < count and time.monotonic() < deadline:
                time.sleep(0.2)
        received = {}
        for line in server.journal.read_text().splitlines():
            entry = json.loads(line)
            if "accepted" in entry:
                document_id = int(entry["accepted"].split("-")[1][1:])  # psr-d<id>-i…
                received[document_id] = entry["at"]
    if len(received) != count:
        raise RuntimeError(f"{len(received)} of {count} documents reached the receiver")
    return [(received[d] - committed[d]) * 1000 for d in waiting]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def run(rate: float, seconds: float, database: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if database == "postgresql":
            with postgres_database() as url:
                app = make_app(folder / "data", url, allowed_networks="127.0.0.0/8",
                               poll_seconds=1.0)  # fmt: skip
                try:
                    latencies = measure(app, folder, rate, seconds)
                finally:
                    app.close()
        else:
            app = make_app(folder / "data", allowed_networks="127.0.0.0/8", poll_seconds=1.0)
            try:
                latencies = measure(app, folder, rate, seconds)
            finally:
                app.close()
    suffix = "" if database == "postgresql" else "_sqlite"
    return {
        f"latency_p50_ms{suffix}": statistics.median(latencies),
        f"latency_p99_ms{suffix}": percentile(latencies, 0.99),
        f"latency_documents{suffix}": len(latencies),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    figures = run(args.rate, args.seconds, args.database)
    p50, p99 = (v for k, v in figures.items() if k.startswith("latency_p"))
    print(
        f"latency on {args.database} at {args.rate:.0f}/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
        "(targets 50 and 250)"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
