"""Feed token types: the calendar-app credentials of the caller's private calendar feed."""

import uuid
from datetime import datetime

import strawberry

from makesense_api.feeds.schemas import FeedTokenView
from makesense_api.graphql.relay import to_global_id


@strawberry.type(
    description="A token one calendar app reads the caller's private calendar feed "
    "(`/v1/me/events.ics?token=…`) with. Shown by prefix; the secret is never shown again."
)
class FeedToken:
    raw_id: strawberry.Private[uuid.UUID]
    id: strawberry.ID = strawberry.field(description="The token's ID (not the secret).")
    name: str = strawberry.field(description="Which calendar app or device it is for.")
    prefix: str = strawberry.field(description="The first characters, to tell tokens apart.")
    created_at: datetime = strawberry.field(description="When it was made.")
    last_used_at: datetime | None = strawberry.field(
        description="Last read of the feed (to the minute); null: never."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When it was revoked; null while it works."
    )

    @classmethod
    def from_view(cls, v: FeedTokenView) -> "FeedToken":
        return cls(
            raw_id=v.id,
            id=to_global_id("FeedToken", v.id),
            name=v.name,
            prefix=v.prefix,
            created_at=v.created_at,
            last_used_at=v.last_used_at,
            revoked_at=v.revoked_at,
        )
