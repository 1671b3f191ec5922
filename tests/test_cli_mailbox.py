"""`orderdesk mailbox`, run as a user would."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orderdesk.services import orders
from orderdesk.store.engine import create_engine
from orderdesk.store.migrate import upgrade
from orderdesk.store.database import Database
from tests.factories import make_shop, place


def orderdesk(*args: str, database: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orderdesk", *args, "--database", database],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture
def cli_db(sqlite_url) -> Database:
    database = Database(create_engine(sqlite_url))
    yield database
    database.dispose()


def fulfil_with_email(db: Database, shop) -> str:
    order = place(db, shop)
    orders.fulfill_order(db, shop.site.id, order.order_id, shop.token_id, send_email=True)
    return order.order_id


def test_mailbox_shows_the_sites_emails_newest_first_on_stderr(sqlite_url, cli_db):
    shop = make_shop(cli_db)
    older, newer = fulfil_with_email(cli_db, shop), fulfil_with_email(cli_db, shop)

    result = orderdesk("mailbox", "--site", shop.site.id, database=sqlite_url)

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr.count("Subject: Your order") == 2
    assert result.stderr.index(f"Subject: Your order {newer} has shipped") < result.stderr.index(
        f"Subject: Your order {older} has shipped")
    assert "To:      arthur@example.com" in result.stderr
    assert "1 × Product 0 — $ 25.00 USD" in result.stderr


def test_mailbox_limit_shows_only_the_newest(sqlite_url, cli_db):
    shop = make_shop(cli_db)
    older, newer = fulfil_with_email(cli_db, shop), fulfil_with_email(cli_db, shop)

    result = orderdesk("mailbox", "--site", shop.site.id, "--limit", "1", database=sqlite_url)

    assert result.returncode == 0, result.stderr
    assert f"Subject: Your order {newer} has shipped" in result.stderr
    assert f"Your order {older} has shipped" not in result.stderr


def test_an_empty_mailbox_says_so(sqlite_url, cli_db):
    shop = make_shop(cli_db)

    result = orderdesk("mailbox", "--site", shop.site.id, database=sqlite_url)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", f"no emails for site {shop.site.id}\n")


def test_an_unknown_site_is_an_error_message(sqlite_url):
    result = orderdesk("mailbox", "--site", "nope", database=sqlite_url)

    assert (result.returncode, result.stdout) == (1, "")
    assert "no site nope" in result.stderr
    assert "Traceback" not in result.stderr
