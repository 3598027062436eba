"""`/v1/chapters`: the federation tree, by slug, and each chapter's members."""

import uuid
from datetime import timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, Field

from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import ChapterKind, ChapterStatus
from makesense_api.chapters.schemas import ChapterCreate, ChapterUpdate, ChapterView
from makesense_api.events import service as events
from makesense_api.events.schemas import EventView
from makesense_api.feeds import collections, ical
from makesense_api.feeds.changes import Gone
from makesense_api.kit.clock import utcnow
from makesense_api.kit.pagination import Page
from makesense_api.kit.schemas import Input
from makesense_api.people import service as people
from makesense_api.people.schemas import MembershipView
from makesense_api.rest import schemas
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import FeedQuery, Query

api = Registry("chapters")
CALENDAR_PAST_DAYS = 90
CHAPTER = "/chapters/{slug}"
MEMBER = CHAPTER + "/members/{person_id:uuid}"
RoleName = Literal["member", "organizer", "admin"]


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


@api.post(
    "/chapters", "Create a chapter", response=schemas.Chapter, status=201,
    scope=Scope.CHAPTERS_WRITE, location=lambda v: f"/v1/chapters/{v.slug}",
)
async def create_chapter(c: Call[NoQuery, ChapterCreate]) -> ChapterView:
    """Create a chapter under `parent_id`, a chapter the caller administers (its admins, or
    admins of an ancestor); the slug must be unused."""
    return await chapters.create(c.ctx, c.body)


@api.get(
    CHAPTER, "Get a chapter", response=schemas.Chapter, anonymous=True,
    scope=Scope.CHAPTERS_READ,
)
async def get_chapter(c: Call[NoQuery, None]) -> ChapterView:
    """One chapter by its slug; 404 when it does not exist or the caller may not see it."""
    return await chapters.get_by_slug(c.ctx, c.path["slug"])


async def _chapter_id(c: Call[Any, Any]) -> uuid.UUID:
    return await chapters.id_for_slug(c.ctx, c.path["slug"])


@api.patch(
    CHAPTER, "Edit a chapter", response=schemas.Chapter, scope=Scope.CHAPTERS_WRITE,
    current=get_chapter,
)
async def update_chapter(c: Call[NoQuery, ChapterUpdate]) -> ChapterView:
    """Change the fields given (the chapter's admins, or admins of an ancestor); send
    `If-Match` to be sure nobody changed it meanwhile. The slug never changes."""
    return await chapters.update(c.ctx, await _chapter_id(c), c.body)


class ChapterMove(Input):
    parent_id: uuid.UUID = Field(description="The chapter to move under.")


@api.post(
    CHAPTER + "/move", "Move a chapter", response=schemas.Chapter,
    scope=Scope.CHAPTERS_WRITE,
)
async def move_chapter(c: Call[NoQuery, ChapterMove]) -> ChapterView:
    """Re-parent a chapter with its whole subtree; the caller administers the chapter, its
    current parent and the new parent. A chapter cannot move under its own subtree."""
    return await chapters.move(c.ctx, await _chapter_id(c), c.body.parent_id)


@api.post(
    CHAPTER + "/close", "Close a chapter", response=schemas.Chapter,
    scope=Scope.CHAPTERS_WRITE,
)
async def close_chapter(c: Call[NoQuery, None]) -> ChapterView:
    """Close a chapter (its admins): it disappears from public lists and change feeds mark
    it gone, while its admins still see it and may reopen it with `PATCH status`."""
    return await chapters.update(c.ctx, await _chapter_id(c), {"status": ChapterStatus.CLOSED})


# -- members -------------------------------------------------------------------------------


class MemberQuery(FeedQuery):
    role: RoleName | None = Field(default=None, description="Only members with this role.")


class MemberAdd(Input):
    person_id: uuid.UUID = Field(description="A person the caller may see.")
    role: RoleName = Field(default="member", description="The role in the chapter.")


class MemberUpdate(Input):
    role: RoleName = Field(description="The new role.")


@api.get(
    CHAPTER + "/members", "List a chapter's members", response=schemas.Membership,
    collection=True, scope=Scope.PEOPLE_READ, feed=True,
)
async def list_members(
    c: Call[MemberQuery, None],
) -> Page[MembershipView] | Page[MembershipView | Gone]:
    """The memberships of a chapter, oldest first, for its organizers and those of its
    ancestors (`people:read`). With `updated_since`, ended memberships come back as gone."""
    q = c.query
    chapter_id = await _chapter_id(c)
    if q.updated_since is not None:
        return await collections.member_changes(
            c.ctx, chapter_id, q.updated_since, q.cursor, q.limit
        )
    return await people.list_members(c.ctx, chapter_id, q.role, q.cursor, q.limit)


@api.post(
    CHAPTER + "/members", "Add a member", response=schemas.Membership, status=201,
    scope=Scope.CHAPTERS_WRITE,
)
async def add_member(c: Call[NoQuery, MemberAdd]) -> MembershipView:
    """Add a person the caller may see to the chapter with a role (its admins); when they
    are a member already, their role changes."""
    return await people.set_role(c.ctx, await _chapter_id(c), c.body.person_id, c.body.role)


@api.get(MEMBER, "Get a membership", response=schemas.Membership, scope=Scope.PEOPLE_READ)
async def get_member(c: Call[NoQuery, None]) -> MembershipView:
    """A person's membership of the chapter, for those who may list its members."""
    return await people.get_member(c.ctx, await _chapter_id(c), c.id("person_id"))


@api.patch(
    MEMBER, "Change a member's role", response=schemas.Membership,
    scope=Scope.CHAPTERS_WRITE, current=get_member,
)
async def update_member(c: Call[NoQuery, MemberUpdate]) -> MembershipView:
    """Change a member's role (the chapter's admins; a person not yet a member is added);
    a chapter keeps at least one admin."""
    return await people.set_role(c.ctx, await _chapter_id(c), c.id("person_id"), c.body.role)


@api.delete(
    MEMBER, "Remove a member", response=None, scope=Scope.CHAPTERS_WRITE, conflicts=True,
)
async def remove_member(c: Call[NoQuery, None]) -> None:
    """End a membership: the chapter's admins, or the member leaving on their own
    (`profile`). A chapter keeps at least one admin."""
    await people.remove_member(c.ctx, await _chapter_id(c), c.id("person_id"))


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
