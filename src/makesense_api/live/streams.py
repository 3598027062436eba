"""Subscription streams, independent of the transport that carries them.

A stream listens on the broker first, then reads; after each change it reads again, in a
fresh `Ctx` given by `open_ctx`. The transport's `open_ctx` re-authenticates the subscriber
each time and raises `Revoked` when its token no longer does, which ends the stream. No
session stays open between changes, and a burst of changes costs one read.
"""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from makesense_api.context import Ctx
from makesense_api.events.schemas import EventView
from makesense_api.kit.errors import NotFound
from makesense_api.live import service
from makesense_api.live.broker import Broker
from makesense_api.live.changes import EVENTS_TOPIC, Change, event_topic
from makesense_api.live.service import SeatsView

OpenCtx = Callable[[], AbstractAsyncContextManager[Ctx]]


class Revoked(Exception):
    """The subscriber's credentials no longer authenticate: its streams must end."""


@dataclass(frozen=True)
class EventChange:
    """An event of the watched subtree was created, updated, published or cancelled."""

    kind: str  # the domain event type without its `event.` prefix
    event: EventView


async def event_seats(
    broker: Broker, open_ctx: OpenCtx, event_id: uuid.UUID
) -> AsyncIterator[SeatsView]:
    """The event's seats now, then each time they change; ends if the event becomes
    invisible to the subscriber. Raises NotFound at once for an event it may not see."""
    with broker.listen(event_topic(event_id)) as inbox:
        async with open_ctx() as ctx:
            last = await service.event_seats(ctx, event_id)
        yield last
        while True:
            await inbox.get()
            inbox.drain()
            async with open_ctx() as ctx:
                try:
                    current = await service.event_seats(ctx, event_id)
                except NotFound:
                    return
            if current != last:
                last = current
                yield current


async def chapter_events(
    broker: Broker, open_ctx: OpenCtx, slug: str, include_subtree: bool
) -> AsyncIterator[EventChange]:
    """Changes to the events hosted by the chapter (and its subtree) that the subscriber may
    see. Raises NotFound at once for a chapter it may not see."""
    with broker.listen(EVENTS_TOPIC) as inbox:
        async with open_ctx() as ctx:
            root_id = await service.chapter_id(ctx, slug)
        inside = {root_id: True}  # chapter id -> hosts events the stream reports
        while True:
            change = await inbox.get()
            if change.chapter_id is None or change.event_id is None:
                continue
            if change.chapter_id not in inside and not include_subtree:
                inside[change.chapter_id] = False
            if change.chapter_id not in inside:
                async with open_ctx() as ctx:
                    inside[change.chapter_id] = await service.in_subtree(
                        ctx, root_id, change.chapter_id
                    )
            if inside[change.chapter_id]:
                found = await _visible_change(open_ctx, change, change.event_id)
                if found is not None:
                    yield found


async def _visible_change(
    open_ctx: OpenCtx, change: Change, event_id: uuid.UUID
) -> EventChange | None:
    async with open_ctx() as ctx:
        view = await service.visible_event(ctx, event_id)
    return None if view is None else EventChange(change.type.removeprefix("event."), view)
