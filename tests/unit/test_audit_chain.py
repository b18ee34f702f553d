"""The audit trail's rules: secrets masked by their declaration, and a chain that names
the row where it was edited, cut or reordered."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

from passeur.domain.audit import (
    CHANGED_SECRET,
    GENESIS,
    Event,
    canonical,
    chain_hash,
    masked,
    verify,
)
from passeur.domain.fields import Field, FieldKind
from passeur.domain.redaction import MASK

FIELDS = (
    Field("host", "Host", FieldKind.HOST),
    Field("password", "Password", secret=True),
    Field("folder", "Folder", FieldKind.PATH),
)


def test_a_declared_secret_shows_only_that_it_is_set_or_changed() -> None:
    shown = masked(
        FIELDS,
        {"host": "sftp.example.be", "folder": "/in"},
        secrets={"password": "hunter2-long"},
        changed={"password"},
    )
    assert shown == {"host": "sftp.example.be", "folder": "/in", "password": CHANGED_SECRET}
    assert masked(FIELDS, {}, secrets={"password": "x" * 8}) == {"password": MASK}


def test_a_secret_pasted_into_another_value_is_redacted_too() -> None:
    shown = masked(FIELDS, {"folder": "/in/hunter2-long"}, secrets={"password": "hunter2-long"})
    assert "hunter2-long" not in canonical(shown)


def test_a_secret_field_is_masked_even_when_given_among_the_values() -> None:
    # Masked because the field is declared secret, not because of its name.
    assert masked(FIELDS, {"password": "in-the-wrong-dict"}) == {"password": MASK}
    plain = (Field("password", "Password"),)  # a field named so, not declared secret
    assert masked(plain, {"password": "shown"}) == {"password": "shown"}


def _chain(n: int) -> list[Event]:
    events, prev = [], GENESIS
    start = datetime(2026, 5, 1, 9, 0, 0, 123456)
    for seq in range(1, n + 1):
        event = Event(
            id=100 + seq, partner_id=7, seq=seq, at=start + timedelta(minutes=seq),
            actor="user a@firm.be", origin="192.0.2.10", action="client.update",
            subject="client", subject_id=seq, client_id=seq, integration_id=None,
            before=canonical({"name": f"old {seq}"}), after=canonical({"name": f"new {seq}"}),
            prev_hash=prev, hash="",
        )  # fmt: skip
        event = replace(event, hash=chain_hash(prev, event.content()))
        events.append(event)
        prev = event.hash
    return events


def _head(events: list[Event]) -> tuple[int, str]:
    return events[-1].seq, events[-1].hash


def test_an_intact_chain_verifies() -> None:
    events = _chain(5)
    assert verify(7, events, _head(events)) == []
    assert verify(7, [], None) == []


def test_an_edited_row_is_named() -> None:
    events = _chain(5)
    head = _head(events)
    events[2] = replace(events[2], after=json.dumps({"name": "forged"}))
    problems = verify(7, events, head)
    assert [(p.event_id, p.seq) for p in problems] == [(103, 3)]
    assert "edited" in str(problems[0]) and "audit event 103" in str(problems[0])


def test_an_edited_row_whose_hash_was_recomputed_breaks_the_next_link() -> None:
    events = _chain(5)
    head = _head(events)
    forged = replace(events[1], actor="someone else")
    events[1] = replace(forged, hash=chain_hash(forged.prev_hash, forged.content()))
    assert [p.seq for p in verify(7, events, head)] == [3]


def test_a_deleted_row_is_named_where_the_gap_shows() -> None:
    events = _chain(5)
    head = _head(events)
    del events[1]
    problems = verify(7, events, head)
    assert {p.seq for p in problems} == {3}
    assert any("deleted" in p.reason for p in problems)


def test_reordered_rows_are_named() -> None:
    events = _chain(5)
    head = _head(events)
    a, b = events[1], events[2]
    events[1], events[2] = replace(b, seq=2), replace(a, seq=3)  # seq swapped in place
    assert {p.event_id for p in verify(7, events, head)} >= {103, 102}


def test_a_cut_tail_is_seen_against_the_head() -> None:
    events = _chain(5)
    head = _head(events)
    problems = verify(7, events[:-1], head)
    assert len(problems) == 1 and "head" in problems[0].reason
    assert verify(7, events, None)[0].reason == "the chain has no head (deleted)"
