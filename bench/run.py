"""`make bench`: every benchmark, one after the other; a table, and bench/results/bench.json.

python -m bench.run [--quick]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from bench import (
    api_speed,
    approval_cost,
    claim_cost,
    cloud_rss,
    cloud_throughput,
    export_cost,
    feed_rate,
    http_throughput,
    intake_cost,
    latency,
    metrics_scrape,
    page_speed,
    peers,
    s3_rss,
    s3_throughput,
    sftp_rclone,
    sftp_throughput,
    startup,
    worker_rss,
)
from bench.harness import RESULTS, machine, save

# figure: (target text, passes?)
TARGETS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "http_throughput_ratio_sqlite": (">= 0.8", lambda v: v >= 0.8),
    "http_throughput_ratio_postgres": (">= 0.7", lambda v: v >= 0.7),
    # The API extension's feed read end to end over the HTTP extension's rate, same run.
    "feed_rate_ratio": (">= 1.0", lambda v: v >= 1.0),
    # The same read through the REST API (pull, GET each file, one POST of the page's acks).
    "feed_api_ratio": (">= 1.0", lambda v: v >= 1.0),
    # The REST API's reads with 1,000,000 exports on PostgreSQL (the feed page included).
    **{
        f"api_p99_ms_{name}": ("<= 50", lambda v: v <= 50)
        for name in api_speed.endpoints(0, 0)
        if name != "health"
    },
    "latency_p50_ms": ("<= 50", lambda v: v <= 50),
    "latency_p99_ms": ("<= 250", lambda v: v <= 250),
    "latency_p50_ms_sqlite": ("<= 50", lambda v: v <= 50),
    "latency_p99_ms_sqlite": ("<= 250", lambda v: v <= 250),
    "sftp_throughput_ratio": (">= 0.8", lambda v: v >= 0.8),
    "claim_cost_ratio": ("<= 1.5", lambda v: v <= 1.5),
    "worker_peak_rss_mb": ("<= 250", lambda v: v <= 250),
    "approval_ms": ("<= 1.5", lambda v: v <= 1.5),
    "approval_cost_ratio": ("<= 4", lambda v: v <= 4),
    "intake_ratio_sqlite": (">= 0.5", lambda v: v >= 0.5),
    "intake_ratio_postgres": (">= 0.5", lambda v: v >= 0.5),
    **{f"page_p95_ms_{page}": ("<= 150", lambda v: v <= 150) for page in page_speed.pages(0)},
    **{f"page_ratio_{page}": ("<= 2", lambda v: v <= 2) for page in page_speed.pages(0)},
    # passeur's deliveries per second over the faster of procrastinate and pgqueuer's.
    "peers_live_ratio": (">= 1.0", lambda v: v >= 1.0),
    "peers_backlog_ratio": (">= 1.5", lambda v: v >= 1.5),
    # A Prometheus scrape of /metrics with 1,000,000 exports (it must not count them).
    "metrics_scrape_p95_ms": ("<= 50", lambda v: v <= 50),
    # passeur's SFTP files per second over `rclone copy`'s, on the sandbox server and on
    # OpenSSH's sshd (measured where it is installed: `make sshd`).
    "rclone_process_ratio": (">= 1.0", lambda v: v >= 1.0),
    "rclone_server_ratio": (">= 3", lambda v: v >= 3),
    "rclone_openssh_process_ratio": (">= 1.0", lambda v: v >= 1.0),
    "rclone_openssh_server_ratio": (">= 3", lambda v: v >= 3),
    **{
        f"cloud_throughput_ratio_{slug}": (">= 0.8", lambda v: v >= 0.8)
        for slug in ("dropbox", "google_drive", "onedrive")
    },
    **{
        f"cloud_worker_peak_rss_mb_{slug}": ("<= 250", lambda v: v <= 250)
        for slug in ("dropbox", "google_drive", "onedrive")
    },
    # blobs on the local S3 server over blobs in the local folder, same run.
    "s3_throughput_ratio": (">= 0.8", lambda v: v >= 0.8),
    "s3_worker_peak_rss_mb": ("<= 250", lambda v: v <= 250),
    # `passeur --help` and the slowest verb (its --help, or a quick real one on SQLite),
    # wall seconds; a worker on PostgreSQL until it LISTENs, and after its last delivery
    # on --drain until it exits.
    "startup_help_s": ("<= 0.3", lambda v: v <= 0.3),
    "startup_verb_max_s": ("<= 0.3", lambda v: v <= 0.3),
    "worker_ready_s": ("<= 0.5", lambda v: v <= 0.5),
    "worker_drain_exit_s": ("<= 0.3", lambda v: v <= 0.3),
}
# Figures without a target that say where a ratio's cost lies.
DIAGNOSTICS = (
    "http_connector_alone_ratio",
    "http_bare_in_memory_ratio",
    "http_bare_requests_per_s",
    "feed_items_per_s",
    "feed_http_deliveries_per_s",
    "feed_api_items_per_s",
    "feed_api_links_ratio",
    "feed_api_links_items_per_s",
    "api_p99_ms_health",
    *(f"api_sql_median_ms_{name}" for name in api_speed.endpoints(0, 0) if name != "health"),
    "approval_in_batches_ms",
    "intake_single_upload_ratio",
    *(f"peers_{m}_{q}_rate" for m in peers.MODES for q in peers.QUEUES),
    *(f"peers_{m}_{q}_client_rate" for m in peers.MODES for q in peers.QUEUES),
    *(f"cost_{p}_{f}" for p in export_cost.PHASES for f in export_cost.SCALARS),
    *(
        f"{server}{figure}"
        for server in ("rclone", "rclone_openssh")
        for figure in (
            "_files_per_s_process",
            "_files_per_s_server",
            "_passeur_s_before_files",
            "_passeur_s_after_files",
            "_passeur_cpu_ms_per_file",
            "_cpu_ms_per_file",
            "_passeur_server_cpu_ms_per_file",
            "_server_cpu_ms_per_file",
        )
    ),
    "s3_deliveries_per_s",
    "s3_folder_deliveries_per_s",
    "s3_worker_idle_rss_mb",
    "metrics_scrape_ratio_to_health",
    "metrics_delivered_estimate_ratio",
    "startup_import_ms",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    args = parser.parse_args()
    q = args.quick
    figures: dict[str, Any] = {}
    figures |= http_throughput.run(500 if q else 2000, 32, rounds=1 if q else 2)
    figures |= feed_rate.run(200 if q else 1000)
    figures |= latency.run(50, 10 if q else 60, "postgresql")
    figures |= latency.run(50, 10 if q else 60, "sqlite")
    figures |= sftp_throughput.run(300 if q else 1000, 32, rounds=1 if q else 5)
    figures |= claim_cost.run(100_000 if q else 1_000_000, 10_000)
    figures |= worker_rss.run(20 if q else 100, 20)
    figures |= approval_cost.run(200 if q else 600, 50)
    figures |= intake_cost.run(100 if q else 300, 50)
    figures |= page_speed.run(*((100, 20_000, 100_000) if q else (1_000, 200_000, 1_000_000)))
    figures |= api_speed.run(*((100, 20_000, 100_000) if q else (1_000, 200_000, 1_000_000)))
    figures |= metrics_scrape.run(*((100, 20_000, 100_000) if q else (1_000, 200_000, 1_000_000)))
    figures |= peers.run(300 if q else 2000, rounds=1 if q else 3)
    figures |= export_cost.run(100 if q else 300)
    figures |= sftp_rclone.run(300 if q else 1000, 32, rounds=1 if q else 3)
    figures |= cloud_throughput.run(300 if q else 1000, 16)
    figures |= cloud_rss.run(4 if q else 20, ["dropbox", "google_drive", "onedrive"])
    figures |= s3_throughput.run(500 if q else 2000, 32, rounds=1 if q else 2)
    figures |= s3_rss.run(4 if q else 20)
    figures |= startup.run(3 if q else 5)
    path = save("bench", figures)
    print(f"\n{'figure':<34}{'value':>10}  {'target':<8}  verdict")
    for name, (target, ok) in TARGETS.items():
        if name not in figures:  # a server that is not installed (sshd)
            print(f"{name:<34}{'-':>10}  {target:<8}  not measured")
            continue
        value = figures[name]
        print(f"{name:<34}{value:>10.2f}  {target:<8}  {'ok' if ok(value) else 'MISSED'}")
    for name in DIAGNOSTICS:
        if name in figures:
            print(f"{name:<34}{figures[name]:>10.2f}  {'-':<8}  diagnostic")
    print(
        f"\nmachine: {json.dumps(machine())}; written to {path.relative_to(RESULTS.parent.parent)}"
    )


if __name__ == "__main__":
    main()
