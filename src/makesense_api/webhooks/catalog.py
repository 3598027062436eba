"""The event types an endpoint may subscribe to, and the payload each one sends.

A payload is `{"type", "timestamp", "data"}` where `data` is the subject as the REST API
represents it (an event for `event.*`, a registration for `registration.*`, …), read through
the subject's own service with the endpoint owner's identity: the owner receives exactly what
its reads would show, and nothing when it may not see the subject at all.
"""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlmodel import select

from makesense_api.authz.policy import MEMBERS_READ
from makesense_api.context import Ctx
from makesense_api.events import registrations
from makesense_api.events import service as events
from makesense_api.kit.errors import NotFound
from makesense_api.people import service as people
from makesense_api.people.models import Membership as MembershipRow
from makesense_api.people.models import Role
from makesense_api.programs import enrolments
from makesense_api.projects import contributions, needs
from makesense_api.projects import service as projects
from makesense_api.rest import schemas

PING = "webhook.ping"


class MembershipWithPerson(schemas.Out):
    """A person's membership of a chapter, with the person's profile as the owner may see it."""

    id: uuid.UUID
    person_id: uuid.UUID
    chapter_id: uuid.UUID
    role: str = Field(description="member, organizer or admin.")
    created_at: datetime
    person: schemas.Person | None = Field(description="Null when the owner may not see them.")


class WebhookPing(schemas.Out):
    """The body of a test ping."""

    endpoint_id: uuid.UUID
    message: str


@dataclass(frozen=True)
class MembershipData:
    id: uuid.UUID
    person_id: uuid.UUID
    chapter_id: uuid.UUID
    role: str
    created_at: datetime
    person: Any


async def _membership(ctx: Ctx, membership_id: uuid.UUID) -> MembershipData:
    row = (
        await ctx.session.exec(select(MembershipRow).where(MembershipRow.id == membership_id))
    ).first()
    if row is None or not await ctx.authz.can(MEMBERS_READ, row.chapter_id):
        raise NotFound("membership", membership_id)
    try:
        person = await people.get(ctx, row.person_id)
    except NotFound:
        person = None
    return MembershipData(
        row.id, row.person_id, row.chapter_id, Role(row.role).label, row.created_at, person
    )


Loader = Callable[[Ctx, uuid.UUID], Awaitable[Any]]


@dataclass(frozen=True)
class Kind:
    """One event type: what it announces, its `data` model, and how to read its subject."""

    description: str
    model: type[BaseModel]
    load: Loader


_EVENT = (schemas.Event, events.get_event)
_REGISTRATION = (schemas.Registration, registrations.get_registration)
_NEED = (schemas.Need, needs.get)
_CONTRIBUTION = (schemas.Contribution, contributions.get)
_ENROLMENT = (schemas.Enrolment, enrolments.get)

EVENT_TYPES: dict[str, Kind] = {
    "event.created": Kind("A draft event was created.", *_EVENT),
    "event.published": Kind("An event was published.", *_EVENT),
    "event.updated": Kind("An event changed (time, place, capacity, text…).", *_EVENT),
    "event.cancelled": Kind("An event was cancelled.", *_EVENT),
    "registration.created": Kind(
        "A person registered for an event (or joined its waitlist).", *_REGISTRATION
    ),
    "registration.cancelled": Kind("A registration was cancelled.", *_REGISTRATION),
    "registration.promoted": Kind(
        "A waitlisted person got a seat that freed up.", *_REGISTRATION
    ),
    "registration.checked_in": Kind("A registered person checked in.", *_REGISTRATION),
    "project.published": Kind("A project was published.", schemas.Project, projects.get),
    "need.opened": Kind("A project asks for help (a need opened or reopened).", *_NEED),
    "need.filled": Kind("A project's need was filled.", *_NEED),
    "contribution.offered": Kind("A person offered help on a need.", *_CONTRIBUTION),
    "contribution.accepted": Kind("An offer of help was accepted.", *_CONTRIBUTION),
    "program.enrolment.created": Kind("A person enrolled in a program.", *_ENROLMENT),
    "program.enrolment.completed": Kind("A person completed a program.", *_ENROLMENT),
    "membership.created": Kind("A person joined a chapter.", MembershipWithPerson, _membership),
}


def envelope(type_: str, timestamp: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a message (the Standard Webhooks payload structure)."""
    return {"type": type_, "timestamp": timestamp.isoformat(), "data": data}


async def data_for(ctx: Ctx, type_: str, subject_id: uuid.UUID) -> dict[str, Any] | None:
    """The subject as `ctx`'s caller may read it, or None when they may not see it."""
    kind = EVENT_TYPES.get(type_)
    if kind is None:
        return None
    try:
        view = await kind.load(ctx, subject_id)
    except NotFound:
        return None
    dumped: dict[str, Any] = kind.model.model_validate(view).model_dump(mode="json")
    return dumped
