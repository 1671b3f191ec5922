"""`python -m orderdesk.store.probe URL`: exit 0 when the database answers, 1 otherwise."""

from __future__ import annotations

import sys

import sqlalchemy as sa

from orderdesk.store.engine import create_engine


def main(url: str) -> int:
    try:
        engine = create_engine(url, pool_size=1)
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
