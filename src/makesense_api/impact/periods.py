"""Reporting periods: months, quarters, semesters and years, in UTC, half-open `[start, end)`.

Pure functions, no database. A period is identified by its kind and start; `2026-06-30T23:59:59Z`
lies in 2026-H1 and `2026-07-01T00:00:00Z` begins 2026-H2, whatever the caller's time zone.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from makesense_api.kit.clock import as_utc

MAX_PERIODS = 240


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    SEMESTER = "semester"
    YEAR = "year"

    @property
    def months(self) -> int:
        return _MONTHS[self]


_MONTHS = {
    PeriodKind.MONTH: 1,
    PeriodKind.QUARTER: 3,
    PeriodKind.SEMESTER: 6,
    PeriodKind.YEAR: 12,
}


@dataclass(frozen=True)
class Period:
    """One reporting period: `start <= instant < end`, both UTC."""

    kind: PeriodKind
    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        """`2026`, `2026-H2`, `2026-Q3` or `2026-07`."""
        year, month = self.start.year, self.start.month
        if self.kind == PeriodKind.YEAR:
            return f"{year}"
        if self.kind == PeriodKind.SEMESTER:
            return f"{year}-H{1 if month <= 6 else 2}"
        if self.kind == PeriodKind.QUARTER:
            return f"{year}-Q{(month - 1) // 3 + 1}"
        return f"{year}-{month:02d}"

    def __contains__(self, instant: datetime) -> bool:
        return self.start <= as_utc(instant) < self.end


def _add_months(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def period_start(kind: PeriodKind, instant: datetime) -> datetime:
    """The first instant of the period of `kind` containing `instant`."""
    moment = as_utc(instant)
    size = kind.months
    month = (moment.month - 1) // size * size + 1
    return datetime(moment.year, month, 1, tzinfo=UTC)


def period_of(kind: PeriodKind, instant: datetime) -> Period:
    """The period of `kind` containing `instant`."""
    start = period_start(kind, instant)
    return Period(kind, start, _add_months(start, kind.months))


def following(period: Period) -> Period:
    """The period right after `period`."""
    return period_of(period.kind, period.end)


def periods_between(kind: PeriodKind, start: datetime, end: datetime) -> list[Period]:
    """Every period of `kind` that overlaps `[start, end)`, in order (whole periods).

    Raises ValueError when `end <= start` or when more than `MAX_PERIODS` would be returned.
    """
    start, end = as_utc(start), as_utc(end)
    if end <= start:
        raise ValueError("end must be after start")
    first = period_start(kind, start)
    last = period_start(kind, end)
    count = _months_apart(first, last) // kind.months + (1 if last < end else 0)
    if count > MAX_PERIODS:
        raise ValueError(f"more than {MAX_PERIODS} periods")
    out = [period_of(kind, first)]
    while len(out) < count:
        out.append(following(out[-1]))
    return out


def _months_apart(earlier: datetime, later: datetime) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def periods_left(kind: PeriodKind, now: datetime, deadline: datetime) -> int:
    """How many periods of `kind` remain to act in: the current one through the deadline's.

    Zero once the deadline has passed.
    """
    now, deadline = as_utc(now), as_utc(deadline)
    if deadline < now:
        return 0
    first, last = period_start(kind, now), period_start(kind, deadline)
    return _months_apart(first, last) // kind.months + 1


def pace(remaining: int, periods: int) -> int | None:
    """People needed per period to close `remaining` over `periods`, rounded up.

    None when no period is left; zero when nothing remains.
    """
    if periods <= 0:
        return None
    return math.ceil(max(remaining, 0) / periods)
