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
    simulated_delay: float = 0.0
    simulated_fail_after: float = 10.0
    simulated_information_window: float = 300.0
    processor_timeout: float = 10.0
    reconcile_interval: float = 15.0
    reconcile_after: float = 30.0
    webhook_retry_interval: float = 600.0
    webhook_retries: int = 3
    webhook_timeout: float = 10.0
    webhook_allow_private: bool = False
    delivery_worker: bool = True  # deliver webhooks and emails inside `serve`; off when `orderdesk worker` runs
    smtp_url: str = ""
    mail_from: str = "orders@orderdesk.invalid"

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
