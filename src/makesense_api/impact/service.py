"""Impact: mobilisation reports per period, and goals with their progress.

Who sees what:
- totals are public wherever the chapter or program is visible to the caller (anonymous
  included): people mobilised, events held and volunteer hours per period, and goals with their
  progress. They are counts over many people and say nothing about anyone;
- detail (breakdowns by child chapter and by cause, attendance) needs IMPACT_DETAIL: the
  `impact:read` scope, a token whose reach covers the chapter (the organizing chapter for a
  program), and membership of that chapter or an ancestor (or a partner grant of
  `impact:read` there). Small cells of a breakdown can point at individuals, hence the rule.

Who sets goals: IMPACT_MANAGE (chapter admins) for a chapter; PROGRAMS_MANAGE in the organizing
chapter for a program. The network's own goal is a goal of the root chapter.

Counting rules and the direct SQL live in `impact.queries`; the people counts of a chapter
read the rollup (`impact.counts`, kept by `impact.rollup`); periods in `impact.periods`.
"""

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.policy import IMPACT_DETAIL, IMPACT_MANAGE, PROGRAMS_MANAGE
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.impact import counts, queries
from makesense_api.impact.models import Goal
from makesense_api.impact.periods import Period, PeriodKind, pace, periods_between, periods_left
from makesense_api.impact.queries import Among
from makesense_api.impact.schemas import (
    CauseCount,
    ChapterCount,
    GoalCreate,
    GoalProgress,
    GoalUpdate,
    GoalView,
    ImpactReport,
    PeriodFigures,
    ReportQuery,
)
from makesense_api.kit.clock import as_utc, utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import FieldError, NotFound, ValidationFailed
from makesense_api.kit.i18n import localize
from makesense_api.kit.pagination import Cursor, Page, keyset_page
from makesense_api.kit.schemas import parse, raise_if
from makesense_api.programs import service as programs
from makesense_api.programs.models import Program, ProgramChapter

# -- reports ------------------------------------------------------------------------------


async def _subject(ctx: Ctx, query: ReportQuery) -> tuple[Among, uuid.UUID]:
    """What the report covers and the chapter whose rules apply; NotFound if invisible."""
    if (query.chapter_id is None) == (query.program_id is None):
        raise ValidationFailed.on("chapter_id", "give either a chapter or a program")
    if query.chapter_id is not None:
        chapter = await chapters.load_visible(ctx, query.chapter_id)
        return Among(chapter_id=chapter.id), chapter.id
    assert query.program_id is not None
    program = await programs.load_visible(ctx, query.program_id)
    return Among(program_id=program.id), program.chapter_id


def _periods(query: ReportQuery) -> list[Period]:
    try:
        return periods_between(query.period, query.start, query.end)
    except ValueError as exc:
        raise ValidationFailed.on("end", str(exc)) from None


async def _breakdown_chapters(ctx: Ctx, among: Among) -> list[Chapter]:
    """The chapters a breakdown is by: a chapter's visible children, a program's chapters."""
    if among.chapter_id is not None:
        stmt = select(Chapter).where(Chapter.parent_id == among.chapter_id)
    else:
        stmt = (
            select(Chapter)
            .join(ProgramChapter, col(ProgramChapter.chapter_id) == Chapter.id)
            .where(ProgramChapter.program_id == among.program_id)
        )
    stmt = stmt.where(chapters.visible_clause(ctx)).order_by(col(Chapter.slug))
    return list((await ctx.session.exec(stmt)).all())


def _chapter_counts(
    ctx: Ctx, shown: list[Chapter], counts: dict[uuid.UUID, int]
) -> list[ChapterCount]:
    out = []
    for c in shown:
        _, text = localize({"name": c.name}, c.default_language, c.translations, ctx.languages)
        out.append(ChapterCount(c.id, c.slug, text["name"] or c.name, counts.get(c.id, 0)))
    return out


async def report(ctx: Ctx, query: ReportQuery | dict[str, Any]) -> ImpactReport:
    """Mobilisation figures for a chapter's subtree or a program, one entry per period."""
    query = parse(ReportQuery, query)
    periods = _periods(query)
    among, chapter_id = await _subject(ctx, query)
    if query.detail:
        await ctx.authz.require(IMPACT_DETAIL, chapter_id)
    session = ctx.session
    people = await counts.mobilised(session, among, periods)
    held = await queries.events_held(session, among, periods)
    hours = await queries.volunteer_hours(session, among, periods)
    figures = [
        PeriodFigures(p.label, p.start, p.end, people.get(i, 0), held.get(i, 0), hours.get(i, 0.0))
        for i, p in enumerate(periods)
    ]
    if query.detail:
        figures = await _detail(ctx, among, periods, figures)
    return ImpactReport(
        query.chapter_id, query.program_id, query.period.value, query.detail, figures
    )


async def _detail(
    ctx: Ctx, among: Among, periods: Sequence[Period], figures: list[PeriodFigures]
) -> list[PeriodFigures]:
    shown = await _breakdown_chapters(ctx, among)
    session = ctx.session
    by_chapter = await counts.mobilised_by_chapter(session, among, periods, [c.id for c in shown])
    by_cause = await counts.mobilised_by_cause(session, among, periods)
    seen = await counts.attendance(session, among, periods)
    out = []
    for i, f in enumerate(figures):
        tally = seen.get(i, queries.Attendance(0, 0))
        out.append(
            replace(
                f,
                attended=tally.attended,
                no_shows=tally.no_shows,
                attendance_rate=tally.rate,
                by_chapter=_chapter_counts(ctx, shown, by_chapter.get(i, {})),
                by_cause=[CauseCount(c, n) for c, n in sorted(by_cause.get(i, {}).items())],
            )
        )
    return out


# -- goals ----------------------------------------------------------------------------------


def _goal_view(g: Goal) -> GoalView:
    return GoalView(
        id=g.id,
        chapter_id=g.chapter_id,
        program_id=g.program_id,
        metric=g.metric,
        target=g.target,
        starts_at=g.starts_at,
        deadline=g.deadline,
        created_at=g.created_at,
        updated_at=g.updated_at,
    )


def goal_visible_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """Goals are as visible as their chapter or program."""
    open_chapters = select(Chapter.id).where(chapters.visible_clause(ctx))
    seen_programs = select(Program.id).where(programs.visible_clause(ctx))
    return sa.or_(col(Goal.chapter_id).in_(open_chapters), col(Goal.program_id).in_(seen_programs))


async def _load_goal(ctx: Ctx, goal_id: uuid.UUID) -> Goal:
    stmt = select(Goal).where(Goal.id == goal_id, goal_visible_clause(ctx))
    goal = (await ctx.session.exec(stmt)).first()
    if goal is None:
        raise NotFound("goal", goal_id)
    return goal


async def get_goal(ctx: Ctx, goal_id: uuid.UUID) -> GoalView:
    """One goal by id."""
    return _goal_view(await _load_goal(ctx, goal_id))


async def list_goals(
    ctx: Ctx,
    chapter_id: uuid.UUID | None = None,
    program_id: uuid.UUID | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[GoalView]:
    """Visible goals, optionally of one chapter or program, by deadline."""
    stmt = select(Goal).where(goal_visible_clause(ctx))
    if chapter_id is not None:
        stmt = stmt.where(Goal.chapter_id == chapter_id)
    if program_id is not None:
        stmt = stmt.where(Goal.program_id == program_id)
    order = [col(Goal.deadline), col(Goal.id)]
    page = await keyset_page(ctx.session, stmt, order, lambda g: [g.deadline, g.id], after, limit)
    return page.replace([_goal_view(g) for g in page.items])


async def _require_goal_setter(
    ctx: Ctx, chapter_id: uuid.UUID | None, program_id: uuid.UUID | None
) -> None:
    """IMPACT_MANAGE for a chapter's goal, PROGRAMS_MANAGE in the organizing chapter for a
    program's; the chapter or program must be visible (else a field error)."""
    if chapter_id is not None:
        try:
            chapter = await chapters.load_visible(ctx, chapter_id)
        except NotFound:
            raise ValidationFailed.on("chapter_id", "no such chapter") from None
        await ctx.authz.require(IMPACT_MANAGE, chapter.id)
        return
    assert program_id is not None
    try:
        program = await programs.load_visible(ctx, program_id)
    except NotFound:
        raise ValidationFailed.on("program_id", "no such program") from None
    await ctx.authz.require(PROGRAMS_MANAGE, program.chapter_id)


def _dates_error(starts_at: datetime, deadline: datetime) -> FieldError | None:
    if deadline <= starts_at:
        return FieldError("deadline", "must be after starts_at")
    return None


async def set_goal(ctx: Ctx, data: GoalCreate | dict[str, Any]) -> GoalView:
    """Set a mobilisation goal for a chapter's subtree or for a program."""
    data = parse(GoalCreate, data)
    if (data.chapter_id is None) == (data.program_id is None):
        raise ValidationFailed.on("chapter_id", "give either a chapter or a program")
    async with use_case(ctx.session):
        await _require_goal_setter(ctx, data.chapter_id, data.program_id)
        raise_if([_dates_error(data.starts_at, data.deadline)])
        goal = Goal(
            chapter_id=data.chapter_id,
            program_id=data.program_id,
            target=data.target,
            starts_at=as_utc(data.starts_at),
            deadline=as_utc(data.deadline),
        )
        ctx.session.add(goal)
    return _goal_view(goal)


async def update_goal(ctx: Ctx, goal_id: uuid.UUID, data: GoalUpdate | dict[str, Any]) -> GoalView:
    """Change a goal's target or dates (whoever may set it)."""
    data = parse(GoalUpdate, data)
    async with use_case(ctx.session):
        goal = await _load_goal(ctx, goal_id)
        await _require_goal_setter(ctx, goal.chapter_id, goal.program_id)
        starts_at = as_utc(data.starts_at or goal.starts_at)
        deadline = as_utc(data.deadline or goal.deadline)
        raise_if([_dates_error(starts_at, deadline)])
        goal.starts_at, goal.deadline = starts_at, deadline
        if data.target is not None:
            goal.target = data.target
        ctx.session.add(goal)
    return _goal_view(goal)


async def progress(ctx: Ctx, goal_id: uuid.UUID, now: datetime | None = None) -> GoalProgress:
    """People mobilised from the goal's start until `now` (or the deadline, if earlier), the
    share of the target reached, and the people needed per semester and per month."""
    goal = await _load_goal(ctx, goal_id)
    as_of = as_utc(now) if now is not None else utcnow()
    among = Among(chapter_id=goal.chapter_id, program_id=goal.program_id)
    end = min(as_of, goal.deadline)
    done = (
        await counts.count_mobilised(ctx.session, among, goal.starts_at, end)
        if end > goal.starts_at
        else 0
    )
    remaining = max(goal.target - done, 0)
    semesters = periods_left(PeriodKind.SEMESTER, as_of, goal.deadline)
    months = periods_left(PeriodKind.MONTH, as_of, goal.deadline)
    return GoalProgress(
        goal=_goal_view(goal),
        as_of=as_of,
        mobilised=done,
        remaining=remaining,
        percent=done * 100 / goal.target,
        semesters_left=semesters,
        per_semester=pace(remaining, semesters),
        months_left=months,
        per_month=pace(remaining, months),
    )
