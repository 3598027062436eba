"""The events linked to a program (`event.program_id`), each as visible as it is on its own.

The visibility rule below mirrors the events domain's: public events once published (or
cancelled), members-only events for members of the host chapter, drafts for holders of
EVENTS_REVIEW, all within chapters the caller may see.
"""

import uuid

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import CHAPTER_MEMBER_READ, EVENTS_REVIEW
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.events.models import Event, EventStatus, EventVisibility
from makesense_api.kit.i18n import localize
from makesense_api.kit.pagination import Cursor, Page, Window, keyset_page, keyset_pages_by
from makesense_api.programs import service as programs
from makesense_api.programs.models import Program
from makesense_api.programs.schemas import ProgramEventView
from makesense_api.programs.service import load_visible


def visible_events_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Events the caller may see: public once published (or cancelled), members-only ones for
    members, drafts for EVENTS_REVIEW holders; in visible chapters only."""
    if ctx.principal.is_system:
        return sa.true()
    shown = col(Event.status) != EventStatus.DRAFT
    seen: list[sa.ColumnElement[bool]] = [
        sa.and_(shown, col(Event.visibility) == EventVisibility.PUBLIC)
    ]
    members = ctx.authz.chapters_where(CHAPTER_MEMBER_READ)
    if members is not None:
        seen.append(sa.and_(shown, col(Event.chapter_id).in_(members)))
    reviewed = ctx.authz.chapters_where(EVENTS_REVIEW)
    if reviewed is not None:
        seen.append(col(Event.chapter_id).in_(reviewed))
    open_chapters = select(Chapter.id).where(chapters.visible_clause(ctx))
    return sa.and_(sa.or_(*seen), col(Event.chapter_id).in_(open_chapters))


def _event_view(ctx: Ctx, event: Event) -> ProgramEventView:
    language, text = localize(
        {"title": event.title}, event.default_language, event.translations, ctx.languages
    )
    return ProgramEventView(
        id=event.id,
        chapter_id=event.chapter_id,
        title=text["title"] or event.title,
        language=language,
        format=event.format,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        timezone=event.timezone,
        status=event.status,
    )


async def list_events(
    ctx: Ctx, program_id: uuid.UUID, after: Cursor = None, limit: int = 20
) -> Page[ProgramEventView]:
    """The program's linked events the caller may see, by start time."""
    program = await load_visible(ctx, program_id)
    stmt = select(Event).where(Event.program_id == program.id, visible_events_clause(ctx))
    order = [col(Event.starts_at), col(Event.id)]
    page = await keyset_page(ctx.session, stmt, order, lambda e: [e.starts_at, e.id], after, limit)
    return page.replace([_event_view(ctx, e) for e in page.items])


async def pages_for_programs(
    ctx: Ctx, program_ids: list[uuid.UUID], window: Window
) -> dict[uuid.UUID, Page[ProgramEventView]]:
    """The first page of the linked events the caller may see for each visible program, by
    start time, in one query (nested lists); an invisible program gets an empty page."""
    seen_programs = select(Program.id).where(programs.visible_clause(ctx))
    stmt = select(Event).where(visible_events_clause(ctx), col(Event.program_id).in_(seen_programs))
    pages = await keyset_pages_by(
        ctx.session,
        Event,
        stmt,
        col(Event.program_id),
        program_ids,
        [col(Event.starts_at), col(Event.id)],
        lambda e: [e.starts_at, e.id],
        window,
    )
    return {pid: p.replace([_event_view(ctx, e) for e in p.items]) for pid, p in pages.items()}
