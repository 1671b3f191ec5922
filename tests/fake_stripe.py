"""A fake Stripe API for tests: refunds over real HTTP, stateful and stricter than localstripe.

It keeps Stripe's rules that our adapter relies on: a refund never exceeds what is left of its
charge; an `Idempotency-Key` replays the first answer saved for it (with `Idempotent-Replayed`),
refuses the same key with other parameters (400) and while its first request is still being
handled (409); only the configured secret key is accepted (401). Injected 500s happen before the
endpoint starts, so, as on Stripe, nothing is saved for their key and a retry runs afresh.
https://docs.stripe.com/api/idempotent_requests
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

FINAL_OR_RESERVING = {"pending", "requires_action", "succeeded"}  # statuses that use up the charge
NESTED = re.compile(r"^(\w+)\[(\w+)\]$")  # Stripe's form encoding of a hash: metadata[key]=value


def error(status: int, kind: str, code: str | None, message: str, **extra) -> tuple[int, dict]:
    """Stripe's error body; like Stripe, it has no `code` key when there is no code."""
    body = {"type": kind, "message": message, **extra} | ({"code": code} if code else {})
    return status, {"error": body}


class FakeStripe:
    """Start with `with FakeStripe() as fake:` (or start()/stop()); point the client at `fake.url`."""

    def __init__(self, secret_key: str = "sk_test_fake") -> None:
        self.secret_key = secret_key
        self._lock = threading.Condition()
        self._payments: dict[str, dict] = {}  # by payment intent id and by charge id, the same dict
        self._refunds: dict[str, dict] = {}
        self._saved: dict[str, tuple[dict, int, dict]] = {}  # idempotency key -> params, status, body
        self._in_progress: set[str] = set()
        self._created: Counter[str] = Counter()
        self._declines: dict[str, str] = {}  # payment id -> card error code
        self._next_status: str | None = None
        self._failures_left = 0
        self._delay = 0.0
        self._open = threading.Event()
        self._open.set()
        self._held = 0
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> FakeStripe:
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server, self._thread = server, threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.resume()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = None

    def __enter__(self) -> FakeStripe:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- what the test sets up ---------------------------------------------------------------------
    def add_payment(self, payment_intent_id: str, charge_id: str, amount: int, currency: str) -> None:
        """A captured card payment that refunds can be made against, by either id."""
        payment = {"payment_intent": payment_intent_id, "charge": charge_id, "amount": amount, "currency": currency}
        with self._lock:
            self._payments[payment_intent_id] = self._payments[charge_id] = payment

    def decline(self, payment_id: str, code: str = "card_declined") -> None:
        """Refunds of this payment (intent or charge id) are refused with a 402 card error."""
        with self._lock:
            self._declines[self._payments[payment_id]["charge"]] = code

    def delay(self, seconds: float) -> None:
        """Every request is handled, then its answer held back `seconds` (the key stays in progress)."""
        self._delay = seconds

    def fail_next(self, count: int = 1) -> None:
        """The next `count` requests answer 500 without doing anything."""
        with self._lock:
            self._failures_left = count

    def set_next_refund_status(self, status: str) -> None:
        """The next refund created starts in `status` (pending, requires_action, failed...)."""
        with self._lock:
            self._next_status = status

    def set_refund_status(self, refund_id: str, status: str, failure_reason: str | None = None) -> None:
        """What Stripe does later to a refund: settle it, fail it, cancel it."""
        with self._lock:
            refund = self._refunds[refund_id]
            refund["status"] = status
            refund.pop("failure_reason", None)
            if status == "failed":
                refund["failure_reason"] = failure_reason or "unknown"

    def pause(self) -> None:
        """Requests are handled but their answers held until resume(); their keys stay in progress."""
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def wait_until_held(self, count: int, timeout: float = 5.0) -> None:
        """Block until exactly `count` handled requests are waiting to answer (0: the fake is idle)."""
        with self._lock:
            if not self._lock.wait_for(lambda: self._held == count, timeout):
                raise AssertionError(f"{self._held} requests held, expected {count}")

    # -- what the test reads -----------------------------------------------------------------------
    def created_per_key(self) -> dict[str, int]:
        """How many refunds each idempotency key created ("" for requests without a key)."""
        with self._lock:
            return dict(self._created)

    def refund(self, refund_id: str) -> dict:
        with self._lock:
            return json.loads(json.dumps(self._refunds[refund_id]))

    def refunds(self) -> list[dict]:
        with self._lock:
            return json.loads(json.dumps(list(self._refunds.values())))

    def refund_event(self, refund_id: str, event_type: str = "refund.updated") -> dict:
        """A Stripe event carrying the refund as it is now, as Stripe posts it to a webhook endpoint."""
        return {
            "id": "evt_" + secrets.token_hex(12), "object": "event", "api_version": "2025-01-27.acacia",
            "created": int(time.time()), "livemode": False, "pending_webhooks": 1, "type": event_type,
            "request": {"id": None, "idempotency_key": None}, "data": {"object": self.refund(refund_id)},
        }

    @staticmethod
    def sign_event(payload: dict, secret: str, timestamp: int | None = None) -> tuple[bytes, str]:
        """The body and `Stripe-Signature` header Stripe would send: v1 = HMAC-SHA256 of "t.body"."""
        body = json.dumps(payload).encode()
        moment = int(time.time()) if timestamp is None else timestamp
        signature = hmac.new(secret.encode(), f"{moment}.".encode() + body, hashlib.sha256).hexdigest()
        return body, f"t={moment},v1={signature}"

    # -- the API -----------------------------------------------------------------------------------
    def handle(self, method: str, path: str, headers, body: str) -> tuple[int, dict, dict]:
        """One request: (status, JSON body, extra headers). Runs in the server's handler thread."""
        with self._lock:
            self.requests.append((method, path))
            if self._failures_left:
                self._failures_left -= 1
                return (*error(500, "api_error", None, "An unknown error occurred"), {})
        if headers.get("Authorization") != f"Bearer {self.secret_key}":
            return (*error(401, "invalid_request_error", None, "Invalid API Key provided"), {})
        if method == "GET" and path.startswith("/v1/refunds/"):
            return self._answered(*self._retrieve(path.removeprefix("/v1/refunds/")))
        if method != "POST" or path != "/v1/refunds":
            return (*error(404, "invalid_request_error", None, f"Unrecognized request URL ({method}: {path})"), {})
        params = form(body)
        key = headers.get("Idempotency-Key") or ""
        with self._lock:
            if key in self._saved:
                return self._replay(key, params)
            if key in self._in_progress:
                return (*error(409, "idempotency_error", None, "There is currently another in-progress request "
                               "using this Idempotent Key (that probably means you submitted twice, and the other "
                               f"request is still going through): {key}. Please try again later."), {})
            if key:
                self._in_progress.add(key)
        try:
            with self._lock:
                status, answer = self._create(params, key)
            result = self._answered(status, answer)
            # Stripe saves no answer for a request that failed validation, as its endpoint never ran.
            if key and not str(answer.get("error", {}).get("code")).startswith("parameter_"):
                with self._lock:
                    self._saved[key] = (params, status, answer)
            return result
        finally:
            with self._lock:
                self._in_progress.discard(key)

    def _answered(self, status: int, answer: dict) -> tuple[int, dict, dict]:
        # Held after the work is done: a client that gives up now has still made the refund.
        with self._lock:
            self._held += 1
            self._lock.notify_all()
        try:
            time.sleep(self._delay)
            self._open.wait()
        finally:
            with self._lock:
                self._held -= 1
                self._lock.notify_all()
        return status, answer, {}

    def _replay(self, key: str, params: dict) -> tuple[int, dict, dict]:
        first_params, status, answer = self._saved[key]
        if first_params != params:
            return (*error(400, "idempotency_error", None, f"Keys for idempotent requests can only be used with "
                           f"the same parameters they were first used with. Try using a key other than '{key}' "
                           "if you meant to execute a different request."), {})
        return status, answer, {"Idempotent-Replayed": "true"}

    def _retrieve(self, refund_id: str) -> tuple[int, dict]:
        with self._lock:
            if refund_id not in self._refunds:
                return error(404, "invalid_request_error", "resource_missing", f"No such refund: '{refund_id}'",
                             param="id")
            return 200, json.loads(json.dumps(self._refunds[refund_id]))

    def _create(self, params: dict, key: str) -> tuple[int, dict]:
        payment_id = params.get("payment_intent") or params.get("charge")
        if payment_id is None:
            return error(400, "invalid_request_error", "parameter_missing",
                         "One of the following params should be provided for this request: payment_intent or charge.")
        payment = self._payments.get(payment_id)
        if payment is None or (params.get("charge") and params.get("payment_intent")
                               and payment["charge"] != params["charge"]):
            kind = "payment_intent" if "payment_intent" in params else "charge"
            return error(400, "invalid_request_error", "resource_missing", f"No such {kind}: '{payment_id}'",
                         param=kind)
        if params.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            return error(400, "invalid_request_error", "parameter_invalid_string", "Invalid reason: must be one "
                         "of duplicate, fraudulent, or requested_by_customer", param="reason")
        if not str(params.get("amount", "1")).isdigit() or params.get("amount") == "0":
            return error(400, "invalid_request_error", "parameter_invalid_integer",
                         "This value must be greater than or equal to 1.", param="amount")
        left = payment["amount"] - sum(
            refund["amount"] for refund in self._refunds.values()
            if refund["charge"] == payment["charge"] and refund["status"] in FINAL_OR_RESERVING
        )
        amount = int(params.get("amount", left))
        if left == 0:
            return error(400, "invalid_request_error", "charge_already_refunded",
                         f"Charge {payment['charge']} has already been refunded.")
        if amount > left:
            return error(400, "invalid_request_error", "amount_too_large", f"Refund amount ({amount}) is greater "
                         f"than unrefunded amount on charge ({left})", param="amount")
        if payment["charge"] in self._declines:
            return error(402, "card_error", self._declines[payment["charge"]], "Your card was declined.",
                         decline_code="generic_decline", charge=payment["charge"])
        status, self._next_status = self._next_status or "succeeded", None
        refund = {
            "id": "re_" + secrets.token_hex(12), "object": "refund", "amount": amount,
            "balance_transaction": "txn_" + secrets.token_hex(12), "charge": payment["charge"],
            "created": int(time.time()), "currency": payment["currency"], "destination_details": None,
            "metadata": params.get("metadata", {}), "payment_intent": payment["payment_intent"],
            "reason": params.get("reason"), "receipt_number": None, "source_transfer_reversal": None,
            "status": status, "transfer_reversal": None,
        }
        if status == "failed":
            refund["failure_reason"] = "unknown"
        if status == "requires_action":
            refund["next_action"] = {"type": "display_details", "display_details": {
                "email_sent": {"email_sent_at": refund["created"], "email_sent_to": "customer@example.com"},
                "expires_at": refund["created"] + 7 * 86400}}
        self._refunds[refund["id"]] = refund
        self._created[key] += 1
        return 200, json.loads(json.dumps(refund))


def form(body: str) -> dict:
    """Stripe's form encoding back to a dict: `metadata[a]=1` becomes {"metadata": {"a": "1"}}."""
    params: dict = {}
    for name, value in parse_qsl(body, keep_blank_values=True):
        nested = NESTED.match(name)
        if nested:
            params.setdefault(nested[1], {})[nested[2]] = value
        else:
            params[name] = value
    return params


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so that stop() joins every handler thread
    request_queue_size = 64  # many threads connecting at once must not wait for a SYN retry


def _handler_for(fake: FakeStripe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        timeout = 10  # a client that never sends its request cannot keep stop() waiting

        def do_GET(self) -> None:
            self._serve()

        def do_POST(self) -> None:
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            status, answer, extra = fake.handle(self.command, self.path.split("?")[0], self.headers, body)
            encoded = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.send_header("Request-Id", "req_" + secrets.token_hex(7))
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(encoded)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (our timeout tests); Stripe's answer is lost the same way

        def log_message(self, format: str, *args) -> None:
            pass  # quiet test output

    return Handler
