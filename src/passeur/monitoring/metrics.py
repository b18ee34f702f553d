"""The process's own Prometheus metrics: what only this process knows (its tries, its
token refreshes, its pacer waits, the requests it served).

Each web and worker process has its own; nothing is shared between processes (see
docs/decisions.md, "Metrics across processes"). The ledger's figures, which every
process would see alike, are read from the database at scrape time instead
(ledger_metrics.py).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

# One registry for passeur's metrics, not prometheus-client's global one: a test or an
# embedding program gets exactly these, and the web app adds the ledger's to its copy.
REGISTRY = CollectorRegistry(auto_describe=True)

ATTEMPT_SECONDS = Histogram(
    "passeur_attempt_duration_seconds",
    "How long one try of an export took, by extension and outcome.",
    ["extension", "outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
TOKEN_REFRESHES = Counter(
    "passeur_token_refreshes",
    "OAuth access-token refreshes made by this process, by extension and outcome.",
    ["extension", "outcome"],
    registry=REGISTRY,
)
PACER_WAITS = Counter(
    "passeur_pacer_waits",
    "Calls that waited for their slot in a target's per-account pacing, by extension.",
    ["extension"],
    registry=REGISTRY,
)
PACER_WAIT_SECONDS = Counter(
    "passeur_pacer_wait_seconds",
    "Time calls spent waiting for their pacing slot, by extension.",
    ["extension"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "passeur_web_request_duration_seconds",
    "Web requests served by this process, by method, route and status class.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
