"""Exact Online pacing: a backlog for one company goes out at the allowed call rate, with
no limit exceeded, while a second company's documents are not slowed by the first.

One command: `PYTHONPATH=src python -m bench.exact_pacing [--scale 3] [--backlog 60]`.
The stand-in enforces 60 calls a minute per company on a clock `scale` times faster, and
the pacer runs its windows as fast (PASSEUR_PACING_TIME_SCALE), so a run takes about a
minute. The rate is the stand-in's accepted calls per company between its first and
last call, against 60 per scaled minute; violations are the calls it answered 429.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.clouds import sign_in
from passeur.bootstrap import build
from passeur.delivery.worker import Worker
from passeur.domain.documents import DocumentKind
from passeur.domain.exports import ExportState
from passeur.domain.partners import ClientStatus
from passeur.sandbox.exact_online_server import PER_MINUTE, ExactOnlineServer
from passeur.sandbox.threaded import Threaded
from passeur.services import clients, documents, installations, intake, integrations, partners
from passeur.services.exports import ExportFilter, list_exports
from passeur.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "shared/data/ubl/peppol-base-example.xml"
BUSY, OTHER = 123456, 234567


def _rate(times: list[float], scale: float) -> float:
    """Accepted calls per second between the first and the last, over the allowed rate."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0]) / (PER_MINUTE * scale / 60)


def run(scale: float, backlog: int, second: int) -> dict[str, float]:
    runner = Threaded(ExactOnlineServer(client_id="bench-exact", time_scale=scale))
    stand_in = runner.start()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            allowed_networks="127.0.0.0/8",
            pacing_time_scale=scale,
            poll_seconds=0.05,
            **stand_in.settings(),  # type: ignore[arg-type]
        )
        app = build(settings)
        try:
            from passeur.storage import schema

            schema.upgrade(app.engine)
            partner = partners.create_partner(app, "Bench firm")
            busy, other = (
                clients.create_client(
                    app, partner.id, name, uen_number=uen, status=ClientStatus.ACTIVE
                )
                for name, uen in (("Busy", "0403170701"), ("Other", "0202239951"))
            )
            inst = installations.install(app, partner.id, "exact_online", "Exact", {}).id
            sign_in(app, partner.id, inst)
            for client, code in ((busy, BUSY), (other, OTHER)):
                integrations.add(app, partner.id, client.id, inst, {"company_code": code})
            content = SAMPLE.read_bytes()
            for client, n in ((busy, backlog), (other, second)):
                for i in range(n):
                    doc = intake.upload(
                        app,
                        partner.id,
                        client.id,
                        f"inv-{i}.xml",
                        content,
                        kind=DocumentKind.PURCHASE_INVOICE,
                    )
                    documents.approve(app, partner.id, doc.id)
            started = time.monotonic()
            asyncio.run(Worker(app).run(asyncio.Event(), drain=True))
            elapsed = time.monotonic() - started
            everything = ExportFilter(limit=10_000)
            states = [r["export"].state for r in list_exports(app, partner.id, everything)]
        finally:
            app.close()
            runner.stop()
    busy_times, other_times = stand_in.call_times[BUSY], stand_in.call_times[OTHER]
    overlap_end = other_times[-1] if other_times else 0.0
    figures = {
        "scale": scale,
        "seconds": round(elapsed, 1),
        "delivered": float(states.count(ExportState.DELIVERED)),
        "documents": float(backlog + second),
        "busy_calls": float(len(busy_times)),
        "busy_rate_of_allowed": round(_rate(busy_times, scale), 3),
        "busy_rate_while_other_ran": round(
            _rate([t for t in busy_times if t <= overlap_end], scale), 3
        ),
        "other_calls": float(len(other_times)),
        "other_rate_of_allowed": round(_rate(other_times, scale), 3),
        "other_done_after_s": round(overlap_end - min(busy_times[0], other_times[0]), 1),
        "violations": float(stand_in.violations),
        "lockouts": float(stand_in.lockouts),
    }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=float, default=3.0, help="how much faster a minute runs")
    parser.add_argument("--backlog", type=int, default=60, help="documents of the busy company")
    parser.add_argument("--second", type=int, default=15, help="documents of the other company")
    args = parser.parse_args()
    figures = run(args.scale, args.backlog, args.second)
    for name, value in figures.items():
        print(f"{name:28} {value:g}")
    ok = (
        figures["busy_rate_of_allowed"] >= 0.95
        and figures["other_rate_of_allowed"] >= 0.95
        and figures["violations"] == 0
        and figures["delivered"] == figures["documents"]
    )
    print("PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
