"""Capacity and the waitlist under real concurrency.

These tests do not run inside the rolled-back test transaction: every registration runs in its
own session and transaction, committed for real, as concurrent requests would. Each test builds
its data in a committed setup and deletes it afterwards.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.principal import Principal
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter, ChapterClosure
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.events import registrations
from makesense_api.events import service as events
from makesense_api.events.models import (
    Event,
    EventCause,
    EventCohost,
    Registration,
    RegistrationStatus,
)
from makesense_api.events.schemas import RegistrationView
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database, write_intent
from makesense_api.kit.models import DomainEvent
from makesense_api.people.models import Person

T = TypeVar("T")
WRITE = {"registrations:write"}


@dataclass
class Arena:
    """Committed data of one test: its chapters (children first), one event, people, and the
    order in which registrations committed."""

    chapter_ids: list[uuid.UUID]
    event_id: uuid.UUID
    people: list[uuid.UUID]
    commits: list[uuid.UUID] = field(default_factory=list)


@pytest.fixture
async def pool(database: Database, settings: Settings) -> AsyncIterator[Database]:
    """A database of its own with a pool wide enough for the crowd."""
    db = Database.from_settings(
        Settings(
            database_url=settings.database_url,
            environment="test",
            db_pool_size=20,
            db_max_overflow=20,
            db_pool_timeout=60,
        )
    )
    try:
        yield db
    finally:
        await db.dispose()


async def in_transaction(
    db: Database,
    principal: Principal,
    work: Callable[[Ctx], Awaitable[T]],
    committing: Callable[[], None] = lambda: None,
) -> T:
    """Run `work` in its own write transaction and commit it; `committing` is called as the
    commit is issued.

    That is the commit order: a registration holds the event's write lock from its seat or
    queue decision until its commit, so no other one can commit in between. (Noting the order
    once `commit()` returns would measure when each client woke up instead: SQLite runs its
    WAL checkpoints inside COMMIT, after the lock is released.)
    """
    token = write_intent.set(True)
    try:
        async with db.sessionmaker() as session:
            sa.event.listen(
                session.sync_session,
                "before_commit",  # also called when a savepoint is released: skip those
                lambda s: None if s.in_nested_transaction() else committing(),
            )
            result = await work(Ctx.of(session, principal))
            await session.commit()
            return result
    finally:
        write_intent.reset(token)


async def build(db: Database, people: int, capacity: int) -> Arena:
    n = uuid.uuid4().hex[:10]

    async def arrange(ctx: Ctx) -> Arena:
        # The network has one root: use it if the database already has one.
        root_id = (
            await ctx.session.exec(select(Chapter.id).where(col(Chapter.parent_id).is_(None)))
        ).first()
        created: list[uuid.UUID] = []
        if root_id is None:
            root_id = (
                await chapters.create_root(
                    ctx,
                    {
                        "slug": f"race-{n}",
                        "name": "Race",
                        "default_language": "en",
                        "kind": "network",
                        "timezone": "UTC",
                    },
                )
            ).id
            created.append(root_id)
        city = await chapters.create(
            ctx,
            {
                "slug": f"race-city-{n}",
                "name": "Race city",
                "default_language": "fr",
                "kind": "city",
                "parent_id": root_id,
                "timezone": "Europe/Paris",
                "country_code": "FR",
            },
        )
        crowd = [Person(display_name=f"Racer {i}") for i in range(people)]
        ctx.session.add_all(crowd)
        await ctx.session.flush()
        starts = (utcnow() + timedelta(days=3)).replace(microsecond=0)
        draft = await events.create(
            ctx,
            {
                "chapter_id": city.id,
                "title": "Popular workshop",
                "format": "in_person",
                "venue_name": "Hall",
                "timezone": "Europe/Paris",
                "language": "fr",
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=2),
                "capacity": capacity,
                "causes": [13],
            },
        )
        await events.publish(ctx, draft.id)
        return Arena([city.id, *created], draft.id, [p.id for p in crowd])

    return await in_transaction(db, Principal.system(), arrange)


async def tear_down(db: Database, arena: Arena) -> None:
    """Delete what the test committed, children before parents."""
    async with db.sessionmaker() as session:
        regs = select(Registration.id).where(Registration.event_id == arena.event_id)
        for stmt in (
            sa.delete(DomainEvent).where(
                sa.or_(
                    col(DomainEvent.chapter_id).in_(arena.chapter_ids),
                    col(DomainEvent.subject_id).in_(regs),
                )
            ),
            sa.delete(Registration).where(col(Registration.event_id) == arena.event_id),
            sa.delete(EventCause).where(col(EventCause.event_id) == arena.event_id),
            sa.delete(EventCohost).where(col(EventCohost.event_id) == arena.event_id),
            sa.delete(Event).where(col(Event.id) == arena.event_id),
            sa.delete(Person).where(col(Person.id).in_(arena.people)),
            sa.delete(ChapterClosure).where(
                col(ChapterClosure.descendant_id).in_(arena.chapter_ids)
            ),
            *(sa.delete(Chapter).where(col(Chapter.id) == c) for c in arena.chapter_ids),
        ):
            await session.exec(stmt)
        await session.commit()


@pytest.fixture
async def arenas(pool: Database) -> AsyncIterator[Callable[[int, int], Awaitable[Arena]]]:
    made: list[Arena] = []

    async def make(people: int, capacity: int) -> Arena:
        arena = await build(pool, people, capacity)
        made.append(arena)
        return arena

    try:
        yield make
    finally:
        for arena in made:
            await tear_down(pool, arena)


async def warm(db: Database, connections: int) -> None:
    """Open the pool's connections up front, so that the crowd starts together."""
    opened = [await db.engine.connect() for _ in range(connections)]
    for conn in opened:
        await conn.close()


async def register(
    db: Database, arena: Arena, person_id: uuid.UUID, start: asyncio.Barrier
) -> RegistrationView:
    """One person registers themself in their own transaction; its commit order is noted."""

    async def work(ctx: Ctx) -> RegistrationView:
        await start.wait()  # before any statement: nobody holds a lock while waiting
        return await registrations.register(ctx, arena.event_id)

    return await in_transaction(
        db, Principal.person(person_id, WRITE), work, lambda: arena.commits.append(person_id)
    )


async def cancel(
    db: Database, person_id: uuid.UUID, registration_id: uuid.UUID, start: asyncio.Barrier
) -> None:
    async def work(ctx: Ctx) -> RegistrationView:
        await start.wait()
        return await registrations.cancel(ctx, registration_id)

    await in_transaction(db, Principal.person(person_id, WRITE), work)


async def state(db: Database, arena: Arena) -> tuple[int, list[Registration]]:
    """The event's seat counter and its registrations in waitlist order."""
    async with db.sessionmaker() as session:
        event = await session.get(Event, arena.event_id)
        assert event is not None
        stmt = (
            select(Registration)
            .where(Registration.event_id == arena.event_id)
            .order_by(col(Registration.queued_at), col(Registration.id))
        )
        return event.seats_taken, list((await session.exec(stmt)).all())


def no_errors(results: list[Any]) -> None:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} failures, first: {errors[0]!r}"


async def test_two_hundred_people_for_ten_seats(
    pool: Database, arenas: Callable[[int, int], Awaitable[Arena]]
) -> None:
    arena = await arenas(200, 10)
    await warm(pool, 40)
    start = asyncio.Barrier(len(arena.people))
    started = time.perf_counter()
    results = await asyncio.gather(
        *(register(pool, arena, p, start) for p in arena.people), return_exceptions=True
    )
    elapsed = time.perf_counter() - started
    no_errors(results)
    seats_taken, rows = await state(pool, arena)
    registered = [r for r in rows if r.status == RegistrationStatus.REGISTERED]
    waitlisted = [r for r in rows if r.status == RegistrationStatus.WAITLISTED]
    assert (len(registered), len(waitlisted), len(rows)) == (10, 190, 200)
    assert seats_taken == 10
    # The first ten to commit hold the seats; the rest queue in the order they committed.
    assert {r.person_id for r in registered} == set(arena.commits[:10])
    assert [r.person_id for r in waitlisted] == arena.commits[10:]
    assert elapsed < 40, f"200 registrations took {elapsed:.1f}s"


async def test_one_person_registering_twenty_times_at_once(
    pool: Database, arenas: Callable[[int, int], Awaitable[Arena]]
) -> None:
    arena = await arenas(1, 10)
    [person] = arena.people
    await warm(pool, 20)
    start = asyncio.Barrier(20)
    results = await asyncio.gather(
        *(register(pool, arena, person, start) for _ in range(20)), return_exceptions=True
    )
    no_errors(results)
    views = [r for r in results if isinstance(r, RegistrationView)]
    assert len({v.id for v in views}) == 1 and {v.status for v in views} == {"registered"}
    seats_taken, rows = await state(pool, arena)
    assert len(rows) == 1 and seats_taken == 1
    # Cancelled, then back twenty times at once: the row is reused once, one seat is taken.
    await cancel(pool, person, views[0].id, asyncio.Barrier(1))
    start = asyncio.Barrier(20)
    again = await asyncio.gather(
        *(register(pool, arena, person, start) for _ in range(20)), return_exceptions=True
    )
    no_errors(again)
    assert {v.id for v in again if isinstance(v, RegistrationView)} == {views[0].id}
    seats_taken, rows = await state(pool, arena)
    assert [r.status for r in rows] == ["registered"] and seats_taken == 1


async def test_concurrent_cancellations_promote_distinct_people_in_order(
    pool: Database, arenas: Callable[[int, int], Awaitable[Arena]]
) -> None:
    arena = await arenas(15, 5)
    for person in arena.people:  # one after the other: a known queue
        await register(pool, arena, person, asyncio.Barrier(1))
    _, rows = await state(pool, arena)
    seated = [r for r in rows if r.status == RegistrationStatus.REGISTERED]
    queue = [r for r in rows if r.status == RegistrationStatus.WAITLISTED]
    assert [r.person_id for r in queue] == arena.people[5:]
    # Every seat holder leaves at once, and two people in the queue give up meanwhile.
    leaving = [*seated, queue[0], queue[2]]
    await warm(pool, len(leaving))
    start = asyncio.Barrier(len(leaving))
    results = await asyncio.gather(
        *(cancel(pool, r.person_id, r.id, start) for r in leaving), return_exceptions=True
    )
    no_errors(results)
    seats_taken, rows = await state(pool, arena)
    registered = [r for r in rows if r.status == RegistrationStatus.REGISTERED]
    expected = [r.person_id for r in queue if r not in (queue[0], queue[2])][:5]
    assert sorted(r.person_id for r in registered) == sorted(expected)
    assert seats_taken == len(registered) == 5
    assert all(r.promoted_at is not None for r in registered)
    async with pool.sessionmaker() as session:
        promoted = (
            await session.exec(
                select(DomainEvent.subject_id).where(
                    DomainEvent.type == "registration.promoted",
                    col(DomainEvent.chapter_id).in_(arena.chapter_ids),
                )
            )
        ).all()
    # Nobody promoted twice; a quitter may have been promoted just before leaving.
    assert len(promoted) == len(set(promoted))
    assert (
        {r.id for r in registered}
        <= set(promoted)
        <= {*(r.id for r in registered), queue[0].id, queue[2].id}
    )
