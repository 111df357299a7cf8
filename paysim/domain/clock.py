"""Time as paysim keeps it: aware datetimes in UTC, written and read back as such."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, in UTC (the default clock of every service; tests pass their own)."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without a zone; every one paysim writes is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
