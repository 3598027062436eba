"""Who is calling: a person through a token, a partner's client, or nobody.

A principal carries what its token allows: the scopes, and an optional chapter reach (the roots
of the subtrees the token is restricted to). Roles are not carried: they are looked up in the
database by the authorizer, so a revoked membership takes effect at once.
"""

import uuid
from dataclasses import dataclass, field
from enum import StrEnum


class Scope(StrEnum):
    CHAPTERS_READ = "chapters:read"
    CHAPTERS_WRITE = "chapters:write"
    EVENTS_READ = "events:read"
    EVENTS_WRITE = "events:write"
    REGISTRATIONS_READ = "registrations:read"
    REGISTRATIONS_WRITE = "registrations:write"
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    PEOPLE_READ = "people:read"
    PEOPLE_WRITE = "people:write"
    PROGRAMS_READ = "programs:read"
    PROGRAMS_WRITE = "programs:write"
    IMPACT_READ = "impact:read"
    IMPACT_WRITE = "impact:write"
    WEBHOOKS_READ = "webhooks:read"
    WEBHOOKS_WRITE = "webhooks:write"
    PROFILE = "profile"
    OFFLINE_ACCESS = "offline_access"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)


@dataclass(frozen=True)
class Principal:
    """The caller. Exactly one of `person_id` / `partner_id` is set unless anonymous."""

    person_id: uuid.UUID | None = None
    partner_id: uuid.UUID | None = None
    client_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    # None: unrestricted. Otherwise the token acts only inside these chapters' subtrees.
    reach: frozenset[uuid.UUID] | None = None
    # The service itself (CLI, seeding, migrations of data); never built by a transport.
    is_system: bool = False

    @classmethod
    def anonymous(cls) -> "Principal":
        return cls()

    @classmethod
    def system(cls) -> "Principal":
        return cls(scopes=ALL_SCOPES, is_system=True)

    @classmethod
    def person(
        cls,
        person_id: uuid.UUID,
        scopes: frozenset[str] | set[str] = ALL_SCOPES,
        reach: frozenset[uuid.UUID] | None = None,
        client_id: str | None = None,
    ) -> "Principal":
        return cls(person_id=person_id, scopes=frozenset(scopes), reach=reach, client_id=client_id)

    @classmethod
    def partner(
        cls,
        partner_id: uuid.UUID,
        scopes: frozenset[str] | set[str],
        reach: frozenset[uuid.UUID] | None = None,
        client_id: str | None = None,
    ) -> "Principal":
        return cls(
            partner_id=partner_id, scopes=frozenset(scopes), reach=reach, client_id=client_id
        )

    @property
    def is_anonymous(self) -> bool:
        return self.person_id is None and self.partner_id is None and not self.is_system

    def has_scope(self, scope: str) -> bool:
        """A write scope implies the matching read scope."""
        if scope in self.scopes:
            return True
        resource, _, level = scope.partition(":")
        return level == "read" and f"{resource}:write" in self.scopes
