"""The dates and instants of a recurrence rule: pure calendar arithmetic, no database.

- weekly: every `interval` weeks (weeks start on Monday) on the `by_weekday` days (0 = Monday;
  by default the start date's weekday), on or after the start date;
- monthly: every `interval` months on the start date's day of the month; months without that
  day (a 31st in April) are skipped, as RFC 5545 does;
- bounded by `count` occurrences or by `until` (a local date, inclusive).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from makesense_api.events.schemas import MAX_OCCURRENCES, Frequency
from makesense_api.events.times import wall_clock
from makesense_api.kit.errors import FieldError

MONTHS_SCANNED = 12 * 100  # a monthly rule is given up after a century without a valid date


@dataclass(frozen=True)
class Rule:
    frequency: Frequency
    interval: int = 1
    by_weekday: tuple[int, ...] = ()
    count: int | None = None
    until: date | None = None


def _weekly(start: date, rule: Rule) -> Iterator[date]:
    days = sorted(set(rule.by_weekday)) or [start.weekday()]
    week = start - timedelta(days=start.weekday())
    while True:
        for weekday in days:
            day = week + timedelta(days=weekday)
            if day >= start:
                yield day
        week += timedelta(weeks=rule.interval)


def _monthly(start: date, rule: Rule) -> Iterator[date]:
    for step in range(0, MONTHS_SCANNED, rule.interval):
        year, month = divmod(start.month - 1 + step, 12)
        try:
            yield date(start.year + year, month + 1, start.day)
        except ValueError:
            continue


def occurrence_dates(start: date, rule: Rule, limit: int = MAX_OCCURRENCES) -> list[date]:
    """The local dates of a rule's occurrences; at most `limit + 1` (so excess shows)."""
    dates: list[date] = []
    produce = _weekly if rule.frequency == Frequency.WEEKLY else _monthly
    for day in produce(start, rule):
        if rule.until is not None and day > rule.until:
            break
        dates.append(day)
        if len(dates) == rule.count or len(dates) > limit:
            break
    return dates


def starts_of(
    dates: list[date], at: time, zone: str, field: str, errors: list[FieldError]
) -> list[datetime]:
    """The start instants of the dates' occurrences; a date whose time does not exist is an
    error naming it."""
    starts: list[datetime] = []
    for day in dates:
        instant = wall_clock(day, at, zone)
        if instant is None:
            errors.append(
                FieldError(field, f"{at:%H:%M} does not exist on {day} in {zone} (DST gap)")
            )
        else:
            starts.append(instant)
    return starts
