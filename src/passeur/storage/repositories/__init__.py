"""Row <-> domain object mapping; every query is scoped by partner (tenants are walled)."""
