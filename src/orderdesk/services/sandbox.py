"""The sandbox workbench's controls: a fresh site with its token, and a site's reset."""

from __future__ import annotations

from orderdesk.domain.sites import Scope, Site
from orderdesk.errors import SiteNotFound
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
