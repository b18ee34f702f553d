"""`make bench`: every benchmark, one after the other; a table, and bench/results/bench.json.

python -m bench.run [--quick]
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from typing import Any

from bench import (
    claim_cost,
    cloud_rss,
    cloud_throughput,
    http_throughput,
    latency,
    sftp_throughput,
    worker_rss,
)
from bench.harness import RESULTS, machine, save

# figure: (target text, passes?)
TARGETS: dict[str, tuple[str, Callable[[float], bool]]] = {
    "http_throughput_ratio_sqlite": (">= 0.8", lambda v: v >= 0.8),
    "http_throughput_ratio_postgres": (">= 0.7", lambda v: v >= 0.7),
    "latency_p50_ms": ("<= 50", lambda v: v <= 50),
    "latency_p99_ms": ("<= 250", lambda v: v <= 250),
    "latency_p50_ms_sqlite": ("<= 50", lambda v: v <= 50),
    "latency_p99_ms_sqlite": ("<= 250", lambda v: v <= 250),
    "sftp_throughput_ratio": (">= 0.8", lambda v: v >= 0.8),
    "claim_cost_ratio": ("<= 1.5", lambda v: v <= 1.5),
    "worker_peak_rss_mb": ("<= 250", lambda v: v <= 250),
    **{
        f"cloud_throughput_ratio_{slug}": (">= 0.8", lambda v: v >= 0.8)
        for slug in ("dropbox", "google_drive", "onedrive")
    },
    **{
        f"cloud_worker_peak_rss_mb_{slug}": ("<= 250", lambda v: v <= 250)
        for slug in ("dropbox", "google_drive", "onedrive")
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    args = parser.parse_args()
    q = args.quick
    figures: dict[str, Any] = {}
    figures |= http_throughput.run(500 if q else 2000, 32, rounds=1 if q else 2)
    figures |= latency.run(50, 10 if q else 60, "postgresql")
    figures |= latency.run(50, 10 if q else 60, "sqlite")
    figures |= sftp_throughput.run(300 if q else 1000, 32, rounds=1 if q else 5)
    figures |= claim_cost.run(100_000 if q else 1_000_000, 10_000)
    figures |= worker_rss.run(20 if q else 100, 20)
    figures |= cloud_throughput.run(300 if q else 1000, 16)
    figures |= cloud_rss.run(4 if q else 20, ["dropbox", "google_drive", "onedrive"])
    path = save("bench", figures)
    print(f"\n{'figure':<34}{'value':>10}  {'target':<8}  verdict")
    for name, (target, ok) in TARGETS.items():
        value = figures[name]
        print(f"{name:<34}{value:>10.2f}  {target:<8}  {'ok' if ok(value) else 'MISSED'}")
    print(
        f"\nmachine: {json.dumps(machine())}; written to {path.relative_to(RESULTS.parent.parent)}"
    )


if __name__ == "__main__":
    main()
