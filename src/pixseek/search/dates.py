"""Capture-date bounds as the API and the CLI both read them: inclusive, in UTC, a bare date a whole day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time


def date_range(
    date_from: date | datetime | None, date_to: date | datetime | None
) -> tuple[datetime | None, datetime | None]:
    """Both ends inclusive; a bare date means the start (from) or the end (to) of that UTC day."""
    start = _as_utc(date_from, time.min)
    end = _as_utc(date_to, time.max)
    if start and end and start > end:
        raise ValueError("date_from is after date_to")
    return start, end


def parse_date(text: str) -> date | datetime:
    """'2024-05-31' stays a date (a whole day); anything with a time is a date-time."""
    value = text.strip()
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO date: {text!r} (e.g. 2024-05-31 or 2024-05-31T18:00)") from None


def _as_utc(value: date | datetime | None, day_time: time) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        return datetime.combine(value, day_time, tzinfo=UTC)
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00 has no UTC time
        raise ValueError(f"date out of range: {value.isoformat()}") from None
