"""Sites and tokens as the domain sees them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Site:
    id: str
    name: str
    ecommerce_enabled: bool
    currency: str
    application_fee_bps: int
    created_on: int
    updated_on: int


class Scope(StrEnum):
    ECOMMERCE_READ = "ecommerce:read"
    ECOMMERCE_WRITE = "ecommerce:write"
    SITES_READ = "sites:read"
    SITES_WRITE = "sites:write"


# A write scope implies its read scope.
IMPLIED = {Scope.ECOMMERCE_WRITE: Scope.ECOMMERCE_READ, Scope.SITES_WRITE: Scope.SITES_READ}


def effective_scopes(granted: frozenset[Scope]) -> frozenset[Scope]:
    return granted | {IMPLIED[scope] for scope in granted if scope in IMPLIED}


@dataclass(frozen=True, slots=True)
class Token:
    id: str
    site_id: str
    scopes: frozenset[Scope]
    rate_limit: int | None
    created_on: int
    last_used_on: int | None
    revoked_on: int | None

    def missing(self, required: Scope) -> bool:
        return required not in effective_scopes(self.scopes)
