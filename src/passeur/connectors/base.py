"""What every connector implements, and what it is given to deliver (a parcel)."""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, ClassVar

from passeur.domain.documents import Document
from passeur.domain.errors import InvalidInput
from passeur.domain.extensions import Extension, Target
from passeur.domain.network import NetworkPolicy


@dataclass(frozen=True)
class ParcelFile:
    """One file of a document, read from the blob store in chunks (never whole in memory)."""

    role: str  # "original", "pdf", ...
    name: str  # the deterministic file name at the target
    media_type: str
    size: int
    sha256: str
    opener: Callable[[], BinaryIO] = field(repr=False, compare=False)

    def open(self) -> BinaryIO:
        return self.opener()


@dataclass(frozen=True)
class Parcel:
    """One export: a document, its files and the values its target paths may use."""

    export_id: int
    export_key: str  # stable across tries; new for a new version
    document: Document
    client_name: str
    variables: dict[str, str]
    files: tuple[ParcelFile, ...]
    version: int = 1  # the export's version (a resend is a new version, with a new key)
    test: bool = False  # a test delivery from "test connection": no real document

    @property
    def main(self) -> ParcelFile:
        return self.files[0]


@dataclass(frozen=True)
class Receipt:
    """What the target confirmed: where the document is now, and what was written."""

    location: str  # remote path, object id or message id
    size: int
    sha256: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"location": self.location, "size": self.size, "sha256": self.sha256, **self.details}


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class Connector(abc.ABC):
    """One instance per worker process; it may keep connections per installation.

    `network` is the operator's policy on which addresses may be reached (the SSRF
    guard); the default refuses every private, loopback and link-local address.
    """

    extension: ClassVar[Extension]

    def __init__(self, *, network: NetworkPolicy | None = None) -> None:
        self.network = network if network is not None else NetworkPolicy()

    @abc.abstractmethod
    async def check(self, target: Target) -> CheckResult:
        """Connect and authenticate without sending a document.

        Raise a ConnectorError subclass when the target cannot be reached or refuses us.
        """

    @abc.abstractmethod
    async def deliver(self, target: Target, parcel: Parcel) -> Receipt:
        """Send one export. Redelivering the same parcel must not make a second copy."""

    @classmethod
    def destination(cls, target: Target, variables: dict[str, str], file_name: str) -> str | None:
        """Where a document with these path variables would land, as `deliver` computes it
        (the path preview of a client's form shows it); None for targets without a path.

        Raises InvalidInput when the path cannot be rendered (e.g. a variable is empty).
        """
        return None

    # The fields a pin belongs with: it is stored on an integration that sets one of them
    # itself (it connects elsewhere than its installation), else on the installation.
    pin_follows: ClassVar[frozenset[str]] = frozenset()

    def pin(self, target: Target, seen: CheckResult, confirmed: str) -> dict[str, Any]:
        """What to pin once a person confirmed `confirmed` after `check` showed them
        `seen` (an SFTP server's host key, by its fingerprint): the configuration changes,
        or {} when there is nothing to pin. The target must still show what the person
        confirmed; otherwise, or when `confirmed` is not in the form `check` shows it,
        raise InvalidInput with field "trust" (nothing is pinned).
        """
        return {}

    def pinned(self, target: Target, result: CheckResult) -> CheckResult:
        """`result` of the check made right after `pin` stored something: says that it
        was pinned now (never that it "matches" a pin that was not there before)."""
        return result

    async def vet(self, target: Target) -> None:  # noqa: B027 - optional hook
        """Check a client's own values at the target when its integration is saved (an
        administration or company that does not exist there). `target` is the
        installation's, with the integration's values. Raise InvalidInput, with the
        field, for a value the target says is wrong; a ConnectorError when the target
        cannot be asked (the integration is saved; delivery will say more)."""

    async def test_delivery(self, target: Target) -> CheckResult:
        """Send one test delivery (no document) and report what the target answered.

        Only connectors whose targets can take a harmless test say they can.
        """
        raise InvalidInput(f"{self.extension.name} has no test delivery; use test connection")

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release pooled connections (worker shutdown)."""
