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
        data = PersonCreate(display_name=f"Person {next(_seq)}", **overrides)
        return (await people.new_person(self.ctx, data)).id

    async def member(self, chapter: ChapterView, role: str = "member", **kw: Any) -> uuid.UUID:
        person_id = await self.person(**kw)
        await people.set_role(self.ctx, chapter.id, person_id, role)
        return person_id
