"""Storing blobs: one flush for a batch, and a blob a crash damaged is written again."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
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
        blobs.os, "replace", lambda a, b: (events.append(f"rename {b}"), real_replace(a, b))
    )
    datas = [b"a", b"b", b"c"]
    put_many(LocalBlobStore(tmp_path), datas)
    named = [f"rename {tmp_path / sha[:2] / sha}" for sha in map(digest, datas)]
    assert events == [f"rename {tmp_path / 'layout'}", *named, "flush"]


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("layout", ["flat", "nested"])
@pytest.mark.parametrize("how", ["one", "many"])
def test_a_blob_a_crash_left_damaged_is_written_again(
    tmp_path: Path, how: str, layout: str
) -> None:
    """Renamed, then the machine stopped before the flush: the name is there, its content
    is not. No row refers to it; the next put of that content repairs it."""
    data = b"the invoice" * 100
    sha = digest(data)
    if layout == "flat":
        LocalBlobStore(tmp_path).stage(b"first")  # a store of the new layout names it
        damaged = tmp_path / sha[:2] / sha
    else:  # a store from before: its blobs are in two levels of folders
        damaged = tmp_path / sha[:2] / sha[2:4] / sha
    damaged.parent.mkdir(parents=True, exist_ok=True)
    damaged.write_bytes(b"\0" * len(data))  # the right size, the wrong content
    store = LocalBlobStore(tmp_path)
    if how == "one":
        store.put(io.BytesIO(data), max_size=10_000)
    else:
        put_many(store, [data])
    assert damaged.read_bytes() == data


def test_a_new_store_keeps_blobs_in_one_level_of_folders(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    [(sha, _)] = put_many(store, [b"one"])
    sha_two, _ = store.put(io.BytesIO(b"two"), max_size=100)
    assert (tmp_path / sha[:2] / sha).read_bytes() == b"one"
    assert (tmp_path / sha_two[:2] / sha_two).read_bytes() == b"two"
    assert (tmp_path / "layout").read_text() == "ab/<sha256>\n"
    again = LocalBlobStore(tmp_path)  # another process, later
    assert again.open(sha).read() == b"one"
    assert sorted(again.names()) == sorted([sha, sha_two])


def test_a_store_from_before_keeps_its_layout_and_reads_both(tmp_path: Path) -> None:
    """A store whose blobs are at ab/cd/<sha256> (made before the layout file) goes on
    writing there; any store reads a blob in either layout, and lists both."""
    old, flat = b"an old blob", b"a blob of the new layout"
    (tmp_path / digest(old)[:2] / digest(old)[2:4]).mkdir(parents=True)
    (tmp_path / digest(old)[:2] / digest(old)[2:4] / digest(old)).write_bytes(old)
    (tmp_path / digest(flat)[:2]).mkdir(exist_ok=True)
    (tmp_path / digest(flat)[:2] / digest(flat)).write_bytes(flat)
    store = LocalBlobStore(tmp_path)
    [(new, _)] = put_many(store, [b"new"])
    assert (tmp_path / new[:2] / new[2:4] / new).read_bytes() == b"new"
    assert not (tmp_path / "layout").exists()
    for data in (old, flat, b"new"):
        assert store.open(digest(data)).read() == data
        assert store.exists(digest(data)) and store.size(digest(data)) == len(data)
    assert sorted(store.names()) == sorted(digest(d) for d in (old, flat, b"new"))
    assert put_many(store, [old]) == [(digest(old), len(old))]  # already there, whole
    assert not (tmp_path / digest(old)[:2] / digest(old)).exists()
    assert store.size(digest(b"missing")) is None and not store.exists(digest(b"missing"))


def test_a_blob_is_stored_after_its_folders_were_wiped(tmp_path: Path) -> None:
    """The store remembers the folders it made; one removed by hand is made again."""
    store = LocalBlobStore(tmp_path / "blobs")
    put_many(store, [b"one"])
    shutil.rmtree(tmp_path / "blobs")
    [(sha, _)] = put_many(store, [b"one"])
    assert store.open(sha).read() == b"one"


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
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["layout"]
