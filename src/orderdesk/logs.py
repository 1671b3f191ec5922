"""structlog set-up: human-readable on a terminal, JSON lines when asked, always to stderr.

With ORDERDESK_LOG_FORMAT=json every line is one JSON object, the standard library's loggers (uvicorn's,
alembic's, Python's warnings) included; a line logged while a request is handled carries its
`request_id` (bound by api.middleware.RequestContext) and an exception carries its traceback.
"""

from __future__ import annotations

import logging
import logging.config
import sys

import structlog
import uvicorn.config

from orderdesk.config import Settings


def _level(settings: Settings) -> int:
    return getattr(logging, settings.log_level.upper(), logging.INFO)


def configure_logging(settings: Settings) -> None:
    level = _level(settings)
    renderer = (
        structlog.processors.JSONRenderer() if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # One write per line, so that a line from the standard library's handler never lands inside it.
        logger_factory=structlog.WriteLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    if settings.log_format == "json":
        logging.config.dictConfig(standard_library_json(settings))
        logging.captureWarnings(True)


def uvicorn_log_config(settings: Settings) -> dict:
    """What `uvicorn.run(log_config=...)` applies in the server's every process: JSON too when asked."""
    return standard_library_json(settings) if settings.log_format == "json" else uvicorn.config.LOGGING_CONFIG


def standard_library_json(settings: Settings) -> dict:
    """Every standard-library logger to stderr as JSON lines; plain strings only, as worker processes get a copy."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "orderdesk.logs.json_formatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        # As on the console, where Python prints only warnings and errors of loggers nobody set up: a debug
        # level is for orderdesk's own lines, not for every library's chatter.
        "root": {"handlers": ["stderr"], "level": max(_level(settings), logging.WARNING)},
        # uvicorn's own loggers would keep their plain-text handlers: send them to the root's instead.
        "loggers": {name: {"handlers": [], "propagate": True}
                    for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
