"""Where webhooks may go: http(s) only, and not to private, loopback or link-local addresses unless
the operator allows it (a webhook must not become a way to reach the server's own network).

Registration checks what the URL itself says, without DNS: its form, and the address when the host is
one, in any spelling a resolver or a browser would take for it (`2130706433`, `0x7f.1`, `[::7f00:1]`,
`[64:ff9b::7f00:1]`, ...). Names are resolved only at delivery (`resolve`), before every attempt and
within its deadline: an answer at registration would prove nothing about the next delivery (DNS
changes), and waiting for it put a client-chosen wait on the request path. The worker then connects to
the address it checked, never to a second lookup's answer.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from concurrent.futures import Executor
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from orderdesk.domain.addresses import is_web_url

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
NOT_A_URL = "must be an absolute http(s) URL"
DEFAULT_PORTS = {"http": 80, "https": 443}
# IPv6 prefixes whose last 32 bits are an IPv4 address the packets end up at: IPv4-compatible (RFC 4291,
# deprecated, ::/96), IPv4-translated (RFC 2765, ::ffff:0:0:0/96) and NAT64's well-known prefix (RFC 6052).
# (IPv4-mapped and 6to4 have ipaddress properties of their own.)
_EMBEDDING_IPV4 = [ipaddress.ip_network(prefix) for prefix in ("::/96", "::ffff:0:0:0/96", "64:ff9b::/96")]
# Not global, though this Python's ipaddress tables say so: site-local (RFC 3879) and NAT64's
# local-use prefix (RFC 8215), which translates to whatever network the operator chose.
_ALSO_PRIVATE = [ipaddress.ip_network(prefix) for prefix in ("fec0::/10", "64:ff9b:1::/48")]
_PRINTABLE = "".join(map(chr, range(0x21, 0x7F)))  # is_web_url refuses spaces and control characters
_DIGITS = {8: frozenset("01234567"), 10: frozenset("0123456789"), 16: frozenset("0123456789abcdefABCDEF")}


class TargetRefused(Exception):
    """The URL is not one webhooks may be delivered to."""


@dataclass(frozen=True, slots=True)
class Target:
    """A webhook URL taken apart as the worker uses it."""

    scheme: str
    host: str  # lowercase ASCII, without brackets or a trailing dot: what TLS and the Host header name
    port: int
    address: Address | None  # when the host is an address, in whatever spelling it was written
    authority: str  # the Host header: the host, and the port when it is not the scheme's own
    path: str  # the request target: path and query, anything outside ASCII percent-encoded

    @property
    def is_localhost(self) -> bool:
        return self.host == "localhost" or self.host.endswith(".localhost")  # loopback by RFC 6761


def check_url(url: str, allow_private: bool) -> Target:
    """The URL's target; raises TargetRefused naming why webhooks may not go there. Never waits on DNS."""
    target = _parse(url)
    if target.host == "invalid" or target.host.endswith(".invalid"):  # never resolves (RFC 6761)
        raise TargetRefused(f"host {target.host} does not resolve")
    if allow_private:
        return target
    if target.is_localhost:
        raise TargetRefused(_private(ipaddress.IPv4Address("127.0.0.1")))
    if target.address is not None:
        check_address(target.address)
    return target


def _parse(url: str) -> Target:
    try:
        parts = urlsplit(url)
        parts.hostname  # noqa: B018 - raises ValueError for an unclosed "[" in the host
    except ValueError:
        raise TargetRefused(NOT_A_URL) from None
    if "@" in parts.netloc:
        raise TargetRefused("must not carry credentials")
    try:
        port = parts.port
    except ValueError:
        raise TargetRefused("has a port that is not a number from 0 to 65535") from None
    if not is_web_url(url):
        raise TargetRefused(NOT_A_URL)
    written = parts.hostname or ""
    bracketed = parts.netloc.startswith("[")
    host = written.rstrip(".") if written.endswith(".") and not bracketed else written
    host = ".".join(label if label.isascii() else label.encode("idna").decode("ascii") for label in host.split("."))
    try:
        address = ipaddress.IPv6Address(host) if bracketed else ipv4_number(host)
    except ValueError:  # a host that ends in a number is an IPv4 address, or nothing (WHATWG URL)
        raise TargetRefused(NOT_A_URL) from None
    if bracketed and "%" in host:  # a zone names one of this machine's interfaces: never a receiver
        raise TargetRefused(NOT_A_URL)
    scheme = parts.scheme.lower()
    port = DEFAULT_PORTS[scheme] if port is None else port
    shown = f"[{host}]" if bracketed else host
    authority = shown if port == DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    query = f"?{quote(parts.query, safe=_PRINTABLE)}" if parts.query else ""
    path = quote(parts.path or "/", safe=_PRINTABLE) + query
    return Target(scheme, host, port, address, authority, path)


def ipv4_number(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host spelled with numbers means (`127.1`, `2130706433`, `0x7f.0.0.1`, `0177.1`),
    as WHATWG's URL standard and inet_aton(3) read it; None for a name. Raises ValueError for a host
    that ends in a number yet is no address (`1.2.3.4.5`, `256.1`, `08`).
    https://url.spec.whatwg.org/#concept-ipv4-parser"""
    parts = host.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    last = parts[-1]
    if not (last.isascii() and last.isdigit()) and not last.lower().startswith("0x"):
        return None
    if len(parts) > 4:
        raise ValueError(host)
    numbers = [_ipv4_part(part) for part in parts]
    if any(number > 255 for number in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(host)
    value = numbers[-1] + sum(number << (8 * (3 - index)) for index, number in enumerate(numbers[:-1]))
    return ipaddress.IPv4Address(value)


def _ipv4_part(part: str) -> int:
    digits, base = (part[2:], 16) if part.lower().startswith("0x") else (part[1:], 8) if part[:1] == "0" else (part, 10)
    if not all(character in _DIGITS[base] for character in digits) or (base == 10 and not digits):
        raise ValueError(part)
    return int(digits or "0", base)


def check_address(address: Address) -> None:
    if not is_public(address):
        raise TargetRefused(_private(address))


def is_public(address: Address) -> bool:
    """Reachable on the internet, and not multicast: judged by the IPv4 address an IPv6 one embeds."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or next(
            (ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) for prefix in _EMBEDDING_IPV4 if address in prefix),
            None)
        if embedded is not None:
            return is_public(embedded)
        if any(address in network for network in _ALSO_PRIVATE):
            return False
    return address.is_global and not address.is_multicast


async def resolve(target: Target, allow_private: bool, resolver: Executor) -> list[Address]:
    """The addresses to connect to, each checked; raises TargetRefused. Cancellable: a lookup that
    outlives its caller's deadline finishes on its own in `resolver`, and nobody waits for it."""
    if target.address is not None:
        return [target.address]
    loop = asyncio.get_running_loop()
    try:
        found = await loop.run_in_executor(resolver, socket.getaddrinfo, target.host, target.port, 0,
                                           socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise TargetRefused(f"host {target.host} does not resolve") from error
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))
    if not allow_private:
        for address in addresses:  # one private answer refuses all: the name is not the receiver's alone
            check_address(address)
    return addresses


def _private(address: Address) -> str:
    return f"resolves to a private, loopback or link-local address ({address})"
