"""Query-string models shared by REST collections, and the few bodies only REST needs."""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from makesense_api.kit.pagination import MAX_PAGE


class Query(BaseModel):
    """Base of every query-string model: unknown parameters are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PageQuery(Query):
    limit: int = Field(default=20, ge=1, le=MAX_PAGE, description="Items per page, 1–100.")
    cursor: str | None = Field(
        default=None,
        max_length=1_000,
        description="Opaque position from the `next` link of the previous page.",
    )


class FeedQuery(PageQuery):
    updated_since: AwareDatetime | None = Field(
        default=None,
        description="Change feed: items created, changed or deleted after this instant (ISO "
        "8601 with an offset), oldest change first, deletions as `{id, deleted: true}`. Other "
        "filters do not apply to the feed.",
    )
