"""`orderdesk listen`: a laptop receiver that shows each delivery and checks its signature."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

import httpx

from orderdesk.webhooks.signing import signed_headers
from tests.server import free_port

BODY = b'{"triggerType":"ecomm_new_order","payload":{"orderId":"abc-123"}}'


def test_listen_prints_each_delivery_with_its_signature_verdict():
    port = free_port()
    with tempfile.TemporaryFile() as log:
        listener = subprocess.Popen([sys.executable, "-m", "orderdesk", "listen", "--port", str(port), "--secret", "s3"],
                                    stdout=subprocess.DEVNULL, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}/hook"
            deadline = time.monotonic() + 15
            while True:
                try:
                    good = httpx.post(url, content=BODY, headers=signed_headers("s3", int(time.time() * 1000), BODY, "e1"))
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "listen did not start"
                    time.sleep(0.1)
            bad = httpx.post(url, content=BODY, headers=signed_headers("wrong", int(time.time() * 1000), BODY, "e2"))
            time.sleep(0.3)
        finally:
            listener.terminate()
            listener.wait(timeout=10)
        log.seek(0)
        printed = log.read().decode()

    assert (good.status_code, bad.status_code) == (200, 200)
    assert "ecomm_new_order POST /hook  event e1  signature valid" in printed
    assert "ecomm_new_order POST /hook  event e2  signature INVALID" in printed
    assert '"orderId": "abc-123"' in printed
