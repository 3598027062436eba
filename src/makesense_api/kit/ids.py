"""Time-ordered UUIDs (version 7): sortable, index-friendly primary keys."""

import uuid

import uuid6


def new_id() -> uuid.UUID:
    """A fresh UUIDv7 as a plain `uuid.UUID`."""
    return uuid.UUID(int=uuid6.uuid7().int)


def parse_id(value: str, field: str = "id") -> uuid.UUID:
    """Parse a client-supplied UUID, raising a field error instead of ValueError."""
    from makesense_api.kit.errors import ValidationFailed

    try:
        return uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise ValidationFailed.on(field, f"{value!r} is not a UUID") from None
