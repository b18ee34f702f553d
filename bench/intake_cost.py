"""intake_ratio: what storing a client's bulk upload costs against reading the same files
alone (formats/, no storage), in the same run: 30 KB PDFs uploaded through the intake
service in batches of 50 (read, stored on disk, recorded in one transaction). Also, as
diagnostics, one file per upload, which waits for the disk once per file (its fsync), and
the same bulk ratio in this process's CPU time (user and kernel: the file system's work
counts, waiting for the disk or for another process does not).

    python -m bench.intake_cost [--documents 300] [--batch 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.harness import make_app, postgres_database, save
from passeur.bootstrap import App
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import ClientStatus
from passeur.formats.corpus import make_padded_pdf
from passeur.formats.intake import read_document
from passeur.services import clients, intake, partners

SIZE = 30 * 1024
ROUNDS = 3
KIND = DocumentKind.PURCHASE_INVOICE


def per_document(app: App, files: list[tuple[str, bytes]], batch: int) -> tuple[float, float]:
    """Wall and CPU seconds a file."""
    partner = partners.create_partner(app, "Bench")
    client = clients.create_client(
        app, partner.id, "Client", uen_number="0403170701", status=ClientStatus.ACTIVE
    )
    start, cpu = time.perf_counter(), time.process_time()
    if batch == 1:
        for name, data in files:
            intake.upload(app, partner.id, client.id, name, data, kind=KIND)
    else:
        for k in range(0, len(files), batch):
            intake.upload_many(app, partner.id, client.id, files[k : k + batch], kind=KIND)
    return (time.perf_counter() - start) / len(files), (time.process_time() - cpu) / len(files)


def reading_alone(files: list[tuple[str, bytes]]) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    for name, data in files:
        read_document(data, name)
    return (time.perf_counter() - start) / len(files), (time.process_time() - cpu) / len(files)


def run(documents: int, batch: int) -> dict[str, float]:
    ratios: dict[str, list[float]] = {"sqlite": [], "postgres": [], "single": [], "cpu": []}
    costs: dict[str, list[float]] = {"read": [], "sqlite": [], "single": []}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(ROUNDS):
            files = [
                (f"r{n}-{k}.pdf", make_padded_pdf(SIZE, seed=n * documents + k))
                for k in range(documents)
            ]
            alone, alone_cpu = reading_alone(files)
            app = make_app(Path(tmp) / f"sqlite{n}")
            try:
                bulk, bulk_cpu = per_document(app, files, batch)
                single, _ = per_document(app, [(f"1-{name}", d) for name, d in files[:50]], 1)
            finally:
                app.close()
            with postgres_database() as url:
                app = make_app(Path(tmp) / f"pg{n}", url)
                try:
                    pg_bulk, _ = per_document(app, files, batch)
                finally:
                    app.close()
            ratios["cpu"].append(alone_cpu / bulk_cpu)
            ratios["sqlite"].append(alone / bulk)
            ratios["postgres"].append(alone / pg_bulk)
            ratios["single"].append(alone / single)
            costs["read"].append(alone)
            costs["sqlite"].append(bulk)
            costs["single"].append(single)
    return {
        "intake_ratio_sqlite": statistics.median(ratios["sqlite"]),
        "intake_ratio_postgres": statistics.median(ratios["postgres"]),
        "intake_single_upload_ratio": statistics.median(ratios["single"]),
        "intake_cpu_ratio_sqlite": statistics.median(ratios["cpu"]),
        "intake_read_ms": statistics.median(costs["read"]) * 1000,
        "intake_bulk_ms": statistics.median(costs["sqlite"]) * 1000,
        "intake_single_ms": statistics.median(costs["single"]) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=300)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    figures = run(args.documents, args.batch)
    print(
        f"intake of 30 KB PDFs in batches of {args.batch}: "
        f"{figures['intake_ratio_sqlite']:.2f} of reading alone on SQLite "
        f"({figures['intake_bulk_ms']:.2f} ms vs {figures['intake_read_ms']:.2f} ms a file), "
        f"{figures['intake_ratio_postgres']:.2f} on PostgreSQL (target >= 0.5); one file per "
        f"upload: {figures['intake_single_upload_ratio']:.2f} "
        f"({figures['intake_single_ms']:.2f} ms, one wait for the disk each); in CPU time "
        f"on SQLite: {figures['intake_cpu_ratio_sqlite']:.2f}"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
