"""The CLI's outputs are a contract that scripts rely on: run it as a user would."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from orderdesk.services import access
from orderdesk.store.engine import create_engine
from orderdesk.store.database import Database


def orderdesk(*args: str, database: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orderdesk", *args, "--database", database],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_sites_create_prints_the_new_site_id_alone(sqlite_url):
    result = orderdesk("sites", "create", "--name", "Shop", "--currency", "JPY", database=sqlite_url)

    assert result.returncode == 0
    assert re.fullmatch(r"[0-9a-f]{24}\n", result.stdout)
    site = access.get_site(Database(create_engine(sqlite_url)), result.stdout.strip())
    assert (site.name, site.currency, site.ecommerce_enabled) == ("Shop", "JPY", True)


def test_tokens_create_prints_the_token_alone_and_it_authenticates(sqlite_url):
    site_id = orderdesk("sites", "create", "--name", "Shop", "--no-ecommerce", database=sqlite_url).stdout.strip()

    result = orderdesk("tokens", "create", "--site", site_id, "--scope", "ecommerce:read",
                       "--scope", "ecommerce:write", "--rate-limit", "30", database=sqlite_url)

    assert result.returncode == 0
    assert re.fullmatch(r"[0-9a-f]{64}\n", result.stdout)
    token, site = access.authenticate(Database(create_engine(sqlite_url)), result.stdout.strip())
    assert (site.id, site.ecommerce_enabled, token.rate_limit) == (site_id, False, 30)
    assert sorted(token.scopes) == ["ecommerce:read", "ecommerce:write"]


def test_a_revoked_token_stops_working(sqlite_url):
    site_id = orderdesk("sites", "create", "--name", "Shop", database=sqlite_url).stdout.strip()
    secret = orderdesk("tokens", "create", "--site", site_id, "--scope", "sites:read", database=sqlite_url).stdout.strip()
    db = Database(create_engine(sqlite_url))
    token_id = access.authenticate(db, secret)[0].id

    result = orderdesk("tokens", "revoke", token_id, database=sqlite_url)

    assert result.returncode == 0
    assert access.list_tokens(db, site_id)[0].revoked_on is not None
    assert orderdesk("tokens", "revoke", token_id, database=sqlite_url).returncode == 1


def test_bad_input_is_an_error_message_not_a_trace(sqlite_url):
    result = orderdesk("tokens", "create", "--site", "nope", "--scope", "ecommerce:read", database=sqlite_url)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no site nope" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_same_seed_writes_the_same_orders(tmp_path):
    documents = []
    for name in ("a", "b"):
        url = f"sqlite:///{tmp_path / name}.db"
        site_id = orderdesk("sites", "create", "--name", "Shop", database=url).stdout.strip()
        result = orderdesk("seed", "--site", site_id, "--orders", "300", "--seed", "42", database=url)
        assert result.returncode == 0, result.stderr
        assert "wrote 300 orders" in result.stderr
        documents.append(Database(create_engine(url)).lookups.page(site_id, None, 0, 1000)[0])
    assert len(documents[0]) == 300
    assert documents[0] == documents[1]


@pytest.mark.parametrize("command", [[], ["serve"], ["seed"], ["demo"], ["sites", "create"], ["tokens", "create"],
                                     ["tokens", "list"], ["tokens", "revoke"], ["db", "upgrade"]])
def test_every_command_explains_itself(command):
    result = subprocess.run([sys.executable, "-m", "orderdesk", *command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "Usage: orderdesk" in result.stdout
    assert "--help" in result.stdout
