"""Builders for test data, going through the real services as the system principal."""

import itertools
import uuid
from typing import Any

from makesense_api.chapters import service as chapters
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.people import service as people
from makesense_api.people.schemas import PersonCreate

_seq = itertools.count(1)


class Factory:
    def __init__(self, system: Ctx) -> None:
        self.ctx = system

    async def root(self, **overrides: Any) -> ChapterView:
        data = {
            "slug": f"network-{next(_seq)}",
            "name": "Network",
            "default_language": "en",
            "kind": "network",
            "timezone": "UTC",
            **overrides,
        }
        return await chapters.create_root(self.ctx, data)

    async def chapter(self, parent: ChapterView, **overrides: Any) -> ChapterView:
        n = next(_seq)
        data = {
            "slug": f"chapter-{n}",
            "name": f"Chapter {n}",
            "default_language": "fr",
            "kind": "city",
            "parent_id": parent.id,
            "timezone": "Europe/Paris",
            **overrides,
        }
        return await chapters.create(self.ctx, data)

    async def person(self, **overrides: Any) -> uuid.UUID:
        data = PersonCreate(**{"display_name": f"Person {next(_seq)}", **overrides})
        return (await people.new_person(self.ctx, data)).id

    async def member(self, chapter: ChapterView, role: str = "member", **kw: Any) -> uuid.UUID:
        person_id = await self.person(**kw)
        await people.set_role(self.ctx, chapter.id, person_id, role)
        return person_id

    async def partner(self, **overrides: Any) -> Any:
        """A partner organisation (returns a `PartnerView`)."""
        from makesense_api.partners import service as partners

        n = next(_seq)
        data = {"slug": f"partner-{n}", "name": f"Partner {n}", **overrides}
        return await partners.create(self.ctx, data)

    async def grant(self, partner_id: uuid.UUID, chapter: ChapterView, *scopes: str) -> Any:
        """Grant a partner scopes on a chapter subtree (returns a `GrantView`)."""
        from makesense_api.partners import service as partners

        data = {"partner_id": partner_id, "chapter_id": chapter.id, "scopes": list(scopes)}
        return await partners.grant(self.ctx, data)

    async def tree(self) -> dict[str, ChapterView]:
        """net → europe → france → {paris → batignolles, lyon}; net → africa → lagos."""
        root = await self.root(slug="net")
        europe = await self.chapter(root, slug="europe", kind="region", name="Europe")
        france = await self.chapter(europe, slug="france", kind="country", country_code="FR")
        paris = await self.chapter(france, slug="paris", city="Paris", country_code="FR")
        batignolles = await self.chapter(paris, slug="batignolles", kind="neighbourhood")
        lyon = await self.chapter(france, slug="lyon", city="Lyon", country_code="FR")
        africa = await self.chapter(root, slug="africa", kind="region", name="Africa")
        lagos = await self.chapter(africa, slug="lagos", country_code="NG",
                                   timezone="Africa/Lagos")
        return {"root": root, "europe": europe, "france": france, "paris": paris,
                "batignolles": batignolles, "lyon": lyon, "africa": africa, "lagos": lagos}

    async def project(
        self, chapter: ChapterView, owner_id: uuid.UUID, publish: bool = True, **overrides: Any
    ) -> Any:
        """A project owned by `owner_id`, published unless told otherwise (a `ProjectView`)."""
        from makesense_api.projects import service as projects

        n = next(_seq)
        data = {
            "slug": f"project-{n}",
            "title": f"Project {n}",
            "default_language": "fr",
            "home_chapter_id": chapter.id,
            "owner_id": owner_id,
            **overrides,
        }
        view = await projects.create(self.ctx, data)
        return await projects.publish(self.ctx, view.id) if publish else view

    async def need(self, project_id: uuid.UUID, skill: str = "web-design", **overrides: Any) -> Any:
        """An open need on a project (a `NeedView`)."""
        from makesense_api.projects import needs

        data = {"skill": skill, "title": f"Need {next(_seq)}", **overrides}
        return await needs.create(self.ctx, project_id, data)

    async def program(
        self, chapter: ChapterView, publish: bool = True, **overrides: Any
    ) -> Any:
        """A program organized by `chapter`, published unless told otherwise (a `ProgramView`)."""
        from datetime import UTC, datetime

        from makesense_api.programs import service as programs

        n = next(_seq)
        data = {
            "slug": f"program-{n}",
            "title": f"Program {n}",
            "default_language": "en",
            "chapter_id": chapter.id,
            "channels": ["whatsapp", "zoom"],
            "private_links": {"whatsapp": f"https://chat.whatsapp.com/program-{n}"},
            "starts_at": datetime(2026, 3, 1, tzinfo=UTC),
            "ends_at": datetime(2026, 3, 8, tzinfo=UTC),
            "target_people": 1000,
            **overrides,
        }
        view = await programs.create(self.ctx, data)
        return await programs.publish(self.ctx, view.id) if publish else view

    async def event(self, chapter: ChapterView, publish: bool = True, **overrides: Any) -> Any:
        """An in-person event hosted by `chapter` a week from now, published unless told
        otherwise (an `EventView`)."""
        from datetime import timedelta

        from makesense_api.events import service as events
        from makesense_api.kit.clock import utcnow

        starts = (utcnow() + timedelta(days=7)).replace(microsecond=0)
        data = {
            "chapter_id": chapter.id,
            "title": f"Event {next(_seq)}",
            "format": "in_person",
            "venue_name": "La Ruche",
            "timezone": "Europe/Paris",
            "language": "fr",
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=2),
            **overrides,
        }
        view = await events.create(self.ctx, data)
        return await events.publish(self.ctx, view.id) if publish else view

    async def registration(self, event_id: uuid.UUID, person_id: uuid.UUID) -> Any:
        """Register a person for an event (a `RegistrationView`)."""
        from makesense_api.events import registrations

        return await registrations.register(self.ctx, event_id, person_id)

    async def token(
        self,
        person_id: uuid.UUID | None,
        scopes: Any,
        reach: Any = None,
        *,
        partner_id: uuid.UUID | None = None,
        kind: str = "access",
        hours: float = 1,
    ) -> str:
        """A bearer token for a person (or, with `partner_id`, a partner); returns the plaintext."""
        from datetime import timedelta

        from makesense_api.tokens import service as tokens
        from makesense_api.tokens.models import TokenKind

        issued = await tokens.issue(
            self.ctx.session,
            kind=TokenKind(kind),
            person_id=person_id,
            partner_id=partner_id,
            scopes=set(scopes),
            reach=reach,
            ttl=timedelta(hours=hours),
        )
        return issued.token

    async def oauth_client(
        self,
        *,
        chapter: ChapterView | None = None,
        partner_id: uuid.UUID | None = None,
        **overrides: Any,
    ) -> Any:
        """An OAuth client of a chapter (or, with `partner_id`, a partner): a public code-flow
        client unless told otherwise. Returns a `CreatedClient` (view and one-time secret)."""
        from makesense_api.oauth import service as oauth_clients

        data = {
            "name": f"App {next(_seq)}",
            "chapter_id": None if chapter is None else chapter.id,
            "partner_id": partner_id,
            "client_type": "public",
            "redirect_uris": ["https://app.example.org/callback"],
            "grant_types": ["authorization_code"],
            "scopes": ["profile", "events:read"],
            **overrides,
        }
        return await oauth_clients.create(self.ctx, data)
