"""The sandbox workbench's controls: a fresh site with its token, a site's reset, and its snapshots."""

from __future__ import annotations

import re
from dataclasses import dataclass

from orderdesk.domain.sites import Scope, Site
from orderdesk.errors import Conflict, SiteNotFound, SnapshotNotFound, ValidationFailed
from orderdesk.services import access
from orderdesk.store.database import Database


def create_site(db: Database, name: str, currency: str = "USD") -> tuple[Site, str]:
    """A new site and a token holding every scope (the token is shown once)."""
    site = access.create_site(db, name, currency)
    token, _ = access.create_token(db, site.id, [scope.value for scope in Scope])
    return site, token


def reset_site(db: Database, site_id: str) -> list[str]:
    """Empty the site (see `SiteData.clear`): it keeps its id, name, settings and tokens. Returns the ids of
    its tokens, whose rate-limit windows the caller starts afresh."""
    with db.unit_of_work() as work:
        if work.sites.get(site_id) is None:
            raise SiteNotFound()
        work.site_data.clear(site_id)
        token_ids = [token.id for token in work.tokens.list(site_id)]
        work.commit()
    return token_ids


SNAPSHOT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    name: str
    created_on: int  # milliseconds
    orders: int


def save_snapshot(db: Database, site_id: str, name: str) -> SnapshotInfo:
    """Keep the site's data as it is now under `name` (letters, digits, `.`, `_`, `-`; up to 100)."""
    if not SNAPSHOT_NAME.fullmatch(name):
        raise ValidationFailed.of("name", "must be 1 to 100 letters, digits, '.', '_' or '-', starting with a "
                                          "letter or digit")
    with db.unit_of_work() as work:
        at = work.now_millis()
        orders = work.site_data.save_snapshot(site_id, name, at)
        if orders is None:
            raise Conflict(f"Conflict: The site has a snapshot named {name} already; delete it first")
        work.commit()
    return SnapshotInfo(name, at, orders)


def list_snapshots(db: Database, site_id: str) -> list[SnapshotInfo]:
    with db.reader() as reader:
        return [SnapshotInfo(*info) for info in reader.site_data.snapshots(site_id)]


def restore_snapshot(db: Database, site_id: str, name: str) -> None:
    """The site's data as it was when `name` was saved, in one transaction."""
    with db.unit_of_work() as work:
        data = work.site_data.snapshot_data(site_id, name)
        if data is None:
            raise SnapshotNotFound()
        work.site_data.restore(site_id, data)
        work.commit()


def delete_snapshot(db: Database, site_id: str, name: str) -> None:
    with db.unit_of_work() as work:
        if not work.site_data.delete_snapshot(site_id, name):
            raise SnapshotNotFound()
        work.commit()
