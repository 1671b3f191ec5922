"""Where webhooks may go: http(s) only, and not to private, loopback or link-local addresses unless
the operator allows it (a webhook must not become a way to reach the server's own network)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(Exception):
    """The URL is not one webhooks may be delivered to."""


def check_url(url: str, allow_private: bool, resolve: bool = True) -> None:
    """Raise TargetRefused naming why; with `resolve`, every address the host resolves to is checked."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused("must be an absolute http(s) URL")
    if parts.username or parts.password:
        raise TargetRefused("must not carry credentials")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("has a port that is not a number from 0 to 65535") from None
    if allow_private:
        return
    for address in _addresses(parts.hostname, port, resolve):
        if not address.is_global or address.is_multicast:
            raise TargetRefused(f"resolves to a private, loopback or link-local address ({address})")


def _addresses(host: str, port: int, resolve: bool) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return [ipaddress.ip_address("127.0.0.1")]
    if not resolve:
        return []
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except OSError as error:
        raise TargetRefused(f"host {host} does not resolve") from error
    return [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
