"""`/v1/programs` and `/v1/enrolments`: mobilisation programs and the people taking part."""

import uuid

from pydantic import AwareDatetime, Field

from makesense_api.authz.principal import Scope
from makesense_api.feeds import collections
from makesense_api.feeds.changes import Gone
from makesense_api.kit.pagination import Page
from makesense_api.programs import enrolments, linked_events
from makesense_api.programs import service as programs
from makesense_api.programs.models import EnrolmentStatus, ProgramStatus
from makesense_api.programs.schemas import (
    EnrolmentCreate,
    EnrolmentFilter,
    EnrolmentView,
    ProgramCreate,
    ProgramEventView,
    ProgramFilter,
    ProgramUpdate,
    ProgramView,
)
from makesense_api.rest import schemas
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import FeedQuery, PageQuery

api = Registry("programs")
PROGRAM = "/programs/{program_id:uuid}"
ENROLMENT = "/enrolments/{enrolment_id:uuid}"


class ProgramQuery(FeedQuery):
    chapter_id: uuid.UUID | None = Field(
        default=None, description="Programs this chapter organizes or takes part in."
    )
    status: ProgramStatus | None = None
    active_at: AwareDatetime | None = Field(default=None, description="Running at this instant.")


class EnrolmentQuery(FeedQuery):
    person_id: uuid.UUID | None = None
    status: EnrolmentStatus | None = None


@api.get(
    "/programs", "List programs", response=schemas.Program, collection=True, anonymous=True,
    scope=Scope.PROGRAMS_READ, feed=True,
)
async def list_programs(
    c: Call[ProgramQuery, None],
) -> Page[ProgramView] | Page[ProgramView | Gone]:
    """Programs the caller may see, by start: published and archived ones for everyone,
    drafts for organizers of a chapter taking part."""
    q = c.query
    if q.updated_since is not None:
        return await programs.changes_since(c.ctx, q.updated_since, q.cursor, q.limit)
    flt = ProgramFilter(chapter_id=q.chapter_id, status=q.status, active_at=q.active_at)
    return await programs.list_programs(c.ctx, flt, q.cursor, q.limit)


@api.post(
    "/programs", "Create a program", response=schemas.Program, status=201,
    scope=Scope.PROGRAMS_WRITE, location=lambda v: f"/v1/programs/{v.id}",
)
async def create_program(c: Call[NoQuery, ProgramCreate]) -> ProgramView:
    """Create a draft program organized by a chapter where the caller manages programs."""
    return await programs.create(c.ctx, c.body)


@api.get(
    PROGRAM, "Get a program", response=schemas.Program, anonymous=True,
    scope=Scope.PROGRAMS_READ,
)
async def get_program(c: Call[NoQuery, None]) -> ProgramView:
    """One program, if the caller may see it; private channel links only for people enrolled
    and organizers."""
    return await programs.get(c.ctx, c.id("program_id"))


@api.patch(
    PROGRAM, "Edit a program", response=schemas.Program,
    scope=Scope.PROGRAMS_WRITE, current=get_program,
)
async def update_program(c: Call[NoQuery, ProgramUpdate]) -> ProgramView:
    """Change the fields given (organizers of the organizing chapter); send `If-Match` to be
    sure nobody changed it meanwhile."""
    return await programs.update(c.ctx, c.id("program_id"), c.body)


@api.post(
    PROGRAM + "/publish", "Publish a program", response=schemas.Program,
    scope=Scope.PROGRAMS_WRITE, conflicts=True,
)
async def publish_program(c: Call[NoQuery, None]) -> ProgramView:
    """Make a draft program public and open to enrolments."""
    return await programs.publish(c.ctx, c.id("program_id"))


@api.post(
    PROGRAM + "/archive", "Archive a program", response=schemas.Program,
    scope=Scope.PROGRAMS_WRITE, conflicts=True,
)
async def archive_program(c: Call[NoQuery, None]) -> ProgramView:
    """Retire a published program; it stays public as a record."""
    return await programs.archive(c.ctx, c.id("program_id"))


@api.get(
    PROGRAM + "/events", "List a program's events", response=schemas.ProgramEvent,
    collection=True, anonymous=True, scope=Scope.PROGRAMS_READ,
)
async def list_program_events(c: Call[PageQuery, None]) -> Page[ProgramEventView]:
    """The events linked to the program that the caller may see, by start time."""
    q = c.query
    return await linked_events.list_events(c.ctx, c.id("program_id"), q.cursor, q.limit)


# -- enrolments ----------------------------------------------------------------------------


@api.get(
    PROGRAM + "/enrolments", "List a program's enrolments", response=schemas.Enrolment,
    collection=True, scope=Scope.PROGRAMS_READ, feed=True,
)
async def list_enrolments(
    c: Call[EnrolmentQuery, None],
) -> Page[EnrolmentView] | Page[EnrolmentView | Gone]:
    """Enrolments the caller may see in the program (their own, and those they organize), in
    enrolment order. With `updated_since`, those the caller no longer organizes come back as
    gone."""
    q = c.query
    if q.updated_since is not None:
        return await collections.enrolment_changes(
            c.ctx, c.id("program_id"), q.updated_since, q.cursor, q.limit
        )
    flt = EnrolmentFilter(program_id=c.id("program_id"), person_id=q.person_id, status=q.status)
    return await enrolments.list_enrolments(c.ctx, flt, q.cursor, q.limit)


@api.post(
    PROGRAM + "/enrolments", "Enrol in a program", response=schemas.Enrolment, status=201,
    body_required=False, scope=Scope.PROGRAMS_WRITE,
    location=lambda v: f"/v1/enrolments/{v.id}", conflicts=True,
)
async def enrol(c: Call[NoQuery, EnrolmentCreate]) -> EnrolmentView:
    """Enrol the caller, or a person they organize, in a published program; enrolling again
    returns the existing enrolment."""
    return await enrolments.enrol(c.ctx, c.id("program_id"), c.body)


@api.get(
    ENROLMENT, "Get an enrolment", response=schemas.Enrolment, scope=Scope.PROGRAMS_READ,
)
async def get_enrolment(c: Call[NoQuery, None]) -> EnrolmentView:
    """One enrolment: the caller's own, or one they organize."""
    return await enrolments.get(c.ctx, c.id("enrolment_id"))


@api.post(
    ENROLMENT + "/complete", "Record a completion", response=schemas.Enrolment,
    scope=Scope.PROGRAMS_WRITE, conflicts=True,
)
async def complete_enrolment(c: Call[NoQuery, None]) -> EnrolmentView:
    """Record that an enrolled person completed the program (organizers)."""
    return await enrolments.complete(c.ctx, c.id("enrolment_id"))


@api.post(
    ENROLMENT + "/drop", "Leave a program", response=schemas.Enrolment,
    scope=Scope.PROGRAMS_WRITE, conflicts=True,
)
async def drop_enrolment(c: Call[NoQuery, None]) -> EnrolmentView:
    """Leave a program (the person themself, or organizers)."""
    return await enrolments.drop(c.ctx, c.id("enrolment_id"))
