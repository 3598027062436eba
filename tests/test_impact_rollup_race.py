"""The impact rollup under real concurrency: one person checked in at several events at once,
each check-in in its own committed transaction, as concurrent requests would. Every check-in
rewrites that person's rollup rows; the rows left must be those recomputed from the facts.

Outside the rolled-back test transaction: the data is committed in a setup and deleted after.
"""

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.principal import Principal
from makesense_api.context import Ctx
from makesense_api.events import checkin, registrations
from makesense_api.events import service as events
from makesense_api.events.models import Event, EventCause, EventCohost, Registration
from makesense_api.impact import rollup
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
from makesense_api.kit.models import DomainEvent
from tests.test_registration_race import Arena, build, in_transaction, pool, tear_down

__all__ = ["pool"]  # the fixture, shared with the registration race

EVENTS = 6


@pytest.fixture
async def arena(pool: Database) -> AsyncIterator[tuple[Arena, list]]:
    made = await build(pool, people=1, capacity=10)
    (person_id,) = made.people
    starts = (utcnow() + timedelta(days=3)).replace(microsecond=0)

    async def arrange(ctx: Ctx) -> list:
        ids = []
        for i in range(EVENTS):
            draft = await events.create(ctx, {
                "chapter_id": made.chapter_ids[0], "title": f"Workshop {i}",
                "format": "in_person", "venue_name": "Hall", "timezone": "Europe/Paris",
                "language": "fr", "starts_at": starts + timedelta(days=40 * i),
                "ends_at": starts + timedelta(days=40 * i, hours=2), "causes": [i + 1],
            })
            await events.publish(ctx, draft.id)
            ids.append((await registrations.register(ctx, draft.id, person_id)).id)
        return ids

    registration_ids = await in_transaction(pool, Principal.system(), arrange)
    try:
        yield made, registration_ids
    finally:
        async with pool.sessionmaker() as session:
            extra = select(Registration.event_id).where(
                col(Registration.id).in_(registration_ids)
            )
            event_ids = list((await session.exec(extra)).all())
            for stmt in (
                sa.delete(rollup.TABLE).where(rollup.TABLE.c.person_id == person_id),
                sa.delete(DomainEvent).where(col(DomainEvent.subject_id).in_(registration_ids)),
                sa.delete(Registration).where(col(Registration.event_id).in_(event_ids)),
                sa.delete(EventCause).where(col(EventCause.event_id).in_(event_ids)),
                sa.delete(EventCohost).where(col(EventCohost.event_id).in_(event_ids)),
                sa.delete(DomainEvent).where(col(DomainEvent.subject_id).in_(event_ids)),
                sa.delete(Event).where(col(Event.id).in_(event_ids)),
            ):
                await session.exec(stmt)
            await session.commit()
        await tear_down(pool, made)


async def test_concurrent_check_ins_of_one_person_leave_exact_rows(
    pool: Database, arena: tuple[Arena, list]
) -> None:
    made, registration_ids = arena
    (person_id,) = made.people

    async def check(registration_id: object, status: str) -> None:
        await in_transaction(
            pool, Principal.system(),
            lambda ctx: checkin.check_in(ctx, registration_id, status),  # type: ignore[arg-type]
        )

    await asyncio.gather(*(check(r, "attended") for r in registration_ids))
    # Then undo half of them while the others are marked again, all at once.
    await asyncio.gather(*(
        check(r, "no_show" if i % 2 else "attended") for i, r in enumerate(registration_ids)
    ))
    async with pool.sessionmaker() as session:
        who = rollup.TABLE.c.person_id == person_id
        stored = {tuple(r) for r in (await session.exec(select(*rollup.TABLE.c).where(who)))}
        expected = {
            tuple(r)
            for r in (await session.exec(rollup.rows(lambda c: col(c) == person_id))).all()
        }
    assert stored == expected
    monthly = [r for r in stored if r[1] == 1 and r[0] == made.chapter_ids[0]]
    assert sum(r[4] for r in monthly) == EVENTS // 2  # attended
    assert sum(r[6] for r in monthly) == EVENTS // 2  # no-shows
