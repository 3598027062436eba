"""Refusing webhook URLs that point inside the network (server-side request forgery).

A URL is accepted only when every address its host resolves to is a public unicast address:
loopback, private (RFC 1918, unique local), link-local, shared (CGNAT), reserved, multicast,
unspecified and cloud metadata addresses are refused. `MAKESENSE_WEBHOOKS_ALLOW_LOOPBACK`
admits loopback addresses only, for local development and tests; it never admits the others.

The check runs at registration and again before every attempt, and the request then goes to
the very address that was checked (the host name travels in `Host` and TLS SNI), so a DNS
answer that changes between the check and the connection (DNS rebinding) cannot redirect it.
"""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services reachable at addresses that are not all link-local.
METADATA = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class UnsafeUrl(Exception):
    """The URL may not be called; the message says why (safe to show the endpoint's owner)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: its host name, port and the address to connect to."""

    scheme: str
    host: str
    port: int
    address: Address


def refusal(address: Address, allow_loopback: bool) -> str | None:
    """Why `address` may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA:
        return "a cloud metadata address"
    if address.is_loopback:
        return None if allow_loopback else "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_private or not address.is_global or address.is_multicast:
        return "a private or reserved address"
    return None


def parse(url: str) -> tuple[str, str, int]:
    """Scheme, host and port of an http(s) URL without credentials; UnsafeUrl otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeUrl("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl("must be an http or https URL with a host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrl("must not carry credentials")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


async def resolve(url: str, allow_loopback: bool) -> Target:
    """Check `url` and pick the address to call; raises UnsafeUrl."""
    scheme, host, port = parse(url)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"the host {host!r} does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        raise UnsafeUrl(f"the host {host!r} does not resolve")
    for address in addresses:
        reason = refusal(address, allow_loopback)
        if reason is not None:
            raise UnsafeUrl(f"the host resolves to {reason}")
    return Target(scheme, host, port, addresses[0])
