"""approval_cost_ratio: what one approval costs on PostgreSQL (the document released and its
exports created, in one transaction through the services), against a bare one-row INSERT
in a transaction of its own on the same engine, in the same run. Also the approval of a
batch of documents in one call, per document.

    python -m bench.approval_cost [--documents 600] [--batch 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from bench.harness import make_app, postgres_database, save
from passeur.bootstrap import App
from passeur.connectors.http.signing import new_secret
from passeur.domain.documents import DocumentKind
from passeur.domain.partners import ClientStatus
from passeur.formats.corpus import make_padded_pdf
from passeur.services import clients, documents, installations, intake, integrations, partners

BLOCK = 25  # operations timed together, alternating passeur and the bare INSERT
INTEGRATIONS = 2  # each approval creates this many exports


def received_documents(app: App, n: int) -> tuple[int, list[int]]:
    """A partner whose client has INTEGRATIONS active integrations and `n` documents waiting
    for approval."""
    partner = partners.create_partner(app, "Bench")
    client = clients.create_client(
        app, partner.id, "Client", uen_number="0403170701", status=ClientStatus.ACTIVE
    )
    for k in range(INTEGRATIONS):
        values = {"base_url": f"https://receiver{k}.example", "signing_secret": new_secret()}
        inst = installations.install(app, partner.id, "http", f"bench{k}", values)
        integrations.add(app, partner.id, client.id, inst.id, {})
    ids = []
    for k in range(n):
        data = make_padded_pdf(2048, seed=k)
        doc = intake.upload(
            app, partner.id, client.id, f"f{k}.pdf", data, kind=DocumentKind.PURCHASE_INVOICE
        )
        ids.append(doc.id)
    return partner.id, ids


def per_operation(run: Callable[[], None], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        run()
    return (time.perf_counter() - start) / n


def run(n: int, batch: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, postgres_database() as url:
        app = make_app(Path(tmp), url)
        try:
            partner_id, ids = received_documents(app, n + n)
            with app.engine.begin() as conn:
                conn.execute(text("CREATE TABLE bench_rows (id serial PRIMARY KEY, n int)"))

            def insert() -> None:
                with app.engine.begin() as conn:
                    conn.execute(text("INSERT INTO bench_rows (n) VALUES (1)"))

            singles = iter(ids[:n])

            def approve() -> None:
                documents.approve(app, partner_id, next(singles))

            mine, bare = [], []
            for _ in range(n // BLOCK):
                mine.append(per_operation(approve, BLOCK))
                bare.append(per_operation(insert, BLOCK))
            batches = [ids[n + k : n + k + batch] for k in range(0, n, batch)]
            start = time.perf_counter()
            for chunk in batches:
                documents.approve_many(app, partner_id, chunk)
            in_batches = (time.perf_counter() - start) / n
        finally:
            app.close()
    approval, insert_cost = statistics.median(mine), statistics.median(bare)
    return {
        "approval_ms": approval * 1000,
        "approval_bare_insert_ms": insert_cost * 1000,
        "approval_cost_ratio": approval / insert_cost,
        "approval_in_batches_ms": in_batches * 1000,
        "approval_batch": batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=600)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()
    figures = run(args.documents, args.batch)
    print(
        f"approval on PostgreSQL: {figures['approval_ms']:.2f} ms each (target <= 1.5), "
        f"{figures['approval_cost_ratio']:.1f} x a bare one-row INSERT "
        f"({figures['approval_bare_insert_ms']:.2f} ms; target <= 4); in batches of "
        f"{args.batch}: {figures['approval_in_batches_ms']:.2f} ms a document"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
