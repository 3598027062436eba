"""People and memberships: profiles, personal data rules, joining and managing chapters.

Personal data (e-mail, phone) and profiles are visible to the person themself and to organizers
of a chapter the person belongs to, through a token carrying `people:read`.
"""

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, select

from makesense_api.authz.policy import CHAPTER_MANAGE, MEMBERS_READ, PEOPLE_MANAGE
from makesense_api.authz.principal import Scope
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.context import Ctx
from makesense_api.feeds.changes import PERSON_LEFT
from makesense_api.kit.db import unique_or, use_case
from makesense_api.kit.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.kit.models import Tombstone
from makesense_api.kit.outbox import record
from makesense_api.kit.pagination import Cursor, Page, keyset_page
from makesense_api.kit.schemas import null_errors, parse, raise_if
from makesense_api.kit.validation import country_error, language_error, normalize_language
from makesense_api.people.models import Membership, Person, PersonCause, PersonSkill, Role
from makesense_api.people.schemas import MembershipView, PersonCreate, PersonUpdate, PersonView

# -- visibility ---------------------------------------------------------------------------


def visible_people_clause(ctx: Ctx) -> sa.ColumnElement[bool]:
    """People the caller may see: themself, and members of chapters they organize."""
    clauses: list[sa.ColumnElement[bool]] = []
    if ctx.principal.is_system:
        return sa.true()
    if ctx.principal.person_id is not None and ctx.principal.has_scope(Scope.PROFILE):
        clauses.append(col(Person.id) == ctx.principal.person_id)
    organized = ctx.authz.chapters_where(MEMBERS_READ)
    if organized is not None:
        members = select(Membership.person_id).where(col(Membership.chapter_id).in_(organized))
        clauses.append(col(Person.id).in_(members))
    if not clauses:
        return sa.false()
    return sa.and_(sa.or_(*clauses), col(Person.erased_at).is_(None))


async def _views(ctx: Ctx, people: list[Person]) -> list[PersonView]:
    ids = [p.id for p in people]
    skills: dict[uuid.UUID, list[str]] = {i: [] for i in ids}
    causes: dict[uuid.UUID, list[int]] = {i: [] for i in ids}
    if ids:
        for pid, skill in (
            await ctx.session.exec(
                select(PersonSkill.person_id, PersonSkill.skill)
                .where(col(PersonSkill.person_id).in_(ids))
                .order_by(col(PersonSkill.skill))
            )
        ).all():
            skills[pid].append(skill)
        for pid, cause in (
            await ctx.session.exec(
                select(PersonCause.person_id, PersonCause.cause)
                .where(col(PersonCause.person_id).in_(ids))
                .order_by(col(PersonCause.cause))
            )
        ).all():
            causes[pid].append(cause)
    return [
        PersonView(
            id=p.id,
            display_name=p.display_name,
            city=p.city,
            country_code=p.country_code,
            bio=p.bio,
            languages=list(p.languages),
            skills=skills[p.id],
            causes=causes[p.id],
            home_chapter_id=p.home_chapter_id,
            open_to_matching=p.open_to_matching,
            email=p.email,
            phone=p.phone,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )
        for p in people
    ]


async def load_visible(ctx: Ctx, person_id: uuid.UUID) -> Person:
    stmt = select(Person).where(Person.id == person_id, visible_people_clause(ctx))
    person = (await ctx.session.exec(stmt)).first()
    if person is None:
        raise NotFound("person", person_id)
    return person


async def require_visible(ctx: Ctx, person_id: uuid.UUID, field: str) -> None:
    """A person named in another object's input must be one the caller may see; unknown and
    invisible people answer alike, so IDs cannot be probed."""
    stmt = select(Person.id).where(Person.id == person_id, visible_people_clause(ctx))
    if (await ctx.session.exec(stmt)).first() is None:
        raise ValidationFailed.on(field, "no such person")


async def get(ctx: Ctx, person_id: uuid.UUID) -> PersonView:
    """One person, if the caller may see them."""
    return (await _views(ctx, [await load_visible(ctx, person_id)]))[0]


async def get_many(ctx: Ctx, person_ids: list[uuid.UUID]) -> dict[uuid.UUID, PersonView]:
    """The visible people among `person_ids`, batched."""
    if not person_ids:
        return {}
    stmt = select(Person).where(col(Person.id).in_(person_ids), visible_people_clause(ctx))
    return {v.id: v for v in await _views(ctx, list((await ctx.session.exec(stmt)).all()))}


async def list_people(
    ctx: Ctx,
    chapter_id: uuid.UUID | None = None,
    skill: str | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[PersonView]:
    """People the caller may see, optionally members of a chapter subtree or with a skill."""
    ctx.authz.require_scope(Scope.PEOPLE_READ)
    stmt = select(Person).where(visible_people_clause(ctx))
    if chapter_id is not None:
        await chapters.load_visible(ctx, chapter_id)
        in_tree = select(Membership.person_id).where(
            col(Membership.chapter_id).in_(chapters.subtree_ids(chapter_id))
        )
        stmt = stmt.where(col(Person.id).in_(in_tree))
    if skill is not None:
        stmt = stmt.where(
            col(Person.id).in_(select(PersonSkill.person_id).where(PersonSkill.skill == skill))
        )
    page = await keyset_page(ctx.session, stmt, [col(Person.id)], lambda p: [p.id], after, limit)
    return page.replace(await _views(ctx, page.items))


# -- writes -------------------------------------------------------------------------------


def _check(data: PersonCreate | PersonUpdate) -> list[FieldError]:
    errors: list[FieldError | None] = []
    if data.country_code is not None:
        errors.append(country_error("country_code", data.country_code))
    for i, tag in enumerate(data.languages or []):
        errors.append(language_error(f"languages.{i}", tag))
    for i, cause in enumerate(data.causes or []):
        if not 1 <= cause <= 17:
            errors.append(FieldError(f"causes.{i}", "must be an SDG number from 1 to 17"))
    for i, skill in enumerate(data.skills or []):
        if not 1 <= len(normalize_skill(skill)) <= 64:
            errors.append(FieldError(f"skills.{i}", "must be 1–64 characters"))
    return [e for e in errors if e is not None]


# Columns that cannot be cleared: an explicit null for them is an input error.
REQUIRED_ON_UPDATE = ("display_name", "languages", "open_to_matching")


async def _home_chapter_error(ctx: Ctx, chapter_id: uuid.UUID | None) -> FieldError | None:
    """A home chapter must be one the caller can see (unknown and hidden ones look alike)."""
    if chapter_id is None:
        return None
    try:
        await chapters.load_visible(ctx, chapter_id)
    except NotFound:
        return FieldError("home_chapter_id", "no such chapter")
    return None


def normalize_skill(skill: str) -> str:
    """Skills compare as lowercase words joined by single hyphens ("Web Design" → web-design)."""
    return "-".join(skill.lower().split())


async def _set_tags(
    ctx: Ctx, person_id: uuid.UUID, skills: list[str] | None, causes: list[int] | None
) -> None:
    if skills is not None:
        await ctx.session.exec(delete(PersonSkill).where(col(PersonSkill.person_id) == person_id))
        for skill in sorted({normalize_skill(s) for s in skills}):
            ctx.session.add(PersonSkill(person_id=person_id, skill=skill))
    if causes is not None:
        await ctx.session.exec(delete(PersonCause).where(col(PersonCause.person_id) == person_id))
        for cause in sorted(set(causes)):
            ctx.session.add(PersonCause(person_id=person_id, cause=cause))


async def new_person(ctx: Ctx, data: PersonCreate) -> Person:
    """Insert a validated person (no authorization: callers decide who may create people)."""
    raise_if([*_check(data), await _home_chapter_error(ctx, data.home_chapter_id)])
    person = Person(
        **data.model_dump(exclude={"skills", "causes", "languages", "email"}),
        email=str(data.email).lower() if data.email else None,
        languages=[normalize_language(t) or t for t in data.languages],
        created_by_client_id=ctx.principal.client_id,
    )
    ctx.session.add(person)
    await ctx.session.flush()
    await _set_tags(ctx, person.id, data.skills, data.causes)
    await ctx.session.flush()
    return person


async def create(
    ctx: Ctx, chapter_id: uuid.UUID, data: PersonCreate | dict[str, Any]
) -> PersonView:
    """Register a person without a login as a member of a chapter (organizers, partner tools)."""
    data = parse(PersonCreate, data)
    async with use_case(ctx.session):
        await chapters.load_visible(ctx, chapter_id)
        await ctx.authz.require(PEOPLE_MANAGE, chapter_id)
        person = await new_person(ctx, data.model_copy(update={"home_chapter_id": chapter_id}))
        membership = Membership(person_id=person.id, chapter_id=chapter_id, role=Role.MEMBER)
        ctx.session.add(membership)
        _announce_membership(ctx, membership)
        await ctx.session.flush()
    return (await _views(ctx, [person]))[0]


async def update(ctx: Ctx, person_id: uuid.UUID, data: PersonUpdate | dict[str, Any]) -> PersonView:
    """Edit one's own profile (the `profile` scope, acting as that person)."""
    data = parse(PersonUpdate, data)
    async with use_case(ctx.session):
        person = await load_visible(ctx, person_id)
        if not (ctx.principal.is_system or ctx.authz.is_self(person_id)):
            raise Forbidden("only the person themself may edit their profile")
        home = data.home_chapter_id if "home_chapter_id" in data.model_fields_set else None
        raise_if(
            [
                *_check(data),
                *null_errors(data, REQUIRED_ON_UPDATE),
                await _home_chapter_error(ctx, home),
            ]
        )
        given = data.model_dump(exclude_unset=True, exclude={"skills", "causes"})
        if given.get("email"):
            given["email"] = str(given["email"]).lower()
        if "languages" in given and given["languages"] is not None:
            given["languages"] = [normalize_language(t) or t for t in given["languages"]]
        for name, value in given.items():
            setattr(person, name, value)
        ctx.session.add(person)
        await _set_tags(ctx, person.id, data.skills, data.causes)
    await ctx.session.refresh(person)
    return (await _views(ctx, [person]))[0]


# -- memberships --------------------------------------------------------------------------


def _membership_view(m: Membership) -> MembershipView:
    return MembershipView(m.id, m.person_id, m.chapter_id, Role(m.role).label, m.created_at)


def _announce_membership(ctx: Ctx, m: Membership) -> None:
    record(
        ctx, "membership.created", m.chapter_id, m.id,
        membership_id=m.id, person_id=m.person_id, role=Role(m.role).label,
    )


def _parse_role(role: str) -> Role:
    try:
        return Role.parse(role)
    except KeyError:
        raise ValidationFailed.on("role", "must be member, organizer or admin") from None


async def join(ctx: Ctx, chapter_id: uuid.UUID) -> MembershipView:
    """The calling person joins a chapter as a member (idempotent)."""
    ctx.authz.require_scope(Scope.PROFILE)
    person_id = ctx.principal.person_id
    if person_id is None:
        raise ValidationFailed.on("person", "only a person can join a chapter")
    async with use_case(ctx.session):
        await chapters.load_visible(ctx, chapter_id)
        existing = (
            await ctx.session.exec(
                select(Membership).where(
                    Membership.person_id == person_id, Membership.chapter_id == chapter_id
                )
            )
        ).first()
        if existing is not None:
            return _membership_view(existing)
        membership = Membership(person_id=person_id, chapter_id=chapter_id, role=Role.MEMBER)
        try:
            async with unique_or(ctx.session, Conflict("joined concurrently")):
                ctx.session.add(membership)
                _announce_membership(ctx, membership)
        except Conflict:
            # A concurrent request joined first: joining is idempotent, return that one.
            return await join(ctx, chapter_id)
    ctx.authz.forget()
    return _membership_view(membership)


async def set_role(
    ctx: Ctx, chapter_id: uuid.UUID, person_id: uuid.UUID, role: str
) -> MembershipView:
    """Add a person to a chapter or change their role (chapter admins)."""
    wanted = _parse_role(role)
    async with use_case(ctx.session):
        await chapters.load_visible(ctx, chapter_id)
        await ctx.authz.require(CHAPTER_MANAGE, chapter_id)
        membership = (
            await ctx.session.exec(
                select(Membership).where(
                    Membership.person_id == person_id, Membership.chapter_id == chapter_id
                )
            )
        ).first()
        if membership is None:
            # Enrolling someone makes their personal data visible to the chapter's organizers,
            # so admins enrol only people they may already see (others join on their own).
            try:
                await load_visible(ctx, person_id)
            except NotFound:
                raise ValidationFailed.on("person_id", "no such person") from None
            membership = Membership(person_id=person_id, chapter_id=chapter_id, role=wanted)
            _announce_membership(ctx, membership)
        elif (
            membership.role == Role.ADMIN
            and wanted < Role.ADMIN
            and await _last_admin(ctx, chapter_id)
        ):
            raise Conflict("a chapter keeps at least one admin")
        membership.role = wanted
        ctx.session.add(membership)
    ctx.authz.forget()
    return _membership_view(membership)


async def remove_member(ctx: Ctx, chapter_id: uuid.UUID, person_id: uuid.UUID) -> None:
    """End a membership: chapter admins, or the member leaving on their own."""
    async with use_case(ctx.session):
        await chapters.load_visible(ctx, chapter_id)
        if not ctx.authz.is_self(person_id):
            await ctx.authz.require(CHAPTER_MANAGE, chapter_id)
        membership = (
            await ctx.session.exec(
                select(Membership).where(
                    Membership.person_id == person_id, Membership.chapter_id == chapter_id
                )
            )
        ).first()
        if membership is None:
            raise NotFound("membership", f"{chapter_id}/{person_id}")
        if membership.role == Role.ADMIN and await _last_admin(ctx, chapter_id):
            raise Conflict("a chapter keeps at least one admin")
        await ctx.session.delete(membership)
        ctx.authz.forget()
        ctx.session.add(
            Tombstone(entity="membership", entity_id=membership.id, chapter_id=chapter_id)
        )
        # The person leaves the view of the chapter's organizers (people change feeds).
        ctx.session.add(Tombstone(entity=PERSON_LEFT, entity_id=person_id, chapter_id=chapter_id))


async def _last_admin(ctx: Ctx, chapter_id: uuid.UUID) -> bool:
    stmt = (
        select(sa.func.count())
        .select_from(Membership)
        .where(Membership.chapter_id == chapter_id, Membership.role == Role.ADMIN)
    )
    return (await ctx.session.exec(stmt)).one() <= 1


async def list_members(
    ctx: Ctx,
    chapter_id: uuid.UUID,
    role: str | None = None,
    after: Cursor = None,
    limit: int = 20,
) -> Page[MembershipView]:
    """A chapter's memberships (organizers of the chapter or its ancestors, `people:read`)."""
    await chapters.load_visible(ctx, chapter_id)
    await ctx.authz.require(MEMBERS_READ, chapter_id)
    stmt = select(Membership).where(Membership.chapter_id == chapter_id)
    if role is not None:
        stmt = stmt.where(Membership.role == _parse_role(role))
    page = await keyset_page(
        ctx.session, stmt, [col(Membership.id)], lambda m: [m.id], after, limit
    )
    return page.replace([_membership_view(m) for m in page.items])


async def get_member(ctx: Ctx, chapter_id: uuid.UUID, person_id: uuid.UUID) -> MembershipView:
    """One membership of a chapter, for those who may list its members."""
    await chapters.load_visible(ctx, chapter_id)
    await ctx.authz.require(MEMBERS_READ, chapter_id)
    stmt = select(Membership).where(
        Membership.chapter_id == chapter_id, Membership.person_id == person_id
    )
    membership = (await ctx.session.exec(stmt)).first()
    if membership is None:
        raise NotFound("membership", f"{chapter_id}/{person_id}")
    return _membership_view(membership)


def membership_views(memberships: list[Membership]) -> list[MembershipView]:
    """Read models of membership rows (for batch reads elsewhere, such as change feeds)."""
    return [_membership_view(m) for m in memberships]


async def memberships_of(ctx: Ctx, person_id: uuid.UUID) -> list[MembershipView]:
    """A visible person's memberships, in chapters the caller may see."""
    await load_visible(ctx, person_id)
    visible_chapters = select(Chapter.id).where(chapters.visible_clause(ctx))
    stmt = (
        select(Membership)
        .where(
            Membership.person_id == person_id,
            col(Membership.chapter_id).in_(visible_chapters),
        )
        .order_by(col(Membership.created_at))
    )
    return [_membership_view(m) for m in (await ctx.session.exec(stmt)).all()]


# -- the caller ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerView:
    """Who is calling: the token's subject, scopes and reach, and the person's own profile
    (None for partners, or when the token lacks `profile`)."""

    person: PersonView | None
    partner_id: uuid.UUID | None
    client_id: str | None
    scopes: list[str]
    reach: list[uuid.UUID] | None


async def caller(ctx: Ctx) -> CallerView:
    """The caller as their token describes them; anonymous callers are unauthenticated."""
    principal = ctx.principal
    if principal.is_anonymous:
        raise Unauthenticated()
    person = None
    if principal.person_id is not None and ctx.authz.is_self(principal.person_id):
        person = (await get_many(ctx, [principal.person_id])).get(principal.person_id)
    return CallerView(
        person=person,
        partner_id=principal.partner_id,
        client_id=principal.client_id,
        scopes=sorted(principal.scopes),
        reach=None if principal.reach is None else sorted(principal.reach),
    )
