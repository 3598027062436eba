"""Enrolments: people taking part in a program, and how they finish.

- A person enrols themself through `programs:write`; an organizer or a partner tool enrols a
  person it can see (the people visibility rule) with PROGRAMS_MANAGE in the chapter the person
  takes part through.
- Only published programs take enrolments. Enrolling again is a no-op; after dropping out,
  enrolling again reuses the same row.
- The chapter taken part through is fixed at enrolment: the one asked for (it must lie in the
  subtree of a chapter taking part), else the person's home chapter when it lies there, else the
  organizing chapter. Impact is counted in that chapter.
- enrolled → completed (organizers: PROGRAMS_MANAGE in the organizing chapter or in the
  enrolment's chapter; sets `completed_at`), enrolled → dropped (the person or organizers).
- `program.enrolment.created` and `program.enrolment.completed` domain events are written in
  the transaction that makes the change.

An enrolment is seen by its person acting as themself and by the organizers above.
"""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from makesense_api.authz.policy import PROGRAMS_MANAGE
from makesense_api.authz.principal import Scope
from makesense_api.context import Ctx
from makesense_api.impact import rollup
from makesense_api.kit.clock import as_utc, utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, NotFound, ValidationFailed
from makesense_api.kit.models import DomainEvent
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.kit.schemas import parse
from makesense_api.people import service as people
from makesense_api.people.models import Person
from makesense_api.programs import participants
from makesense_api.programs import service as programs
from makesense_api.programs.models import Enrolment, EnrolmentStatus, Program, ProgramStatus
from makesense_api.programs.schemas import EnrolmentCreate, EnrolmentFilter, EnrolmentView

CREATED = "program.enrolment.created"
COMPLETED = "program.enrolment.completed"

# -- visibility ---------------------------------------------------------------------------


def visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Enrolments the caller may see: their own, and those they organize."""
    if ctx.principal.is_system:
        return sa.true()
    seen: list[sa.ColumnElement[bool]] = []
    person_id = ctx.principal.person_id
    if person_id is not None and ctx.principal.has_scope(Scope.PROGRAMS_READ):
        seen.append(col(Enrolment.person_id) == person_id)
    managed = ctx.authz.chapters_where(PROGRAMS_MANAGE)
    if managed is not None:
        seen.append(col(Enrolment.chapter_id).in_(managed))
        seen.append(col(Program.chapter_id).in_(managed))
    if not seen:
        return sa.false()
    return sa.and_(sa.or_(*seen), programs.visible_clause(ctx))


def _view(e: Enrolment) -> EnrolmentView:
    return EnrolmentView(
        id=e.id,
        program_id=e.program_id,
        person_id=e.person_id,
        chapter_id=e.chapter_id,
        status=e.status,
        completed_at=e.completed_at,
        created_at=e.created_at,
        updated_at=e.updated_at,
    )


async def _load(ctx: Ctx, enrolment_id: uuid.UUID) -> tuple[Enrolment, Program]:
    stmt = (
        select(Enrolment, Program)
        .join(Program, col(Program.id) == Enrolment.program_id)
        .where(Enrolment.id == enrolment_id, visible_clause(ctx))
    )
    found = (await ctx.session.exec(stmt)).first()
    if found is None:
        raise NotFound("enrolment", enrolment_id)
    return found[0], found[1]


async def get(ctx: Ctx, enrolment_id: uuid.UUID) -> EnrolmentView:
    """One enrolment by id."""
    return _view((await _load(ctx, enrolment_id))[0])


async def get_many(ctx: Ctx, enrolment_ids: list[uuid.UUID]) -> dict[uuid.UUID, EnrolmentView]:
    """The visible enrolments among `enrolment_ids`, batched (for loaders)."""
    if not enrolment_ids:
        return {}
    stmt = (
        select(Enrolment)
        .join(Program, col(Program.id) == Enrolment.program_id)
        .where(col(Enrolment.id).in_(enrolment_ids), visible_clause(ctx))
    )
    return {e.id: _view(e) for e in (await ctx.session.exec(stmt)).all()}


async def pages_for_programs(
    ctx: Ctx, program_ids: list[uuid.UUID], window: Window, status: str | None = None
) -> dict[uuid.UUID, Page[EnrolmentView]]:
    """The first page of the enrolments the caller may see in each program (their own, and
    those they organize), in enrolment order, in one query (nested lists)."""
    wanted = parse(EnrolmentFilter, {"status": status}).status
    stmt = (
        select(Enrolment)
        .join(Program, col(Program.id) == Enrolment.program_id)
        .where(visible_clause(ctx))
    )
    if wanted is not None:
        stmt = stmt.where(Enrolment.status == wanted.value)
    pages = await keyset_pages_by(
        ctx.session,
        Enrolment,
        stmt,
        col(Enrolment.program_id),
        program_ids,
        [col(Enrolment.id)],
        lambda e: [e.id],
        window,
    )
    return {pid: p.replace([_view(e) for e in p.items]) for pid, p in pages.items()}


async def list_enrolments(
    ctx: Ctx,
    flt: EnrolmentFilter | dict[str, Any] | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[EnrolmentView]:
    """Visible enrolments matching the filter, ordered by id (enrolment order)."""
    flt = parse(EnrolmentFilter, flt if flt is not None else {})
    ctx.authz.require_scope(Scope.PROGRAMS_READ)
    stmt = (
        select(Enrolment)
        .join(Program, col(Program.id) == Enrolment.program_id)
        .where(visible_clause(ctx))
    )
    if flt.program_id is not None:
        stmt = stmt.where(Enrolment.program_id == flt.program_id)
    if flt.person_id is not None:
        stmt = stmt.where(Enrolment.person_id == flt.person_id)
    if flt.status is not None:
        stmt = stmt.where(Enrolment.status == flt.status.value)
    page = await keyset_page(ctx.session, stmt, [col(Enrolment.id)], lambda e: [e.id], after, limit)
    return page.replace([_view(e) for e in page.items])


# -- writes ---------------------------------------------------------------------------------


def _announce(ctx: Ctx, kind: str, enrolment: Enrolment, program: Program) -> None:
    ctx.session.add(
        DomainEvent(
            type=kind,
            chapter_id=enrolment.chapter_id,
            subject_id=enrolment.id,
            payload={
                "enrolment_id": str(enrolment.id),
                "program_id": str(program.id),
                "program_chapter_id": str(program.chapter_id),
                "person_id": str(enrolment.person_id),
                "chapter_id": str(enrolment.chapter_id),
                "status": enrolment.status,
                "completed_at": enrolment.completed_at.isoformat()
                if enrolment.completed_at
                else None,
                "client_id": ctx.principal.client_id,
            },
        )
    )


async def _person(ctx: Ctx, person_id: uuid.UUID) -> tuple[Person, bool]:
    """The person to enrol, and whether the caller is that person acting as themself."""
    if person_id == ctx.principal.person_id:
        stmt = select(Person).where(Person.id == person_id, col(Person.erased_at).is_(None))
        me = (await ctx.session.exec(stmt)).first()
        if me is None:
            raise NotFound("person", person_id)
        return me, True
    return await people.load_visible(ctx, person_id), False


async def _chapter_for(
    ctx: Ctx, program: Program, person: Person, wanted: uuid.UUID | None
) -> uuid.UUID:
    if wanted is not None:
        if not await participants.takes_part(ctx, program.id, wanted):
            raise ValidationFailed.on("chapter_id", "this chapter does not take part")
        return wanted
    home = person.home_chapter_id
    if home is not None and await participants.takes_part(ctx, program.id, home):
        return home
    return program.chapter_id


async def _existing(ctx: Ctx, program_id: uuid.UUID, person_id: uuid.UUID) -> Enrolment | None:
    stmt = select(Enrolment).where(
        Enrolment.program_id == program_id, Enrolment.person_id == person_id
    )
    return (await ctx.session.exec(stmt)).first()


async def _insert(ctx: Ctx, enrolment: Enrolment) -> Enrolment | None:
    """Insert the enrolment; None when a concurrent request enrolled the person first."""
    try:
        async with ctx.session.begin_nested():
            ctx.session.add(enrolment)
    except IntegrityError:
        if await _existing(ctx, enrolment.program_id, enrolment.person_id) is None:
            raise
        return None
    return enrolment


async def enrol(
    ctx: Ctx, program_id: uuid.UUID, data: EnrolmentCreate | dict[str, Any] | None = None
) -> EnrolmentView:
    """Enrol the caller, or a person they organize, in a published program (idempotent)."""
    data = parse(EnrolmentCreate, data if data is not None else {})
    ctx.authz.require_scope(Scope.PROGRAMS_WRITE)
    person_id = data.person_id or ctx.principal.person_id
    if person_id is None:
        raise ValidationFailed.on("person_id", "name the person to enrol")
    async with use_case(ctx.session):
        program = await programs.load_visible(ctx, program_id)
        person, is_self = await _person(ctx, person_id)
        chapter_id = await _chapter_for(ctx, program, person, data.chapter_id)
        if not is_self:
            await ctx.authz.require(PROGRAMS_MANAGE, chapter_id)
        enrolment = await _existing(ctx, program.id, person.id)
        if enrolment is not None and enrolment.status != EnrolmentStatus.DROPPED:
            return _view(enrolment)
        if program.status != ProgramStatus.PUBLISHED:
            raise Conflict("only a published program takes enrolments")
        if enrolment is None:
            fresh = Enrolment(program_id=program.id, person_id=person.id, chapter_id=chapter_id)
            inserted = await _insert(ctx, fresh)
            if inserted is None:
                return _view(await _existing_or_fail(ctx, program.id, person.id))
            enrolment = inserted
        else:
            enrolment.status = EnrolmentStatus.ENROLLED.value
            enrolment.chapter_id = chapter_id
            enrolment.completed_at = None
            ctx.session.add(enrolment)
        _announce(ctx, CREATED, enrolment, program)
    return _view(enrolment)


async def _existing_or_fail(ctx: Ctx, program_id: uuid.UUID, person_id: uuid.UUID) -> Enrolment:
    found = await _existing(ctx, program_id, person_id)
    if found is None:
        raise NotFound("enrolment", f"{program_id}/{person_id}")
    return found


async def _require_organizer(ctx: Ctx, enrolment: Enrolment, program: Program) -> None:
    """PROGRAMS_MANAGE in the enrolment's chapter or in the organizing chapter."""
    if not await ctx.authz.can(PROGRAMS_MANAGE, enrolment.chapter_id):
        await ctx.authz.require(PROGRAMS_MANAGE, program.chapter_id)


async def complete(ctx: Ctx, enrolment_id: uuid.UUID, now: datetime | None = None) -> EnrolmentView:
    """Record that an enrolled person completed the program (organizers); a no-op if done."""
    ctx.authz.require_scope(Scope.PROGRAMS_WRITE)
    async with use_case(ctx.session):
        enrolment, program = await _load(ctx, enrolment_id)
        await _require_organizer(ctx, enrolment, program)
        if enrolment.status == EnrolmentStatus.COMPLETED:
            return _view(enrolment)
        if enrolment.status != EnrolmentStatus.ENROLLED:
            raise Conflict(f"a {enrolment.status} enrolment cannot be completed")
        enrolment.status = EnrolmentStatus.COMPLETED.value
        enrolment.completed_at = as_utc(now) if now is not None else utcnow()
        ctx.session.add(enrolment)
        await rollup.refresh_people(ctx.session, [enrolment.person_id])
        _announce(ctx, COMPLETED, enrolment, program)
    return _view(enrolment)


async def drop(ctx: Ctx, enrolment_id: uuid.UUID) -> EnrolmentView:
    """Leave a program (the person themself, or organizers); a no-op if already dropped."""
    ctx.authz.require_scope(Scope.PROGRAMS_WRITE)
    async with use_case(ctx.session):
        enrolment, program = await _load(ctx, enrolment_id)
        if enrolment.person_id != ctx.principal.person_id:
            await _require_organizer(ctx, enrolment, program)
        if enrolment.status == EnrolmentStatus.DROPPED:
            return _view(enrolment)
        if enrolment.status != EnrolmentStatus.ENROLLED:
            raise Conflict(f"a {enrolment.status} enrolment cannot be dropped")
        enrolment.status = EnrolmentStatus.DROPPED.value
        ctx.session.add(enrolment)
    return _view(enrolment)
