"""iCalendar (RFC 5545) and schema.org renderings of events, for calendar apps and search engines.

- UIDs are stable (`<event id>@makesense`), so a subscribed calendar updates events in place;
  `SEQUENCE` is the event's revision counter and cancelled events stay with `STATUS:CANCELLED`
  so calendars remove them rather than keep a stale copy.
- Times are given in the event's own zone (`DTSTART;TZID=…`) and the calendar carries a
  `VTIMEZONE` for every zone used, so recurring wall-clock times survive DST changes.
- A person's own calendar (`personal_calendar`) marks each event with where they stand:
  `CONFIRMED` while they hold a seat, `TENTATIVE` while waitlisted, `CANCELLED` once they
  cancelled or the event was called off. `DTSTAMP` is the later of the event's and the
  registration's last change, so with an unchanged `SEQUENCE` the newer copy still wins
  (RFC 5545 §3.8.7.4), and `SEQUENCE` stays the event's own, never going back.
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar

from makesense_api.events.schemas import EventView
from makesense_api.feeds.schemas import CalendarEntry

PRODID = "-//makesense//makesense-api//EN"
UID_DOMAIN = "makesense"
FIRST_ZONE_DATE = datetime(2000, 1, 1, tzinfo=UTC).date()
PERSONAL_REFRESH = timedelta(hours=1)
# Where a person stands at an event, as RFC 5545 says it; an event called off overrides it.
PERSONAL_STATUS = {"waitlisted": "TENTATIVE", "cancelled": "CANCELLED"}


def _status(view: EventView) -> str:
    return "CANCELLED" if view.status == "cancelled" else "CONFIRMED"


def _event(
    view: EventView, status: str | None = None, stamp: datetime | None = None
) -> icalendar.Event:
    item = icalendar.Event()
    item.add("uid", f"{view.id}@{UID_DOMAIN}")
    item.add("dtstamp", stamp or view.updated_at)
    item.add("last-modified", stamp or view.updated_at)
    item.add("created", view.created_at)
    item.add("dtstart", view.starts_local)
    item.add("dtend", view.ends_local)
    item.add("sequence", view.sequence)
    item.add("summary", view.title)
    item.add("status", status or _status(view))
    if view.description:
        item.add("description", view.description)
    place = ", ".join(p for p in (view.venue_name, view.venue_address) if p)
    if place:
        item.add("location", place)
    if view.latitude is not None and view.longitude is not None:
        item.add("geo", (view.latitude, view.longitude))
    return item


def _personal(entry: CalendarEntry) -> icalendar.Event:
    view = entry.event
    status = _status(view)
    if status != "CANCELLED":
        status = PERSONAL_STATUS.get(entry.registration_status, status)
    item = _event(view, status, max(view.updated_at, entry.registration_updated_at))
    if view.online_url:
        item.add("url", view.online_url)
    return item


def _document(name: str, items: list[icalendar.Event], ends: list[datetime]) -> icalendar.Calendar:
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    for item in items:
        cal.add_component(item)
    if ends:
        last = max(ends).date().replace(month=12, day=31)
        cal.add_missing_timezones(first_date=FIRST_ZONE_DATE, last_date=last)
    return cal


def calendar(name: str, events: Sequence[EventView]) -> bytes:
    """One VCALENDAR with a VEVENT per event and a VTIMEZONE per zone they use."""
    cal = _document(name, [_event(v) for v in events], [v.ends_at for v in events])
    return bytes(cal.to_ical())


def personal_calendar(name: str, entries: Sequence[CalendarEntry]) -> bytes:
    """A person's own VCALENDAR: each event with their standing in it, its online link while
    they hold a seat, and a hint to refresh hourly."""
    cal = _document(
        name, [_personal(e) for e in entries], [e.event.ends_at for e in entries]
    )
    cal.add("refresh-interval", PERSONAL_REFRESH, parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", PERSONAL_REFRESH)
    return bytes(cal.to_ical())


def json_ld(view: EventView) -> dict[str, Any]:
    """A schema.org Event (https://schema.org/Event) for one event."""
    modes = {
        "in_person": "https://schema.org/OfflineEventAttendanceMode",
        "online": "https://schema.org/OnlineEventAttendanceMode",
        "hybrid": "https://schema.org/MixedEventAttendanceMode",
    }
    status = {
        "cancelled": "https://schema.org/EventCancelled",
    }.get(view.status, "https://schema.org/EventScheduled")
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Event",
        "@id": f"urn:uuid:{view.id}",
        "name": view.title,
        "startDate": view.starts_local.isoformat(),
        "endDate": view.ends_local.isoformat(),
        "eventStatus": status,
        "eventAttendanceMode": modes.get(view.format, modes["in_person"]),
        "inLanguage": view.language,
    }
    if view.description:
        document["description"] = view.description
    if view.venue_name or view.venue_address:
        place: dict[str, Any] = {"@type": "Place", "name": view.venue_name,
                                 "address": view.venue_address}
        if view.latitude is not None and view.longitude is not None:
            place["geo"] = {"@type": "GeoCoordinates", "latitude": view.latitude,
                            "longitude": view.longitude}
        document["location"] = place
    if view.capacity is not None:
        document["maximumAttendeeCapacity"] = view.capacity
        document["remainingAttendeeCapacity"] = view.seats_left
    return document
