"""Wires settings, database, blob store and secret box together. Nothing else reads settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from passeur.settings import Settings
from passeur.storage.blobs import BlobStore, LocalBlobStore
from passeur.storage.db import make_engine
from passeur.storage.secret_box import SecretBox, load_or_create_key_file


@dataclass
class App:
    settings: Settings
    engine: Engine
    blobs: BlobStore
    secrets: SecretBox

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings | None = None, *, worker: bool = False) -> App:
    """Wire the app; `worker` for a process that only delivers (see make_engine)."""
    settings = settings or Settings()
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # keys, blobs, database
    keys = settings.secret_keys.get_secret_value()
    if not keys:
        keys = load_or_create_key_file(settings.data_dir / "secret.key")
    return App(
        settings=settings,
        engine=make_engine(settings.effective_database_url, relaxed_commit=worker),
        blobs=blob_store(settings),
        secrets=SecretBox.from_setting(keys),
    )


def blob_store(settings: Settings, url: str = "") -> BlobStore:
    """The blob store at `url` (default: PASSEUR_BLOB_URL, else the data folder's)."""
    url = url or settings.blob_url
    if url.startswith("s3://"):
        from passeur.storage.s3_blobs import S3BlobStore  # here: only an S3 store needs it

        return S3BlobStore(
            url,
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value(),
            timeout_seconds=settings.s3_timeout_seconds,
            retries=settings.s3_retries,
        )
    if url.startswith("file://"):
        return LocalBlobStore(Path(url[len("file://") :]))
    return LocalBlobStore(settings.data_dir / "blobs")
