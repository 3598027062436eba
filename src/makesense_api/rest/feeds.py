"""`/v1/me/events.ics` and `/v1/me/feed-tokens`: a person's private calendar feed.

The feed is authenticated by a feed token in the query string only (calendar apps cannot send
headers): any other token, revoked or not, is 404 with no hint. It is served
`Cache-Control: private, no-store`: the URL is the credential, and the body holds the
person's registrations and private online links, so neither shared caches nor the client's
disk should keep it; calendar apps poll it anyway (`REFRESH-INTERVAL`, hourly).
"""

import dataclasses
import uuid
from datetime import datetime
from typing import Any

from pydantic import Field

from makesense_api.authz.principal import Scope
from makesense_api.feeds import ical, personal
from makesense_api.feeds import tokens as feed_tokens
from makesense_api.feeds.schemas import FeedTokenCreate, FeedTokenView, PersonalCalendar
from makesense_api.kit.clock import utcnow
from makesense_api.kit.pagination import Page
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import Query
from makesense_api.rest.schemas import Out

api = Registry("feeds")
CALENDAR_NAME = "makesense: my events"


class FeedToken(Out):
    """A token a calendar app reads the caller's private calendar with; shown by prefix."""

    id: uuid.UUID
    name: str = Field(description="Which calendar app or device it is for.")
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
    last_used_at: datetime | None = Field(
        description="Last read of the feed (to the minute); null: never."
    )


class CreatedFeedToken(FeedToken):
    """A new feed token: `token` and `feed_url` are shown this once and never again."""

    token: str = Field(description="The secret; only its hash is stored.")
    feed_url: str = Field(description="The URL to subscribe to from a calendar app.")


class CalendarQuery(Query):
    token: str = Field(
        min_length=1, max_length=200, description="A feed token (`msk_feed_…`) of the person."
    )


def _ical(found: PersonalCalendar) -> bytes:
    return ical.personal_calendar(CALENDAR_NAME, found.entries)


@api.get(
    "/me/events.ics", "My calendar", response=None, anonymous=True, scope=Scope.PROFILE,
    media="text/calendar", render=_ical,
    cache_control="private, no-store",
)
async def my_calendar(c: Call[CalendarQuery, None]) -> PersonalCalendar:
    """A person's private iCalendar feed (RFC 5545), authenticated by a feed token in
    `token` (no `Authorization` header needed): their registrations of the last 90 days and
    to come, `TENTATIVE` while waitlisted and `CANCELLED` once they or the organizers called
    it off. An unknown or revoked token is 404. UIDs are stable and `SEQUENCE` counts the
    event's revisions; the online link is included while the person holds a seat."""
    found = await personal.calendar(c.ctx, c.query.token)
    # Written apart from the read, after it: the feed's GET transaction stays read-only.
    await feed_tokens.record_use(c.ctx.session, found.access, utcnow())
    return found


def _created(c: Call[Any, Any], token: str, view: FeedTokenView) -> dict[str, Any]:
    url = feed_tokens.feed_url(str(c.request.base_url), token)
    return {**dataclasses.asdict(view), "token": token, "feed_url": url}


@api.post(
    "/me/feed-tokens", "Create a feed token", response=CreatedFeedToken, status=201,
    scope=Scope.PROFILE, conflicts=True, secret=True,
)
async def create_feed_token(c: Call[NoQuery, FeedTokenCreate]) -> dict[str, Any]:
    """Make a token for one calendar app to subscribe to the caller's private calendar
    (person tokens with `profile`). The token and the feed URL are returned only in this
    answer, and never stored: a retry with the same `Idempotency-Key` is 409, not a replay.
    At most 20 tokens are live at a time (409 beyond)."""
    created = await feed_tokens.create(c.ctx, c.body)
    return _created(c, created.token, created.view)


@api.get(
    "/me/feed-tokens", "My feed tokens", response=FeedToken, collection=True,
    scope=Scope.PROFILE,
)
async def list_feed_tokens(c: Call[NoQuery, None]) -> Page[FeedTokenView]:
    """The caller's live feed tokens, newest first, by prefix (never the secret)."""
    return Page(await feed_tokens.list_tokens(c.ctx), has_next=False, end_cursor=None)


@api.delete(
    "/me/feed-tokens/{token_id:uuid}", "Revoke a feed token", response=None,
    scope=Scope.PROFILE,
)
async def revoke_feed_token(c: Call[NoQuery, None]) -> None:
    """Revoke one of the caller's feed tokens: its calendar URL stops working at once (404).
    Revoking again, or another person's token, is 404."""
    await feed_tokens.revoke(c.ctx, c.id("token_id"))
