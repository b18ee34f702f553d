"""The shared sample documents (real files written by others) and which of them are refused.

The folder is `$PASSEUR_SHARED_DATA` if set, else `/work/shared/data`. Tests read the files
from there and never copy or edit them.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA = "/work/shared/data"


def data_dir() -> Path:
    folder = Path(os.environ.get("PASSEUR_SHARED_DATA") or DEFAULT_DATA)
    if not folder.is_dir():
        raise FileNotFoundError(f"sample folder {folder} not found; set PASSEUR_SHARED_DATA")
    return folder


def sample(relative: str) -> bytes:
    return (data_dir() / relative).read_bytes()


def sample_files() -> list[str]:
    """Every sample document, as a path relative to the data folder (SOURCES.md excluded)."""
    root = data_dir()
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.name != "SOURCES.md"
    )


def must_refuse(relative: str) -> bool:
    return relative.startswith("invalid/") or relative.endswith(".INVALID.txt")
