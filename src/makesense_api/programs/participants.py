"""The chapters taking part in a program: joining, withdrawing, and who lies inside them.

The organizing chapter always takes part. Adding a chapter needs PROGRAMS_MANAGE in the
organizing chapter and in the chapter added (an organizer of an ancestor, such as a
network-level organizer, holds it); a chapter's own organizers may withdraw it.
"""

import uuid

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import PROGRAMS_MANAGE
from makesense_api.authz.principal import Scope
from makesense_api.chapters.models import ChapterClosure
from makesense_api.context import Ctx
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, NotFound, ValidationFailed
from makesense_api.programs.models import ProgramChapter, ProgramStatus
from makesense_api.programs.schemas import ProgramView
from makesense_api.programs.service import (
    check_joining,
    load_managed,
    load_visible,
    touch,
    views,
)


async def takes_part(ctx: Ctx, program_id: uuid.UUID, chapter_id: uuid.UUID) -> bool:
    """Whether the chapter lies in the subtree of a chapter taking part in the program."""
    stmt = select(sa.func.count()).where(
        ChapterClosure.descendant_id == chapter_id,
        col(ChapterClosure.ancestor_id).in_(
            select(ProgramChapter.chapter_id).where(ProgramChapter.program_id == program_id)
        ),
    )
    return (await ctx.session.exec(stmt)).one() > 0


async def add_chapter(ctx: Ctx, program_id: uuid.UUID, chapter_id: uuid.UUID) -> ProgramView:
    """Make a chapter take part (idempotent): PROGRAMS_MANAGE in the program and the chapter."""
    async with use_case(ctx.session):
        program = await load_managed(ctx, program_id)
        if program.status == ProgramStatus.ARCHIVED:
            raise Conflict("an archived program cannot change")
        await check_joining(ctx, [("chapter_id", chapter_id)])
        present = await ctx.session.get(ProgramChapter, (program.id, chapter_id))
        if present is None:
            ctx.session.add(ProgramChapter(program_id=program.id, chapter_id=chapter_id))
            touch(ctx, program)
    return (await views(ctx, [program]))[0]


async def remove_chapter(ctx: Ctx, program_id: uuid.UUID, chapter_id: uuid.UUID) -> ProgramView:
    """Withdraw a chapter: the program's organizers, or organizers of that chapter.

    Enrolments made through the chapter keep it: their impact stays where it happened.
    """
    ctx.authz.require_scope(Scope.PROGRAMS_WRITE)
    async with use_case(ctx.session):
        program = await load_visible(ctx, program_id)
        if not await ctx.authz.can(PROGRAMS_MANAGE, chapter_id):
            await ctx.authz.require(PROGRAMS_MANAGE, program.chapter_id)
        if chapter_id == program.chapter_id:
            raise ValidationFailed.on("chapter_id", "the organizing chapter always takes part")
        present = await ctx.session.get(ProgramChapter, (program.id, chapter_id))
        if present is None:
            raise NotFound("program chapter", chapter_id)
        await ctx.session.delete(present)
        touch(ctx, program)
    return (await views(ctx, [program]))[0]
