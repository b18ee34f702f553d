"""Which addresses a connector may reach: the rule behind the SSRF guard.

A partner types a URL or a host; passeur's workers then connect to it from inside the
operator's network. Without a rule, `http://169.254.169.254/` or `smtp://10.0.0.5` would let
a partner probe that network. The policy refuses every address that is not public
(private, loopback, link-local, carrier-grade NAT, unspecified, multicast, reserved), and
the cloud metadata addresses, unless the operator allows a network
(`PASSEUR_ALLOWED_NETWORKS`). A cloud metadata address is only allowed when it is listed
on its own (e.g. `169.254.169.254/32`): allowing `169.254.0.0/16` for a device on the
link does not open the metadata service.

IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, 6to4, NAT64, Teredo)
are judged by that IPv4 address. This module is pure; the guard that resolves names and
checks every connection is `connectors/network.py`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from passeur.domain.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CLOUD_METADATA: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean…
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",  # AWS over IPv6
    )
)
METADATA = "cloud metadata"  # the refusal that only the exact address, listed, lifts
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class NetworkPolicy:
    """The operator's choice; the default (nothing allowed) refuses every non-public address."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, text: str) -> NetworkPolicy:
        """Parse comma-separated CIDRs ("127.0.0.0/8, 10.1.2.0/24, ::1/128")."""
        networks = []
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            try:
                networks.append(ipaddress.ip_network(part, strict=True))
            except ValueError as exc:
                raise InvalidInput(f"allowed network {part!r} is not a network: {exc}") from None
        return cls(allowed=tuple(networks))

    def refusal(self, address: str | IPAddress) -> str | None:
        """None when `address` may be reached; else why not ("loopback", "private"…)."""
        ip = _ip(address)
        if ip in CLOUD_METADATA:
            exact = ipaddress.ip_network(ip)
            return None if exact in self.allowed else METADATA
        if any(ip.version == net.version and ip in net for net in self.allowed):
            return None
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return self.refusal(embedded)
        if ip.is_global and not ip.is_multicast and not ip.is_reserved:
            return None
        return _category(ip)

    def entry_allowing(self, address: str | IPAddress) -> str:
        """The allowed-networks entry that would let `address` through: the address alone
        (`169.254.169.254/32`), the only entry that opens a cloud metadata address. An
        address that carries another (`::ffff:10.0.0.7`, 6to4) is judged by that one."""
        ip = _ip(address)
        if ip not in CLOUD_METADATA:
            ip = _embedded_ipv4(ip) or ip
        return str(ipaddress.ip_network(ip))

    def describe(self) -> str:
        return ", ".join(str(n) for n in self.allowed) or "none"


def _ip(address: str | IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return address
    return ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _category(ip: IPAddress) -> str:
    if ip.is_unspecified or (isinstance(ip, ipaddress.IPv4Address) and ip.packed[0] == 0):
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT"
    if ip.is_private and not ip.is_reserved:
        return "private"
    return "reserved"
