"""The seat counter and the waitlist, safe under any concurrency on SQLite and PostgreSQL.

- A seat is taken only by one conditional statement,
  `UPDATE event SET seats_taken = seats_taken + 1 WHERE id = :id
   AND (capacity IS NULL OR seats_taken < capacity) RETURNING seats_taken`:
  the database checks and increments atomically, so capacity is never exceeded (a CHECK
  constraint backs it up). No `SELECT … FOR UPDATE`, which SQLite lacks.
- Joining the waitlist takes the same row's write lock with a no-op UPDATE before the arrival
  instant is read, so arrivals are stamped in the order their transactions commit (on SQLite the
  `BEGIN IMMEDIATE` write lock already serializes them).
- Promotion is a conditional UPDATE of the registration (`… WHERE status = 'waitlisted'`): when a
  concurrent transaction promoted or cancelled that person first, the next one is tried, so no
  one is promoted twice.
"""

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.events.access import forget
from makesense_api.events.models import Event, Registration, RegistrationStatus

COUNTER = ("seats_taken", "updated_at")


async def take_seat(session: AsyncSession, event_id: uuid.UUID) -> int | None:
    """Take one seat if one is left; the new count, or None when the event is full."""
    stmt = (
        sa.update(Event)
        .where(
            col(Event.id) == event_id,
            sa.or_(col(Event.capacity).is_(None), col(Event.seats_taken) < Event.capacity),
        )
        .values(seats_taken=Event.seats_taken + 1)
        .returning(col(Event.seats_taken))
        .execution_options(synchronize_session=False)
    )
    taken: int | None = (await session.exec(stmt)).scalar_one_or_none()
    forget(session, Event, event_id, *COUNTER)
    return taken


async def release_seat(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Give one seat back."""
    await session.exec(
        sa.update(Event)
        .where(col(Event.id) == event_id, col(Event.seats_taken) > 0)
        .values(seats_taken=Event.seats_taken - 1)
        .execution_options(synchronize_session=False)
    )
    forget(session, Event, event_id, *COUNTER)


async def hold_queue(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Take the event row's write lock without changing it, until the transaction ends."""
    await session.exec(
        sa.update(Event)
        .where(col(Event.id) == event_id)
        .values(seats_taken=Event.seats_taken, updated_at=Event.updated_at)
        .execution_options(synchronize_session=False)
    )


async def set_capacity(session: AsyncSession, event_id: uuid.UUID, capacity: int | None) -> bool:
    """Change the capacity unless it would fall below the seats taken; whether it changed."""
    stmt = sa.update(Event).where(col(Event.id) == event_id)
    if capacity is not None:
        stmt = stmt.where(col(Event.seats_taken) <= capacity)
    result = await session.exec(
        stmt.values(capacity=capacity)
        .returning(col(Event.id))
        .execution_options(synchronize_session=False)
    )
    forget(session, Event, event_id, "capacity", "updated_at")
    return result.first() is not None


async def fresh_registration(session: AsyncSession, registration_id: uuid.UUID) -> Registration:
    stmt = (
        select(Registration)
        .where(Registration.id == registration_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).one()


async def promote_next(
    session: AsyncSession, event_id: uuid.UUID, now: datetime
) -> Registration | None:
    """Turn the first waitlisted person (by arrival) into a registered one; the caller holds
    the seat. None when nobody is waiting."""
    while True:
        first = (
            await session.exec(
                select(Registration.id)
                .where(
                    Registration.event_id == event_id,
                    Registration.status == RegistrationStatus.WAITLISTED,
                )
                .order_by(col(Registration.queued_at), col(Registration.id))
                .limit(1)
            )
        ).first()
        if first is None:
            return None
        promoted = await session.exec(
            sa.update(Registration)
            .where(
                col(Registration.id) == first,
                col(Registration.status) == RegistrationStatus.WAITLISTED,
            )
            .values(status=RegistrationStatus.REGISTERED, promoted_at=now)
            .returning(col(Registration.id))
            .execution_options(synchronize_session=False)
        )
        if promoted.first() is not None:
            return await fresh_registration(session, first)


async def fill_from_waitlist(
    session: AsyncSession, event_id: uuid.UUID, now: datetime
) -> list[Registration]:
    """Give every free seat to the waitlist, first in first out; the promoted registrations."""
    promoted: list[Registration] = []
    while await take_seat(session, event_id) is not None:
        registration = await promote_next(session, event_id, now)
        if registration is None:
            await release_seat(session, event_id)
            break
        promoted.append(registration)
    return promoted
