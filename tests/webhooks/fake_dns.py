"""The outside world's DNS, faked in this process: some names answer with given addresses, some never
answer until released, and nothing leaves the machine."""

from __future__ import annotations

import socket
import threading


class FakeDns:
    """`FakeDns(monkeypatch, answers={"hooks.example": ["10.0.0.1"]}, hanging={"slow.example"})`.

    Any other name or address goes to the real resolver (the database driver's connections, for one)."""

    def __init__(self, monkeypatch, answers: dict[str, list[str]] | None = None,
                 hanging: set[str] | None = None) -> None:
        self.answers, self.hanging = answers or {}, hanging or set()
        self.lookups: list[str] = []
        self._released = threading.Event()
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self.getaddrinfo)

    def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):  # noqa: A002 - socket's names
        if host not in self.answers and host not in self.hanging:
            return self._real(host, port, family, type, proto, flags)
        self.lookups.append(host)
        if host in self.hanging:
            self._released.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return [(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (address, port)) for address in self.answers[host]]

    def release(self) -> None:
        """Let every hanging lookup fail now."""
        self._released.set()
