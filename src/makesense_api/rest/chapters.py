"""`/v1/chapters`: the federation tree, by slug."""

from datetime import timedelta

from pydantic import AwareDatetime, Field

from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import ChapterKind, ChapterStatus
from makesense_api.chapters.schemas import ChapterView
from makesense_api.events import service as events
from makesense_api.events.schemas import EventView
from makesense_api.feeds import ical
from makesense_api.feeds.changes import Gone
from makesense_api.kit.clock import utcnow
from makesense_api.kit.pagination import Page
from makesense_api.rest import schemas
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import FeedQuery, Query

api = Registry("chapters")
CALENDAR_PAST_DAYS = 90


class ChapterQuery(FeedQuery):
    subtree: str | None = Field(
        default=None, max_length=80, description="Slug of a chapter: it and its descendants."
    )
    country: str | None = Field(
        default=None, min_length=2, max_length=2, description="ISO 3166-1 alpha-2 country."
    )
    kind: ChapterKind | None = None
    status: ChapterStatus | None = None
    q: str | None = Field(default=None, max_length=200, description="Text in name, slug or city.")


@api.get(
    "/chapters", "List chapters", response=schemas.Chapter, collection=True, anonymous=True,
    scope=Scope.CHAPTERS_READ, feed=True,
)
async def list_chapters(
    c: Call[ChapterQuery, None],
) -> Page[ChapterView] | Page[ChapterView | Gone]:
    """Chapters the caller may see, ordered by slug. Closed chapters are shown only to their
    admins; a token restricted to a subtree sees that subtree only. Private contact channels
    are included for members of the chapter."""
    q = c.query
    if q.updated_since is not None:
        return await chapters.changes_since(c.ctx, q.updated_since, q.cursor, q.limit)
    flt = chapters.ChapterFilter(
        country_code=q.country,
        kind=q.kind.value if q.kind else None,
        status=q.status.value if q.status else None,
        text=q.q,
    )
    return await chapters.list_under(c.ctx, q.subtree, flt, q.cursor, q.limit)


@api.get(
    "/chapters/{slug}", "Get a chapter", response=schemas.Chapter, anonymous=True,
    scope=Scope.CHAPTERS_READ,
)
async def get_chapter(c: Call[NoQuery, None]) -> ChapterView:
    """One chapter by its slug; 404 when it does not exist or the caller may not see it."""
    return await chapters.get_by_slug(c.ctx, c.path["slug"])


class CalendarQuery(Query):
    since: AwareDatetime | None = Field(
        default=None, description="Events starting from this instant (default: 90 days ago)."
    )


def _ical(found: tuple[ChapterView, list[EventView]]) -> bytes:
    chapter, events_ = found
    return ical.calendar(chapter.name, events_)


@api.get(
    "/chapters/{slug}/events.ics", "Chapter calendar", response=None, anonymous=True,
    scope=Scope.EVENTS_READ, media="text/calendar", render=_ical,
)
async def chapter_calendar(
    c: Call[CalendarQuery, None],
) -> tuple[ChapterView, list[EventView]]:
    """An iCalendar feed (RFC 5545) of the public events of a chapter and its subtree, to
    subscribe to from any calendar app. Cancelled events stay in the feed with
    `STATUS:CANCELLED`; UIDs are stable and `SEQUENCE` counts revisions."""
    since = c.query.since or utcnow() - timedelta(days=CALENDAR_PAST_DAYS)
    return await events.chapter_calendar(c.ctx, c.path["slug"], since)
