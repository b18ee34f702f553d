"""The API extension against the contract suite, as far as it applies to a target that
pulls instead of being pushed to.

What does not apply, and what stands in for it here:
- bad credentials and an unreachable target: the extension has no credentials and
  nothing to reach (the reader's credentials are its API client's, checked by the REST
  API); it declares no secret and its check opens no connection, even with every
  address refused;
- a delivery landing byte for byte and a redelivery making no second copy: nothing is
  pushed; the same promises are tested through the feed (what the reader downloads is
  the file as received; an acknowledged item is never offered again, and an item
  offered again keeps its id and key);
- delivery errors classified: the push path always refuses, classified Misconfigured,
  so an export that reached a worker by mistake is parked, not marked delivered unread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from passeur.bootstrap import App
from passeur.connectors.api import EXTENSION, ApiConnector
from passeur.connectors.base import Parcel
from passeur.connectors.errors import Misconfigured
from passeur.domain.extensions import Target
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.feed_reader import FeedReader
from passeur.services import feeds
from tests.clock import LedgerClock
from tests.connectors.contract import ConnectorContract
from tests.integration.test_feeds import feed


@pytest.fixture
async def connector() -> AsyncIterator[ApiConnector]:
    made = ApiConnector(network=NetworkPolicy())  # refuses every private address
    yield made
    await made.close()


@pytest.fixture
def target() -> Target:
    return Target(installation_id=1, integration_id=1, extension="api", config={})


class TestApiContract(ConnectorContract):
    slug = "api"

    def test_check_refuses_bad_credentials(self) -> None:  # type: ignore[override]
        assert EXTENSION.secret_names() == set(), "nothing to refuse: no credentials"

    async def test_check_reports_an_unreachable_target_as_transient(  # type: ignore[override]
        self, connector: ApiConnector, target: Target
    ) -> None:
        result = await connector.check(target)  # nothing to reach: never unreachable
        assert result.ok and result.details == {"lease_minutes": 10}

    def test_deliver_lands_the_document_byte_for_byte(  # type: ignore[override]
        self, sqlite_app: App, shared_data: Path
    ) -> None:
        fd = feed(sqlite_app, shared_data, 1)
        reader = FeedReader(sqlite_app, fd.partner_id, fd.integration_id)
        assert reader.drain() == 1
        sent = (shared_data / "ubl/peppol-base-example.xml").read_bytes()
        assert [files["original"] for files in reader.received.values()] == [sent]

    def test_redelivery_makes_no_second_copy(  # type: ignore[override]
        self, sqlite_app: App, shared_data: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        clock = LedgerClock().install(monkeypatch)
        fd = feed(sqlite_app, shared_data, 2)
        first = feeds.pull(sqlite_app, fd.partner_id, fd.integration_id).items
        feeds.ack(sqlite_app, fd.partner_id, fd.integration_id, first[0].id)
        clock.advance(timedelta(minutes=11))
        again = feeds.pull(sqlite_app, fd.partner_id, fd.integration_id).items
        assert [(i.id, i.export_key) for i in again] == [(first[1].id, first[1].export_key)]

    async def test_delivery_errors_are_classified(  # type: ignore[override]
        self, connector: ApiConnector, target: Target, parcel: Parcel
    ) -> None:
        with pytest.raises(Misconfigured, match="fetched from its feed"):
            await connector.deliver(target, parcel)
