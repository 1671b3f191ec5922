"""Web and email addresses a client gives us: checked here, once, for every field that holds one."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MAX_URL = 2048
MAX_EMAIL = 254  # RFC 5321's longest forward path, less its angle brackets
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)\Z", re.IGNORECASE)
_EMAIL = re.compile(r"[^\s@<>()\[\],;:\"\\]{1,64}@(?P<domain>[^\s@<>()\[\],;:\"\\]+)\Z")


def is_host_name(host: str) -> bool:
    """A DNS name (labels of letters, digits and inner hyphens; one trailing dot allowed), or an IP address."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
    if not host or len(host) > 253:
        return False
    try:
        labels = [label.encode("idna").decode("ascii") if not label.isascii() else label for label in labels]
    except UnicodeError:
        return False
    return all(_LABEL.match(label) for label in labels)


def is_web_url(text: str) -> bool:
    """An absolute http(s) URL with a valid host: no spaces, no control characters, no credentials."""
    if not 0 < len(text) <= MAX_URL or any(character.isspace() or not character.isprintable() for character in text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number from 0 to 65535
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host or parts.username is not None:
        return False
    bracketed = parts.netloc.rpartition("@")[2].startswith("[")
    if bracketed:
        try:
            return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
        except ValueError:
            return False
    return is_host_name(host)


def is_email(text: str) -> bool:
    """One address, `local@domain.tld`, no longer than a mail server takes."""
    match = _EMAIL.match(text)
    if len(text) > MAX_EMAIL or match is None:
        return False
    domain = match.group("domain")
    return "." in domain.strip(".") and is_host_name(domain)
