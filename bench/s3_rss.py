"""s3_worker_peak_rss_mb: the peak resident memory of a worker process while it streams
20 documents at the intake size limit (50 MB) from the local S3 server (moto, its own
process) to a loopback HTTP receiver (8 in flight), against the same worker idle (the
baseline). A blob is read from S3 a piece at a time and sent as it comes: never a whole
file in memory. (The 20 documents share one 50 MB blob, content-addressed, so that the
S3 server holds 50 MB rather than 1 GB; each delivery still reads it from S3 in full.)

    python -m bench.s3_rss [--documents 20]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import make_app, save
from bench.http_throughput import http_values, wait_delivered
from bench.population import held_exports, release
from bench.servers import http_receiver, s3_server
from bench.worker_rss import peak_rss_mb
from bench.workers import running_workers
from passeur.connectors.http.signing import new_secret
from passeur.formats.corpus import make_padded_pdf
from passeur.services.intake import MAX_SIZE


def run(count: int) -> dict[str, Any]:
    payload = make_padded_pdf(MAX_SIZE)
    secret = new_secret()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with http_receiver(folder / "receiver", secret) as server, s3_server() as s3:
            app = make_app(folder / "data", allowed_networks="127.0.0.0/8", **s3)
            try:
                held = held_exports(app, "http", http_values(server, secret, 8), [payload] * count)
                with running_workers(app, 1, concurrency=8) as [worker]:
                    idle, _ = peak_rss_mb(worker.pid)
                    release(app, held)
                    asyncio.run(wait_delivered(app, count, timeout=1200))
                    _, peak = peak_rss_mb(worker.pid)
                if server.accepted() != count:
                    raise RuntimeError("the receiver did not get every document")
            finally:
                app.close()
    return {
        "s3_worker_peak_rss_mb": round(peak, 1),
        "s3_worker_idle_rss_mb": round(idle, 1),
        "s3_rss_documents": count,
        "s3_rss_megabytes": MAX_SIZE // (1024 * 1024),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=20)
    args = parser.parse_args()
    figures = run(args.documents)
    print(
        f"worker RSS streaming from S3: idle {figures['s3_worker_idle_rss_mb']:.0f} MB, peak "
        f"{figures['s3_worker_peak_rss_mb']:.0f} MB delivering {args.documents} x "
        f"{figures['s3_rss_megabytes']} MB (target <= 250)"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
