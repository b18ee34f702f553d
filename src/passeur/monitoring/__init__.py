"""What operators watch: structured logs (logs.py), the process's own counters
(metrics.py), the ledger's figures read at scrape time (ledger_metrics.py)."""
