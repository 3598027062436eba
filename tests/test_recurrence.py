"""Recurring series: the rule's dates, wall-clock times across DST, caps, and editing
"this and following"."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import recurrence, registrations
from makesense_api.events import service as events
from makesense_api.events.models import Event, EventSeries
from makesense_api.events.occurrences import Rule, occurrence_dates
from makesense_api.events.schemas import EventFilter, Frequency
from makesense_api.kit.errors import (
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.kit.models import DomainEvent
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]
WEEKLY, MONTHLY = Frequency.WEEKLY, Frequency.MONTHLY


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


def series_input(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    return {
        "chapter_id": chapter.id,
        "title": "Atelier du jeudi",
        "format": "in_person",
        "venue_name": "La Ruche",
        "timezone": "Europe/Paris",
        "language": "fr",
        "start_date": "2030-03-14",  # a Thursday, two weeks before summer time
        "local_start": "19:00",
        "duration_minutes": 120,
        "frequency": "weekly",
        "count": 4,
        **overrides,
    }


async def occurrences(ctx: Ctx, series_id: uuid.UUID) -> list[Any]:
    flt = EventFilter(series_id=series_id, status=None, upcoming=False)
    return list((await events.list_events(ctx, flt, limit=100)).items)


async def count(session: AsyncSession, model: Any) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


# -- the rule, without a database ----------------------------------------------------------


def test_weekly_dates_follow_weekdays_and_interval() -> None:
    thursdays = occurrence_dates(date(2030, 3, 14), Rule(WEEKLY, count=3))
    assert thursdays == [date(2030, 3, 14), date(2030, 3, 21), date(2030, 3, 28)]
    # Tuesdays and Thursdays every other week, from a Wednesday: that week's Tuesday is past.
    fortnightly = occurrence_dates(date(2030, 3, 13), Rule(WEEKLY, 2, (3, 1), count=5))
    assert fortnightly == [
        date(2030, 3, 14),
        date(2030, 3, 26),
        date(2030, 3, 28),
        date(2030, 4, 9),
        date(2030, 4, 11),
    ]
    until = occurrence_dates(date(2030, 3, 14), Rule(WEEKLY, until=date(2030, 3, 28)))
    assert until[-1] == date(2030, 3, 28) and len(until) == 3


def test_monthly_dates_skip_months_without_the_day() -> None:
    dates = occurrence_dates(date(2030, 1, 31), Rule(MONTHLY, count=4))
    assert dates == [date(2030, 1, 31), date(2030, 3, 31), date(2030, 5, 31), date(2030, 7, 31)]
    quarterly = occurrence_dates(date(2030, 11, 15), Rule(MONTHLY, 3, until=date(2031, 8, 15)))
    assert quarterly == [
        date(2030, 11, 15),
        date(2031, 2, 15),
        date(2031, 5, 15),
        date(2031, 8, 15),
    ]


def test_dates_stop_one_past_the_cap() -> None:
    assert len(occurrence_dates(date(2030, 1, 1), Rule(WEEKLY, until=date(2040, 1, 1)))) == 201


# -- series of real events -----------------------------------------------------------------


async def test_wall_clock_time_holds_across_dst(system: Ctx, tree: Tree) -> None:
    series = await recurrence.create_series(system, series_input(tree["paris"]))
    made = await occurrences(system, series.id)
    assert [e.starts_at for e in made] == [
        datetime(2030, 3, 14, 18, tzinfo=UTC),  # winter: UTC+1
        datetime(2030, 3, 21, 18, tzinfo=UTC),
        datetime(2030, 3, 28, 18, tzinfo=UTC),
        datetime(2030, 4, 4, 17, tzinfo=UTC),  # summer: UTC+2
    ]
    assert all(e.ends_at - e.starts_at == timedelta(hours=2) for e in made)
    assert {e.starts_local.strftime("%H:%M") for e in made} == {"19:00"}
    assert [e.id for e in made] == series.event_ids
    assert {e.series_id for e in made} == {series.id} and {e.status for e in made} == {"draft"}
    assert (series.local_start, series.count, series.until) == ("19:00", 4, None)
    autumn = await recurrence.create_series(
        system, series_input(tree["paris"], start_date="2030-10-17", count=3)
    )
    assert [e.starts_at.hour for e in await occurrences(system, autumn.id)] == [17, 17, 18]


async def test_an_occurrence_in_a_dst_gap_refuses_the_series(
    session: AsyncSession, system: Ctx, tree: Tree
) -> None:
    before = (await count(session, Event), await count(session, EventSeries))
    with pytest.raises(ValidationFailed) as err:
        await recurrence.create_series(
            system,
            series_input(tree["paris"], start_date="2030-03-24", local_start="02:30", count=3),
        )
    [error] = err.value.errors
    assert error.field == "local_start" and "2030-03-31" in error.message
    assert (await count(session, Event), await count(session, EventSeries)) == before


async def test_an_ambiguous_occurrence_takes_the_first_instant(system: Ctx, tree: Tree) -> None:
    series = await recurrence.create_series(
        system, series_input(tree["paris"], start_date="2030-10-20", local_start="02:30", count=2)
    )
    made = await occurrences(system, series.id)
    assert [e.starts_at for e in made] == [
        datetime(2030, 10, 20, 0, 30, tzinfo=UTC),
        datetime(2030, 10, 27, 0, 30, tzinfo=UTC),  # 02:30 summer time, the first of two
    ]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"count": 201}, "count"),
        ({"count": None, "until": "2040-01-01"}, "until"),
        ({"count": None}, "count"),
        ({"until": "2030-06-01"}, "count"),
        ({"count": None, "until": "2030-01-01"}, "until"),
        ({"frequency": "monthly", "by_weekday": [1]}, "by_weekday"),
        ({"frequency": "daily"}, "frequency"),
        ({"by_weekday": [7]}, "by_weekday.0"),
        ({"interval": 0}, "interval"),
        ({"local_start": "19:00:30"}, "local_start"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"timezone": "Europe/Lutece"}, "timezone"),
        ({"format": "online"}, "online_url"),
    ],
)
async def test_invalid_rules_are_named_and_nothing_is_written(
    session: AsyncSession, system: Ctx, tree: Tree, override: dict[str, Any], field: str
) -> None:
    before = (await count(session, Event), await count(session, EventSeries))
    with pytest.raises(ValidationFailed) as err:
        await recurrence.create_series(system, series_input(tree["paris"], **override))
    assert field in [e.field for e in err.value.errors]
    assert (await count(session, Event), await count(session, EventSeries)) == before


async def test_until_is_inclusive_and_stored_as_the_last_start(system: Ctx, tree: Tree) -> None:
    series = await recurrence.create_series(
        system, series_input(tree["paris"], count=None, until="2030-03-28")
    )
    assert len(series.event_ids) == 3
    assert series.until == datetime(2030, 3, 28, 18, tzinfo=UTC)


async def test_only_event_managers_create_series(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    lagos = as_person(session, await factory.member(tree["lagos"], "organizer"))
    with pytest.raises(Forbidden):
        await recurrence.create_series(lagos, series_input(tree["paris"]))
    with pytest.raises(Unauthenticated):
        await recurrence.create_series(
            Ctx.of(session, Principal.anonymous()), series_input(tree["paris"])
        )
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    series = await recurrence.create_series(organizer, series_input(tree["paris"]))
    with pytest.raises(NotFound):  # drafts only
        await recurrence.get_series(Ctx.of(session, Principal.anonymous()), series.id)
    with pytest.raises(Forbidden):
        await recurrence.publish_series(lagos, series.id)
    await recurrence.publish_series(organizer, series.id)
    public = await recurrence.get_series(Ctx.of(session, Principal.anonymous()), series.id)
    assert public.event_ids == series.event_ids
    with pytest.raises(Forbidden):
        await recurrence.update_following(lagos, series.event_ids[1], {"title": "x"})


async def test_each_occurrence_has_its_own_registrations(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).date()
    series = await recurrence.create_series(
        system, series_input(tree["paris"], start_date=start.isoformat(), capacity=1)
    )
    await recurrence.publish_series(system, series.id)
    first, second = series.event_ids[:2]
    alice, bob = await factory.person(), await factory.person()
    assert (await factory.registration(first, alice)).status == "registered"
    assert (await factory.registration(first, bob)).status == "waitlisted"
    assert (await factory.registration(second, bob)).status == "registered"
    seats = [(await events.get_event(system, e)).seats_taken for e in series.event_ids]
    assert seats == [1, 1, 0, 0]
    mine = await registrations.my_registrations(as_person(session, bob))
    assert {r.event_id for r in mine.items} == {first, second}


# -- this and following --------------------------------------------------------------------


async def test_edit_this_and_following_leaves_earlier_ones_untouched(
    session: AsyncSession, system: Ctx, tree: Tree
) -> None:
    series = await recurrence.create_series(system, series_input(tree["paris"], count=6))
    before = await occurrences(system, series.id)
    third = before[2]
    tail = await recurrence.update_following(
        system,
        third.id,
        {"local_start": "18:30", "title": "Atelier (nouvel horaire)", "capacity": 12},
    )
    after = await occurrences(system, series.id) + await occurrences(system, tail.id)
    assert [e.id for e in after] == [e.id for e in before]
    assert after[:2] == before[:2]  # earlier occurrences: not a single field changed
    assert [e.starts_at for e in after[2:4]] == [
        datetime(2030, 3, 28, 17, 30, tzinfo=UTC),
        datetime(2030, 4, 4, 16, 30, tzinfo=UTC),
    ]
    assert {e.starts_local.strftime("%H:%M") for e in after[2:]} == {"18:30"}
    assert {(e.title, e.capacity, e.sequence) for e in after[2:]} == {
        ("Atelier (nouvel horaire)", 12, 1)
    }
    assert all(e.ends_at - e.starts_at == timedelta(hours=2) for e in after)
    # The series was split: the old rule keeps the two earlier dates.
    old = await recurrence.get_series(system, series.id)
    assert (old.count, old.local_start, len(old.event_ids)) == (2, "19:00", 2)
    assert (tail.count, tail.local_start, tail.event_ids) == (4, "18:30", [e.id for e in after[2:]])
    updates = (
        await session.exec(
            select(func.count())
            .select_from(DomainEvent)
            .where(
                DomainEvent.type == "event.updated",
                DomainEvent.subject_id.in_(series.event_ids),  # type: ignore[attr-defined]
            )
        )
    ).one()
    assert updates == 4


async def test_editing_from_the_first_occurrence_keeps_one_series(system: Ctx, tree: Tree) -> None:
    series = await recurrence.create_series(
        system, series_input(tree["paris"], count=None, until="2030-04-04")
    )
    same = await recurrence.update_following(
        system, series.event_ids[0], {"duration_minutes": 90, "causes": [11]}
    )
    assert same.id == series.id and same.duration_minutes == 90
    made = await occurrences(system, series.id)
    assert all(e.ends_at - e.starts_at == timedelta(minutes=90) for e in made)
    assert {tuple(e.causes) for e in made} == {(11,)}


async def test_following_edit_is_all_or_nothing(system: Ctx, factory: Factory, tree: Tree) -> None:
    start = (datetime.now(UTC) + timedelta(days=2)).date()
    series = await recurrence.create_series(
        system, series_input(tree["paris"], start_date=start.isoformat(), count=4, capacity=3)
    )
    await recurrence.publish_series(system, series.id)
    for _ in range(2):
        await factory.registration(series.event_ids[3], await factory.person())
    with pytest.raises(ValidationFailed) as err:
        await recurrence.update_following(
            system, series.event_ids[1], {"capacity": 1, "title": "Smaller"}
        )
    [error] = err.value.errors
    assert error.field == "capacity" and "2 seats are taken" in error.message
    assert {(await events.get_event(system, e)).title for e in series.event_ids} == {
        "Atelier du jeudi"
    }
    assert len((await recurrence.get_series(system, series.id)).event_ids) == 4
    cancelled = await events.cancel(system, series.event_ids[2])
    tail = await recurrence.update_following(system, series.event_ids[1], {"title": "Renamed"})
    titles = [(await events.get_event(system, e)).title for e in series.event_ids]
    assert titles == ["Atelier du jeudi", "Renamed", "Atelier du jeudi", "Renamed"]
    assert cancelled.id in tail.event_ids  # it moves with the new series, unchanged


async def test_a_single_event_has_no_following(system: Ctx, factory: Factory, tree: Tree) -> None:
    view = await factory.event(tree["paris"])
    with pytest.raises(ValidationFailed) as err:
        await recurrence.update_following(system, view.id, {"title": "x"})
    assert err.value.errors[0].field == "event_id"
