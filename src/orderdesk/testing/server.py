"""`OrderdeskServer`: `orderdesk serve --sandbox` on a thread of this process (see the package's docstring)."""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx

# What `place_order` sends unless told otherwise: one item, paid by a card the simulated processor refunds.
DEFAULT_ORDER: dict[str, Any] = {
    "customerInfo": {"fullName": "Test Customer", "email": "customer@example.com"},
    "purchasedItems": [{"count": 1, "productName": "Test Product", "variantId": "0" * 24,
                        "variantPrice": {"unit": "USD", "value": "2500"}}],
    "stripeCard": {"last4": "4242", "brand": "Visa", "ownerName": "Test Customer", "expires": {"year": 2030, "month": 1}},
    "shippingAddress": {"type": "shipping", "addressee": "Test Customer", "line1": "1 Main St", "city": "Springfield",
                        "country": "US", "postalCode": "12345"},
}
START_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OrderdeskServer:
    """A sandbox server on 127.0.0.1 and a free port, with a fresh site and an all-scope token.

    `database`: a URL (default: a new SQLite file in a temporary folder, removed on exit); `orders`: how many
    seeded orders the site starts with (the same `seed`, the same orders); `strict_webflow`: serve only what
    Webflow serves."""

    def __init__(self, orders: int = 0, seed: int = 0, database: str | None = None, currency: str = "USD",
                 name: str = "Test Shop", strict_webflow: bool = False) -> None:
        self.orders, self.seed, self.database, self.currency, self.name = orders, seed, database, currency, name
        self.strict_webflow = strict_webflow
        self.port = 0
        self.site_id = self.token = ""
        self._folder: Path | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._client: httpx.Client | None = None
        self._connections: list[httpx.Client] = []

    # --- lifetime ----------------------------------------------------------------------------------------

    def __enter__(self) -> OrderdeskServer:
        self.start()
        return self

    def __exit__(self, *_) -> None:
        self.stop()

    def start(self) -> None:
        import uvicorn

        from orderdesk.api.app import create_app
        from orderdesk.api.server import BoundedHttpProtocol
        from orderdesk.config import Settings
        from orderdesk.services import sandbox
        from orderdesk.store.database import Database
        from orderdesk.store.migrate import upgrade

        if self.database is None:
            self._folder = Path(tempfile.mkdtemp(prefix="orderdesk-test-"))
            self.database = f"sqlite:///{self._folder / 'orderdesk.db'}"
        self.port = _free_port()
        settings = Settings.from_env(database_url=self.database, port=self.port, sandbox=True,
                                     strict_webflow=self.strict_webflow, webhook_allow_private=True,
                                     log_level="warning")
        db = Database.connect(settings.database_url, 2)
        try:
            upgrade(db.engine)
            site, self.token = sandbox.create_site(db, self.name, self.currency)
            self.site_id = site.id
            if self.orders:
                from orderdesk.seed.orders import seed_orders

                seed_orders(db, site, self.orders, seed=self.seed)
        finally:
            db.dispose()
        config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=self.port, lifespan="on",
                                http=partial(BoundedHttpProtocol, settings=settings), ws="none", log_level="warning",
                                access_log=False, timeout_keep_alive=settings.keep_alive_timeout)  # type: ignore[arg-type]
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="orderdesk-test-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the orderdesk test server did not start")
            time.sleep(0.005)
        self._client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}",
                                    headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def stop(self) -> None:
        for connection in self._connections:
            connection.close()
        self._connections.clear()
        if self._client is not None:
            self._client.close()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        self._server = self._thread = self._client = None

    # --- where it is ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The API's base URL, ending in /v2: what a Webflow client takes as its base."""
        return f"http://127.0.0.1:{self.port}/v2"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    # --- the site ------------------------------------------------------------------------------------------

    def place_order(self, **fields: Any) -> dict:
        """Place an order (DEFAULT_ORDER, with `fields` in camelCase over it); the order as GET returns it."""
        return self._call("POST", f"/v2/sites/{self.site_id}/orders", {**DEFAULT_ORDER, **fields}).json()

    def reset(self) -> None:
        self._call("POST", self._control("reset"))

    def snapshot(self, name: str) -> dict:
        return self._call("POST", self._control("snapshots"), {"name": name}).json()

    def restore(self, name: str) -> None:
        self._call("POST", self._control(f"snapshots/{name}/restore"))

    def add_fault(self, **fault: Any) -> dict:
        """`add_fault(operation="get-order", status=429, times=1)`; camelCase or snake_case names."""
        names = {"delay_ms": "delayMs"}
        return self._call("POST", self._control("faults"), {names.get(k, k): v for k, v in fault.items()}).json()

    def clear_faults(self) -> None:
        self._call("DELETE", self._control("faults"))

    def dispute(self, order_id: str, outcome: str | None = None) -> dict:
        body = {} if outcome is None else {"outcome": outcome}
        return self._call("POST", self._control(f"orders/{order_id}/dispute"), body).json()

    def capture(self, order_id: str, amount: int | None = None) -> dict:
        return self._call("POST", self._control(f"orders/{order_id}/capture"),
                          {} if amount is None else {"amount": amount}).json()

    def webflow_client(self):
        """The official SDK's client (`pip install webflow`), pointed at this server with the site's token."""
        from webflow import Webflow
        from webflow.environment import WebflowEnvironment

        environment = WebflowEnvironment(base=self.url, data_api=self.url, content_delivery_api=self.url)
        connection = httpx.Client(timeout=30)
        self._connections.append(connection)  # closed before the server stops
        return Webflow(access_token=self.token, environment=environment, httpx_client=connection)

    def _control(self, path: str) -> str:
        return f"/_orderdesk/sites/{self.site_id}/{path}"

    def _call(self, method: str, path: str, body: dict | None = None) -> httpx.Response:
        if self._client is None:
            raise RuntimeError("the server is not running: use it in a `with` block, or call start()")
        response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            raise OrderdeskError(response)
        return response


class OrderdeskError(Exception):
    """A call of OrderdeskServer's that the server refused: its status and the Webflow error it answered."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        try:
            self.error = response.json()
        except ValueError:
            self.error = {"message": response.text}
        super().__init__(f"{self.status}: {self.error.get('message', '')}")
