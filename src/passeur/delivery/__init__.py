"""The export ledger (the exports table is the queue), the worker and its policy."""
