"""The REST API (/api/v1): partners' own software calls the same services as the web UI."""
