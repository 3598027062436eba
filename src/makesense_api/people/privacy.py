"""Personal data rights: export everything held about the caller, and erase it.

Export (`export`) is one JSON document built from a fixed set of queries (one per kind of
record, whatever their number): the profile, the login (never its hash), memberships,
registrations, contributions, enrolments, owned projects, consents, OAuth consents and every
token's metadata, calendar feed tokens included (never a token nor its hash).

Erasure (`erase`) runs in one savepoint, after the password is confirmed again:

    removed      login, memberships (with tombstones), skills, causes, OAuth consents,
                 authorization codes, access, refresh, personal and calendar feed tokens,
                 project ownerships
    anonymised   the person row: a neutral name, every personal field cleared, `erased_at`
                 set; contribution messages cleared
    cancelled    registrations for events not over yet, so the seats go to the waitlist
    kept         registrations, contributions and enrolments, now pointing at an anonymous
                 person, so attendance and impact figures stay true
    announced    a `person` tombstone per chapter they belonged to, and `person.erased`

An erased person is invisible to every caller, cannot sign in, and their tokens no longer
exist. The last admin of a chapter cannot erase themself (`Conflict`): like an organisation
owner elsewhere, they first hand the chapter over to another admin, so no chapter is left
unmanaged.
"""

import hashlib
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased
from sqlmodel import col, delete, select

from makesense_api.authz.principal import Principal, Scope
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.events import registrations as event_registrations
from makesense_api.events.models import Event, Registration, RegistrationStatus
from makesense_api.events.outbox import record
from makesense_api.feeds.models import FeedToken
from makesense_api.impact import rollup
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import serialize, use_case
from makesense_api.kit.errors import Conflict, Forbidden, NotFound
from makesense_api.kit.models import DomainEvent, Tombstone
from makesense_api.oauth.models import AuthorizationCode, Consent, OAuthClient
from makesense_api.people import accounts
from makesense_api.people.models import (
    Account,
    Membership,
    Person,
    PersonCause,
    PersonSkill,
    Role,
)
from makesense_api.programs.models import Enrolment, Program
from makesense_api.projects.models import Contribution, Need, Project, ProjectOwner
from makesense_api.tokens.models import AccessToken, TokenKind
from makesense_api.tokens.service import PREFIXES
from makesense_api.webhooks.models import WebhookDelivery

FORMAT = "makesense-personal-data/1"
ERASED_NAME = "Former member"

PERSON_FIELDS = (
    "id", "display_name", "city", "country_code", "bio", "languages", "email", "phone",
    "home_chapter_id", "open_to_matching", "created_by_client_id", "created_at", "updated_at",
)
ACCOUNT_FIELDS = ("id", "email", "verified", "last_login_at", "created_at", "updated_at")
REGISTRATION_FIELDS = (
    "id", "event_id", "status", "queued_at", "promoted_at", "cancelled_at", "checked_in_at",
    "client_id", "created_at", "updated_at",
)
CONTRIBUTION_FIELDS = (
    "id", "need_id", "status", "message", "hours", "created_at", "updated_at",
)
ENROLMENT_FIELDS = (
    "id", "program_id", "chapter_id", "status", "completed_at", "created_at", "updated_at",
)
TOKEN_FIELDS = (
    "id", "kind", "name", "scopes", "client_id", "expires_at", "revoked_at", "last_used_at",
    "created_at",
)


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    return value


def _fields(row: Any, names: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    return {**{n: _json(getattr(row, n)) for n in names}, **{k: _json(v) for k, v in extra.items()}}


async def _caller(ctx: Ctx) -> Person:
    """The calling person (token with `profile`), unless erased."""
    ctx.authz.require_scope(Scope.PROFILE)
    person_id = ctx.principal.person_id
    if person_id is None:
        raise Forbidden("only a person has personal data here")
    stmt = select(Person).where(Person.id == person_id, col(Person.erased_at).is_(None))
    person = (await ctx.session.exec(stmt)).first()
    if person is None:
        raise NotFound("person", person_id)
    return person


# -- export -------------------------------------------------------------------------------


async def _all(ctx: Ctx, stmt: Any) -> list[Any]:
    return list((await ctx.session.exec(stmt)).all())


async def _profile(ctx: Ctx, person: Person) -> dict[str, Any]:
    pid = person.id
    skills = await _all(ctx, select(PersonSkill.skill).where(PersonSkill.person_id == pid))
    causes = await _all(ctx, select(PersonCause.cause).where(PersonCause.person_id == pid))
    return _fields(person, PERSON_FIELDS, skills=sorted(skills), causes=sorted(causes))


async def _activity(ctx: Ctx, pid: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    memberships = await _all(
        ctx,
        select(Membership, Chapter.slug, Chapter.name)
        .join(Chapter, col(Chapter.id) == Membership.chapter_id)
        .where(Membership.person_id == pid)
        .order_by(col(Membership.created_at)),
    )
    registrations = await _all(
        ctx,
        select(Registration, Event.title, Event.starts_at)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(Registration.person_id == pid)
        .order_by(col(Registration.created_at)),
    )
    contributions = await _all(
        ctx,
        select(Contribution, Need.title, Need.project_id)
        .join(Need, col(Need.id) == Contribution.need_id)
        .where(Contribution.person_id == pid)
        .order_by(col(Contribution.created_at)),
    )
    enrolments = await _all(
        ctx,
        select(Enrolment, Program.title)
        .join(Program, col(Program.id) == Enrolment.program_id)
        .where(Enrolment.person_id == pid)
        .order_by(col(Enrolment.created_at)),
    )
    projects = await _all(
        ctx,
        select(Project.id, Project.title)
        .join(ProjectOwner, col(ProjectOwner.project_id) == Project.id)
        .where(ProjectOwner.person_id == pid)
        .order_by(col(Project.id)),
    )
    return {
        "memberships": [
            _fields(m, ("id", "chapter_id", "created_at", "updated_at"),
                    chapter_slug=slug, chapter_name=name, role=Role(m.role).label)
            for m, slug, name in memberships
        ],
        "registrations": [
            _fields(r, REGISTRATION_FIELDS, event_title=title, event_starts_at=starts)
            for r, title, starts in registrations
        ],
        "contributions": [
            _fields(c, CONTRIBUTION_FIELDS, need_title=title, project_id=project_id)
            for c, title, project_id in contributions
        ],
        "enrolments": [
            _fields(e, ENROLMENT_FIELDS, program_title=title) for e, title in enrolments
        ],
        "projects_owned": [{"project_id": str(i), "title": t} for i, t in projects],
    }


async def _access(ctx: Ctx, pid: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    consents = await _all(
        ctx,
        select(Consent, OAuthClient.client_id, OAuthClient.name)
        .join(OAuthClient, col(OAuthClient.id) == Consent.oauth_client_id)
        .where(Consent.person_id == pid)
        .order_by(col(Consent.created_at)),
    )
    tokens = await _all(
        ctx,
        select(AccessToken)
        .where(AccessToken.person_id == pid)
        .order_by(col(AccessToken.created_at), col(AccessToken.id)),
    )
    feed_tokens = await _all(
        ctx,
        select(FeedToken)
        .where(FeedToken.person_id == pid)
        .order_by(col(FeedToken.created_at), col(FeedToken.id)),
    )
    return {
        "oauth_consents": [
            _fields(c, ("id", "scopes", "created_at", "updated_at"),
                    client_id=client_id, client_name=name)
            for c, client_id, name in consents
        ],
        "tokens": [
            _fields(t, TOKEN_FIELDS, prefix=PREFIXES[TokenKind(t.kind)] + t.prefix,
                    reach=t.reach)
            for t in tokens
        ],
        "feed_tokens": [
            _fields(f, ("id", "name", "prefix", "last_used_at", "revoked_at", "created_at"))
            for f in feed_tokens
        ],
    }


async def export(ctx: Ctx) -> dict[str, Any]:
    """Everything held about the calling person, as one JSON document (`profile`)."""
    person = await _caller(ctx)
    account = (
        await ctx.session.exec(select(Account).where(Account.person_id == person.id))
    ).first()
    return {
        "format": FORMAT,
        "exported_at": _json(utcnow()),
        "person": await _profile(ctx, person),
        "account": None if account is None else _fields(account, ACCOUNT_FIELDS),
        "consents": _json(person.consents),
        **await _activity(ctx, person.id),
        **await _access(ctx, person.id),
    }


# -- erasure ------------------------------------------------------------------------------


def _admins_lock(chapter_id: uuid.UUID) -> int:
    digest = hashlib.sha256(f"chapter-admins:{chapter_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


async def _sole_admin_of(ctx: Ctx, pid: uuid.UUID) -> list[str]:
    """Slugs of the chapters the person is the only admin of. Erasures of admins of one chapter
    queue up, so two admins leaving at once cannot both pass this check."""
    administered = await _all(
        ctx,
        select(Membership.chapter_id)
        .where(Membership.person_id == pid, Membership.role == int(Role.ADMIN))
        .order_by(col(Membership.chapter_id)),
    )
    for chapter_id in administered:
        await serialize(ctx.session, _admins_lock(chapter_id))
    others = aliased(Membership)
    other_admins = (
        select(sa.func.count())
        .select_from(others)
        .where(
            col(others.chapter_id) == Membership.chapter_id,
            col(others.role) == int(Role.ADMIN),
            col(others.person_id) != pid,
        )
        .scalar_subquery()
    )
    stmt = (
        select(Chapter.slug)
        .join(Membership, col(Membership.chapter_id) == Chapter.id)
        .where(Membership.person_id == pid, Membership.role == int(Role.ADMIN), other_admins == 0)
        .order_by(col(Chapter.slug))
    )
    return list((await ctx.session.exec(stmt)).all())


async def _remove_memberships(ctx: Ctx, pid: uuid.UUID) -> list[uuid.UUID]:
    """Delete the memberships, leaving tombstones; returns the chapters they were in."""
    rows = await _all(
        ctx, select(Membership.id, Membership.chapter_id).where(Membership.person_id == pid)
    )
    await ctx.session.exec(delete(Membership).where(col(Membership.person_id) == pid))
    for membership_id, chapter_id in rows:
        ctx.session.add(
            Tombstone(entity="membership", entity_id=membership_id, chapter_id=chapter_id)
        )
    return [chapter_id for _, chapter_id in rows]


async def _cancel_upcoming(ctx: Ctx, pid: uuid.UUID) -> None:
    """Cancel the person's places at events not over yet, freeing seats for the waitlist."""
    stmt = (
        select(Registration.id)
        .join(Event, col(Event.id) == Registration.event_id)
        .where(
            Registration.person_id == pid,
            col(Registration.status).in_(
                [RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED]
            ),
            col(Event.ends_at) > utcnow(),
        )
    )
    upcoming = await _all(ctx, stmt)
    # The person cancelling their own registrations: implied by erasing themself, whatever
    # scopes the erasing token carries.
    own = Ctx.of(ctx.session, Principal.person(pid, {Scope.REGISTRATIONS_WRITE}))
    for registration_id in upcoming:
        await event_registrations.cancel(own, registration_id)


async def _remove_access(ctx: Ctx, pid: uuid.UUID) -> None:
    for table in (
        Account, PersonSkill, PersonCause, Consent, AuthorizationCode, AccessToken, FeedToken,
        ProjectOwner,
    ):
        await ctx.session.exec(delete(table).where(col(table.person_id) == pid))
    await ctx.session.exec(
        sa.update(Contribution).where(col(Contribution.person_id) == pid).values(message=None)
    )
    # Webhook payloads are copies of what the person's rows said: those naming the person go,
    # sent or pending, with their attempt log (cascade).
    await ctx.session.exec(
        delete(WebhookDelivery).where(col(WebhookDelivery.body).contains(str(pid)))
    )


def _anonymise(person: Person) -> None:
    person.display_name = ERASED_NAME
    for name in ("city", "country_code", "bio", "email", "phone", "home_chapter_id"):
        setattr(person, name, None)
    person.languages = []
    person.consents = {}
    person.open_to_matching = False
    person.erased_at = utcnow()


def _announce(ctx: Ctx, person_id: uuid.UUID, chapter_ids: list[uuid.UUID]) -> None:
    """A person tombstone and a `person.erased` event per chapter (one unrouted if none)."""
    if not chapter_ids:
        ctx.session.add(Tombstone(entity="person", entity_id=person_id))
        ctx.session.add(DomainEvent(type="person.erased", subject_id=person_id, payload={}))
    for chapter_id in chapter_ids:
        ctx.session.add(Tombstone(entity="person", entity_id=person_id, chapter_id=chapter_id))
        record(ctx, "person.erased", chapter_id, person_id, person_id=person_id)


async def erase(ctx: Ctx, password: str | None) -> None:
    """Erase the calling person's personal data (`profile`; their password, if they have one)."""
    person = await _caller(ctx)
    await accounts.confirm_password(ctx.session, person.id, password)
    sole = await _sole_admin_of(ctx, person.id)
    if sole:
        raise Conflict(
            f"you are the only admin of {', '.join(sole)}: make someone else admin first"
        )
    async with use_case(ctx.session):
        home = person.home_chapter_id
        await _cancel_upcoming(ctx, person.id)
        chapter_ids = await _remove_memberships(ctx, person.id)
        await _remove_access(ctx, person.id)
        await rollup.refresh_people(ctx.session, [person.id])
        _anonymise(person)
        ctx.session.add(person)
        routed = list(dict.fromkeys([*chapter_ids, *([home] if home else [])]))
        _announce(ctx, person.id, routed)
    ctx.authz.forget()
