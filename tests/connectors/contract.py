"""The contract every connector passes. A connector's test module subclasses
`ConnectorContract`, names the extension it tests (`slug`; tests/connectors/test_registry.py
checks that every registered extension has such a subclass) and provides these fixtures:

- `connector`: a fresh connector instance (closed after the test);
- `target`: a Target that works;
- `bad_credentials_target`: the same target with a refused credential;
- `unreachable_target`: a target where nothing answers;
- `fetch`: async callable(receipt) -> bytes as stored at the target;
- `copies`: async callable(parcel) -> how many copies of the parcel's document the target holds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import ClassVar

import pytest

from passeur.connectors import registry
from passeur.connectors.base import Connector, Parcel, Receipt
from passeur.connectors.errors import NeedsReauth, TransientError
from passeur.domain.extensions import Target
from passeur.domain.fields import FieldKind
from tests.connectors.parcels import efff_content, make_parcel

Fetch = Callable[[Receipt], Awaitable[bytes]]
Copies = Callable[[Parcel], Awaitable[int]]

CONTENT = b"<Invoice>" + bytes(range(256)) * 200 + b"</Invoice>"


class ConnectorContract:
    slug: ClassVar[str]  # the extension under test
    # Accounting packages receive e-fff (connectors/accounting_file.py): their suite's
    # document is a UBL that already carries its PDF, which goes out byte for byte.
    sends_efff: ClassVar[bool] = False

    @pytest.fixture
    def parcel(self, tmp_path: Path, shared_data: Path) -> Parcel:
        content = efff_content(shared_data) if self.sends_efff else CONTENT
        return make_parcel(tmp_path / "blobs", content)

    def test_is_registered_and_declares_its_fields(self, connector: Connector) -> None:
        ext = connector.extension
        assert ext.slug == self.slug, "the suite tests the extension it names"
        assert registry.extension(ext.slug) is ext
        assert ext.install_fields, "an extension declares its installation fields"
        for field in ext.install_fields + ext.integration_fields:
            assert field.label and field.kind in FieldKind
        assert not {f.name for f in ext.client_fields} & ext.secret_names()

    async def test_check_succeeds_on_a_good_target(
        self, connector: Connector, target: Target
    ) -> None:
        result = await connector.check(target)
        assert result.ok, result.message

    async def test_check_refuses_bad_credentials(
        self, connector: Connector, bad_credentials_target: Target
    ) -> None:
        with pytest.raises(NeedsReauth) as caught:
            await connector.check(bad_credentials_target)
        _no_secret_in(caught.value.message, bad_credentials_target)

    async def test_check_reports_an_unreachable_target_as_transient(
        self, connector: Connector, unreachable_target: Target
    ) -> None:
        with pytest.raises(TransientError):
            await connector.check(unreachable_target)

    async def test_deliver_lands_the_document_byte_for_byte(
        self, connector: Connector, target: Target, parcel: Parcel, fetch: Fetch
    ) -> None:
        with parcel.main.open() as handle:
            content = handle.read()  # CONTENT, or the suite's own parcel (an e-fff file)
        receipt = await connector.deliver(target, parcel)
        assert receipt.size == len(content)
        assert receipt.sha256 == hashlib.sha256(content).hexdigest()
        assert await fetch(receipt) == content

    async def test_redelivery_makes_no_second_copy(
        self, connector: Connector, target: Target, parcel: Parcel, copies: Copies
    ) -> None:
        first = await connector.deliver(target, parcel)
        second = await connector.deliver(target, parcel)
        assert first.location == second.location
        assert await copies(parcel) == 1

    async def test_delivery_errors_are_classified(
        self,
        connector: Connector,
        bad_credentials_target: Target,
        unreachable_target: Target,
        parcel: Parcel,
    ) -> None:
        with pytest.raises(NeedsReauth) as caught:
            await connector.deliver(bad_credentials_target, parcel)
        _no_secret_in(caught.value.message, bad_credentials_target)
        with pytest.raises(TransientError):
            await connector.deliver(unreachable_target, parcel)


def _no_secret_in(message: str, target: Target) -> None:
    for value in target.secrets.values():
        assert value not in message, "a secret leaked into an error message"
