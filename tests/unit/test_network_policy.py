"""The SSRF rule: which addresses a connector may reach, by default and when allowed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from passeur.domain.errors import InvalidInput
from passeur.domain.network import NetworkPolicy
from passeur.settings import Settings

REFUSED_BY_DEFAULT = {
    "127.0.0.1": "loopback",
    "127.200.0.9": "loopback",
    "::1": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.254": "private",
    "192.168.1.10": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.10.10": "link-local",
    "fe80::1": "link-local",
    "fe80::1%eth0": "link-local",
    "169.254.169.254": "cloud metadata",
    "fd00:ec2::254": "cloud metadata",
    "100.100.100.200": "cloud metadata",
    "100.64.0.1": "carrier-grade NAT",
    "100.127.255.254": "carrier-grade NAT",
    "0.0.0.0": "unspecified",
    "0.1.2.3": "unspecified",
    "::": "unspecified",
    "224.0.0.1": "multicast",
    "ff02::1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    # IPv4 carried in IPv6 is judged as the IPv4 address it carries.
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "cloud metadata",
    "64:ff9b::7f00:1": "loopback",  # NAT64
    "2002:7f00:1::": "loopback",  # 6to4
}


@pytest.mark.parametrize(("address", "reason"), sorted(REFUSED_BY_DEFAULT.items()))
def test_non_public_addresses_are_refused_by_default(address: str, reason: str) -> None:
    assert NetworkPolicy().refusal(address) == reason


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert NetworkPolicy().refusal(address) is None


def test_an_allowed_network_opens_exactly_that_network() -> None:
    policy = NetworkPolicy.parse("127.0.0.0/8, 10.20.0.0/16")
    assert policy.refusal("127.0.0.1") is None
    assert policy.refusal("::ffff:127.0.0.1") is None  # the same address, mapped
    assert policy.refusal("10.20.3.4") is None
    assert policy.refusal("10.21.0.1") == "private"
    assert policy.refusal("::1") == "loopback"  # IPv6 loopback is another network
    assert NetworkPolicy.parse("::1/128").refusal("::1") is None


def test_metadata_stays_refused_unless_listed_on_its_own() -> None:
    link = NetworkPolicy.parse("169.254.0.0/16")
    assert link.refusal("169.254.1.1") is None
    assert link.refusal("169.254.169.254") == "cloud metadata"
    assert NetworkPolicy.parse("169.254.169.254/32").refusal("169.254.169.254") is None


@pytest.mark.parametrize("text", ["nonsense", "10.0.0.1/8", "300.0.0.0/8", "10.0.0.0/33"])
def test_a_malformed_network_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="is not a network"):
        NetworkPolicy.parse(text)


def test_the_setting_is_checked_when_read(tmp_path: object) -> None:
    assert Settings(allowed_networks="").network_policy == NetworkPolicy()
    assert Settings(allowed_networks=" 127.0.0.0/8 ,").network_policy.describe() == "127.0.0.0/8"
    with pytest.raises(ValidationError, match="not a network"):
        Settings(allowed_networks="10.0.0.0/8,lan")


@pytest.mark.parametrize(
    ("address", "entry"),
    [
        ("169.254.169.254", "169.254.169.254/32"),
        ("::ffff:169.254.169.254", "169.254.169.254/32"),
        ("fd00:ec2::254", "fd00:ec2::254/128"),
        ("10.0.0.7", "10.0.0.7/32"),
    ],
)
def test_the_entry_that_allows_a_refused_address_does_allow_it(address: str, entry: str) -> None:
    nothing = NetworkPolicy()
    assert nothing.refusal(address) is not None
    assert nothing.entry_allowing(address) == entry
    assert NetworkPolicy.parse(entry).refusal(address) is None
