"""Domain events of the events domain, written in the transaction that makes them happen.

Types: `event.created`, `event.updated`, `event.published`, `event.cancelled`,
`registration.created`, `registration.cancelled`, `registration.promoted`,
`registration.checked_in`. `chapter_id` is always the host chapter, so notifications can be
routed down the chapter tree; payloads carry ids and statuses, never personal data.
"""

from typing import Any

from makesense_api.context import Ctx
from makesense_api.events.models import Event, Registration
from makesense_api.kit.outbox import record

__all__ = ["event_changed", "record", "registration_changed"]


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
