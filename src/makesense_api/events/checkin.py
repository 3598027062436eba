"""Check-in: organizers mark who attended (one by one or in bulk), people check themselves in.

Only seated registrations (registered, attended, no-show) can be marked; a bulk call names every
registration that cannot and then changes none. Self check-in needs the event's code (shown to
organizers only) and is open from local midnight of the event's first day to local midnight
after its last day, in the event's zone.
"""

import secrets
import uuid
from collections.abc import Callable

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import REGISTRATIONS_MANAGE
from makesense_api.authz.principal import Scope
from makesense_api.context import Ctx
from makesense_api.events.access import load_registration, load_visible
from makesense_api.events.models import Event, EventStatus, Registration, RegistrationStatus
from makesense_api.events.outbox import registration_changed
from makesense_api.events.schemas import RegistrationView
from makesense_api.events.times import day_window
from makesense_api.events.views import SEATED, registration_views
from makesense_api.impact import rollup
from makesense_api.kit import clock
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, FieldError, Forbidden, ValidationFailed
from makesense_api.kit.schemas import raise_if

MAX_BULK = 500
OUTCOMES = (RegistrationStatus.ATTENDED, RegistrationStatus.NO_SHOW)


def _outcome(status: str) -> RegistrationStatus:
    if status not in OUTCOMES:
        raise ValidationFailed.on("status", "must be attended or no_show")
    return RegistrationStatus(status)


async def _mark(
    ctx: Ctx,
    event: Event,
    ids: list[uuid.UUID],
    outcome: RegistrationStatus,
    field: Callable[[int], str],
) -> list[Registration]:
    """Mark seated registrations of the event, all or none."""
    stmt = (
        select(Registration)
        .where(col(Registration.id).in_(ids), Registration.event_id == event.id)
        .execution_options(populate_existing=True)
    )
    found = {r.id: r for r in (await ctx.session.exec(stmt)).all()}
    errors: list[FieldError] = []
    for i, rid in enumerate(ids):
        row = found.get(rid)
        if row is None:
            errors.append(FieldError(field(i), "not a registration of this event"))
        elif row.status not in SEATED:
            errors.append(FieldError(field(i), f"a {row.status} registration holds no seat"))
    raise_if(list(errors))
    unique = list(dict.fromkeys(ids))
    now = clock.utcnow()
    done = await ctx.session.exec(
        sa.update(Registration)
        .where(col(Registration.id).in_(unique), col(Registration.status).in_(SEATED))
        .values(
            status=outcome, checked_in_at=now if outcome == RegistrationStatus.ATTENDED else None
        )
        .returning(col(Registration.id))
        .execution_options(synchronize_session=False)
    )
    if len(done.all()) != len(unique):
        raise Conflict("registrations changed meanwhile; nothing was checked in")
    rows = list((await ctx.session.exec(stmt)).all())
    order = {rid: i for i, rid in enumerate(unique)}
    rows.sort(key=lambda r: order[r.id])
    await rollup.refresh_people(ctx.session, [r.person_id for r in rows])
    for row in rows:
        registration_changed(ctx, "registration.checked_in", event, row)
    return rows


async def _managed_event(ctx: Ctx, event_id: uuid.UUID) -> Event:
    event = await load_visible(ctx, event_id)
    await ctx.authz.require(REGISTRATIONS_MANAGE, event.chapter_id)
    if event.status != EventStatus.PUBLISHED:
        raise Conflict(f"a {event.status} event has no check-in")
    return event


async def check_in_many(
    ctx: Ctx,
    event_id: uuid.UUID,
    registration_ids: list[uuid.UUID],
    status: str = RegistrationStatus.ATTENDED,
) -> list[RegistrationView]:
    """Mark up to 500 registrations of an event attended or no-show, all or nothing."""
    outcome = _outcome(status)
    if not 1 <= len(registration_ids) <= MAX_BULK:
        raise ValidationFailed.on("registration_ids", f"give between 1 and {MAX_BULK} ids")
    async with use_case(ctx.session):
        event = await _managed_event(ctx, event_id)
        rows = await _mark(ctx, event, registration_ids, outcome, lambda i: f"registration_ids.{i}")
    return await registration_views(ctx, rows)


async def check_in(
    ctx: Ctx, registration_id: uuid.UUID, status: str = RegistrationStatus.ATTENDED
) -> RegistrationView:
    """Mark one registration attended or no-show (organizers of the host chapter)."""
    outcome = _outcome(status)
    async with use_case(ctx.session):
        registration = await load_registration(ctx, registration_id)
        event = await _managed_event(ctx, registration.event_id)
        rows = await _mark(ctx, event, [registration_id], outcome, lambda _: "registration_id")
    return (await registration_views(ctx, rows))[0]


async def self_check_in(ctx: Ctx, event_id: uuid.UUID, code: str) -> RegistrationView:
    """The caller checks themself in with the event's code, on the day of the event."""
    ctx.authz.require_scope(Scope.REGISTRATIONS_WRITE)
    me = ctx.principal.person_id
    if me is None:
        raise Forbidden("only a person checks themself in")
    async with use_case(ctx.session):
        event = await load_visible(ctx, event_id)
        if event.status != EventStatus.PUBLISHED:
            raise Conflict(f"a {event.status} event has no check-in")
        opens, closes = day_window(event.starts_at, event.ends_at, event.timezone)
        if not opens <= clock.utcnow() < closes:
            raise Conflict("self check-in is open on the day of the event only")
        given = code.strip().upper().encode()
        if not event.check_in_code or not secrets.compare_digest(
            given, event.check_in_code.encode()
        ):
            raise ValidationFailed.on("code", "wrong check-in code")
        stmt = (
            select(Registration)
            .where(Registration.event_id == event.id, Registration.person_id == me)
            .execution_options(populate_existing=True)
        )
        registration = (await ctx.session.exec(stmt)).first()
        if registration is None or registration.status not in SEATED:
            raise Conflict("you hold no seat at this event")
        rows = [registration]
        if registration.status != RegistrationStatus.ATTENDED:
            rows = await _mark(
                ctx, event, [registration.id], RegistrationStatus.ATTENDED, lambda _: "code"
            )
    return (await registration_views(ctx, rows))[0]
