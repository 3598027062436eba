"""The rules an event's fields obey, shared by single events, edits and series occurrences.

Checks collect `FieldError`s rather than raising, so one answer names every bad field.
"""

import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlmodel import col, delete, select

from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.events.models import EventCause, EventCohost, EventFormat
from makesense_api.events.schemas import TEXT_FIELDS, EventChanges, EventTemplate, TranslationIn
from makesense_api.kit.errors import FieldError
from makesense_api.kit.i18n import Translations, validate_translations
from makesense_api.kit.validation import (
    coordinates_error,
    language_error,
    normalize_language,
    timezone_error,
)
from makesense_api.programs.models import Program
from makesense_api.projects.models import Project

NEEDS_VENUE = {EventFormat.IN_PERSON, EventFormat.HYBRID}
NEEDS_URL = {EventFormat.ONLINE, EventFormat.HYBRID}


def field_errors(data: EventTemplate | EventChanges) -> list[FieldError]:
    """Codes from standards and URLs, checked field by field."""
    errors: list[FieldError | None] = []
    zone = getattr(data, "timezone", None)
    if zone is not None:
        errors.append(timezone_error("timezone", zone))
    if data.language is not None:
        errors.append(language_error("language", data.language))
    if data.default_language is not None:
        errors.append(language_error("default_language", data.default_language))
    if data.latitude is not None or data.longitude is not None:
        errors.append(coordinates_error("latitude", data.latitude, data.longitude))
    if data.online_url is not None:
        errors.append(url_error("online_url", data.online_url))
    if data.causes is not None and len(set(data.causes)) != len(data.causes):
        errors.append(FieldError("causes", "each cause may appear once"))
    return [e for e in errors if e is not None]


def url_error(field: str, url: str) -> FieldError | None:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return FieldError(field, "must be an http(s) URL")
    return None


def translations(given: Mapping[str, TranslationIn], errors: list[FieldError]) -> Translations:
    """Translations with canonical tags; bad tags become errors."""
    clean, problems = validate_translations(
        "translations",
        {tag: t.model_dump(exclude_none=True) for tag, t in given.items()},
        set(TEXT_FIELDS),
    )
    errors.extend(problems)
    return clean


def language(tag: str) -> str:
    return normalize_language(tag) or tag


async def link_errors(
    ctx: Ctx,
    host_id: uuid.UUID,
    cohost_ids: list[uuid.UUID] | None,
    project_id: uuid.UUID | None,
    program_id: uuid.UUID | None,
) -> list[FieldError]:
    """Co-hosts must be visible chapters other than the host; linked project/program must exist."""
    errors: list[FieldError] = []
    if cohost_ids:
        found = set(
            (
                await ctx.session.exec(
                    select(Chapter.id).where(
                        col(Chapter.id).in_(cohost_ids), chapters.visible_clause(ctx)
                    )
                )
            ).all()
        )
        for i, chapter_id in enumerate(cohost_ids):
            if chapter_id == host_id:
                errors.append(FieldError(f"cohost_ids.{i}", "the host is not its own co-host"))
            elif chapter_id not in found:
                errors.append(FieldError(f"cohost_ids.{i}", "no such chapter"))
        if len(set(cohost_ids)) != len(cohost_ids):
            errors.append(FieldError("cohost_ids", "each chapter may appear once"))
    if project_id is not None and not await _exists(ctx, Project, project_id):
        errors.append(FieldError("project_id", "no such project"))
    if program_id is not None and not await _exists(ctx, Program, program_id):
        errors.append(FieldError("program_id", "no such program"))
    return errors


async def _exists(ctx: Ctx, model: type[Project] | type[Program], key: uuid.UUID) -> bool:
    stmt = select(sa.func.count()).select_from(model).where(col(model.id) == key)
    return (await ctx.session.exec(stmt)).one() > 0


def shape_errors(values: Mapping[str, Any]) -> list[FieldError]:
    """Rules across fields, on the event as it would be after the change.

    Times that failed to resolve are None here and already reported.
    """
    errors: list[FieldError] = []
    starts, ends = values.get("starts_at"), values.get("ends_at")
    opens, closes = values.get("registration_opens_at"), values.get("registration_closes_at")
    if starts is not None and ends is not None and ends <= starts:
        errors.append(FieldError("ends_at", "must be after starts_at"))
    if opens is not None and closes is not None and closes <= opens:
        errors.append(FieldError("registration_closes_at", "must be after registration_opens_at"))
    elif opens is not None and ends is not None and opens >= ends:
        errors.append(FieldError("registration_opens_at", "must be before ends_at"))
    if closes is not None and ends is not None and closes > ends:
        errors.append(FieldError("registration_closes_at", "must not be after ends_at"))
    fmt = values.get("format")
    if fmt in NEEDS_VENUE and not (values.get("venue_name") or values.get("venue_address")):
        errors.append(FieldError("venue_name", f"a {fmt} event needs a venue"))
    if fmt in NEEDS_URL and not values.get("online_url"):
        errors.append(FieldError("online_url", f"an {fmt} event needs an online URL"))
    return errors


async def set_causes(ctx: Ctx, event_ids: list[uuid.UUID], causes: list[int]) -> None:
    """Replace the causes of the events (one statement each way, whatever their number)."""
    await ctx.session.exec(delete(EventCause).where(col(EventCause.event_id).in_(event_ids)))
    rows = [{"event_id": e, "cause": c} for e in event_ids for c in sorted(set(causes))]
    if rows:
        await ctx.session.exec(sa.insert(EventCause), params=rows)


async def set_cohosts(ctx: Ctx, event_ids: list[uuid.UUID], chapter_ids: list[uuid.UUID]) -> None:
    """Replace the co-hosts of the events."""
    await ctx.session.exec(delete(EventCohost).where(col(EventCohost.event_id).in_(event_ids)))
    rows = [{"event_id": e, "chapter_id": c} for e in event_ids for c in dict.fromkeys(chapter_ids)]
    if rows:
        await ctx.session.exec(sa.insert(EventCohost), params=rows)
