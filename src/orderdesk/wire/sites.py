"""Sites, token introspection and the authorizing user, in the spec's shapes."""

from __future__ import annotations

import hashlib

import msgspec

from orderdesk.domain import clock
from orderdesk.domain.sites import Site, Token


def derived_id(kind: str, seed: str) -> str:
    return hashlib.sha256(f"{kind}:{seed}".encode()).hexdigest()[:24]


class Locale(msgspec.Struct, rename="camel"):
    id: str
    cms_locale_id: str
    enabled: bool
    display_name: str
    redirect: bool
    subdirectory: str
    tag: str


class Locales(msgspec.Struct):
    primary: Locale
    secondary: list[Locale]


class SiteDoc(msgspec.Struct, rename="camel"):
    id: str
    workspace_id: str
    created_on: str
    display_name: str
    short_name: str
    last_published: str
    last_updated: str
    preview_url: str
    time_zone: str
    parent_folder_id: str | None
    custom_domains: list[dict]
    locales: Locales
    data_collection_enabled: bool
    data_collection_type: str


class SitesDoc(msgspec.Struct):
    sites: list[SiteDoc]


def site_doc(site: Site) -> SiteDoc:
    short = "".join(c if c.isalnum() else "-" for c in site.name.lower()).strip("-") or "site"
    locale = Locale(derived_id("locale", site.id), derived_id("cms-locale", site.id), True, "English",
                    False, "", "en")
    return SiteDoc(
        id=site.id, workspace_id=derived_id("workspace", site.id), created_on=clock.millis_to_wire(site.created_on),
        display_name=site.name, short_name=short, last_published=clock.millis_to_wire(site.updated_on),
        last_updated=clock.millis_to_wire(site.updated_on),
        preview_url=f"https://{short}.orderdesk.invalid/preview.png",
        time_zone="UTC", parent_folder_id=None, custom_domains=[], locales=Locales(locale, []),
        data_collection_enabled=False, data_collection_type="disabled",
    )


class AuthorizedTo(msgspec.Struct, rename="camel"):
    site_ids: list[str]
    workspace_ids: list[str]
    user_ids: list[str]


class Authorization(msgspec.Struct, rename="camel"):
    id: str
    created_on: str
    last_used: str
    grant_type: str
    rate_limit: int
    scope: str
    authorized_to: AuthorizedTo


class Application(msgspec.Struct, rename="camel"):
    id: str
    homepage: str
    display_name: str


class IntrospectionDoc(msgspec.Struct):
    authorization: Authorization
    application: Application


def introspection_doc(token: Token, site: Site, rate_limit: int) -> IntrospectionDoc:
    return IntrospectionDoc(
        Authorization(
            id=token.id, created_on=clock.millis_to_wire(token.created_on),
            last_used=clock.millis_to_wire(token.last_used_on or token.created_on),
            grant_type="site_token", rate_limit=rate_limit, scope=",".join(sorted(token.scopes)),
            authorized_to=AuthorizedTo([site.id], [derived_id("workspace", site.id)], [derived_id("user", site.id)]),
        ),
        Application(derived_id("application", "orderdesk"), "https://github.com/orderdesk/orderdesk", "orderdesk"),
    )


class UserDoc(msgspec.Struct, rename="camel"):
    id: str
    email: str
    first_name: str
    last_name: str


def authorized_by_doc(site: Site) -> UserDoc:
    return UserDoc(derived_id("user", site.id), f"owner@{site.id}.orderdesk.invalid", "Site", "Owner")

