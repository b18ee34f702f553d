"""Storing blobs: one flush for a batch, and a blob a crash damaged is written again."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from passeur.storage import blobs
from passeur.storage.blobs import LocalBlobStore


def put_many(store: LocalBlobStore, datas: list[bytes]) -> list[tuple[str, int]]:
    staged = [store.stage(data) for data in datas]
    store.publish(staged)
    return [(s.sha256, s.size) for s in staged]


def test_a_batch_is_stored_with_its_digests_once_each(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    datas = [b"first", b"second", b"first"]
    stored = put_many(store, datas)
    assert stored == [(hashlib.sha256(d).hexdigest(), len(d)) for d in datas]
    for (sha, _), data in zip(stored, datas, strict=True):
        with store.open(sha) as handle:
            assert handle.read() == data
    assert put_many(store, [b"second"]) == [stored[1]]  # already there: nothing written
    assert not list((tmp_path / "staging").iterdir())


def test_a_batch_is_flushed_once_after_its_names_are_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_replace = os.replace
    monkeypatch.setattr(blobs, "flush_to_disk", lambda *a, **k: events.append("flush"))
    monkeypatch.setattr(
        blobs.os, "replace", lambda a, b: (events.append("rename"), real_replace(a, b))
    )
    put_many(LocalBlobStore(tmp_path), [b"a", b"b", b"c"])
    assert events == ["rename", "rename", "rename", "flush"]


@pytest.mark.parametrize("how", ["one", "many"])
def test_a_blob_a_crash_left_damaged_is_written_again(tmp_path: Path, how: str) -> None:
    """Renamed, then the machine stopped before the flush: the name is there, its content
    is not. No row refers to it; the next put of that content repairs it."""
    store = LocalBlobStore(tmp_path)
    data = b"the invoice" * 100
    sha = hashlib.sha256(data).hexdigest()
    damaged = tmp_path / sha[:2] / sha[2:4] / sha
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"\0" * len(data))  # the right size, the wrong content
    if how == "one":
        store.put(io.BytesIO(data), max_size=10_000)
    else:
        put_many(store, [data])
    assert damaged.read_bytes() == data


def test_a_failure_midway_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path)
    real_replace = os.replace
    renamed: list[str] = []

    def fail_second(a: str, b: str) -> None:
        if renamed:
            raise OSError("disk full")
        renamed.append(b)
        real_replace(a, b)

    monkeypatch.setattr(blobs.os, "replace", fail_second)
    with pytest.raises(OSError, match="disk full"):
        put_many(store, [b"one", b"two"])
    assert not list((tmp_path / "staging").iterdir())


def test_a_discarded_stage_leaves_nothing(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    staged = [store.stage(b"one"), store.stage(b"two")]
    store.discard(staged)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
