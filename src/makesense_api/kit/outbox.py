"""The outbox: domain events written in the transaction that makes them happen.

Every domain announces its changes with `record(ctx, type, chapter_id, subject_id, **payload)`.
The row commits or rolls back with the change, so a rolled-back change never announces anything;
notifications (webhooks, subscriptions) are derived from committed rows only. `chapter_id` is
the chapter the subject belongs to, so notifications can be routed down the chapter tree;
payloads carry ids and statuses, never personal data.
"""

import uuid
from datetime import datetime
from typing import Any

from makesense_api.context import Ctx
from makesense_api.kit.models import DomainEvent


def plain(value: Any) -> Any:
    """A JSON-ready copy of `value` (UUIDs and instants as strings)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def record(
    ctx: Ctx, type_: str, chapter_id: uuid.UUID, subject_id: uuid.UUID, **payload: Any
) -> None:
    """Add one domain event to the session (flushed with the use-case)."""
    ctx.session.add(
        DomainEvent(
            type=type_,
            chapter_id=chapter_id,
            subject_id=subject_id,
            payload={k: plain(v) for k, v in payload.items()},
        )
    )
