"""cloud_worker_peak_rss_mb_<provider>: the peak resident memory of a worker process while
it sends 20 documents at the intake size limit (50 MB) to a cloud stand-in (its own
process) through upload sessions, 4 in flight. Files are streamed a piece at a time: never
a whole file in memory.

    python -m bench.cloud_rss [--documents 20] [--providers dropbox,google_drive,onedrive]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench import clouds
from bench.harness import make_app, save
from bench.http_throughput import wait_delivered
from bench.population import held_exports, release
from bench.servers import cloud_stand_in
from bench.worker_rss import peak_rss_mb
from bench.workers import running_workers
from passeur.formats.corpus import make_padded_pdf
from passeur.services import installations
from passeur.services.intake import MAX_SIZE


def run_one(slug: str, folder: Path, payload: bytes, count: int) -> tuple[float, float]:
    """(idle, peak) RSS in MB of one worker delivering `count` copies of `payload`."""
    with cloud_stand_in(slug, folder / slug) as settings:
        app = make_app(folder / f"{slug}-data", allowed_networks="127.0.0.0/8", **settings)
        try:
            held = held_exports(app, slug, {"parallel": "4"}, [payload] * count)
            [inst] = installations.list_installations(app, held.partner_id)
            clouds.sign_in(app, held.partner_id, inst.id)
            with running_workers(app, 1, concurrency=4) as [worker]:
                idle, _ = peak_rss_mb(worker.pid)
                release(app, held)
                asyncio.run(wait_delivered(app, count, timeout=1200))
                _, peak = peak_rss_mb(worker.pid)
        finally:
            app.close()
    return idle, peak


def run(count: int, providers: list[str]) -> dict[str, Any]:
    payload = make_padded_pdf(MAX_SIZE)
    figures: dict[str, Any] = {"cloud_rss_documents": count, "cloud_rss_megabytes": 50}
    with tempfile.TemporaryDirectory() as tmp:
        for slug in providers:
            idle, peak = run_one(slug, Path(tmp), payload, count)
            figures[f"cloud_worker_idle_rss_mb_{slug}"] = round(idle, 1)
            figures[f"cloud_worker_peak_rss_mb_{slug}"] = round(peak, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--providers", default=",".join(clouds.STAND_INS))
    args = parser.parse_args()
    providers = [p for p in args.providers.split(",") if p]
    figures = run(args.documents, providers)
    for slug in providers:
        print(
            f"{slug}: worker RSS idle {figures[f'cloud_worker_idle_rss_mb_{slug}']:.0f} MB, "
            f"peak {figures[f'cloud_worker_peak_rss_mb_{slug}']:.0f} MB sending "
            f"{args.documents} x 50 MB through upload sessions (target <= 250)"
        )
    save("bench", figures)


if __name__ == "__main__":
    main()
