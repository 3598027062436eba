"""Needs for a person, people for a need: deterministic scores that explain themselves.

A need and a person are compared on four signals; each adds to the score and names a reason:

    skill     the need's skill is one of the person's skills                          10
    causes    SDGs shared by the project and the person                    2 each, 3 at most
    language  the person speaks the project's language or one of its home chapter's      1
    nearby    the project's home chapter is the person's home chapter, lies in the subtree
              of a local (city or neighbourhood) chapter they belong to, or is within
              50 km of their home or local chapters                                      2

A skill match outweighs all other signals together (10 > 6 + 1 + 2); equal scores are ordered
by id. Wider chapters (countries, regions) do not count as nearby: a member of the network
root would otherwise be near everything.

Candidates are chosen in SQL through the skill and cause indexes (`ix_need_skill_status`,
`ix_project_cause_cause`, `ix_person_skill_skill`, `ix_person_cause_cause`), at most
`CANDIDATES` rows per signal, then scored here.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import col, select

from makesense_api.authz.policy import MEMBERS_READ
from makesense_api.authz.principal import Scope
from makesense_api.chapters.models import Chapter, ChapterClosure, ChapterKind
from makesense_api.context import Ctx
from makesense_api.kit.errors import Forbidden, NotFound
from makesense_api.kit.geo import distance_km
from makesense_api.kit.i18n import localize
from makesense_api.kit.pagination import check_limit
from makesense_api.people import service as people
from makesense_api.people.models import Membership, Person, PersonCause, PersonSkill
from makesense_api.projects import needs
from makesense_api.projects import service as projects
from makesense_api.projects.models import (
    Contribution,
    Need,
    NeedStatus,
    Project,
    ProjectCause,
    ProjectOwner,
    ProjectStatus,
)
from makesense_api.projects.schemas import NeedView

SKILL = 10
CAUSE = 2
MAX_CAUSES = 3
LANGUAGE = 1
NEARBY = 2
NEARBY_KM = 50.0
CANDIDATES = 300
LOCAL_KINDS = (ChapterKind.CITY.value, ChapterKind.NEIGHBOURHOOD.value)


@dataclass(frozen=True)
class NeedMatch:
    """An open need suggested to a person, with why."""

    need: NeedView
    project_id: uuid.UUID
    project_slug: str
    project_title: str
    score: int
    reasons: list[str]


@dataclass(frozen=True)
class PersonMatch:
    """A person suggested for a need, with why (no personal data beyond the display name)."""

    person_id: uuid.UUID
    display_name: str
    score: int
    reasons: list[str]


@dataclass(frozen=True)
class _Profile:
    skills: frozenset[str]
    causes: frozenset[int]
    languages: tuple[str, ...]
    home_chapter_id: uuid.UUID | None
    local_chapter_ids: frozenset[uuid.UUID]
    places: tuple[tuple[float, float], ...]  # home and local chapters with coordinates


@dataclass(frozen=True)
class _Target:
    skill: str
    causes: frozenset[int]
    languages: tuple[str, ...]  # the project's language first, then its chapter's
    chapter: Chapter
    chapter_name: str
    lineage: frozenset[uuid.UUID]  # the home chapter and its ancestors


# -- scoring --------------------------------------------------------------------------------


def _primary(tag: str) -> str:
    return tag.split("-")[0].lower()


def _nearby(profile: _Profile, target: _Target) -> str | None:
    chapter = target.chapter
    km: float | None = None
    if chapter.latitude is not None and chapter.longitude is not None and profile.places:
        km = min(
            distance_km(lat, lon, chapter.latitude, chapter.longitude)
            for lat, lon in profile.places
        )
    close = (
        chapter.id == profile.home_chapter_id
        or bool(profile.local_chapter_ids & target.lineage)
        or (km is not None and km <= NEARBY_KM)
    )
    if not close:
        return None
    distance = f" ({round(km)} km)" if km is not None else ""
    return f"nearby: {target.chapter_name}{distance}"


def _explain(profile: _Profile, target: _Target) -> tuple[int, list[str]]:
    """The score of a person for a need, and the reasons, strongest signal first."""
    score, reasons = 0, []
    if target.skill in profile.skills:
        score += SKILL
        reasons.append(f"skill: {target.skill}")
    shared = sorted(profile.causes & target.causes)
    if shared:
        score += CAUSE * min(len(shared), MAX_CAUSES)
        reasons.append("causes: " + ", ".join(str(c) for c in shared))
    spoken = {_primary(tag) for tag in profile.languages}
    language = next((tag for tag in target.languages if _primary(tag) in spoken), None)
    if language is not None:
        score += LANGUAGE
        reasons.append(f"language: {language}")
    near = _nearby(profile, target)
    if near is not None:
        score += NEARBY
        reasons.append(near)
    return score, reasons


# -- loading ----------------------------------------------------------------------------------


async def _profiles(ctx: Ctx, persons: Sequence[Person]) -> dict[uuid.UUID, _Profile]:
    """Profiles of many people in four queries."""
    ids = [p.id for p in persons]
    skills: dict[uuid.UUID, set[str]] = defaultdict(set)
    causes: dict[uuid.UUID, set[int]] = defaultdict(set)
    local: dict[uuid.UUID, list[Chapter]] = defaultdict(list)
    skill_rows = await ctx.session.exec(
        select(PersonSkill.person_id, PersonSkill.skill).where(col(PersonSkill.person_id).in_(ids))
    )
    for pid, skill in skill_rows.all():
        skills[pid].add(skill)
    cause_rows = await ctx.session.exec(
        select(PersonCause.person_id, PersonCause.cause).where(col(PersonCause.person_id).in_(ids))
    )
    for pid, cause in cause_rows.all():
        causes[pid].add(cause)
    member_rows = await ctx.session.exec(
        select(Membership.person_id, Chapter)
        .join(Chapter, col(Chapter.id) == Membership.chapter_id)
        .where(col(Membership.person_id).in_(ids), col(Chapter.kind).in_(LOCAL_KINDS))
    )
    for pid, chapter in member_rows.all():
        local[pid].append(chapter)
    home_ids = {p.home_chapter_id for p in persons if p.home_chapter_id is not None}
    home_rows = await ctx.session.exec(select(Chapter).where(col(Chapter.id).in_(home_ids)))
    homes = {c.id: c for c in home_rows.all()}
    profiles = {}
    for person in persons:
        home = homes.get(person.home_chapter_id) if person.home_chapter_id else None
        places = [c for c in [home, *local[person.id]] if c is not None]
        profiles[person.id] = _Profile(
            skills=frozenset(skills[person.id]),
            causes=frozenset(causes[person.id]),
            languages=tuple(person.languages),
            home_chapter_id=person.home_chapter_id,
            local_chapter_ids=frozenset(c.id for c in local[person.id]),
            places=tuple(
                (c.latitude, c.longitude)
                for c in places
                if c.latitude is not None and c.longitude is not None
            ),
        )
    return profiles


async def _targets(
    ctx: Ctx, rows: Sequence[tuple[Need, Project, Chapter]]
) -> dict[uuid.UUID, _Target]:
    """Targets for many needs in two queries (project causes, chapter ancestors)."""
    causes: dict[uuid.UUID, set[int]] = defaultdict(set)
    lineage: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    cause_rows = await ctx.session.exec(
        select(ProjectCause.project_id, ProjectCause.cause).where(
            col(ProjectCause.project_id).in_({p.id for _, p, _ in rows})
        )
    )
    for pid, cause in cause_rows.all():
        causes[pid].add(cause)
    closure_rows = await ctx.session.exec(
        select(ChapterClosure.descendant_id, ChapterClosure.ancestor_id).where(
            col(ChapterClosure.descendant_id).in_({c.id for _, _, c in rows})
        )
    )
    for descendant, ancestor in closure_rows.all():
        lineage[descendant].add(ancestor)
    return {
        need.id: _Target(
            skill=need.skill,
            causes=frozenset(causes[project.id]),
            languages=tuple(dict.fromkeys([project.default_language, *chapter.languages])),
            chapter=chapter,
            chapter_name=_chapter_name(ctx, chapter),
            lineage=frozenset(lineage[chapter.id]),
        )
        for need, project, chapter in rows
    }


def _chapter_name(ctx: Ctx, chapter: Chapter) -> str:
    _, text = localize(
        {"name": chapter.name}, chapter.default_language, chapter.translations, ctx.languages
    )
    return text["name"] or chapter.name


def _title(ctx: Ctx, project: Project) -> str:
    _, text = localize(
        {"title": project.title}, project.default_language, project.translations, ctx.languages
    )
    return text["title"] or project.title


# -- needs for a person -------------------------------------------------------------------------


async def _matched_person(ctx: Ctx, person_id: uuid.UUID) -> Person:
    """The person, when the caller is that person (`profile`) or the service itself."""
    if ctx.principal.is_system:
        stmt = select(Person).where(Person.id == person_id, col(Person.erased_at).is_(None))
        person = (await ctx.session.exec(stmt)).first()
        if person is None:
            raise NotFound("person", person_id)
        return person
    ctx.authz.require_scope(Scope.PROFILE)
    person = await people.load_visible(ctx, person_id)
    if not ctx.authz.is_self(person_id):
        raise Forbidden("needs are matched for oneself only")
    return person


async def _candidate_needs(ctx: Ctx, person_id: uuid.UUID, profile: _Profile) -> set[uuid.UUID]:
    """Open needs of published visible projects sharing a skill or a cause, through indexes;
    the person's own projects and the needs they already answered are left out."""
    # Correlated, so that the project conditions filter and never drive the search: published
    # projects are most projects, the skill and cause indexes are what select.
    publishable = (
        select(Project.id)
        .where(
            col(Project.id) == Need.project_id,
            Project.status == ProjectStatus.PUBLISHED.value,
            projects.visible_clause(ctx),
            col(Project.id).not_in(projects.owned_by(person_id)),
        )
        .exists()
    )
    answered = select(Contribution.need_id).where(Contribution.person_id == person_id)
    base = (
        select(Need.id)
        .where(Need.status == NeedStatus.OPEN.value, publishable, col(Need.id).not_in(answered))
        .order_by(col(Need.id))
        .limit(CANDIDATES)
    )
    found: set[uuid.UUID] = set()
    if profile.skills:
        by_skill = base.where(col(Need.skill).in_(sorted(profile.skills)))
        found.update((await ctx.session.exec(by_skill)).all())
    if profile.causes:
        sharing = select(ProjectCause.project_id).where(
            col(ProjectCause.cause).in_(sorted(profile.causes))
        )
        found.update((await ctx.session.exec(base.where(col(Need.project_id).in_(sharing)))).all())
    return found


async def needs_for_person(ctx: Ctx, person_id: uuid.UUID, limit: int = 20) -> list[NeedMatch]:
    """Open needs of published projects ranked for a person (themself, or the service)."""
    check_limit(limit)
    person = await _matched_person(ctx, person_id)
    profile = (await _profiles(ctx, [person]))[person.id]
    need_ids = await _candidate_needs(ctx, person.id, profile)
    if not need_ids:
        return []
    stmt = (
        select(Need, Project, Chapter)
        .join(Project, col(Project.id) == Need.project_id)
        .join(Chapter, col(Chapter.id) == Project.home_chapter_id)
        .where(col(Need.id).in_(need_ids))
    )
    rows = [(n, p, c) for n, p, c in (await ctx.session.exec(stmt)).all()]
    targets = await _targets(ctx, rows)
    ranked: list[tuple[int, uuid.UUID, NeedMatch]] = []
    for need, project, _ in rows:
        score, reasons = _explain(profile, targets[need.id])
        match = NeedMatch(
            need=needs.view(need),
            project_id=project.id,
            project_slug=project.slug,
            project_title=_title(ctx, project),
            score=score,
            reasons=reasons,
        )
        ranked.append((-score, need.id, match))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [match for _, _, match in ranked[:limit]]


# -- people for a need ----------------------------------------------------------------------------


async def _candidate_people(ctx: Ctx, need: Need, causes: frozenset[int]) -> set[uuid.UUID]:
    """People open to matching, never erased, with the need's skill or a shared cause; the
    project's owners and those who already answered the need are left out."""
    owners = select(ProjectOwner.person_id).where(ProjectOwner.project_id == need.project_id)
    answered = select(Contribution.person_id).where(Contribution.need_id == need.id)
    base = (
        select(Person.id)
        .where(
            # A filter, not an access path: the skill and cause indexes choose the candidates.
            col(Person.open_to_matching).is_not(False),
            col(Person.erased_at).is_(None),
            col(Person.id).not_in(owners),
            col(Person.id).not_in(answered),
        )
        .order_by(col(Person.id))
        .limit(CANDIDATES)
    )
    with_skill = select(PersonSkill.person_id).where(PersonSkill.skill == need.skill)
    found = set((await ctx.session.exec(base.where(col(Person.id).in_(with_skill)))).all())
    if causes:
        sharing = select(PersonCause.person_id).where(col(PersonCause.cause).in_(sorted(causes)))
        found.update((await ctx.session.exec(base.where(col(Person.id).in_(sharing)))).all())
    return found


async def people_for_need(ctx: Ctx, need_id: uuid.UUID, limit: int = 20) -> list[PersonMatch]:
    """People open to matching ranked for a need (organizers who may read members' data)."""
    check_limit(limit)
    need, project = await needs.load(ctx, need_id)
    await ctx.authz.require(MEMBERS_READ, project.home_chapter_id)
    chapter = await ctx.session.get(Chapter, project.home_chapter_id)
    if chapter is None:
        raise NotFound("chapter", project.home_chapter_id)
    target = (await _targets(ctx, [(need, project, chapter)]))[need.id]
    person_ids = await _candidate_people(ctx, need, target.causes)
    if not person_ids:
        return []
    stmt = select(Person).where(col(Person.id).in_(person_ids))
    persons = list((await ctx.session.exec(stmt)).all())
    profiles = await _profiles(ctx, persons)
    ranked: list[tuple[int, uuid.UUID, PersonMatch]] = []
    for person in persons:
        score, reasons = _explain(profiles[person.id], target)
        match = PersonMatch(person.id, person.display_name, score, reasons)
        ranked.append((-score, person.id, match))
    ranked.sort(key=lambda r: (r[0], r[1]))
    return [match for _, _, match in ranked[:limit]]
