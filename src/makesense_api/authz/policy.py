"""The authorization decision: token scopes ∧ token reach ∧ the subject's roles along the tree.

Every service asks an `Authorizer` before it reads or writes anything that is not public. The
decision for a chapter C is yes only when all three agree:

- scope: the token carries the permission's scope (a write scope implies its read scope);
- reach: the token is unrestricted, or C lies in the subtree of one of its reach roots;
- role: a person holds a membership with at least the permission's role in C or an ancestor of
  C (an organizer of a country is an organizer of its cities); a partner holds a grant for the
  permission's scope on C or an ancestor, and grants never confer admin rights.

Lookups are cached per authorizer, which lives for one request: a membership revoked in another
request is seen by the next request, never by a cache shared between callers.
"""

import uuid
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from makesense_api.authz.principal import Principal, Scope
from makesense_api.chapters.models import ChapterClosure
from makesense_api.kit.errors import Forbidden, MissingScope, Unauthenticated
from makesense_api.partners.models import PartnerGrant, PartnerOrganisation
from makesense_api.people.models import Membership, Role


@dataclass(frozen=True)
class Permission:
    """What an operation needs: a scope, a minimum role, and whether a partner grant suffices."""

    name: str
    scope: str
    role: Role
    partner: bool = True


CHAPTER_MANAGE = Permission("manage the chapter", Scope.CHAPTERS_WRITE, Role.ADMIN, partner=False)
CHAPTER_MEMBER_READ = Permission("read member-only chapter data", Scope.CHAPTERS_READ, Role.MEMBER)
MEMBERS_READ = Permission("read members' personal data", Scope.PEOPLE_READ, Role.ORGANIZER)
PEOPLE_MANAGE = Permission("register people", Scope.PEOPLE_WRITE, Role.ORGANIZER)
PROJECTS_MANAGE = Permission("manage projects", Scope.PROJECTS_WRITE, Role.ORGANIZER)
PROJECTS_REVIEW = Permission("read draft projects", Scope.PROJECTS_READ, Role.ORGANIZER)
EVENTS_MANAGE = Permission("manage events", Scope.EVENTS_WRITE, Role.ORGANIZER)
EVENTS_REVIEW = Permission("read draft events", Scope.EVENTS_READ, Role.ORGANIZER)
REGISTRATIONS_MANAGE = Permission("manage registrations", Scope.REGISTRATIONS_WRITE, Role.ORGANIZER)
REGISTRATIONS_REVIEW = Permission("read attendee lists", Scope.REGISTRATIONS_READ, Role.ORGANIZER)
PROGRAMS_MANAGE = Permission("manage programs", Scope.PROGRAMS_WRITE, Role.ORGANIZER)
IMPACT_DETAIL = Permission("read impact breakdowns", Scope.IMPACT_READ, Role.MEMBER)
IMPACT_MANAGE = Permission("set impact goals", Scope.IMPACT_WRITE, Role.ADMIN, partner=False)
# Chapter-owned webhook endpoints; a partner manages the endpoints it owns (`acts_for_partner`).
WEBHOOKS_MANAGE = Permission("manage webhooks", Scope.WEBHOOKS_WRITE, Role.ADMIN, partner=False)
WEBHOOKS_REVIEW = Permission("read webhooks", Scope.WEBHOOKS_READ, Role.ADMIN, partner=False)


def _inherited() -> sa.ColumnElement[bool]:
    """Which memberships count below their chapter: organizer and admin roles only."""
    return sa.or_(col(ChapterClosure.depth) == 0, col(Membership.role) >= int(Role.ORGANIZER))


def _implied_scopes(scope: str) -> tuple[str, ...]:
    resource, _, level = scope.partition(":")
    return (scope, f"{resource}:write") if level == "read" else (scope,)


class Authorizer:
    """Decisions for one principal within one request's session."""

    def __init__(self, session: AsyncSession, principal: Principal) -> None:
        self.session = session
        self.principal = principal
        self._roles: dict[uuid.UUID, Role | None] = {}
        self._reach: dict[uuid.UUID, bool] = {}
        self._grants: dict[uuid.UUID, frozenset[str]] = {}

    # -- primitives ---------------------------------------------------------------------

    def require_scope(self, scope: str) -> None:
        """Raise unless the token carries `scope` (anonymous callers are unauthenticated)."""
        if self.principal.has_scope(scope):
            return
        if self.principal.is_anonymous:
            raise Unauthenticated()
        raise MissingScope(scope)

    async def role_at(self, chapter_id: uuid.UUID) -> Role | None:
        """The person's highest role here: any membership of this chapter, or an organizer or
        admin membership of an ancestor. Plain membership does not carry down the tree."""
        if self.principal.person_id is None:
            return None
        if chapter_id not in self._roles:
            stmt = (
                select(sa.func.max(Membership.role))
                .join(ChapterClosure, col(ChapterClosure.ancestor_id) == Membership.chapter_id)
                .where(
                    ChapterClosure.descendant_id == chapter_id,
                    Membership.person_id == self.principal.person_id,
                    _inherited(),
                )
            )
            best = (await self.session.exec(stmt)).one()
            self._roles[chapter_id] = Role(best) if best else None
        return self._roles[chapter_id]

    async def in_reach(self, chapter_id: uuid.UUID) -> bool:
        """Whether the token's chapter reach covers the chapter."""
        reach = self.principal.reach
        if reach is None:
            return True
        if chapter_id not in self._reach:
            stmt = select(sa.func.count()).where(
                ChapterClosure.descendant_id == chapter_id,
                col(ChapterClosure.ancestor_id).in_(reach),
            )
            self._reach[chapter_id] = (await self.session.exec(stmt)).one() > 0
        return self._reach[chapter_id]

    async def granted_scopes_at(self, chapter_id: uuid.UUID) -> frozenset[str]:
        """Scopes the partner holds on the chapter through grants on it or its ancestors."""
        if self.principal.partner_id is None:
            return frozenset()
        if chapter_id not in self._grants:
            stmt = (
                select(PartnerGrant.scope)
                .join(ChapterClosure, col(ChapterClosure.ancestor_id) == PartnerGrant.chapter_id)
                .join(PartnerOrganisation, col(PartnerOrganisation.id) == PartnerGrant.partner_id)
                .where(
                    col(PartnerOrganisation.active).is_(True),
                    ChapterClosure.descendant_id == chapter_id,
                    PartnerGrant.partner_id == self.principal.partner_id,
                )
            )
            self._grants[chapter_id] = frozenset((await self.session.exec(stmt)).all())
        return self._grants[chapter_id]

    def forget(self) -> None:
        """Drop cached lookups; services call it after changing roles, grants or the tree."""
        self._roles.clear()
        self._reach.clear()
        self._grants.clear()

    # -- decisions ----------------------------------------------------------------------

    async def can(self, permission: Permission, chapter_id: uuid.UUID) -> bool:
        """Scope, reach and role all agree for `permission` in `chapter_id`."""
        if self.principal.is_system:
            return True
        if not self.principal.has_scope(permission.scope):
            return False
        if not await self.in_reach(chapter_id):
            return False
        if self.principal.person_id is not None:
            role = await self.role_at(chapter_id)
            return role is not None and role >= permission.role
        if self.principal.partner_id is not None and permission.partner:
            granted = await self.granted_scopes_at(chapter_id)
            return any(s in granted for s in _implied_scopes(permission.scope))
        return False

    async def require(self, permission: Permission, chapter_id: uuid.UUID) -> None:
        """Raise the precise denial when `can` says no."""
        self.require_scope(permission.scope)
        if not await self.can(permission, chapter_id):
            raise Forbidden(f"not allowed to {permission.name} in this chapter")

    def acts_for_partner(self, partner_id: uuid.UUID | None, scope: str) -> bool:
        """The caller is this partner organisation (its own client's token) holding `scope`,
        or the service itself."""
        principal = self.principal
        if principal.is_system:
            return True
        return (
            partner_id is not None
            and principal.partner_id == partner_id
            and principal.has_scope(scope)
        )

    def is_self(self, person_id: uuid.UUID) -> bool:
        """The caller is this person, through a token that may act for them (`profile`)."""
        return self.principal.person_id == person_id and self.principal.has_scope(Scope.PROFILE)

    # -- filters for lists ----------------------------------------------------------------

    def reach_chapters(self) -> SelectOfScalar[uuid.UUID] | None:
        """Chapter ids inside the token's reach, or None when it is unrestricted."""
        if self.principal.reach is None:
            return None
        return select(ChapterClosure.descendant_id).where(
            col(ChapterClosure.ancestor_id).in_(self.principal.reach)
        )

    def chapters_where(self, permission: Permission) -> SelectOfScalar[uuid.UUID] | None:
        """A subquery of every chapter id where `can(permission)` holds; None if nowhere."""
        if self.principal.is_system:
            return select(ChapterClosure.descendant_id).where(ChapterClosure.depth == 0)
        if not self.principal.has_scope(permission.scope):
            return None
        if self.principal.person_id is not None:
            roles = [int(r) for r in Role if r >= permission.role]
            stmt = (
                select(ChapterClosure.descendant_id)
                .join(Membership, col(Membership.chapter_id) == ChapterClosure.ancestor_id)
                .where(
                    Membership.person_id == self.principal.person_id,
                    col(Membership.role).in_(roles),
                    _inherited(),
                )
            )
        elif self.principal.partner_id is not None and permission.partner:
            stmt = (
                select(ChapterClosure.descendant_id)
                .join(PartnerGrant, col(PartnerGrant.chapter_id) == ChapterClosure.ancestor_id)
                .join(PartnerOrganisation, col(PartnerOrganisation.id) == PartnerGrant.partner_id)
                .where(
                    col(PartnerOrganisation.active).is_(True),
                    PartnerGrant.partner_id == self.principal.partner_id,
                    col(PartnerGrant.scope).in_(_implied_scopes(permission.scope)),
                )
            )
        else:
            return None
        reach = self.reach_chapters()
        if reach is not None:
            stmt = stmt.where(col(ChapterClosure.descendant_id).in_(reach))
        return stmt

    async def chapters_allowing(
        self, permission: Permission, chapter_ids: set[uuid.UUID]
    ) -> set[uuid.UUID]:
        """The subset of `chapter_ids` where `can(permission)` holds, in one query."""
        if not chapter_ids:
            return set()
        allowed = self.chapters_where(permission)
        if allowed is None:
            return set()
        stmt = allowed.where(col(ChapterClosure.descendant_id).in_(chapter_ids))
        return set((await self.session.exec(stmt)).all())
