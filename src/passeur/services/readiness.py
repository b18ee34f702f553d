"""Whether this process can serve: its database answers at the schema this code needs,
and its blob store answers (for a load balancer's or an orchestrator's readiness probe)."""

from __future__ import annotations

from sqlalchemy import text

from passeur.bootstrap import App
from passeur.storage import schema
from passeur.storage.blobs import BlobUnavailable


def readiness(app: App) -> dict[str, str]:
    """Each part's state, "ok" or what is wrong (one line, no secret)."""
    found = {"database": "ok", "migrations": "ok", "blobs": "ok"}
    try:
        with app.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current, head = schema.current_revision(app.engine), schema.head_revision(app.engine)
        if current != head:
            found["migrations"] = f"at {current}, this code needs {head}: run passeur db upgrade"
    except Exception as exc:  # any failure to reach it is the answer, not an error
        found["database"] = f"unreachable: {type(exc).__name__}"
        found["migrations"] = "unknown"
    try:
        app.blobs.check()
    except BlobUnavailable as exc:
        found["blobs"] = str(exc)
    return found
