"""worker_peak_rss_mb: the peak resident memory of a worker process while it delivers 100
documents of 20 MB (HTTP, 8 in flight), against the same worker idle (the baseline).
Large files are streamed: never a whole file in memory, let alone twice.

    python -m bench.worker_rss [--documents 100] [--megabytes 20]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.harness import make_app, save
from bench.http_throughput import delivered, http_values
from bench.population import held_exports, release
from bench.servers import http_receiver
from bench.workers import running_workers
from passeur.connectors.http.signing import new_secret
from passeur.formats.corpus import make_padded_pdf


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set of a process, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def run(count: int, megabytes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        secret = new_secret()
        payload = make_padded_pdf(megabytes * 1024 * 1024)
        with http_receiver(folder / "receiver", secret) as server:
            app = make_app(folder / "data", allowed_networks="127.0.0.0/8")
            try:
                held = held_exports(app, "http", http_values(server, secret, 8), [payload] * count)
                with running_workers(app, 1, concurrency=8) as [worker]:
                    idle, _ = peak_rss_mb(worker.pid)
                    release(app, held)
                    deadline = time.monotonic() + 600
                    while delivered(app) < count:
                        if time.monotonic() > deadline:
                            raise RuntimeError("the documents were not delivered in time")
                        time.sleep(0.2)
                    _, peak = peak_rss_mb(worker.pid)
            finally:
                app.close()
    return {"worker_peak_rss_mb": peak, "worker_idle_rss_mb": idle, "worker_rss_documents": count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=100)
    parser.add_argument("--megabytes", type=int, default=20)
    args = parser.parse_args()
    figures = run(args.documents, args.megabytes)
    print(
        f"worker RSS: idle {figures['worker_idle_rss_mb']:.0f} MB, peak "
        f"{figures['worker_peak_rss_mb']:.0f} MB delivering {args.documents} x "
        f"{args.megabytes} MB (target <= 250)"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
