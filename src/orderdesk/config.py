"""One Settings object, built once from the environment (ORDERDESK_<NAME>) and flags, passed in."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any

DEFAULT_DATABASE_URL = "sqlite:///./orderdesk.db"


class UnsafeSettings(ValueError):
    """A setting that is fine on a laptop but refused in production."""


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    rate_limit: int = 120
    redis_url: str = ""
    environment: str = "development"
    log_level: str = "info"
    log_format: str = "console"
    max_body_bytes: int = 1024 * 1024
    header_timeout: float = 10.0  # seconds a connection has to send a request's line and headers
    body_timeout: float = 20.0  # seconds a request body may go without a byte arriving
    keep_alive_timeout: float = 5.0  # seconds an idle connection is kept open between requests
    max_connections: int = 1000  # open connections per process; more are answered 503
    database_pool_size: int = 10  # database connections per process, all of them: 8 workers fit PostgreSQL's 100
    simulated_delay: float = 0.0
    simulated_fail_after: float = 10.0
    simulated_information_window: float = 300.0
    processor_timeout: float = 10.0
    reconcile_interval: float = 15.0
    reconcile_after: float = 30.0
    webhook_retry_interval: float = 600.0
    webhook_retries: int = 3
    webhook_timeout: float = 10.0
    # Delivery attempts in flight at once per worker, each to a different webhook (each ends by webhook_timeout).
    webhook_concurrency: int = 16
    webhook_allow_private: bool = False
    delivery_worker: bool = True  # deliver webhooks and emails inside `serve`; off when `orderdesk worker` runs
    smtp_url: str = ""
    mail_from: str = "orders@orderdesk.invalid"
    # The workbench's controls under /_orderdesk/ (reset, ...): off, every such path is a 404, so that an
    # operator's ledger cannot be reset by accident. sandbox_key: the bearer a caller off loopback needs
    # to make a site there (empty: only loopback may).
    sandbox: bool = False
    sandbox_key: str = ""
    # Only what Webflow itself serves: our extensions' routes answer the framework's 404, Idempotency-Key is
    # ignored; the sandbox's controls still work.
    strict_webflow: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults, then ORDERDESK_* variables, then explicit overrides that are not None."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = environ.get(f"ORDERDESK_{spec.name.upper()}")
            if raw is not None and raw != "":
                values[spec.name] = _parse(spec.type, raw)
        values.update({key: value for key, value in overrides.items() if value is not None})
        settings = cls(**values)
        settings.check()
        return settings

    def check(self) -> None:
        if self.environment == "production" and self.database_url.startswith("sqlite") and self.workers > 1:
            raise UnsafeSettings("several workers on SQLite: use PostgreSQL in production")
        if self.workers < 1:
            raise UnsafeSettings("workers must be at least 1")
        if self.rate_limit < 0:
            raise UnsafeSettings("rate_limit must be 0 (unlimited) or more")
        if min(self.header_timeout, self.body_timeout, self.keep_alive_timeout) <= 0:
            raise UnsafeSettings("header_timeout, body_timeout and keep_alive_timeout must be more than 0 seconds")
        if self.max_connections < 1:
            raise UnsafeSettings("max_connections must be at least 1")
        if self.webhook_timeout <= 0 or self.webhook_concurrency < 1:
            raise UnsafeSettings("webhook_timeout must be more than 0 seconds and webhook_concurrency at least 1")
        if self.database_pool_size < 2:
            raise UnsafeSettings("database_pool_size must be at least 2 (one for the lookups, one for the rest)")

    def as_environment(self) -> dict[str, str]:
        """The settings as ORDERDESK_* variables, for worker processes."""
        return {f"ORDERDESK_{spec.name.upper()}": str(getattr(self, spec.name)) for spec in fields(self)}


def _parse(type_name: Any, raw: str) -> Any:
    kind = type_name if isinstance(type_name, str) else type_name.__name__
    if kind == "int":
        return int(raw)
    if kind == "float":
        return float(raw)
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    return raw
