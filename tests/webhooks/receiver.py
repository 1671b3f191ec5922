"""A real HTTP receiver for webhook tests: records every request, answers as the test scripts it."""

from __future__ import annotations

import select
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lowercased, as a receiving framework would give them
    body: bytes


@dataclass(frozen=True)
class Drip:
    """An answer that never ends by itself: `at_once` is written at once, then `slowly` one byte every
    `interval` seconds, and then nothing, until the client hangs up."""

    at_once: bytes = b""
    slowly: bytes = b""
    interval: float = 0.1


class Receiver:
    """`with Receiver() as receiver:`; `receiver.url(path)`; `receiver.answers = [500, Drip(...), 200]`
    scripts the next answers (then 200 for ever). `hang_ups` holds, for each Drip answered, the seconds
    from the request's arrival until the client closed the connection. With `certificate` (a PEM file
    holding the key and its certificate) it speaks TLS, and `server_names` records the names clients
    asked for (SNI)."""

    def __init__(self, certificate: str | None = None) -> None:
        self.received: list[Received] = []
        self.answers: list[int | Drip] = []
        self.hang_ups: list[float] = []
        self.server_names: list[str | None] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        if certificate:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certificate)
            context.sni_callback = lambda _socket, name, _context: self.server_names.append(name)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "https" if certificate else "http"
        # Polled often, so that leaving the block (shutdown) takes a moment, not half a second.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def take(self, body: bytes, headers: dict[str, str], path: str) -> int | Drip:
        with self._lock:
            self.received.append(Received(path, headers, body))
            return self.answers.pop(0) if self.answers else 200

    def wait_for(self, count: int, seconds: float = 20) -> list[Received]:
        """The first `count` requests, once that many have arrived."""
        return self._once(self.received, count, seconds, "deliveries")

    def wait_for_hang_ups(self, count: int, seconds: float = 20) -> list[float]:
        """The first `count` hang-ups, once that many clients have closed a dripping answer."""
        return self._once(self.hang_ups, count, seconds, "hang-ups")

    def _once(self, seen: list, count: int, seconds: float, what: str) -> list:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self._lock:
                if len(seen) >= count:
                    return list(seen)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} {what}, got {len(seen)}")

    def drip(self, connection, answer: Drip, arrived: float) -> None:
        """Write the answer as scripted, until the client hangs up (or the receiver closes)."""
        try:
            connection.sendall(answer.at_once)
            slowly = iter(answer.slowly)
            while not self._closing.is_set():
                readable, _, _ = select.select([connection], [], [], answer.interval)
                if readable and not connection.recv(1):
                    break
                byte = next(slowly, None)
                if byte is not None:
                    connection.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            pass
        with self._lock:
            self.hang_ups.append(time.monotonic() - arrived)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            arrived = time.monotonic()
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status = receiver.take(body, {k.lower(): v for k, v in self.headers.items()}, self.path)
            if isinstance(status, Drip):
                self.close_connection = True
                receiver.drip(self.connection, status, arrived)
                return
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_) -> None:
            pass

    return Handler
