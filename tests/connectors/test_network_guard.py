"""The SSRF guard on real connections: refused by default, allowed when the operator says,
checked after DNS resolution and on every new connection (the token URL included)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from passeur.connectors.base import Parcel
from passeur.connectors.errors import Misconfigured, TransientError
from passeur.connectors.http import HttpConnector
from passeur.domain.network import NetworkPolicy
from passeur.sandbox.http_receiver import HttpReceiver
from tests.connectors.contract import CONTENT
from tests.connectors.parcels import make_parcel
from tests.connectors.test_http import SECRET, make_target

LOOPBACK = NetworkPolicy.parse("127.0.0.0/8")


@pytest.fixture
async def receiver() -> AsyncIterator[HttpReceiver]:
    made = HttpReceiver(SECRET)
    await made.start()
    yield made
    await made.stop()


@pytest.fixture
def parcel(tmp_path: Path) -> Parcel:
    return make_parcel(tmp_path, CONTENT)


class Resolver:
    """A DNS stand-in: answers from a script, one answer per lookup (the last repeats)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("localhost", "loopback"),  # a name is judged by what it resolves to
        ("[::1]", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),  # IPv4-mapped IPv6
        ("[::ffff:7f00:1]", "loopback"),  # the same, written in hex
    ],
)
async def test_loopback_is_refused_by_default(
    receiver: HttpReceiver, parcel: Parcel, host: str, reason: str
) -> None:
    connector = HttpConnector()  # the default policy: nothing private allowed
    try:
        target = make_target(f"http://{host}:{receiver.port}", auth="none")
        with pytest.raises(Misconfigured, match=f"is a {reason} address") as caught:
            await connector.deliver(target, parcel)
        assert "PASSEUR_ALLOWED_NETWORKS" in caught.value.message
        with pytest.raises(Misconfigured):
            await connector.check(target)
        assert receiver.seen == [], "nothing may reach the address"
    finally:
        await connector.close()


async def test_loopback_is_allowed_when_the_operator_allows_it(
    receiver: HttpReceiver, parcel: Parcel
) -> None:
    connector = HttpConnector(network=LOOPBACK)
    try:
        await connector.deliver(
            make_target(f"http://localhost:{receiver.port}", auth="none"), parcel
        )
        assert list(receiver.accepted) == [parcel.export_key]
    finally:
        await connector.close()


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["10.0.0.7"], "private"),
        (["192.168.1.20"], "private"),
        (["169.254.169.254"], "cloud metadata"),
        (["fd00:ec2::254"], "cloud metadata"),
        (["100.64.3.4"], "carrier-grade NAT"),
        (["0.0.0.0"], "unspecified"),
        (["fe80::1"], "link-local"),
    ],
)
async def test_a_name_resolving_into_a_private_range_is_refused(
    parcel: Parcel, addresses: list[str], reason: str
) -> None:
    connector = HttpConnector(network=LOOPBACK, resolver=Resolver(addresses))
    try:
        target = make_target("http://erp.example.com", auth="none")
        with pytest.raises(Misconfigured, match=rf"erp\.example\.com \(.+\) is a {reason} address"):
            await connector.deliver(target, parcel)
    finally:
        await connector.close()


async def test_only_vetted_addresses_are_connected_to(
    receiver: HttpReceiver, parcel: Parcel
) -> None:
    # A name with a private and an allowed address: the allowed one is used, never the other.
    resolver = Resolver(["10.0.0.7", "127.0.0.1"])
    connector = HttpConnector(network=LOOPBACK, resolver=resolver)
    try:
        await connector.deliver(
            make_target(f"http://erp.example.com:{receiver.port}", auth="none"), parcel
        )
        assert list(receiver.accepted) == [parcel.export_key]
    finally:
        await connector.close()


async def test_every_new_connection_is_checked_again(
    receiver: HttpReceiver, tmp_path: Path
) -> None:
    # DNS rebinding: the name first resolves to an allowed address, then to a private one.
    resolver = Resolver(["127.0.0.1"], ["10.0.0.7"])
    connector = HttpConnector(network=LOOPBACK, resolver=resolver)
    target = make_target(f"http://erp.example.com:{receiver.port}", auth="none")
    try:
        await connector.deliver(target, make_parcel(tmp_path / "1", CONTENT, document_id=1))
        await connector.close()  # the pooled connection is gone: the next one is new
        with pytest.raises(Misconfigured, match="private"):
            await connector.deliver(target, make_parcel(tmp_path / "2", CONTENT, document_id=2))
        assert resolver.lookups == ["erp.example.com", "erp.example.com"]
        assert len(receiver.accepted) == 1
    finally:
        await connector.close()


async def test_the_oauth_token_url_passes_the_guard_too(
    receiver: HttpReceiver, parcel: Parcel
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["10.0.0.9"] if host == "login.example.com" else ["127.0.0.1"]

    connector = HttpConnector(network=LOOPBACK, resolver=resolve)
    target = make_target(
        f"http://127.0.0.1:{receiver.port}",
        {"oauth_client_secret": "cs-1234"},
        auth="oauth2",
        oauth_token_url="http://login.example.com/token",
        oauth_client_id="passeur",
    )
    try:
        with pytest.raises(Misconfigured, match=r"login\.example\.com .* is a private address"):
            await connector.deliver(target, parcel)
        assert receiver.seen == []
    finally:
        await connector.close()


async def test_a_name_that_does_not_resolve_is_transient(parcel: Parcel) -> None:
    async def nothing(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    connector = HttpConnector(network=LOOPBACK, resolver=nothing)
    try:
        target = make_target("http://gone.example.com", auth="none")
        with pytest.raises(TransientError, match=r"cannot resolve gone\.example\.com"):
            await connector.deliver(target, parcel)
    finally:
        await connector.close()


async def test_a_metadata_refusal_names_the_one_entry_that_allows_it(parcel: Parcel) -> None:
    link = NetworkPolicy.parse("169.254.0.0/16")
    connector = HttpConnector(network=link, resolver=Resolver(["169.254.169.254"]))
    try:
        with pytest.raises(Misconfigured) as caught:
            await connector.deliver(make_target("http://erp.example.com", auth="none"), parcel)
    finally:
        await connector.close()
    assert (
        "is a cloud metadata address, which passeur refuses to reach; only the entry "
        "169.254.169.254/32 in PASSEUR_ALLOWED_NETWORKS allows it" in caught.value.message
    )
    assert "(allowed now: 169.254.0.0/16)" in caught.value.message
