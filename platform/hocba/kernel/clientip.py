"""The client's address: from ``X-Forwarded-For`` only when the direct peer is a proxy we trust.

Anyone can send ``X-Forwarded-For``; only the hops our own proxies appended to it are true. The rule (the standard
one): when ``REMOTE_ADDR`` is not in ``settings.TRUSTED_PROXIES`` (``HOCBA_TRUSTED_PROXIES``, empty by default), the
client is ``REMOTE_ADDR`` and the header is ignored. Otherwise the header is read right to left, each trusted hop is
skipped, and the first hop that is not trusted is the client. A hop that is not an address stops the walk: the client
is then the last address a trusted proxy vouched for. When every hop is trusted the client is the leftmost one.

The audit trail (``RequestContextMiddleware``) and allauth's rate limits (``tenants.auth.AccountAdapter``) both use
:func:`client_ip`, so a client that forges the header gets neither a false audit address nor a fresh rate-limit key.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from django.conf import settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.0/8", "192.0.2.7", "::1"]`` → networks (a bare address is a /32 or /128); ValueError on junk."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def parse_address(text: str) -> Address | None:
    """One hop of the header: ``198.51.100.7``, ``198.51.100.7:5123``, ``2001:db8::1``, ``[2001:db8::1]:443``."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def resolve(remote_addr: str, forwarded_for: str, networks: tuple[Network, ...]) -> str:
    """The client's address from the direct peer, the ``X-Forwarded-For`` value and the trusted networks."""
    peer = parse_address(remote_addr or "")
    if peer is None:
        return remote_addr or ""
    if not networks or not forwarded_for or not _trusted(peer, networks):
        return str(peer)
    vouched = peer
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if address is None:
            return str(vouched)
        if not _trusted(address, networks):
            return str(address)
        vouched = address
    return str(vouched)


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return parse_networks(entries)


def client_ip(request) -> str:
    """The address of the client of ``request`` by the rule above, with ``settings.TRUSTED_PROXIES``."""
    networks = _networks(tuple(getattr(settings, "TRUSTED_PROXIES", ())))
    return resolve(request.META.get("REMOTE_ADDR", ""), request.META.get("HTTP_X_FORWARDED_FOR", ""), networks)
