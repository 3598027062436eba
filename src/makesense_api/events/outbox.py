"""Domain events of the events domain, written in the transaction that makes them happen.

Types: `event.created`, `event.updated`, `event.published`, `event.cancelled`,
`registration.created`, `registration.cancelled`, `registration.promoted`,
`registration.checked_in`. `chapter_id` is always the host chapter, so notifications can be
routed down the chapter tree; payloads carry ids and statuses, never personal data.
"""

import uuid
from datetime import datetime
from typing import Any

from makesense_api.context import Ctx
from makesense_api.events.models import Event, Registration
from makesense_api.kit.models import DomainEvent


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
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
            payload={k: _plain(v) for k, v in payload.items()},
        )
    )


def event_changed(ctx: Ctx, type_: str, event: Event, **payload: Any) -> None:
    record(
        ctx, type_, event.chapter_id, event.id, event_id=event.id, status=event.status, **payload
    )


def registration_changed(
    ctx: Ctx, type_: str, event: Event, registration: Registration, **payload: Any
) -> None:
    record(
        ctx,
        type_,
        event.chapter_id,
        registration.id,
        registration_id=registration.id,
        event_id=event.id,
        person_id=registration.person_id,
        status=registration.status,
        **payload,
    )
