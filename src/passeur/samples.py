"""Where the public sample documents live (`../shared/data` next to the project)."""

from __future__ import annotations

import os
from pathlib import Path


def shared_data() -> Path | None:
    """The sample folder: $PASSEUR_SHARED_DATA, else a `shared/data` beside a parent folder."""
    given = os.environ.get("PASSEUR_SHARED_DATA")
    if given:
        return Path(given) if Path(given).is_dir() else None
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "shared" / "data"
            if candidate.is_dir() and (candidate / "SOURCES.md").exists():
                return candidate
    # The team's machines keep the shared folder here, wherever the clone is.
    fallback = Path("/work/shared/data")
    return fallback if (fallback / "SOURCES.md").exists() else None
