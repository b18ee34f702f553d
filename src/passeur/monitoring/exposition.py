"""Where Prometheus reads the metrics: the web app's `/metrics` (this process's own
metrics and the ledger's, read from the database), and a worker's optional port (its
own metrics only: the ledger's are the same from any web process)."""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.exposition import start_http_server
from sqlalchemy import Engine

from passeur.monitoring.ledger_metrics import LedgerCollector
from passeur.monitoring.metrics import REGISTRY

CONTENT_TYPE = CONTENT_TYPE_LATEST


class WebMetrics:
    """What a web process answers at `/metrics`."""

    def __init__(self, engine: Engine) -> None:
        self.ledger = CollectorRegistry(auto_describe=False)
        self.ledger.register(LedgerCollector(engine))

    def scrape(self) -> bytes:
        return generate_latest(REGISTRY) + generate_latest(self.ledger)


def serve_worker_metrics(host: str, port: int) -> WSGIServer:
    """Serve this process's metrics on host:port (0: any free port) from a thread of its
    own; `server_address` says where, `shutdown()` stops it."""
    server, _thread = start_http_server(port, addr=host, registry=REGISTRY)
    return server
