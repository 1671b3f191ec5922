"""`orderdesk sandbox ...` against a running sandbox server, as a developer's shell would call it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from tests.factories import order_body
from tests.server import start_server


@pytest.fixture(scope="module")
def sandbox(database_url):
    running = start_server(database_url, env={"ORDERDESK_SANDBOX": "true"})
    yield running
    running.stop()


@pytest.fixture
def site(sandbox) -> dict:
    made = httpx.post(f"{sandbox.url}/_orderdesk/sites", json={"name": "CLI Shop"}).json()
    return {**made, "env": {**os.environ, "ORDERDESK_URL": sandbox.url, "ORDERDESK_SITE": made["siteId"],
                            "ORDERDESK_TOKEN": made["token"]}}


def cli(site: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orderdesk", "sandbox", *args], capture_output=True, text=True,
                          env=site["env"], timeout=60)


def total(sandbox, site) -> int:
    return httpx.get(f"{sandbox.api}/sites/{site['siteId']}/orders",
                     headers={"Authorization": f"Bearer {site['token']}"}).json()["pagination"]["total"]


def place(sandbox, site, **kwargs) -> dict:
    return httpx.post(f"{sandbox.api}/sites/{site['siteId']}/orders", json=order_body(**kwargs),
                      headers={"Authorization": f"Bearer {site['token']}"}).json()


def test_snapshot_save_list_restore_and_reset(sandbox, site):
    place(sandbox, site)
    saved = cli(site, "snapshot", "save", "one", "--json")
    assert saved.returncode == 0, saved.stderr
    assert json.loads(saved.stdout)["orders"] == 1
    place(sandbox, site)
    assert cli(site, "reset").returncode == 0
    assert total(sandbox, site) == 0
    listed = cli(site, "snapshot", "list")
    assert (listed.returncode, listed.stdout) == (0, "one\n")
    restored = cli(site, "snapshot", "restore", "one")
    assert (restored.returncode, restored.stderr) == (0, "restored snapshot one\n")
    assert total(sandbox, site) == 1
    assert cli(site, "snapshot", "delete", "one").returncode == 0
    assert cli(site, "snapshot", "list").stdout == ""


def test_faults_add_list_and_clear(sandbox, site):
    added = cli(site, "faults", "add", "--operation", "list-orders", "--status", "503", "--times", "1")
    assert added.returncode == 0, added.stderr
    fault_id = added.stdout.strip()
    listed = cli(site, "faults", "list", "--json")
    assert [fault["id"] for fault in json.loads(listed.stdout)["faults"]] == [fault_id]
    answer = httpx.get(f"{sandbox.api}/sites/{site['siteId']}/orders", headers={"Authorization": f"Bearer {site['token']}"})
    assert answer.status_code == 503
    assert cli(site, "faults", "clear").returncode == 0
    assert json.loads(cli(site, "faults", "list", "--json").stdout) == {"faults": []}


def test_dispute_and_capture_print_the_new_status(sandbox, site):
    order = place(sandbox, site)
    disputed = cli(site, "dispute", "--order", order["orderId"], "--outcome", "lost")
    assert (disputed.returncode, disputed.stdout) == (0, "dispute-lost\n")
    pending = place(sandbox, site, status="pending")
    captured = cli(site, "capture", "--order", pending["orderId"])
    assert (captured.returncode, captured.stdout) == (0, "unfulfilled\n")


def test_a_refusal_is_the_servers_message_and_exit_code_1(sandbox, site):
    refused = cli(site, "snapshot", "restore", "missing")
    assert refused.returncode == 1
    assert refused.stderr == "error: 404 Requested resource not found: The snapshot cannot be found\n"
    bad = cli(site, "faults", "add", "--operation", "nope", "--status", "500")
    assert bad.returncode == 1 and "operation" in bad.stderr


def test_a_server_without_sandbox_mode_is_named(server, site):
    refused = subprocess.run([sys.executable, "-m", "orderdesk", "sandbox", "reset", "--url", server.url],
                             capture_output=True, text=True, env=site["env"], timeout=60)
    assert refused.returncode == 1
    assert "--sandbox" in refused.stderr


def test_an_unreachable_server_is_a_clear_error(site):
    refused = subprocess.run([sys.executable, "-m", "orderdesk", "sandbox", "reset", "--url", "http://127.0.0.1:9"],
                             capture_output=True, text=True, env=site["env"], timeout=60)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: cannot reach http://127.0.0.1:9")


def test_seed_writes_orders_through_the_server(sandbox, site):
    seeded = cli(site, "seed", "--orders", "12", "--seed", "3", "--json")
    assert (seeded.returncode, json.loads(seeded.stdout)) == (0, {"orders": 12})
    assert total(sandbox, site) == 12
