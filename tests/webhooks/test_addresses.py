"""Where webhooks may go (BEHAVIOUR.md section 6): every spelling of a loopback, private or link-local
address is refused at registration, a bad URL is a 400 naming `url`, and registration never waits on
DNS; names are resolved, and checked, at delivery."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from orderdesk.config import Settings
from orderdesk.services import webhooks
from orderdesk.store.database import Database
from orderdesk.webhooks.delivery import Deliverer
from tests.api.test_webhooks_api import create, invalid, stored
from tests.factories import make_shop, place
from tests.server import RunningServer, start_server
from tests.webhooks.fake_dns import FakeDns
from tests.webhooks.receiver import Receiver

NOT_A_URL = "must be an absolute http(s) URL"

PRIVATE = {  # the URL, and the address named in the refusal
    # loopback
    "http://[::127.0.0.1]/hook": "::7f00:1",  # IPv4-compatible
    "http://[::7f00:1]/hook": "::7f00:1",
    "http://[::ffff:127.0.0.1]/hook": "::ffff:7f00:1",  # IPv4-mapped
    "http://[::ffff:0:7f00:1]/hook": "::ffff:0:7f00:1",  # IPv4-translated
    "http://[64:ff9b::7f00:1]/hook": "64:ff9b::7f00:1",  # NAT64
    "http://[2002:7f00:1::]/hook": "2002:7f00:1::",  # 6to4
    "http://[::1]/hook": "::1",
    "http://[0:0:0:0:0:0:0:1]/hook": "::1",
    "http://2130706433/hook": "127.0.0.1",  # one decimal number
    "http://0x7f.1/hook": "127.0.0.1",
    "http://0x7f000001/hook": "127.0.0.1",
    "http://0177.0.0.1/hook": "127.0.0.1",  # octal
    "http://017700000001/hook": "127.0.0.1",
    "http://127.1/hook": "127.0.0.1",
    "http://127.000.000.001/hook": "127.0.0.1",
    "http://127.0.0.1./hook": "127.0.0.1",
    "http://LOCALHOST./hook": "127.0.0.1",
    "http://hooks.localhost/hook": "127.0.0.1",
    # this host, any address
    "http://0.0.0.0/hook": "0.0.0.0",
    "http://0/hook": "0.0.0.0",
    "http://[::]/hook": "::",
    # private, shared and link-local, as written and embedded in IPv6
    "http://10.1/hook": "10.0.0.1",
    "http://[::ffff:10.0.0.1]/hook": "::ffff:a00:1",
    "http://[2002:c0a8:101::]/hook": "2002:c0a8:101::",  # 6to4 of 192.168.1.1
    "http://0xa9fea9fe/latest": "169.254.169.254",
    "http://2852039166/latest": "169.254.169.254",
    "http://[64:ff9b::a9fe:a9fe]/latest": "64:ff9b::a9fe:a9fe",
    "http://[64:ff9b:1::a00:1]/hook": "64:ff9b:1::a00:1",  # NAT64 for local use (RFC 8215)
    "http://100.64.0.1/hook": "100.64.0.1",  # carrier-grade NAT
    "http://[fe80::1]/hook": "fe80::1",
    "http://[fc00::1]/hook": "fc00::1",
    "http://[fec0::1]/hook": "fec0::1",  # site-local
    "http://[2001:db8::1]/hook": "2001:db8::1",  # documentation
    # multicast and broadcast
    "http://224.0.0.1/hook": "224.0.0.1",
    "http://[ff02::1]/hook": "ff02::1",
    "http://255.255.255.255/hook": "255.255.255.255",
}

BAD = {
    "http://[::1": NOT_A_URL,
    "http://a..b/": NOT_A_URL,
    "http:///hook": NOT_A_URL,
    "http://": NOT_A_URL,
    "http:93.184.215.14/hook": NOT_A_URL,
    "http://exa mple.com/hook": NOT_A_URL,
    "http://example.com/a hook": NOT_A_URL,
    " http://example.com/hook": NOT_A_URL,
    "http://example.com/hook\n": NOT_A_URL,
    "http://example.com\\hook": NOT_A_URL,
    "javascript:alert(1)": NOT_A_URL,
    "file:///etc/passwd": NOT_A_URL,
    "gopher://93.184.215.14/": NOT_A_URL,
    "http://1.2.3.4.5/hook": NOT_A_URL,
    "http://256.1.1.1/hook": NOT_A_URL,
    "http://08/hook": NOT_A_URL,
    "http://example.0x1/hook": NOT_A_URL,  # ends in a number, so an address, and not one
    "http://[fe80::1%25eth0]/hook": NOT_A_URL,
    "http://[v1.x]/hook": NOT_A_URL,
    "http://-hooks.example/hook": NOT_A_URL,
    "http://hooks_1.example/hook": NOT_A_URL,
    "http://" + "a" * 64 + ".example/hook": NOT_A_URL,
    "http://user@93.184.215.14/hook": "must not carry credentials",
    "http://@93.184.215.14/hook": "must not carry credentials",
    "http://user:secret@[::1]/hook": "must not carry credentials",
    "http://93.184.215.14:65536/hook": "has a port that is not a number from 0 to 65535",
    "http://93.184.215.14:+80/hook": "has a port that is not a number from 0 to 65535",
}

# Global addresses in spellings of their own, and a name (not resolved until delivery): all accepted.
PUBLIC = ["http://1572395022/hook", "http://0x5d.0xb8.0xd7.0x0e/hook", "http://[::ffff:93.184.215.14]/hook",
          "http://[64:ff9b::5db8:d70e]/hook", "http://[2002:5db8:d70e::]/hook", "http://[2606:4700::1111]/hook",
          "https://HOOKS.Orderdesk.example./hook", "https://hooks.orderdesk.example:8443/hook?site=1"]


@pytest.fixture(scope="module")
def strict_server(database_url) -> Iterator[RunningServer]:
    """Refusing private addresses, and running no delivery worker (see tests/api/test_webhooks_api.py)."""
    running = start_server(database_url, env={"ORDERDESK_WEBHOOK_ALLOW_PRIVATE": "false",
                                              "ORDERDESK_DELIVERY_WORKER": "false"})
    yield running
    running.stop()


REFUSED = {**{url: f"resolves to a private, loopback or link-local address ({address})"
              for url, address in PRIVATE.items()}, **BAD}


@pytest.mark.parametrize(("url", "message"), REFUSED.items(), ids=list(REFUSED))
def test_a_private_address_in_any_spelling_or_a_bad_url_is_refused_naming_url(strict_server, db, url, message):
    shop = make_shop(db)

    response = create(strict_server, shop, url=url)

    assert response.status_code == 400
    assert response.json() == invalid("url", message)
    assert stored(db, shop) == []


def test_global_addresses_in_any_spelling_and_names_are_accepted(strict_server, db):
    shop = make_shop(db)

    answers = [create(strict_server, shop, url=url) for url in PUBLIC]

    assert [(answer.status_code, answer.json()["url"]) for answer in answers] == [(201, url) for url in PUBLIC]
    assert [row.url for row in stored(db, shop)] == PUBLIC


def test_a_host_that_cannot_resolve_is_refused_at_once(strict_server, db):
    shop = make_shop(db)

    started = time.perf_counter()
    response = create(strict_server, shop, url="https://hooks.orderdesk.invalid/hook")
    took = time.perf_counter() - started

    assert took < 1.0
    assert response.status_code == 400
    assert response.json() == invalid("url", "host hooks.orderdesk.invalid does not resolve")
    assert stored(db, shop) == []


def test_registration_never_waits_on_dns(db, monkeypatch):
    dns = FakeDns(monkeypatch, hanging={"hooks.slow-dns.example"})
    shop = make_shop(db)
    try:
        started = time.perf_counter()
        webhook = webhooks.create_webhook(db, shop.site.id, "ecomm_new_order", "https://hooks.slow-dns.example/hook",
                                          None, allow_private=False)
        took = time.perf_counter() - started
    finally:
        dns.release()

    assert took < 1.0
    assert dns.lookups == []
    assert [row.id for row in stored(db, shop)] == [webhook.id]


def deliver_due(db: Database, allow_private: bool) -> int:
    deliverer = Deliverer(db, Settings(webhook_allow_private=allow_private, webhook_retries=0))
    try:
        return deliverer.deliver_due()
    finally:
        deliverer.close()


def test_a_name_that_resolves_to_a_private_address_is_refused_at_delivery(own_db, monkeypatch):
    dns = FakeDns(monkeypatch, answers={"hooks.rebound.example": ["93.184.215.14", "10.0.0.1"]})
    shop = make_shop(own_db)
    webhook = webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order", "https://hooks.rebound.example/hook",
                                      None, allow_private=False)
    place(own_db, shop)

    handled = deliver_due(own_db, allow_private=False)

    (attempt,) = webhooks.delivery_attempts(own_db, shop.site.id, webhook.id)
    assert (handled, dns.lookups) == (1, ["hooks.rebound.example"])
    assert (attempt.status_code, attempt.error) == (
        None, "refused: resolves to a private, loopback or link-local address (10.0.0.1)")


def test_a_delivery_goes_to_the_address_checked_under_the_urls_name(own_db, monkeypatch):
    shop = make_shop(own_db)
    with Receiver() as receiver:
        port = receiver.port
        dns = FakeDns(monkeypatch, answers={"hooks.receiver.example": ["127.0.0.1"]})
        webhook = webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order",
                                          f"http://hooks.receiver.example:{port}/hook?site=1", None, allow_private=True)
        order = place(own_db, shop)

        deliver_due(own_db, allow_private=True)

        (received,) = receiver.wait_for(1)
    (attempt,) = webhooks.delivery_attempts(own_db, shop.site.id, webhook.id)
    assert dns.lookups == ["hooks.receiver.example"]  # once: the connection went to the address it answered
    assert (received.path, received.headers["host"]) == ("/hook?site=1", f"hooks.receiver.example:{port}")
    assert json.loads(received.body)["payload"]["orderId"] == order.order_id
    assert (attempt.status_code, attempt.error) == (200, None)


def test_a_worker_that_refuses_private_addresses_refuses_a_loopback_webhook_registered_when_allowed(own_db):
    shop = make_shop(own_db)
    with Receiver() as receiver:
        webhook = webhooks.create_webhook(own_db, shop.site.id, "ecomm_new_order",
                                          receiver.url().replace("127.0.0.1", "2130706433"), None, allow_private=True)
        place(own_db, shop)

        deliver_due(own_db, allow_private=False)

    (attempt,) = webhooks.delivery_attempts(own_db, shop.site.id, webhook.id)
    assert receiver.received == []
    assert (attempt.status_code, attempt.error) == (
        None, "refused: resolves to a private, loopback or link-local address (127.0.0.1)")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> str:
    """A self-signed certificate for hooks.tls.example: one PEM file with the key and the certificate."""
    if shutil.which("openssl") is None:
        if os.environ.get("CI"):
            pytest.fail("openssl is required in CI for the TLS delivery test")
        pytest.skip("openssl is not installed: the TLS delivery test is skipped (outside CI only)")
    folder = tmp_path_factory.mktemp("tls")
    key, certificate = folder / "key.pem", folder / "certificate.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(key), "-out", str(certificate), "-days", "1", "-subj", "/CN=hooks.tls.example",
                    "-addext", "subjectAltName=DNS:hooks.tls.example"], check=True, capture_output=True, timeout=60)
    both = folder / "both.pem"
    both.write_bytes(key.read_bytes() + certificate.read_bytes())
    return str(both)


def test_over_tls_the_urls_name_is_asked_for_and_checked_at_the_checked_address(own_db, monkeypatch, certificate):
    monkeypatch.setenv("SSL_CERT_FILE", certificate)  # the one certificate the worker trusts
    named, misnamed = make_shop(own_db), make_shop(own_db)
    with Receiver(certificate) as receiver:
        FakeDns(monkeypatch, answers={"hooks.tls.example": ["127.0.0.1"], "hooks.other.example": ["127.0.0.1"]})
        trusted = webhooks.create_webhook(own_db, named.site.id, "ecomm_new_order",
                                          f"https://hooks.tls.example:{receiver.port}/hook", None, allow_private=True)
        refused = webhooks.create_webhook(own_db, misnamed.site.id, "ecomm_new_order",
                                          f"https://hooks.other.example:{receiver.port}/hook", None, allow_private=True)
        place(own_db, named)
        place(own_db, misnamed)

        deliver_due(own_db, allow_private=True)

        (received,) = receiver.wait_for(1)
    (delivered,) = webhooks.delivery_attempts(own_db, named.site.id, trusted.id)
    (failed,) = webhooks.delivery_attempts(own_db, misnamed.site.id, refused.id)
    assert sorted(receiver.server_names) == ["hooks.other.example", "hooks.tls.example"]
    assert received.headers["host"] == f"hooks.tls.example:{receiver.port}"
    assert (delivered.status_code, delivered.error) == (200, None)
    assert failed.status_code is None
    assert failed.error.startswith("ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                   "Hostname mismatch")
