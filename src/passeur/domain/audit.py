"""The audit trail's rules: what a change records, how secrets are masked in it (through
the field declarations, never a list of names), and the hash chain that makes an edited,
deleted or reordered row detectable.

Each partner's events form one chain: event n stores the hash of event n-1 and its own
hash, SHA-256 of that previous hash and the event's canonical JSON. The chain's head (the
last seq and hash) is kept apart, so that a cut tail is seen too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from passeur.domain.fields import Field
from passeur.domain.redaction import MASK, redact

GENESIS = "0" * 64  # the "previous hash" of a partner's first event
CHANGED_SECRET = f"{MASK} (changed)"  # a secret given a new value: shown as changed, never read


@dataclass(frozen=True)
class Change:
    """What a service records about one change, in the transaction that makes it."""

    action: str  # "installation.update": subject and verb
    subject_id: int | None = None
    before: Mapping[str, Any] = field(default_factory=dict)
    after: Mapping[str, Any] = field(default_factory=dict)
    client_id: int | None = None
    integration_id: int | None = None

    @property
    def subject(self) -> str:
        return self.action.split(".", 1)[0]


@dataclass(frozen=True)
class Event:
    """One stored row of the trail."""

    id: int
    partner_id: int
    seq: int
    at: datetime
    actor: str
    origin: str
    action: str
    subject: str
    subject_id: int | None
    client_id: int | None
    integration_id: int | None
    before: str  # canonical JSON, as hashed
    after: str
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """What the hash covers: every column but the row id and the hashes themselves."""
        return {
            "partner_id": self.partner_id,
            "seq": self.seq,
            "at": stamp(self.at),
            "actor": self.actor,
            "origin": self.origin,
            "action": self.action,
            "subject": self.subject,
            "subject_id": self.subject_id,
            "client_id": self.client_id,
            "integration_id": self.integration_id,
            "before": self.before,
            "after": self.after,
        }


def stamp(at: datetime) -> str:
    """A time as hashed: naive UTC to the microsecond (what both databases keep)."""
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


def canonical(value: Any) -> str:
    """One JSON text per value: sorted keys, no spaces, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def chain_hash(prev_hash: str, content: Mapping[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(content)).encode()).hexdigest()


def masked(
    fields: Sequence[Field],
    values: Mapping[str, Any],
    *,
    secrets: Mapping[str, Any] | None = None,
    changed: Iterable[str] = (),
) -> dict[str, Any]:
    """`values` (and the names of the `secrets` set), as the trail may keep them: a field
    declared secret shows only that it is set (or changed), never its value; any other
    text has every secret value redacted, should one have been pasted into it."""
    secret_values = [str(v) for v in (secrets or {}).values() if v]
    secret_names = {f.name for f in fields if f.secret}
    changed = set(changed)
    out: dict[str, Any] = {}
    for name, value in {**values, **(secrets or {})}.items():
        if name in secret_names or (secrets is not None and name in secrets):
            out[name] = CHANGED_SECRET if name in changed else MASK
        elif isinstance(value, str):
            out[name] = redact(value, secret_values)
        else:
            out[name] = value
    return out


@dataclass(frozen=True)
class Problem:
    """A break in a partner's chain, naming the row where it shows."""

    partner_id: int
    seq: int
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        row = f"seq {self.seq}"
        if self.event_id:
            row = f"audit event {self.event_id} ({row})"
        return f"partner {self.partner_id}, {row}: {self.reason}"


def verify(partner_id: int, events: Iterable[Event], head: tuple[int, str] | None) -> list[Problem]:
    """Walk one partner's events in seq order; every break is reported where it shows.

    An edited row no longer matches its own hash; a deleted row leaves a gap in seq and a
    broken link; rows moved around break the links; a cut tail no longer reaches the head.
    """
    problems: list[Problem] = []
    expected_seq, prev = 1, GENESIS
    for event in events:
        if event.seq != expected_seq:
            problems.append(
                Problem(
                    partner_id,
                    event.seq,
                    event.id,
                    f"expected seq {expected_seq}: a row before it was deleted or moved",
                )
            )
        if event.prev_hash != prev:
            problems.append(
                Problem(
                    partner_id,
                    event.seq,
                    event.id,
                    "its link to the previous row is broken (a row was deleted, "
                    "inserted or reordered)",
                )
            )
        if chain_hash(event.prev_hash, event.content()) != event.hash:
            problems.append(
                Problem(
                    partner_id, event.seq, event.id, "its content does not match its hash (edited)"
                )
            )
        expected_seq, prev = event.seq + 1, event.hash
    last = (expected_seq - 1, prev)
    if head is not None and last != head:
        problems.append(
            Problem(
                partner_id,
                head[0],
                None,
                f"the chain ends at seq {last[0]} but its head says {head[0]}: "
                "rows at the end were deleted or the head was changed",
            )
        )
    if head is None and last[0] > 0:
        problems.append(Problem(partner_id, last[0], None, "the chain has no head (deleted)"))
    return problems
