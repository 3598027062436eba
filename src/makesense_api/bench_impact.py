"""Impact report benchmarks: the semester review as the network and as one city read it.

Each measurement is one call of `impact.service.report` (semester periods over the last two
years, detail on: totals, breakdowns by child chapter and by cause, attendance) in a fresh
session, as a request would make it, by an admin of the chapter reporting (a person principal
holding `impact:read` and `chapters:read`), so authorization and visibility filters are part
of the figure.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.authz.principal import Principal, Scope
from makesense_api.chapters.models import Chapter, ChapterKind
from makesense_api.context import Ctx
from makesense_api.events.models import Event
from makesense_api.impact import service as impact
from makesense_api.impact.schemas import ImpactReport
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
from makesense_api.people.models import Membership, Role

YEARS_BACK = 2
SCOPES = frozenset({Scope.IMPACT_READ, Scope.CHAPTERS_READ})


@dataclass(frozen=True)
class Subject:
    """Whose report is measured: the chapter, and the admin reading it (None: the system)."""

    label: str
    chapter_id: uuid.UUID
    reader_id: uuid.UUID | None


async def _admin(database: Database, chapter_id: uuid.UUID) -> uuid.UUID | None:
    async with database.sessionmaker() as session:
        stmt = select(Membership.person_id).where(
            Membership.chapter_id == chapter_id, Membership.role == Role.ADMIN
        )
        return (await session.exec(stmt.limit(1))).first()


async def network(database: Database) -> Subject:
    """The root chapter, read by a network admin."""
    async with database.sessionmaker() as session:
        root = (await session.exec(select(Chapter).where(col(Chapter.parent_id).is_(None)))).one()
    return Subject(f"network ({root.slug})", root.id, await _admin(database, root.id))


async def busiest_city(database: Database) -> Subject:
    """The city hosting the most events (its neighbourhoods' excluded), read by its admin."""
    async with database.sessionmaker() as session:
        stmt = (
            select(Chapter.id, Chapter.slug)
            .join(Event, col(Event.chapter_id) == Chapter.id)
            .where(Chapter.kind == ChapterKind.CITY)
            .group_by(col(Chapter.id), col(Chapter.slug))
            .order_by(sa.func.count().desc())
            .limit(1)
        )
        chapter_id, slug = (await session.exec(stmt)).one()
    return Subject(f"city ({slug})", chapter_id, await _admin(database, chapter_id))


async def report_once(database: Database, subject: Subject) -> tuple[float, ImpactReport]:
    """One semester report with detail, in its own session; (milliseconds, report)."""
    end = utcnow()
    start = end - timedelta(days=365 * YEARS_BACK)
    principal = (
        Principal.person(subject.reader_id, scopes=SCOPES)
        if subject.reader_id is not None
        else Principal.system()
    )
    async with database.sessionmaker() as session:
        ctx = Ctx.of(session, principal)
        began = time.perf_counter()
        report = await impact.report(
            ctx,
            {
                "chapter_id": subject.chapter_id,
                "period": "semester",
                "start": start,
                "end": end,
                "detail": True,
            },
        )
        elapsed = (time.perf_counter() - began) * 1000
        await session.rollback()
    return elapsed, report
