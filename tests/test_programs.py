"""Program rules: who creates and changes programs, who sees drafts and private links, and how
enrolments move."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events.models import Event
from makesense_api.kit.errors import (
    Conflict,
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.kit.models import DomainEvent
from makesense_api.kit.pagination import Window
from makesense_api.programs import enrolments, linked_events, participants
from makesense_api.programs import service as programs
from makesense_api.programs.models import Enrolment, Program, ProgramChapter
from tests.conftest import as_person
from tests.factories import Factory

T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def tree(factory: Factory) -> dict[str, ChapterView]:
    return await factory.tree()


def new_program(chapter: ChapterView, **kw: Any) -> dict[str, Any]:
    return {
        "slug": f"climate-week-{uuid.uuid4().hex[:8]}",
        "title": "Climate Week",
        "description": "A week of climate action",
        "default_language": "en",
        "translations": {"fr": {"title": "Semaine du climat"}},
        "chapter_id": chapter.id,
        "channels": ["whatsapp", "zoom"],
        "private_links": {
            "whatsapp": "https://chat.whatsapp.com/abc",
            "zoom": "https://zoom.us/j/1",
        },
        "starts_at": T0,
        "ends_at": T0 + timedelta(days=7),
        "target_people": 5000,
        **kw,
    }


async def count(session: AsyncSession, model: Any) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


def anonymous(session: AsyncSession) -> Ctx:
    return Ctx.of(session, Principal.anonymous())


# -- creating and changing programs ---------------------------------------------------------


async def test_organizer_creates_a_draft_only_managers_see(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    view = await programs.create(
        organizer, new_program(tree["france"], chapter_ids=[tree["paris"].id])
    )
    assert view.status == "draft" and view.chapter_id == tree["france"].id
    assert set(view.chapter_ids) == {tree["france"].id, tree["paris"].id}
    assert view.private_links == {
        "whatsapp": "https://chat.whatsapp.com/abc",
        "zoom": "https://zoom.us/j/1",
    }

    paris_organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    assert (await programs.get(paris_organizer, view.id)).status == "draft"
    for outsider in (
        anonymous(session),
        as_person(session, await factory.member(tree["france"])),
        as_person(session, await factory.member(tree["lagos"], "organizer")),
    ):
        with pytest.raises(NotFound):
            await programs.get(outsider, view.id)

    await programs.publish(organizer, view.id)
    public = await programs.get_by_slug(anonymous(session), view.slug)
    assert public.status == "published" and public.private_links is None


async def test_who_may_create_a_program(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    before = await count(session, Program)
    member = as_person(session, await factory.member(tree["france"]))
    with pytest.raises(Forbidden):
        await programs.create(member, new_program(tree["france"]))
    organizer_id = await factory.member(tree["france"], "organizer")
    with pytest.raises(MissingScope):
        await programs.create(
            as_person(session, organizer_id, scopes={"programs:read"}), new_program(tree["france"])
        )
    with pytest.raises(Unauthenticated):
        await programs.create(anonymous(session), new_program(tree["france"]))
    paris_organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    with pytest.raises(Forbidden):
        await programs.create(paris_organizer, new_program(tree["france"]))
    # Adding a chapter needs PROGRAMS_MANAGE there too.
    organizer = as_person(session, organizer_id)
    with pytest.raises(Forbidden):
        await programs.create(
            organizer, new_program(tree["france"], chapter_ids=[tree["lagos"].id])
        )
    assert await count(session, Program) == before
    # A network-level organizer covers every chapter.
    network = as_person(session, await factory.member(tree["root"], "organizer"))
    view = await programs.create(
        network, new_program(tree["france"], chapter_ids=[tree["lagos"].id])
    )
    assert tree["lagos"].id in view.chapter_ids


async def test_adding_and_withdrawing_chapters(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    view = await factory.program(tree["france"])
    with pytest.raises(Forbidden):
        await participants.add_chapter(organizer, view.id, tree["lagos"].id)
    network = as_person(session, await factory.member(tree["root"], "organizer"))
    added = await participants.add_chapter(network, view.id, tree["lagos"].id)
    again = await participants.add_chapter(network, view.id, tree["lagos"].id)
    assert added.chapter_ids == again.chapter_ids and tree["lagos"].id in again.chapter_ids
    with pytest.raises(ValidationFailed) as err:
        await participants.add_chapter(organizer, view.id, uuid.uuid4())
    assert err.value.errors[0].field == "chapter_id"
    # The chapter's own organizers may withdraw it; the organizing chapter always stays.
    lagos_organizer = as_person(session, await factory.member(tree["lagos"], "organizer"))
    left = await participants.remove_chapter(lagos_organizer, view.id, tree["lagos"].id)
    assert left.chapter_ids == [tree["france"].id]
    with pytest.raises(ValidationFailed):
        await participants.remove_chapter(organizer, view.id, tree["france"].id)
    with pytest.raises(NotFound):
        await participants.remove_chapter(organizer, view.id, tree["lagos"].id)
    with pytest.raises(Forbidden):
        await participants.remove_chapter(
            as_person(session, await factory.member(tree["lyon"], "organizer")),
            view.id,
            tree["paris"].id,
        )


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"ends_at": T0}, "ends_at"),
        ({"ends_at": T0 - timedelta(hours=1)}, "ends_at"),
        ({"target_people": 0}, "target_people"),
        ({"channels": ["carrier-pigeon"]}, "channels.0"),
        ({"channels": ["zoom", "zoom"]}, "channels"),
        ({"private_links": {"email": "list@example.org"}}, "private_links.email"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"default_language": "not a tag"}, "default_language"),
        ({"translations": {"??": {"title": "x"}}}, "translations.??"),
        ({"starts_at": "2026-03-01T00:00:00"}, "starts_at"),
        ({"chapter_ids": [uuid.UUID(int=7)]}, "chapter_ids.0"),
    ],
)
async def test_invalid_programs_are_refused_and_nothing_is_written(
    session: AsyncSession,
    system: Ctx,
    tree: dict[str, ChapterView],
    override: dict[str, Any],
    field: str,
) -> None:
    before = (await count(session, Program), await count(session, ProgramChapter))
    with pytest.raises(ValidationFailed) as err:
        await programs.create(system, new_program(tree["france"], **override))
    assert field in [e.field for e in err.value.errors]
    assert (await count(session, Program), await count(session, ProgramChapter)) == before


async def test_slug_is_unique_and_organizing_chapter_must_be_visible(
    system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    taken = await factory.program(tree["france"])
    with pytest.raises(ValidationFailed) as err:
        await programs.create(system, new_program(tree["france"], slug=taken.slug))
    assert err.value.errors[0].field == "slug"
    with pytest.raises(ValidationFailed) as err:
        await programs.create(system, {**new_program(tree["france"]), "chapter_id": uuid.uuid4()})
    assert err.value.errors[0].field == "chapter_id"


async def test_update_publish_archive(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    view = await factory.program(tree["france"], publish=False)
    paris = as_person(session, await factory.member(tree["paris"], "organizer"))
    with pytest.raises(NotFound):
        await programs.update(paris, view.id, {"title": "x"})
    changed = await programs.update(
        organizer,
        view.id,
        {"title": "Climate Week 2026", "channels": ["zoom"], "target_people": 10},
    )
    # Dropping a channel drops its private link.
    assert changed.channels == ["zoom"] and changed.private_links == {}
    assert (changed.title, changed.target_people) == ("Climate Week 2026", 10)
    with pytest.raises(ValidationFailed) as err:
        await programs.update(organizer, view.id, {"ends_at": view.starts_at})
    assert err.value.errors[0].field == "ends_at"
    assert (await programs.get(organizer, view.id)).ends_at == view.ends_at
    with pytest.raises(Conflict):
        await programs.archive(organizer, view.id)
    await programs.publish(organizer, view.id)
    with pytest.raises(Conflict):
        await programs.publish(organizer, view.id)
    with pytest.raises(Forbidden):
        await programs.update(paris, view.id, {"title": "x"})
    archived = await programs.archive(organizer, view.id)
    assert archived.status == "archived"
    with pytest.raises(Conflict):
        await programs.update(organizer, view.id, {"title": "late"})
    assert (await programs.get(anonymous(session), view.id)).status == "archived"


async def test_translations_follow_accept_language(
    session: AsyncSession, system: Ctx, tree: dict[str, ChapterView]
) -> None:
    view = await programs.create(system, new_program(tree["france"]))
    await programs.publish(system, view.id)
    french = Ctx.of(session, Principal.anonymous(), ("fr-FR",))
    got = await programs.get(french, view.id)
    assert (got.language, got.title, got.description) == (
        "fr",
        "Semaine du climat",
        "A week of climate action",
    )


async def test_lists_filter_and_respect_reach(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    first = await factory.program(tree["france"], starts_at=T0)
    second = await factory.program(tree["lagos"], starts_at=T0 + timedelta(days=1))
    await factory.program(tree["lagos"], publish=False)
    anon = anonymous(session)
    listed = await programs.list_programs(anon, limit=100)
    assert [p.id for p in listed.items] == [first.id, second.id]
    page = await programs.list_programs(anon, limit=1)
    rest = await programs.list_programs(anon, after=page.end_cursor, limit=1)
    assert [p.id for p in page.items + rest.items] == [first.id, second.id] and not rest.has_next
    by_chapter = await programs.list_programs(anon, {"chapter_id": tree["lagos"].id})
    assert [p.id for p in by_chapter.items] == [second.id]
    running = await programs.list_programs(anon, {"active_at": T0 + timedelta(hours=1)})
    assert [p.id for p in running.items] == [first.id]
    admin = await factory.member(tree["root"], "admin")
    lagos_only = as_person(session, admin, reach=frozenset({tree["lagos"].id}))
    seen = await programs.list_programs(lagos_only, limit=100)
    assert {p.chapter_id for p in seen.items} == {tree["lagos"].id} and len(seen.items) == 2
    with pytest.raises(NotFound):
        await programs.get(lagos_only, first.id)


async def test_linked_events_are_listed_as_visible_as_they_are(
    session: AsyncSession, system: Ctx, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    view = await factory.program(tree["france"])

    def event(title: str, day: int, **kw: Any) -> Event:
        starts = T0 + timedelta(days=day)
        return Event(
            chapter_id=tree["paris"].id,
            title=title,
            default_language="en",
            format="online",
            starts_at=starts,
            ends_at=starts + timedelta(hours=2),
            timezone="Europe/Paris",
            language="en",
            **{"program_id": view.id, **kw},
        )

    session.add_all(
        [
            event("Kick-off", 1, status="published"),
            event("Members call", 2, status="published", visibility="members"),
            event("Planning", 3, status="draft"),
            event("Other", 4, status="published", program_id=None),
        ]
    )
    await session.flush()
    anon = await linked_events.list_events(anonymous(session), view.id)
    assert [e.title for e in anon.items] == ["Kick-off"]
    member = as_person(session, await factory.member(tree["paris"]))
    assert [e.title for e in (await linked_events.list_events(member, view.id)).items] == [
        "Kick-off",
        "Members call",
    ]
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    first = await linked_events.list_events(organizer, view.id, limit=2)
    rest = await linked_events.list_events(organizer, view.id, after=first.end_cursor, limit=2)
    assert [e.title for e in first.items + rest.items] == ["Kick-off", "Members call", "Planning"]


# -- private links --------------------------------------------------------------------------


async def test_private_links_for_enrolled_people_and_organizers_only(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    view = await factory.program(tree["france"], chapter_ids=[tree["lagos"].id])
    links = {"whatsapp": view.private_links["whatsapp"]}
    enrolled_id = await factory.person()
    enrolled = as_person(session, enrolled_id)
    assert (await programs.get(enrolled, view.id)).private_links is None
    enrolment = await enrolments.enrol(enrolled, view.id)
    seen = await programs.get(enrolled, view.id)
    assert seen.private_links == links and seen.viewer_enrolment == "enrolled"
    # Through a token that cannot read programs, the same person sees no links.
    narrow = as_person(session, enrolled_id, scopes={"events:read"})
    assert (await programs.get(narrow, view.id)).private_links is None
    # Organizers of the organizing chapter and of chapters taking part see them.
    for chapter in ("france", "lagos", "root"):
        organizer = as_person(session, await factory.member(tree[chapter], "organizer"))
        assert (await programs.get(organizer, view.id)).private_links == links
    # A read-only token of an organizer does not manage programs: no links.
    organizer_id = await factory.member(tree["france"], "organizer")
    read_only = as_person(session, organizer_id, scopes={"programs:read"})
    assert (await programs.get(read_only, view.id)).private_links is None
    for outsider in (
        anonymous(session),
        as_person(session, await factory.person()),
        as_person(session, await factory.member(tree["lyon"])),
    ):
        assert (await programs.get(outsider, view.id)).private_links is None
    # Dropping out hides them again; completing keeps them.
    await enrolments.drop(enrolled, enrolment.id)
    assert (await programs.get(enrolled, view.id)).private_links is None
    listed = await programs.list_programs(enrolled)
    assert [p.private_links for p in listed.items] == [None]


# -- enrolments -----------------------------------------------------------------------------


async def test_enrolment_is_idempotent_and_reuses_the_row_after_dropping(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    view = await factory.program(tree["france"], chapter_ids=[tree["paris"].id])
    person_id = await factory.person(home_chapter_id=tree["batignolles"].id)
    me = as_person(session, person_id)
    first = await enrolments.enrol(me, view.id)
    again = await enrolments.enrol(me, view.id)
    assert first.id == again.id and again.status == "enrolled"
    # The home chapter lies inside a chapter taking part: impact is counted there.
    assert first.chapter_id == tree["batignolles"].id
    created = select(DomainEvent).where(DomainEvent.type == "program.enrolment.created")
    events = list((await session.exec(created)).all())
    assert [(e.subject_id, e.payload["person_id"]) for e in events] == [(first.id, str(person_id))]
    dropped = await enrolments.drop(me, first.id)
    assert dropped.status == "dropped"
    assert (await enrolments.drop(me, first.id)).status == "dropped"
    back = await enrolments.enrol(me, view.id)
    assert (back.id, back.status) == (first.id, "enrolled")
    assert len((await session.exec(created)).all()) == 2
    assert await count(session, Enrolment) == 1


async def test_completion_by_organizers_and_transitions(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    view = await factory.program(tree["france"], chapter_ids=[tree["lagos"].id])
    person_id = await factory.person(home_chapter_id=tree["lagos"].id)
    me = as_person(session, person_id)
    enrolment = await enrolments.enrol(me, view.id)
    assert enrolment.chapter_id == tree["lagos"].id
    with pytest.raises(Forbidden):
        await enrolments.complete(me, enrolment.id)
    with pytest.raises(NotFound):
        await enrolments.complete(
            as_person(session, await factory.member(tree["lyon"], "organizer")), enrolment.id
        )
    # Organizers of the enrolment's chapter may complete it, as may the program's.
    lagos = as_person(session, await factory.member(tree["lagos"], "organizer"))
    done_at = datetime(2026, 3, 7, 18, 30, tzinfo=UTC)
    done = await enrolments.complete(lagos, enrolment.id, now=done_at)
    assert (done.status, done.completed_at) == ("completed", done_at)
    france = as_person(session, await factory.member(tree["france"], "organizer"))
    assert (await enrolments.complete(france, enrolment.id)).completed_at == done_at
    completed = select(DomainEvent).where(DomainEvent.type == "program.enrolment.completed")
    rows = list((await session.exec(completed)).all())
    assert [(r.subject_id, r.chapter_id) for r in rows] == [(enrolment.id, tree["lagos"].id)]
    with pytest.raises(Conflict):
        await enrolments.drop(me, enrolment.id)
    # Enrolling again after completing changes nothing.
    assert (await enrolments.enrol(me, view.id)).status == "completed"
    other = await enrolments.enrol(as_person(session, await factory.person()), view.id)
    await enrolments.drop(france, other.id)
    with pytest.raises(Conflict):
        await enrolments.complete(france, other.id)


async def test_enrolment_needs_a_published_program_and_a_chapter_taking_part(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    me = as_person(session, await factory.person(home_chapter_id=tree["lagos"].id))
    draft = await factory.program(tree["france"], publish=False)
    with pytest.raises(NotFound):
        await enrolments.enrol(me, draft.id)
    with pytest.raises(Conflict):
        await enrolments.enrol(
            Ctx.of(session, Principal.system()), draft.id, {"person_id": me.principal.person_id}
        )
    view = await factory.program(tree["france"])
    with pytest.raises(ValidationFailed) as err:
        await enrolments.enrol(me, view.id, {"chapter_id": tree["lagos"].id})
    assert err.value.errors[0].field == "chapter_id"
    # A home chapter outside the program: counted in the organizing chapter.
    assert (await enrolments.enrol(me, view.id)).chapter_id == tree["france"].id
    explicit = as_person(session, await factory.person())
    assert (
        await enrolments.enrol(explicit, view.id, {"chapter_id": tree["lyon"].id})
    ).chapter_id == tree["lyon"].id
    with pytest.raises(MissingScope):
        await enrolments.enrol(
            as_person(session, await factory.person(), scopes={"programs:read"}), view.id
        )
    with pytest.raises(Unauthenticated):
        await enrolments.enrol(anonymous(session), view.id)
    await programs.archive(Ctx.of(session, Principal.system()), view.id)
    with pytest.raises(Conflict):
        await enrolments.enrol(as_person(session, await factory.person()), view.id)


async def test_organizers_and_partners_enrol_people_they_organize(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    view = await factory.program(tree["france"])
    volunteer = await factory.member(tree["paris"], home_chapter_id=tree["paris"].id)
    paris = as_person(session, await factory.member(tree["paris"], "organizer"))
    made = await enrolments.enrol(paris, view.id, {"person_id": volunteer})
    assert (made.person_id, made.chapter_id) == (volunteer, tree["paris"].id)
    # Someone the caller cannot see is not found; a chapter they do not organize is forbidden.
    stranger = await factory.member(tree["lyon"])
    with pytest.raises(NotFound):
        await enrolments.enrol(paris, view.id, {"person_id": stranger})
    lagos_member = await factory.member(tree["lagos"])
    lagos = as_person(session, await factory.member(tree["lagos"], "organizer"))
    before = (await count(session, Enrolment), await count(session, DomainEvent))
    with pytest.raises(Forbidden):
        await enrolments.enrol(lagos, view.id, {"person_id": lagos_member})
    with pytest.raises(NotFound):
        await enrolments.enrol(as_person(session, volunteer), view.id, {"person_id": stranger})
    assert (await count(session, Enrolment), await count(session, DomainEvent)) == before
    partner = await factory.partner()
    await factory.grant(partner.id, tree["france"], "people:read", "programs:write")
    tool = Ctx.of(
        session, Principal.partner(partner.id, {"people:read", "programs:write"}, client_id="bot")
    )
    via_bot = await enrolments.enrol(tool, view.id, {"person_id": stranger})
    assert via_bot.chapter_id == tree["france"].id
    with pytest.raises(ValidationFailed):
        await enrolments.enrol(tool, view.id)


async def test_who_sees_enrolments(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    view = await factory.program(tree["france"], chapter_ids=[tree["lagos"].id])
    alice_id = await factory.person(home_chapter_id=tree["paris"].id)
    bola_id = await factory.person(home_chapter_id=tree["lagos"].id)
    alice = await enrolments.enrol(as_person(session, alice_id), view.id)
    bola = await enrolments.enrol(as_person(session, bola_id), view.id)
    mine = await enrolments.list_enrolments(as_person(session, alice_id), {"program_id": view.id})
    assert [e.id for e in mine.items] == [alice.id]
    with pytest.raises(NotFound):
        await enrolments.get(as_person(session, alice_id), bola.id)
    france = as_person(session, await factory.member(tree["france"], "organizer"))
    everyone = await enrolments.list_enrolments(france, {"program_id": view.id}, limit=1)
    rest = await enrolments.list_enrolments(
        france, {"program_id": view.id}, after=everyone.end_cursor
    )
    assert [e.id for e in everyone.items + rest.items] == [alice.id, bola.id]
    lagos = as_person(session, await factory.member(tree["lagos"], "organizer"))
    local = await enrolments.list_enrolments(lagos, {"program_id": view.id})
    assert [e.id for e in local.items] == [bola.id]
    with pytest.raises(Unauthenticated):
        await enrolments.list_enrolments(anonymous(session))
    nobody = as_person(session, uuid.uuid4(), scopes={"programs:read"})
    assert (await enrolments.list_enrolments(nobody)).items == []


# -- batched reads for nested lists ---------------------------------------------------------


async def test_batched_reads_for_nested_lists_keep_each_rule(
    session: AsyncSession, factory: Factory, tree: dict[str, ChapterView]
) -> None:
    shown = await factory.program(tree["france"])
    draft = await factory.program(tree["france"], publish=False)
    for day, (program, title, status) in enumerate(
        [
            (shown, "Kick-off", "published"),
            (shown, "Planning", "draft"),
            (shown, "Closing", "published"),
            (draft, "Hidden", "published"),
        ]
    ):
        starts = T0 + timedelta(days=day)
        session.add(
            Event(
                chapter_id=tree["paris"].id,
                program_id=program.id,
                title=title,
                default_language="en",
                format="online",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                timezone="Europe/Paris",
                language="en",
                status=status,
            )
        )
    await session.flush()
    anon = anonymous(session)
    pages = await linked_events.pages_for_programs(anon, [shown.id, draft.id], Window(first=5))
    assert [e.title for e in pages[shown.id].items] == ["Kick-off", "Closing"]
    assert pages[draft.id].items == []  # the program itself is hidden
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    pages = await linked_events.pages_for_programs(organizer, [shown.id, draft.id], Window(first=2))
    assert [e.title for e in pages[shown.id].items] == ["Kick-off", "Planning"]
    assert pages[shown.id].has_next
    assert [e.title for e in pages[draft.id].items] == ["Hidden"]

    person, other = await factory.person(), await factory.person()
    me = as_person(session, person)
    mine = await enrolments.enrol(me, shown.id)
    theirs = await enrolments.enrol(as_person(session, other), shown.id)
    both = [mine.id, theirs.id]
    assert set(await enrolments.get_many(me, both)) == {mine.id}
    assert set(await enrolments.get_many(organizer, both)) == set(both)
    assert await enrolments.get_many(anon, both) == {}
    listed = await enrolments.pages_for_programs(organizer, [shown.id, draft.id], Window(first=5))
    assert [e.id for e in listed[shown.id].items] == both and listed[draft.id].items == []
    own = await enrolments.pages_for_programs(me, [shown.id], Window(first=5))
    assert [e.id for e in own[shown.id].items] == [mine.id]
    await enrolments.complete(organizer, mine.id)
    done = await enrolments.pages_for_programs(organizer, [shown.id], Window(first=5), "completed")
    assert [e.id for e in done[shown.id].items] == [mine.id]
    with pytest.raises(ValidationFailed) as err:
        await enrolments.pages_for_programs(organizer, [shown.id], Window(first=5), "paused")
    assert err.value.errors[0].field == "status"

    assert await programs.count_programs(anon) == 1
    assert await programs.count_programs(organizer) == 2
    assert await programs.count_programs(organizer, {"status": "draft"}) == 1
