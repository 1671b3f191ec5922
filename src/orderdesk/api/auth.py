"""Authentication, rate limits, scopes and site visibility for one request, in that order."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request

from orderdesk.api.ratelimit import RateLimiter
from orderdesk.domain.sites import Scope, Site, Token
from orderdesk.errors import EcommerceNotEnabled, MissingScopes, NotAuthorized, SiteNotFound, TooManyRequests
from orderdesk.services.access import authenticate
from orderdesk.store.database import Database

AUTHENTICATED = "authenticated"  # the ASGI scope's state key: (Token, Site) once the token has been checked


@dataclass(frozen=True, slots=True)
class Caller:
    token: Token
    site: Site
    rate_limit: int


def spend_rate_limit(limiter: RateLimiter, default_limit: int, token: Token, scope: dict) -> int:
    """Count one request against the token's budget; its headers go on whatever the response is."""
    limit = default_limit if token.rate_limit is None else token.rate_limit
    if limit:
        verdict = limiter.hit(token.id, limit)
        headers = scope.setdefault("state", {}).setdefault("response_headers", [])
        headers.append((b"x-ratelimit-limit", str(verdict.limit).encode()))
        headers.append((b"x-ratelimit-remaining", str(verdict.remaining).encode()))
        if not verdict.allowed:
            raise TooManyRequests(verdict.retry_after)
    return limit


def authorize(request: Request, scope: Scope | None, site_id: str | None = None, ecommerce: bool = False) -> Caller:
    """The caller, once every check has passed; raises the first check's error otherwise."""
    return check_caller(request.app.state, request.headers.get("authorization", ""), request.scope, scope, site_id,
                        ecommerce)


def authenticated(db: Database, header: str, asgi_scope: dict) -> tuple[Token, Site]:
    """The request's live token and its site, looked up once per request and kept in its ASGI scope's
    state (the gate looks before the body is read; the handler's checks find it there)."""
    state = asgi_scope.setdefault("state", {})
    found = state.get(AUTHENTICATED)
    if found is None:
        presented = bearer_token(header)
        if presented is None:
            raise NotAuthorized()
        found = state[AUTHENTICATED] = authenticate(db, presented)
    return found


def bearer_token(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other header."""
    kind, _, presented = header.partition(" ")
    return (presented.strip() or None) if kind.lower() == "bearer" else None


def check_caller(state, header: str, asgi_scope: dict, scope: Scope | None, site_id: str | None = None,
                 ecommerce: bool = False) -> Caller:
    """`authorize` for a request the framework has not wrapped: the app's state, the Authorization header
    and the ASGI scope (the rate limit's headers go into its state)."""
    token, site = authenticated(state.db, header, asgi_scope)
    limit = spend_rate_limit(state.rate_limiter, state.settings.rate_limit, token, asgi_scope)
    if scope is not None and token.missing(scope):
        raise MissingScopes([scope.value])
    # A token for site A asking about site B gets the same 404 as a missing site.
    if site_id is not None and site_id != site.id:
        raise SiteNotFound()
    if ecommerce and not site.ecommerce_enabled:
        raise EcommerceNotEnabled()
    return Caller(token, site, limit)
