"""Time: the Clock port everything that reads the time is given, and timestamps as Webflow writes them
(ISO 8601 UTC with milliseconds and a Z)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

# The moments a client may give us: before 1970 no order was placed online, and after 9999 ISO 8601
# needs more than four digits for the year.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: for tests, and (next) a sandbox site's own time."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


SYSTEM = SystemClock()


def now() -> datetime:
    """The real time, for code that is not yet handed a Clock."""
    return SYSTEM.now()


def to_wire(moment: datetime) -> str:
    """`2024-03-29T21:29:21.555Z`."""
    moment = moment.astimezone(UTC)
    # Not strftime: its %Y writes the year 999 as "999", which is not ISO 8601.
    return (f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}T{moment.hour:02d}:{moment.minute:02d}:"
            f"{moment.second:02d}.{moment.microsecond // 1000:03d}Z")


def from_wire(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; a naive one is taken as UTC."""
    moment = datetime.fromisoformat(text)  # since Python 3.11 it reads a trailing Z as UTC
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def millis_to_wire(millis: int) -> str:
    """`to_wire` of a moment kept as Unix milliseconds."""
    return to_wire(from_millis(millis))


def from_millis(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)
