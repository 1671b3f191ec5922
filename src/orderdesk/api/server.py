"""The HTTP server's own bounds, below the app: uvicorn's httptools protocol with the timeouts and the
connection cap it lacks, and its own answers in the Webflow envelope.

uvicorn (0.54) times out only an idle keep-alive connection, and only after a first response: a client
that connects and sends nothing, or sends its headers a byte at a time (slowloris), or stops halfway
through a body, holds its connection, its file descriptor and its buffers for ever. Here:

- headers: a request's line and headers must be complete `header_timeout` seconds after its first
  byte (a new connection's clock starts when it opens); no more than MAX_HEADER_BYTES of them;
- body: a request body that goes `body_timeout` seconds without a byte, while the app waits for it, is
  answered 408 and the connection closed; the rest of a body the app answered without reading (the
  pipeline's 401) is read and dropped, and must arrive within `body_timeout` seconds of that answer (or
  without a `keep_alive_timeout` of silence), or the connection is closed;
- idle: uvicorn's keep-alive timeout (`keep_alive_timeout`), which also applies when the bytes that
  arrive between requests start no request;
- connections: past `max_connections` open at once, a connection is answered 503 as soon as its headers
  are in, and closed; it gets OVER_CAP_HEADER_SECONDS to send them, so a flood of them costs a file
  descriptor for about that long each.

A request the parser refuses gets its answer in the envelope, with an X-Request-Id, instead of
uvicorn's plain text: 400 (a bad request line or header), 414 (a URL over 64 KiB), 431 (headers over
64 KiB).
"""

from __future__ import annotations

import time

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from orderdesk.api import metrics
from orderdesk.api.errors import error_parts, send_error
from orderdesk.api.middleware import RequestContext, new_request_id
from orderdesk.config import Settings
from orderdesk.errors import (
    AppError, BadRequest, HeadersTooLarge, RequestTimeout, TooManyConnections, URLTooLong,
)

MAX_HEADER_BYTES = 64 * 1024  # of a URL, and of the headers; ours are a few hundred bytes
OVER_CAP_HEADER_SECONDS = 1.0
DROP = "orderdesk.drop"  # the ASGI scope extension that closes the connection without an answer


async def _refuse_connection(scope, receive, send) -> None:
    await send_error(send, TooManyConnections())


class BoundedHttpProtocol(HttpToolsProtocol):
    """One connection; uvicorn makes one per connection with `http=partial(BoundedHttpProtocol, settings=...)`."""

    def __init__(self, *args, settings: Settings, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.settings = settings
        self._timer = None  # the header or body deadline; uvicorn keeps its keep-alive timer apart
        self._over_cap = False
        self._messages = 0  # requests begun on this connection
        self._in_headers = False  # a request has begun and its headers are not complete
        self._in_body = False  # its headers are complete and its body is not
        self._url_bytes = 0
        self._header_bytes = 0  # as the parser reports them, header by header
        self._header_chunks = 0  # of whole reads that fell inside the headers (a header still being received)
        self._last_body_at = 0.0
        self._body_started = False
        self._refusal: AppError | None = None  # why the parser was stopped, if we stopped it
        self._started = time.perf_counter()

    # --- connection ---------------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        seconds = self.settings.header_timeout
        if len(self.connections) > self.settings.max_connections:
            # This connection only, answered after its headers (a client reads an answer to its request):
            # the app's stack around the refusal, so that it carries X-Request-Id and is counted.
            self.app = RequestContext(_refuse_connection, access_log=False)
            self._over_cap = True
            seconds = min(seconds, OVER_CAP_HEADER_SECONDS)
        self._arm(seconds, self._headers_late)

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        inside_headers, message = self._in_headers, self._messages
        super().data_received(data)
        if self.parser is None or self.transport.is_closing():
            return
        if inside_headers and self._in_headers and message == self._messages:
            # The parser holds a header it has not finished in memory of its own: bound that too.
            self._header_chunks += len(data)
            if self._header_chunks > MAX_HEADER_BYTES:
                self._answer_and_close(HeadersTooLarge())
                return
        if self._timer is not None:
            return
        # Armed only for what this read left unfinished: a request that arrived whole costs no timer.
        if self._in_headers:
            self._arm(self.settings.header_timeout, self._headers_late)
        elif self._in_body:
            if not self.cycle.response_complete:  # (after an early answer, the deadline is already set)
                self._last_body_at = self.loop.time()
                self._arm(self.settings.body_timeout, self._body_stalled)
        elif self.timeout_keep_alive_task is None and (self.cycle is None or self.cycle.response_complete):
            # Bytes between requests that start none (blank lines) cancelled the keep-alive timer.
            self._arm(self.settings.header_timeout, self._headers_late)

    # --- parser callbacks ---------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_headers, self._url_bytes, self._header_bytes, self._header_chunks = True, 0, 0, 0
        self._body_started = False
        self._messages += 1
        self._started = time.perf_counter()

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > MAX_HEADER_BYTES:
            self._stop_parser(URLTooLong())
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4  # ": " and CRLF
        if self._header_bytes > MAX_HEADER_BYTES:
            self._stop_parser(HeadersTooLarge())
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._in_headers, self._in_body = False, True
        # The sandbox's `drop` fault (api/pipeline.py): the connection closed with no answer at all.
        self.scope.setdefault("extensions", {})[DROP] = self._drop
        super().on_headers_complete()
        if self._over_cap and self.cycle is not None:
            self.cycle.keep_alive = False  # the over-the-cap answer closes its connection

    def _drop(self) -> None:
        if self.cycle is not None:
            self.cycle.disconnected = True  # uvicorn then neither answers a 500 nor logs one
        self.transport.close()

    def on_body(self, body: bytes) -> None:
        self._last_body_at = self.loop.time()
        self._body_started = True
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # (self.cycle is the newest request's: with pipelining, maybe one that has not been answered yet.)
        if self._in_body and self.cycle.response_complete and not self.transport.is_closing():
            if self.expect_100_continue and not self._body_started:
                # The client waits for a 100 Continue before it sends the body: it never will now.
                self.transport.close()
                return
            # Answered without its body (the pipeline's 401): the rest is read and dropped, for a while.
            self._arm(self.settings.body_timeout, self.transport.close)

    # --- refusals -----------------------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request its parser refused: ours is the envelope."""
        self._answer_and_close(self._refusal or BadRequest())

    def _stop_parser(self, refusal: AppError) -> None:
        """From a parser callback: the parser stops with an error, and uvicorn calls send_400_response."""
        self._refusal = refusal
        raise ValueError(refusal.message)

    def _headers_late(self) -> None:
        self._timer = None
        if self._in_headers:
            self._answer_and_close(RequestTimeout())
        elif not self.transport.is_closing():
            self.transport.close()  # nothing of a request arrived: nobody to answer

    def _body_stalled(self) -> None:
        self._timer = None
        waited = self.loop.time() - self._last_body_at
        if self.flow.read_paused:
            # The app is not reading (busy, or a pipelined request waits its turn): not the client's stall.
            self._last_body_at = self.loop.time()
            self._arm(self.settings.body_timeout, self._body_stalled)
        elif waited < self.settings.body_timeout:
            self._arm(self.settings.body_timeout - waited, self._body_stalled)
        elif self.cycle is not None and self.cycle.response_started:
            self.transport.close()
        else:
            self._answer_and_close(RequestTimeout())

    def _answer_and_close(self, error: AppError) -> None:
        """Writes `error` in the envelope straight to the connection and closes it; the request's app, if
        one is running, sees a disconnect and its answer goes nowhere."""
        self._disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle if self.cycle is not None and not self.cycle.response_complete else None
        if cycle is not None and cycle.response_started:
            self.transport.close()  # half an answer is out: another would be read as its rest
            cycle.disconnected = True
            return
        request_id = (cycle.scope.get("state", {}).get("request_id") if cycle is not None else None) \
            or new_request_id()
        # Written straight to the connection, ahead of anything the app would send, yet the same answer.
        status, headers, body = error_parts(error)
        head = [STATUS_LINE[status], *(name + b": " + value + b"\r\n"
                                       for name, value in [*self.server_state.default_headers, *headers]),
                b"content-type: application/json\r\n", b"content-length: %d\r\n" % len(body),
                b"x-request-id: " + request_id.encode() + b"\r\n", b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
        if cycle is not None:
            # Its app sees a disconnect; the app's stack counts that request in the metrics.
            cycle.disconnected = True
            cycle.message_event.set()
        else:
            method = self.scope.get("method", "other") if self.scope is not None else "other"
            metrics.record_request(method, metrics.UNROUTED, status, time.perf_counter() - self._started)

    def _arm(self, seconds: float, callback) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, callback)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
