"""Instants and wall-clock times: how the times clients give become the instants events keep.

Events are stored as UTC instants plus the IANA zone they happen in. Wherever an input takes a
date-time (`starts_at`, `ends_at`, `registration_opens_at`, `registration_closes_at`), a client
may give either:

- an instant: ISO 8601 with an offset (`2030-01-10T18:00:00Z`, `2030-01-10T19:00:00+01:00`),
  taken as is;
- a wall-clock time: ISO 8601 without an offset (`2030-01-10T19:00:00`), read in the event's
  zone (its `timezone` field).

Daylight-saving transitions are resolved deliberately, never guessed:

- a wall-clock time that does not exist (the spring-forward gap, e.g. 02:30 on 2030-03-31 in
  Europe/Paris) is rejected with a field error naming the field and the missing time, because
  any silent fix would move the event by the length of the gap;
- a wall-clock time that exists twice (the fall-back overlap, e.g. 02:30 on 2030-10-27 in
  Europe/Paris) means its first occurrence (`fold=0`: the earlier instant, still on summer
  time), as RFC 5545 §3.3.5 prescribes for calendar date-times.

Recurring series keep their wall-clock time across transitions (a 19:00 Europe/Paris workshop is
18:00 UTC in winter and 17:00 UTC in summer) and apply the same two rules to every occurrence.
Durations are exact: an occurrence ends its length after its start instant.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from makesense_api.kit.clock import as_utc
from makesense_api.kit.errors import FieldError


def exists(local: datetime, zone: ZoneInfo) -> bool:
    """Whether a naive wall-clock time occurs in `zone` (False inside a spring-forward gap)."""
    back = local.replace(tzinfo=zone, fold=0).astimezone(UTC).astimezone(zone)
    return back.replace(tzinfo=None) == local.replace(fold=0)


def gap_error(field: str, local: datetime, zone: str) -> FieldError:
    return FieldError(
        field,
        f"{local:%Y-%m-%d %H:%M} does not exist in {zone} (the clocks skip it); "
        "give a time outside the gap or an instant with an offset",
    )


def resolve(value: datetime, zone: str, field: str, errors: list[FieldError]) -> datetime | None:
    """The UTC instant `value` means: itself when it has an offset, else a wall-clock time in
    `zone` (first occurrence when ambiguous). A non-existent time appends an error and gives None.
    """
    if value.tzinfo is not None:
        return as_utc(value)
    tz = ZoneInfo(zone)
    local = value.replace(fold=0)
    if not exists(local, tz):
        errors.append(gap_error(field, local, zone))
        return None
    return local.replace(tzinfo=tz).astimezone(UTC)


def wall_clock(day: date, at: time, zone: str) -> datetime | None:
    """The instant of `at` on `day` in `zone`; None when that time does not exist that day."""
    tz = ZoneInfo(zone)
    local = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    if not exists(local, tz):
        return None
    return local.replace(tzinfo=tz).astimezone(UTC)


def local_date(instant: datetime, zone: str) -> date:
    """The calendar date of an instant in `zone`."""
    return instant.astimezone(ZoneInfo(zone)).date()


def day_window(starts_at: datetime, ends_at: datetime, zone: str) -> tuple[datetime, datetime]:
    """From local midnight of the start day to local midnight after the end day, as instants."""
    tz = ZoneInfo(zone)
    first = datetime.combine(local_date(starts_at, zone), time()).replace(tzinfo=tz)
    last = datetime.combine(local_date(ends_at, zone) + timedelta(days=1), time()).replace(
        tzinfo=tz
    )
    return first.astimezone(UTC), last.astimezone(UTC)
