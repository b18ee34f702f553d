"""The web side: for now a read-only status page (the partner space comes later)."""
