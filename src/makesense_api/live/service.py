"""The reads a subscription makes after each change, as its own subscriber.

Each runs in the subscriber's `Ctx` (its principal, a short session of its own), through the
same visibility filters as queries: what a subscriber may not query, it is not told about.
"""

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import ChapterClosure
from makesense_api.context import Ctx
from makesense_api.events import service as events
from makesense_api.events.access import load_visible
from makesense_api.events.models import Registration, RegistrationStatus
from makesense_api.events.schemas import EventView
from makesense_api.kit.errors import NotFound


@dataclass(frozen=True)
class SeatsView:
    """The seats of one event at one moment."""

    event_id: uuid.UUID
    status: str
    capacity: int | None
    seats_taken: int
    waitlist_length: int

    @property
    def seats_left(self) -> int | None:
        """None when the capacity is unlimited."""
        return None if self.capacity is None else max(self.capacity - self.seats_taken, 0)


async def event_seats(ctx: Ctx, event_id: uuid.UUID) -> SeatsView:
    """Seats taken and left, and the waitlist's length, of an event the caller may see."""
    event = await load_visible(ctx, event_id)
    waiting = select(sa.func.count()).where(
        col(Registration.event_id) == event_id,
        col(Registration.status) == RegistrationStatus.WAITLISTED,
    )
    waitlist_length = (await ctx.session.exec(waiting)).one()
    return SeatsView(event.id, event.status, event.capacity, event.seats_taken, waitlist_length)


async def chapter_id(ctx: Ctx, slug: str) -> uuid.UUID:
    """The id of a chapter the caller may see."""
    return await chapters.id_for_slug(ctx, slug)


async def in_subtree(ctx: Ctx, root_id: uuid.UUID, chapter_id: uuid.UUID) -> bool:
    """Whether `chapter_id` is `root_id` or one of its descendants (one closure lookup)."""
    stmt = select(ChapterClosure.depth).where(
        ChapterClosure.ancestor_id == root_id, ChapterClosure.descendant_id == chapter_id
    )
    return (await ctx.session.exec(stmt)).first() is not None


async def visible_event(ctx: Ctx, event_id: uuid.UUID) -> EventView | None:
    """The event as the caller may see it, None when it may not."""
    try:
        return await events.get_event(ctx, event_id)
    except NotFound:
        return None
