"""The API extension: a client's exports wait on a feed that the partner's own software
pulls and acknowledges (services/feeds.py), for software that has no other channel.

Nothing is pushed, so the connector has nothing to connect to: its exports start on the
feed (`Extension.pulled`), never in the worker's queue. `deliver` exists for the contract
only, and refuses: an export of this extension that reached a worker is a bug, parked for
a person (whose retry puts it back on the feed) rather than marked delivered unread.
"""

from __future__ import annotations

from passeur.connectors.base import CheckResult, Connector, Parcel, Receipt
from passeur.connectors.errors import Misconfigured
from passeur.domain.documents import Family
from passeur.domain.extensions import Extension, Pacing, Target
from passeur.domain.fields import Field, FieldKind

DEFAULT_LEASE_MINUTES = 10

LEASE = Field(
    "lease_minutes",
    "Lease (minutes)",
    FieldKind.INTEGER,
    default=DEFAULT_LEASE_MINUTES,
    minimum=1,
    maximum=24 * 60,
    help="How long a fetched item is reserved for the software that fetched it. An item "
    "not acknowledged within its lease is offered again, so nothing is lost.",
)

EXTENSION = Extension(
    slug="api",
    name="API",
    category="API",
    summary="Put each document on a feed that your own software reads through the passeur "
    "API, downloads and acknowledges.",
    install_fields=(LEASE,),
    families=frozenset(Family),
    sends="nothing: the partner's software fetches each document's files and metadata "
    "from the feed and acknowledges it",
    pacing=Pacing(max_concurrent=1),  # never claimed by a worker: no target to pace
    stand_in="passeur.sandbox.feed_reader",
    pulled=True,
)


def lease_minutes(config: dict[str, object]) -> int:
    """An installation's lease, in minutes (its field, else the default)."""
    value = config.get("lease_minutes")
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_LEASE_MINUTES


class ApiConnector(Connector):
    extension = EXTENSION

    async def check(self, target: Target) -> CheckResult:
        """There is no remote end: the feed is served by passeur itself."""
        minutes = lease_minutes(target.config)
        return CheckResult(
            ok=True,
            message=f"the feed is ready; a fetched item is offered again after {minutes} min "
            "without an acknowledgement",
            details={"lease_minutes": minutes},
        )

    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        raise Misconfigured(
            "exports of the API extension are fetched from its feed, never pushed; "
            "retry this export to put it back on the feed"
        )
