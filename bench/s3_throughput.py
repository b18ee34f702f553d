"""s3_throughput_ratio: the HTTP throughput benchmark's passeur run (documents of about
30 KB approved and delivered to a loopback HTTP receiver by one worker in this process, on
SQLite) with its blobs in the local S3 server (moto, in a process of its own) against the
same run with its blobs in the local folder, in the same run, alternating. The ratio is
what reading every document from S3 instead of the disk costs a delivery.

    python -m bench.s3_throughput [--documents 2000] [--concurrency 32] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import make_app, save
from bench.http_throughput import http_values, in_process_rate
from bench.population import held_exports
from bench.servers import HttpServer, http_receiver, s3_server
from passeur.connectors.http.signing import new_secret
from passeur.formats.corpus import make_padded_pdf

SIZE = 30 * 1024


def passeur_rate(
    folder: Path, server: HttpServer, secret: str, payloads: list[bytes], c: int,
    blobs: dict[str, str],
) -> float:  # fmt: skip
    """Deliveries per second of one in-process worker, its blobs where `blobs` says."""
    app = make_app(folder, worker_concurrency=c, worker_batch=c, allowed_networks="127.0.0.0/8",
                   **blobs)  # fmt: skip
    try:
        held = held_exports(app, "http", http_values(server, secret, c), payloads)
        return in_process_rate(app, held, len(payloads))
    finally:
        app.close()


def run(documents: int, concurrency: int, rounds: int = 2) -> dict[str, Any]:
    payloads = [make_padded_pdf(SIZE, seed=n) for n in range(documents)]
    secret = new_secret()
    folder_rates, s3_rates = [], []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with http_receiver(root / "receiver", secret) as server, s3_server() as s3:
            for n in range(rounds):
                folder_rates.append(
                    passeur_rate(root / f"folder{n}", server, secret, payloads, concurrency, {})
                )
                s3_rates.append(
                    passeur_rate(root / f"s3{n}", server, secret, payloads, concurrency, s3)
                )
    return {
        "s3_throughput_ratio": statistics.median(
            s / f for s, f in zip(s3_rates, folder_rates, strict=True)
        ),
        "s3_deliveries_per_s": statistics.median(s3_rates),
        "s3_folder_deliveries_per_s": statistics.median(folder_rates),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    figures = run(args.documents, args.concurrency, args.rounds)
    print(
        f"S3 blobs: {figures['s3_deliveries_per_s']:.0f} deliveries/s against "
        f"{figures['s3_folder_deliveries_per_s']:.0f} with the local folder: ratio "
        f"{figures['s3_throughput_ratio']:.2f} (target >= 0.8)"
    )
    save("bench", figures)


if __name__ == "__main__":
    main()
