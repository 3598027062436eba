"""Registrations: register, cancel and read. Capacity holds whatever the concurrency.

A person registers themself (a `registrations:write` token acting as them); organizers and
partner tools holding `REGISTRATIONS_MANAGE` on the host chapter register anyone. Registration is
open for published events inside their window (`registration_opens_at` to
`registration_closes_at`, or to the event's end). While seats remain the person is `registered`,
then `waitlisted` in arrival order, or refused with `CapacityFull` when the waitlist is off.

Registering twice gives back the same row, even when both attempts race: the unique
(event, person) constraint rejects the second insert, whose savepoint is rolled back (seat
included) before the existing row is returned. A cancelled registration is reused on
re-registration and joins the end of the queue. Cancelling a seat promotes the first waitlisted
person in the same transaction (`events.seats`).
"""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from makesense_api.authz.policy import REGISTRATIONS_MANAGE, REGISTRATIONS_REVIEW
from makesense_api.authz.principal import Scope
from makesense_api.context import Ctx
from makesense_api.events.access import (
    acts_for_self,
    load_registration,
    load_visible,
    visible_registrations_clause,
)
from makesense_api.events.changes import promote_waitlist
from makesense_api.events.models import Event, EventStatus, Registration, RegistrationStatus
from makesense_api.events.outbox import registration_changed
from makesense_api.events.schemas import RegistrationView
from makesense_api.events.seats import fresh_registration, hold_queue, release_seat, take_seat
from makesense_api.events.views import registration_views
from makesense_api.kit import clock
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import (
    CapacityFull,
    Conflict,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.people import service as people

ACTIVE = frozenset(
    {
        RegistrationStatus.REGISTERED,
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.ATTENDED,
        RegistrationStatus.NO_SHOW,
    }
)


# -- registering ---------------------------------------------------------------------------


async def _registrant(ctx: Ctx, event: Event, person_id: uuid.UUID | None) -> uuid.UUID:
    """Who is being registered, once the caller is allowed to register them."""
    me = ctx.principal.person_id
    if person_id is None or person_id == me:
        ctx.authz.require_scope(Scope.REGISTRATIONS_WRITE)
        if me is None:
            raise ValidationFailed.on("person_id", "name the person to register")
        return me
    await ctx.authz.require(REGISTRATIONS_MANAGE, event.chapter_id)
    await people.require_visible(ctx, person_id, "person_id")
    return person_id


def _check_open(event: Event) -> None:
    if event.status != EventStatus.PUBLISHED:
        raise Conflict(f"a {event.status} event takes no registrations")
    now = clock.utcnow()
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        raise Conflict(f"registration opens at {event.registration_opens_at.isoformat()}")
    if now >= (event.registration_closes_at or event.ends_at):
        raise Conflict("registration is closed")


async def _existing(ctx: Ctx, event_id: uuid.UUID, person_id: uuid.UUID) -> Registration | None:
    stmt = (
        select(Registration)
        .where(Registration.event_id == event_id, Registration.person_id == person_id)
        .execution_options(populate_existing=True)
    )
    return (await ctx.session.exec(stmt)).first()


class _Overtaken(Exception):
    """A concurrent request reactivated the same cancelled registration first."""


async def _queue(
    ctx: Ctx, event: Event, person_id: uuid.UUID, existing: Registration | None
) -> Registration:
    """Take a seat or a place in the waitlist, then write the row."""
    seat = await take_seat(ctx.session, event.id)
    if seat is None:
        if not event.waitlist_enabled:
            raise CapacityFull("no seat is left and the event has no waitlist")
        await hold_queue(ctx.session, event.id)
    # Read only now: the event row's lock orders arrivals as their transactions commit.
    values: dict[str, Any] = {
        "status": (
            RegistrationStatus.REGISTERED if seat is not None else RegistrationStatus.WAITLISTED
        ),
        "queued_at": clock.utcnow(),
        "promoted_at": None,
        "cancelled_at": None,
        "checked_in_at": None,
        "client_id": ctx.principal.client_id,
    }
    if existing is None:
        registration = Registration(event_id=event.id, person_id=person_id, **values)
        ctx.session.add(registration)
        await ctx.session.flush()
        return registration
    # Reuse the cancelled row, unless a concurrent request already did.
    reused = await ctx.session.exec(
        sa.update(Registration)
        .where(
            col(Registration.id) == existing.id,
            col(Registration.status) == RegistrationStatus.CANCELLED,
        )
        .values(**values)
        .returning(col(Registration.id))
        .execution_options(synchronize_session=False)
    )
    if reused.first() is None:
        raise _Overtaken()
    return await fresh_registration(ctx.session, existing.id)


async def _enrol(
    ctx: Ctx, event: Event, person_id: uuid.UUID, existing: Registration | None
) -> Registration:
    """Queue the person in a savepoint; when a concurrent request registered them first, that
    savepoint (seat included) is undone and their row is given back."""
    try:
        async with ctx.session.begin_nested():
            registration = await _queue(ctx, event, person_id, existing)
    except (IntegrityError, _Overtaken) as lost:
        winner = await _existing(ctx, event.id, person_id)
        if winner is not None and winner.status in ACTIVE:
            return winner
        if isinstance(lost, IntegrityError):
            raise
        raise Conflict("the registration changed meanwhile; retry") from None
    registration_changed(ctx, "registration.created", event, registration)
    return registration


async def register(
    ctx: Ctx, event_id: uuid.UUID, person_id: uuid.UUID | None = None
) -> RegistrationView:
    """Register a person (by default the caller) for a published event; idempotent."""
    async with use_case(ctx.session):
        event = await load_visible(ctx, event_id)
        who = await _registrant(ctx, event, person_id)
        existing = await _existing(ctx, event.id, who)
        if existing is not None and existing.status in ACTIVE:
            registration = existing
        else:
            _check_open(event)
            registration = await _enrol(ctx, event, who, existing)
    return (await registration_views(ctx, [registration]))[0]


# -- cancelling ----------------------------------------------------------------------------


async def _mark_cancelled(ctx: Ctx, registration: Registration) -> str | None:
    """Cancel with a conditional UPDATE on the status read; the status it had, or None when it
    was already cancelled. Retries when a concurrent change (a promotion) got there first."""
    for _ in range(3):
        status = registration.status
        if status == RegistrationStatus.CANCELLED:
            return None
        if status not in (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED):
            raise Conflict(f"a registration marked {status} cannot be cancelled")
        done = await ctx.session.exec(
            sa.update(Registration)
            .where(col(Registration.id) == registration.id, col(Registration.status) == status)
            .values(status=RegistrationStatus.CANCELLED, cancelled_at=clock.utcnow())
            .returning(col(Registration.id))
            .execution_options(synchronize_session=False)
        )
        if done.first() is not None:
            return status
        registration = await fresh_registration(ctx.session, registration.id)
    raise Conflict("the registration keeps changing; retry")


async def cancel(ctx: Ctx, registration_id: uuid.UUID) -> RegistrationView:
    """Cancel a registration (its person, or organizers); a freed seat goes to the waitlist."""
    async with use_case(ctx.session):
        registration = await load_registration(ctx, registration_id)
        event = (
            await ctx.session.exec(
                select(Event)
                .where(Event.id == registration.event_id)
                .execution_options(populate_existing=True)
            )
        ).one()
        if registration.person_id == ctx.principal.person_id:
            ctx.authz.require_scope(Scope.REGISTRATIONS_WRITE)
        else:
            await ctx.authz.require(REGISTRATIONS_MANAGE, event.chapter_id)
        previous = await _mark_cancelled(ctx, registration)
        registration = await fresh_registration(ctx.session, registration_id)
        if previous is not None:
            registration_changed(
                ctx, "registration.cancelled", event, registration, previous_status=previous
            )
        if previous == RegistrationStatus.REGISTERED:
            await release_seat(ctx.session, event.id)
            if event.status == EventStatus.PUBLISHED and clock.utcnow() < event.ends_at:
                await promote_waitlist(ctx, event)
    return (await registration_views(ctx, [registration]))[0]


# -- reading -------------------------------------------------------------------------------


async def get_registration(ctx: Ctx, registration_id: uuid.UUID) -> RegistrationView:
    """One registration: the person's own, or any of an event the caller organizes."""
    return (await registration_views(ctx, [await load_registration(ctx, registration_id)]))[0]


def _status(status: str | None) -> RegistrationStatus | None:
    if status is None:
        return None
    try:
        return RegistrationStatus(status)
    except ValueError:
        allowed = ", ".join(s.value for s in RegistrationStatus)
        raise ValidationFailed.on("status", f"must be one of {allowed}") from None


async def get_many(
    ctx: Ctx, registration_ids: list[uuid.UUID]
) -> dict[uuid.UUID, RegistrationView]:
    """The visible registrations among `registration_ids`, batched (for loaders)."""
    if not registration_ids:
        return {}
    stmt = select(Registration).where(
        col(Registration.id).in_(registration_ids), visible_registrations_clause(ctx)
    )
    rows = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).all()
    return {v.id: v for v in await registration_views(ctx, list(rows))}


async def own_for_events(ctx: Ctx, event_ids: list[uuid.UUID]) -> dict[uuid.UUID, RegistrationView]:
    """The caller's own registration for each of `event_ids` that has one, keyed by event,
    batched; empty unless the token may read the caller's registrations."""
    me = acts_for_self(ctx)
    if me is None or not event_ids:
        return {}
    stmt = select(Registration).where(
        Registration.person_id == me,
        col(Registration.event_id).in_(event_ids),
        visible_registrations_clause(ctx),
    )
    rows = (await ctx.session.exec(stmt.execution_options(populate_existing=True))).all()
    return {v.event_id: v for v in await registration_views(ctx, list(rows))}


async def list_registrations(
    ctx: Ctx,
    event_id: uuid.UUID,
    status: str | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[RegistrationView]:
    """An event's attendee list in arrival order (organizers of the host chapter)."""
    wanted = _status(status)
    event = await load_visible(ctx, event_id)
    ctx.authz.require_scope(Scope.REGISTRATIONS_READ)
    if not await ctx.authz.can(REGISTRATIONS_REVIEW, event.chapter_id):
        raise NotFound("registrations of event", event_id)
    stmt = select(Registration).where(Registration.event_id == event.id)
    if wanted is not None:
        stmt = stmt.where(Registration.status == wanted)
    page = await keyset_page(
        ctx.session,
        stmt.execution_options(populate_existing=True),
        [col(Registration.queued_at), col(Registration.id)],
        lambda r: [r.queued_at, r.id],
        after,
        limit,
    )
    return page.replace(await registration_views(ctx, page.items))


async def pages_for_events(
    ctx: Ctx, event_ids: list[uuid.UUID], window: Window, status: str | None = None
) -> dict[uuid.UUID, Page[RegistrationView]]:
    """The first page of the registrations the caller may see for each event (all of them for
    its organizers, the caller's own otherwise), in arrival order, in one query."""
    wanted = _status(status)
    stmt = select(Registration).where(visible_registrations_clause(ctx))
    if wanted is not None:
        stmt = stmt.where(Registration.status == wanted)
    pages = await keyset_pages_by(
        ctx.session,
        Registration,
        stmt,
        col(Registration.event_id),
        event_ids,
        [col(Registration.queued_at), col(Registration.id)],
        lambda r: [r.queued_at, r.id],
        window,
    )
    views = await registration_views(ctx, [r for p in pages.values() for r in p.items])
    by_id = {v.id: v for v in views}
    return {eid: p.replace([by_id[r.id] for r in p.items]) for eid, p in pages.items()}


def own_registrations_of(ctx: Ctx) -> uuid.UUID:
    """The person whose own registrations the caller reads (`profile` or
    `registrations:read`); raises for anonymous callers, partners and missing scopes."""
    me = acts_for_self(ctx)
    if me is None:
        if ctx.principal.is_anonymous:
            raise Unauthenticated()
        if ctx.principal.person_id is None:
            raise Forbidden("only a person has registrations of their own")
        ctx.authz.require_scope(Scope.REGISTRATIONS_READ)
        raise Forbidden("this token may not read the person's registrations")
    return me


async def my_registrations(
    ctx: Ctx, after: Cursor = None, limit: int = 20, status: str | None = None
) -> Page[RegistrationView]:
    """The caller's own registrations, in the order they were first made."""
    wanted = _status(status)
    me = own_registrations_of(ctx)
    stmt = select(Registration).where(
        Registration.person_id == me, visible_registrations_clause(ctx)
    )
    if wanted is not None:
        stmt = stmt.where(Registration.status == wanted)
    page = await keyset_page(
        ctx.session,
        stmt.execution_options(populate_existing=True),
        [col(Registration.id)],
        lambda r: [r.id],
        after,
        limit,
    )
    return page.replace(await registration_views(ctx, page.items))


async def seats_left(ctx: Ctx, event_id: uuid.UUID) -> int | None:
    """Seats still free at a visible event; None when its capacity is unlimited."""
    event = await load_visible(ctx, event_id)
    return None if event.capacity is None else max(event.capacity - event.seats_taken, 0)
