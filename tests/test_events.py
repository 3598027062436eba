"""Event rules: who may manage, validation, times across DST, visibility, search and the outbox."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import recurrence, registrations
from makesense_api.events import service as events
from makesense_api.events.models import Event, EventCause, EventCohost
from makesense_api.events.schemas import EventFilter
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database
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
from makesense_api.partners.models import PartnerGrant, PartnerOrganisation
from makesense_api.programs.models import Program
from makesense_api.projects.models import Project
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


def soon(days: float = 7) -> datetime:
    return (utcnow() + timedelta(days=days)).replace(microsecond=0)


def event_input(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    starts = soon()
    return {
        "chapter_id": chapter.id,
        "title": "Climate Fresk",
        "format": "in_person",
        "venue_name": "La Ruche",
        "timezone": "Europe/Paris",
        "language": "fr",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=3),
        **overrides,
    }


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    stmt = select(func.count()).select_from(model).where(*where)
    return (await session.exec(stmt)).one()


async def outbox(session: AsyncSession, subject_id: uuid.UUID) -> list[DomainEvent]:
    stmt = (
        select(DomainEvent)
        .where(DomainEvent.subject_id == subject_id)
        .order_by(DomainEvent.created_at, DomainEvent.id)  # type: ignore[arg-type]
    )
    return list((await session.exec(stmt)).all())


async def partner_with(session: AsyncSession, chapter: ChapterView, *scopes: str) -> uuid.UUID:
    partner = PartnerOrganisation(slug=f"partner-{uuid.uuid4().hex[:8]}", name="Partner")
    session.add(partner)
    await session.flush()
    for scope in scopes:
        session.add(PartnerGrant(partner_id=partner.id, chapter_id=chapter.id, scope=scope))
    await session.flush()
    return partner.id


# -- who may manage -------------------------------------------------------------------------


async def test_organizers_manage_events_in_their_subtree_only(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    france_organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    created = await events.create(france_organizer, event_input(tree["paris"]))
    assert created.status == "draft" and created.chapter_id == tree["paris"].id

    paris_organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    before = await count(session, Event)
    with pytest.raises(Forbidden):
        await events.create(paris_organizer, event_input(tree["lagos"]))
    member = as_person(session, await factory.member(tree["paris"]))
    with pytest.raises(Forbidden):
        await events.create(member, event_input(tree["paris"]))
    no_scope = as_person(
        session, await factory.member(tree["paris"], "organizer"), scopes={"events:read"}
    )
    with pytest.raises(MissingScope):
        await events.create(no_scope, event_input(tree["paris"]))
    anonymous = Ctx.of(session, Principal.anonymous())
    with pytest.raises(Unauthenticated):
        await events.create(anonymous, event_input(tree["paris"]))
    assert await count(session, Event) == before

    lagos_organizer = as_person(session, await factory.member(tree["lagos"], "organizer"))
    for hidden in (lagos_organizer, member, anonymous):  # a draft is invisible to them
        with pytest.raises(NotFound):
            await events.publish(hidden, created.id)
    published = await events.publish(paris_organizer, created.id)
    with pytest.raises(Forbidden):  # now visible, still not theirs
        await events.cancel(lagos_organizer, published.id)
    with pytest.raises(Forbidden):
        await events.update(member, published.id, {"title": "x"})
    with pytest.raises(MissingScope):
        await events.update(no_scope, published.id, {"title": "x"})
    with pytest.raises(Unauthenticated):
        await events.update(anonymous, published.id, {"title": "x"})
    assert (await events.get_event(anonymous, published.id)).title == "Climate Fresk"


async def test_partners_need_an_events_write_grant_on_the_host(
    session: AsyncSession, tree: Tree
) -> None:
    granted = await partner_with(session, tree["france"], "events:write")
    tool = Ctx.of(session, Principal.partner(granted, {"events:write"}))
    created = await events.create(tool, event_input(tree["lyon"]))
    assert created.chapter_id == tree["lyon"].id
    with pytest.raises(Forbidden):
        await events.create(tool, event_input(tree["lagos"]))
    reader = await partner_with(session, tree["france"], "events:read")
    with pytest.raises(Forbidden):
        await events.create(
            Ctx.of(session, Principal.partner(reader, {"events:write"})), event_input(tree["lyon"])
        )


# -- fields and rules -----------------------------------------------------------------------


async def test_created_event_copies_the_country_and_keeps_links(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    project = Project(
        slug=f"p-{uuid.uuid4().hex[:8]}",
        title="Repair café",
        default_language="fr",
        home_chapter_id=tree["paris"].id,
    )
    program = Program(
        slug=f"w-{uuid.uuid4().hex[:8]}",
        title="Climate Week",
        default_language="en",
        chapter_id=tree["paris"].id,
        starts_at=soon(1),
        ends_at=soon(9),
        target_people=100,
    )
    session.add_all([project, program])
    await session.flush()
    view = await events.create(
        system,
        event_input(
            tree["paris"],
            causes=[13, 4],
            cohost_ids=[tree["lyon"].id],
            project_id=project.id,
            program_id=program.id,
            capacity=30,
            description="Un atelier",
            translations={"en": {"title": "Climate Fresk (EN)"}},
        ),
    )
    assert view.country_code == "FR" and view.causes == [4, 13]
    assert view.cohost_ids == [tree["lyon"].id]
    assert (view.project_id, view.program_id) == (project.id, program.id)
    assert (view.language, view.text_language, view.sequence) == ("fr", "fr", 0)
    english = await events.get_event(Ctx.of(session, Principal.system(), ("en",)), view.id)
    assert (english.title, english.description) == ("Climate Fresk (EN)", "Un atelier")
    assert [e.type for e in await outbox(session, view.id)] == ["event.created"]


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"ends_at": soon() - timedelta(hours=1)}, "ends_at"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"language": "not a tag"}, "language"),
        ({"causes": [18]}, "causes.0"),
        ({"causes": [3, 3]}, "causes"),
        ({"capacity": 0}, "capacity"),
        (
            {"registration_opens_at": soon(2), "registration_closes_at": soon(1)},
            "registration_closes_at",
        ),
        ({"registration_closes_at": soon(8)}, "registration_closes_at"),
        ({"registration_opens_at": soon(8)}, "registration_opens_at"),
        ({"venue_name": None}, "venue_name"),
        ({"format": "online"}, "online_url"),
        ({"format": "hybrid"}, "online_url"),
        ({"format": "online", "online_url": "ftp://example.org/room"}, "online_url"),
        ({"project_id": uuid.uuid4()}, "project_id"),
        ({"program_id": uuid.uuid4()}, "program_id"),
        ({"cohost_ids": [uuid.uuid4()]}, "cohost_ids.0"),
        ({"chapter_id": uuid.uuid4()}, "chapter_id"),
        ({"latitude": 91.0, "longitude": 2.0}, "latitude"),
        ({"translations": {"??": {"title": "x"}}}, "translations.??"),
        ({"title": ""}, "title"),
    ],
)
async def test_invalid_fields_are_named_and_nothing_is_written(
    session: AsyncSession, system: Ctx, tree: Tree, override: dict[str, Any], field: str
) -> None:
    before = (await count(session, Event), await count(session, DomainEvent))
    with pytest.raises(ValidationFailed) as err:
        await events.create(system, event_input(tree["paris"], **override))
    assert field in [e.field for e in err.value.errors]
    assert (await count(session, Event), await count(session, DomainEvent)) == before


async def test_a_host_is_not_its_own_cohost(system: Ctx, tree: Tree) -> None:
    with pytest.raises(ValidationFailed) as err:
        await events.create(system, event_input(tree["paris"], cohost_ids=[tree["paris"].id]))
    assert err.value.errors[0].field == "cohost_ids.0"


# -- times ----------------------------------------------------------------------------------


async def test_wall_clock_times_follow_the_zone_across_dst(system: Ctx, tree: Tree) -> None:
    winter = await events.create(
        system,
        event_input(tree["paris"], starts_at="2030-01-10T19:00:00", ends_at="2030-01-10T21:00:00"),
    )
    assert winter.starts_at == datetime(2030, 1, 10, 18, tzinfo=UTC)
    summer = await events.create(
        system,
        event_input(tree["paris"], starts_at="2030-07-11T19:00:00", ends_at="2030-07-11T21:00:00"),
    )
    assert summer.starts_at == datetime(2030, 7, 11, 17, tzinfo=UTC)
    assert summer.starts_local.hour == winter.starts_local.hour == 19
    instant = await events.create(
        system,
        event_input(
            tree["paris"], starts_at="2030-01-10T19:00:00+01:00", ends_at="2030-01-10T20:00:00Z"
        ),
    )
    assert (instant.starts_at, instant.ends_at) == (
        datetime(2030, 1, 10, 18, tzinfo=UTC),
        datetime(2030, 1, 10, 20, tzinfo=UTC),
    )
    lagos = await events.create(
        system,
        event_input(
            tree["lagos"],
            timezone="Africa/Lagos",
            starts_at="2030-07-11T19:00:00",
            ends_at="2030-07-11T21:00:00",
        ),
    )
    assert lagos.starts_at == datetime(2030, 7, 11, 18, tzinfo=UTC)


async def test_a_time_in_the_spring_forward_gap_is_rejected(
    session: AsyncSession, system: Ctx, tree: Tree
) -> None:
    before = await count(session, Event)
    with pytest.raises(ValidationFailed) as err:
        await events.create(
            system,
            event_input(tree["paris"], starts_at="2030-03-31T02:30:00", ends_at="2030-03-31T05:00"),
        )
    [error] = err.value.errors
    assert error.field == "starts_at"
    assert "2030-03-31 02:30 does not exist in Europe/Paris" in error.message
    with pytest.raises(ValidationFailed) as err:
        await events.create(
            system,
            event_input(
                tree["paris"],
                starts_at="2030-04-02T19:00:00",
                ends_at="2030-04-02T21:00:00",
                registration_closes_at="2030-03-31T02:00:00",
            ),
        )
    assert [e.field for e in err.value.errors] == ["registration_closes_at"]
    assert await count(session, Event) == before


async def test_an_ambiguous_time_takes_its_first_occurrence(system: Ctx, tree: Tree) -> None:
    view = await events.create(
        system,
        event_input(tree["paris"], starts_at="2030-10-27T02:30:00", ends_at="2030-10-27T02:45:00"),
    )
    # 02:30 happens twice that night; the first is still on summer time (UTC+2).
    assert view.starts_at == datetime(2030, 10, 27, 0, 30, tzinfo=UTC)
    assert view.ends_at == datetime(2030, 10, 27, 0, 45, tzinfo=UTC)
    assert view.starts_local.utcoffset() == timedelta(hours=2)


async def test_an_edit_reads_wall_clock_times_in_the_new_zone(system: Ctx, tree: Tree) -> None:
    view = await events.create(
        system,
        event_input(tree["paris"], starts_at="2030-01-10T19:00:00", ends_at="2030-01-10T21:00:00"),
    )
    same_instants = await events.update(system, view.id, {"timezone": "Africa/Lagos"})
    assert same_instants.starts_at == view.starts_at
    moved = await events.update(
        system,
        view.id,
        {
            "timezone": "America/New_York",
            "starts_at": "2030-01-10T19:00:00",
            "ends_at": "2030-01-10T20:00:00",
        },
    )
    assert moved.starts_at == datetime(2030, 1, 11, 0, tzinfo=UTC)
    with pytest.raises(ValidationFailed) as err:
        await events.update(system, view.id, {"starts_at": "2030-03-10T02:30:00"})
    assert err.value.errors[0].field == "starts_at"


# -- edits and lifecycle --------------------------------------------------------------------


async def test_edits_bump_the_sequence_and_are_recorded(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=10)
    edited = await events.update(
        system, view.id, {"title": "Fresque du climat", "causes": [13], "capacity": None}
    )
    assert (edited.title, edited.causes, edited.capacity) == ("Fresque du climat", [13], None)
    assert edited.sequence == view.sequence + 1
    types = [e.type for e in await outbox(session, view.id)]
    assert types == ["event.created", "event.published", "event.updated"]
    update = (await outbox(session, view.id))[-1]
    assert update.payload["fields"] == ["capacity", "causes", "title"]
    assert update.chapter_id == tree["paris"].id


async def test_required_fields_cannot_be_cleared(system: Ctx, factory: Factory, tree: Tree) -> None:
    view = await factory.event(tree["paris"], causes=[3], cohost_ids=[tree["lyon"].id])
    with pytest.raises(ValidationFailed) as err:
        await events.update(system, view.id, {"title": None, "timezone": None})
    assert {e.field for e in err.value.errors} == {"title", "timezone"}
    cleared = await events.update(system, view.id, {"causes": None, "cohost_ids": None})
    assert (cleared.causes, cleared.cohost_ids) == ([], [])
    assert cleared.sequence == view.sequence + 1
    untouched = await events.update(system, view.id, {})  # nothing given: no revision
    assert untouched.sequence == cleared.sequence


async def test_capacity_cannot_drop_below_the_seats_taken(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=5)
    for _ in range(3):
        await factory.registration(view.id, await factory.person())
    before = await count(session, DomainEvent)
    with pytest.raises(ValidationFailed) as err:
        await events.update(system, view.id, {"capacity": 2, "title": "Smaller"})
    assert [e.field for e in err.value.errors] == ["capacity"]
    unchanged = await events.get_event(system, view.id)
    assert (unchanged.capacity, unchanged.title, unchanged.sequence) == (5, view.title, 1)
    assert await count(session, DomainEvent) == before
    assert (await events.update(system, view.id, {"capacity": 3})).seats_left == 0


async def test_raising_the_capacity_promotes_the_waitlist(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=1)
    regs = [await factory.registration(view.id, await factory.person()) for _ in range(4)]
    assert [r.status for r in regs] == ["registered", "waitlisted", "waitlisted", "waitlisted"]
    grown = await events.update(system, view.id, {"capacity": 3})
    assert grown.seats_taken == 3
    after = [await registrations.get_registration(system, r.id) for r in regs]
    assert [r.status for r in after] == ["registered", "registered", "registered", "waitlisted"]
    assert after[1].promoted_at is not None and after[3].waitlist_position == 1
    promoted = await outbox(session, regs[1].id)
    assert [e.type for e in promoted] == ["registration.created", "registration.promoted"]


async def test_publish_gives_a_check_in_code_to_organizers_only(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    draft = await factory.event(tree["paris"], publish=False)
    assert draft.check_in_code is None
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    published = await events.publish(organizer, draft.id)
    assert published.status == "published" and published.published_at is not None
    assert published.sequence == 1
    code = published.check_in_code
    assert code is not None and len(code) == 8 and code.isalnum()
    anonymous = Ctx.of(session, Principal.anonymous())
    assert (await events.get_event(anonymous, draft.id)).check_in_code is None
    member = as_person(session, await factory.member(tree["paris"]))
    assert (await events.get_event(member, draft.id)).check_in_code is None
    with pytest.raises(Conflict):
        await events.publish(organizer, draft.id)
    assert [e.type for e in await outbox(session, draft.id)] == [
        "event.created",
        "event.published",
    ]


async def test_an_event_that_has_ended_cannot_be_published(system: Ctx, tree: Tree) -> None:
    past = await events.create(
        system,
        event_input(
            tree["paris"],
            starts_at=utcnow() - timedelta(days=2),
            ends_at=utcnow() - timedelta(days=2) + timedelta(hours=1),
        ),
    )
    with pytest.raises(Conflict):
        await events.publish(system, past.id)


async def test_cancelling_keeps_registrations_readable(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=1)
    first, second = await factory.person(), await factory.person()
    seat = await factory.registration(view.id, first)
    queued = await factory.registration(view.id, second)
    cancelled = await events.cancel(system, view.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    assert cancelled.sequence == view.sequence + 1
    mine = await registrations.get_registration(as_person(session, first), seat.id)
    assert mine.status == "registered"
    assert (await registrations.get_registration(system, queued.id)).status == "waitlisted"
    [record] = [e for e in await outbox(session, view.id) if e.type == "event.cancelled"]
    assert record.payload["previous_status"] == "published"
    assert record.payload["registrations"]["registered"] == 1
    assert record.payload["registrations"]["waitlisted"] == 1
    anonymous = Ctx.of(session, Principal.anonymous())
    assert (await events.get_event(anonymous, view.id)).status == "cancelled"
    with pytest.raises(Conflict):
        await events.cancel(system, view.id)
    with pytest.raises(Conflict):
        await events.update(system, view.id, {"title": "Back on"})
    with pytest.raises(Conflict):
        await registrations.register(as_person(session, await factory.person()), view.id)


# -- visibility ----------------------------------------------------------------------------


async def test_drafts_are_visible_to_event_reviewers_only(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    draft = await factory.event(tree["paris"], publish=False)
    for chapter in ("paris", "france"):
        organizer = as_person(session, await factory.member(tree[chapter], "organizer"))
        assert (await events.get_event(organizer, draft.id)).status == "draft"
    hidden = [
        Ctx.of(session, Principal.anonymous()),
        as_person(session, await factory.member(tree["paris"])),
        as_person(session, await factory.member(tree["lagos"], "organizer")),
        as_person(session, await factory.member(tree["paris"], "organizer"), scopes={"profile"}),
    ]
    for ctx in hidden:
        with pytest.raises(NotFound):
            await events.get_event(ctx, draft.id)
        everything = EventFilter(chapter_id=tree["root"].id, status=None)
        assert draft.id not in [e.id for e in (await events.list_events(ctx, everything)).items]


async def test_members_only_events_are_visible_to_members_of_the_host(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], visibility="members")
    allowed = [
        as_person(session, await factory.member(tree["paris"])),
        as_person(session, await factory.member(tree["paris"], "organizer")),
        as_person(session, await factory.member(tree["france"], "organizer")),  # flows down
    ]
    for ctx in allowed:
        assert (await events.get_event(ctx, view.id)).visibility == "members"
    denied = [
        Ctx.of(session, Principal.anonymous()),
        as_person(session, await factory.member(tree["lagos"])),
        as_person(session, await factory.member(tree["batignolles"])),  # below the host
        as_person(session, await factory.member(tree["france"])),  # plain membership stays put
        as_person(session, await factory.member(tree["paris"]), scopes={"events:read"}),
    ]
    for ctx in denied:
        with pytest.raises(NotFound):
            await events.get_event(ctx, view.id)


async def test_token_reach_limits_what_is_seen(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    in_paris = await factory.event(tree["paris"])
    in_lyon = await factory.event(tree["lyon"])
    admin = await factory.member(tree["root"], "admin")
    paris_only = as_person(session, admin, reach=frozenset({tree["paris"].id}))
    assert (await events.get_event(paris_only, in_paris.id)).id == in_paris.id
    with pytest.raises(NotFound):
        await events.get_event(paris_only, in_lyon.id)
    with pytest.raises(NotFound):
        await events.update(paris_only, in_lyon.id, {"title": "x"})
    listed = await events.list_events(paris_only, EventFilter(chapter_id=tree["root"].id))
    assert [e.id for e in listed.items] == [in_paris.id]


async def test_online_url_only_for_registered_people_and_organizers(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(
        tree["paris"], format="hybrid", online_url="https://meet.example.org/fresk", capacity=1
    )
    seated, queued = await factory.person(), await factory.person()
    await factory.registration(view.id, seated)
    await factory.registration(view.id, queued)
    url = "https://meet.example.org/fresk"
    assert (await events.get_event(as_person(session, seated), view.id)).online_url == url
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    assert (await events.get_event(organizer, view.id)).online_url == url
    for ctx in (
        Ctx.of(session, Principal.anonymous()),
        as_person(session, queued),
        as_person(session, await factory.person()),
        as_person(session, seated, scopes={"events:read"}),  # cannot read registrations
    ):
        assert (await events.get_event(ctx, view.id)).online_url is None
    me = await events.get_event(as_person(session, seated), view.id)
    assert me.viewer_registration == "registered"


# -- search ---------------------------------------------------------------------------------


async def test_search_filters_and_default_upcoming_published(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    fresk = await factory.event(
        tree["paris"],
        title="Climate Fresk",
        causes=[13],
        starts_at=soon(3),
        ends_at=soon(3) + timedelta(hours=2),
        latitude=48.8566,
        longitude=2.3522,
    )
    online = await factory.event(
        tree["lyon"],
        title="Education online",
        format="online",
        venue_name=None,
        online_url="https://meet.example.org/edu",
        language="en",
        causes=[4],
        starts_at=soon(5),
        ends_at=soon(5) + timedelta(hours=1),
    )
    cleanup = await factory.event(
        tree["lagos"],
        title="Beach clean-up",
        format="hybrid",
        online_url="https://meet.example.org/lagos",
        language="en",
        causes=[13, 14],
        cohost_ids=[tree["paris"].id],
        timezone="Africa/Lagos",
        latitude=6.5244,
        longitude=3.3792,
        starts_at=soon(4),
        ends_at=soon(4) + timedelta(hours=2),
    )
    draft = await factory.event(tree["paris"], publish=False)
    ongoing = await factory.event(
        tree["paris"], starts_at=utcnow() - timedelta(hours=1), ends_at=soon(0.1)
    )
    called_off = await events.cancel(system, (await factory.event(tree["paris"])).id)

    async def ids(**kw: Any) -> list[uuid.UUID]:
        flt = EventFilter(**{"chapter_id": tree["root"].id, **kw})
        page = await events.list_events(system, flt, limit=100)
        assert await events.count_events(system, flt) == len(page.items)
        return [e.id for e in page.items]

    assert await ids() == [fresk.id, cleanup.id, online.id]
    assert await ids(chapter_id=tree["france"].id) == [fresk.id, cleanup.id, online.id]
    assert await ids(chapter_id=tree["lyon"].id) == [online.id]
    assert await ids(country_code="fr") == [fresk.id, online.id]
    assert await ids(starts_from=soon(3.5), starts_to=soon(4.5)) == [cleanup.id]
    assert await ids(format="online") == [online.id]
    assert await ids(language="EN") == [cleanup.id, online.id]
    assert await ids(cause=13) == [fresk.id, cleanup.id]
    assert await ids(text="FRESK") == [fresk.id]
    assert await ids(text="%") == []
    assert await ids(near=(48.85, 2.35, 50)) == [fresk.id]
    assert await ids(status="cancelled") == [called_off.id]
    assert await ids(status="draft") == [draft.id]
    every = await ids(status=None, upcoming=False, chapter_id=tree["paris"].id)
    assert set(every) == {fresk.id, cleanup.id, draft.id, ongoing.id, called_off.id}
    assert (await ids(upcoming=False, chapter_id=tree["paris"].id))[0] == ongoing.id
    with pytest.raises(ValidationFailed):
        await ids(near=(95.0, 0.0, 10))
    with pytest.raises(ValidationFailed) as err:
        await ids(status="postponed")
    assert err.value.errors[0].field == "status"
    anonymous = Ctx.of(session, Principal.anonymous())
    public = await events.list_events(anonymous, EventFilter(chapter_id=tree["root"].id))
    assert [e.id for e in public.items] == [fresk.id, cleanup.id, online.id]


async def test_nested_pages_of_chapters_in_one_query(
    session: AsyncSession, database: Database, system: Ctx, factory: Factory, tree: Tree
) -> None:
    made = {
        c: [await factory.event(tree[c], capacity=2) for _ in range(3)] for c in ("paris", "lyon")
    }
    cached = await session.get(Event, made["paris"][0].id)  # the session keeps this copy
    await factory.registration(made["paris"][0].id, await factory.person())
    chapter_ids = [tree["paris"].id, tree["lyon"].id, tree["lagos"].id]
    statements: list[str] = []

    def counter(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    sa_event.listen(database.engine.sync_engine, "before_cursor_execute", counter)
    try:
        pages = await events.pages_for_chapters(system, chapter_ids, Window(first=2))
    finally:
        sa_event.remove(database.engine.sync_engine, "before_cursor_execute", counter)
    assert [len(pages[c].items) for c in chapter_ids] == [2, 2, 0]
    assert pages[tree["paris"].id].has_next and not pages[tree["lagos"].id].has_next
    assert [e.id for e in pages[tree["lyon"].id].items] == [e.id for e in made["lyon"][:2]]
    # Fresh counters although this session cached the row before the seat was taken.
    assert pages[tree["paris"].id].items[0].seats_taken == 1
    assert cached is not None and cached.seats_taken == 1
    # the pages, causes, co-hosts and two rights lookups, whatever the number of chapters
    assert len(statements) == 5


async def test_keyset_pages_walk_ties_on_start_time(
    system: Ctx, factory: Factory, tree: Tree
) -> None:
    starts = soon(10)
    made = {
        (
            await factory.event(tree["lyon"], starts_at=starts, ends_at=starts + timedelta(hours=1))
        ).id
        for _ in range(5)
    }
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await events.list_events(
            system, EventFilter(chapter_id=tree["lyon"].id), after=cursor, limit=2
        )
        seen += [e.id for e in page.items]
        cursor = page.end_cursor
        if not page.has_next:
            break
    assert seen == sorted(made) and len(seen) == 5
    with pytest.raises(ValidationFailed):
        await events.list_events(system, EventFilter(), after="garbage!", limit=2)
    with pytest.raises(ValidationFailed):
        await events.list_events(system, EventFilter(), limit=101)


async def test_listing_costs_the_same_statements_for_5_or_50_events(
    session: AsyncSession, database: Database, system: Ctx, factory: Factory, tree: Tree
) -> None:
    series = await recurrence.create_series(
        system,
        {
            **{k: v for k, v in event_input(tree["paris"]).items() if "_at" not in k},
            "causes": [4, 13],
            "cohost_ids": [tree["lyon"].id, tree["lagos"].id],
            "start_date": soon(1).date().isoformat(),
            "local_start": "19:00",
            "duration_minutes": 90,
            "frequency": "weekly",
            "by_weekday": [0, 2, 4],
            "count": 60,
        },
    )
    await recurrence.publish_series(system, series.id)
    member = await factory.member(tree["paris"], "organizer")
    assert await count(session, EventCohost, EventCohost.event_id.in_(series.event_ids)) == 120  # type: ignore[attr-defined]
    assert await count(session, EventCause, EventCause.event_id.in_(series.event_ids)) == 120  # type: ignore[attr-defined]
    statements: list[str] = []

    def counter(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    async def statements_for(limit: int) -> int:
        ctx = as_person(session, member)
        statements.clear()
        sa_event.listen(database.engine.sync_engine, "before_cursor_execute", counter)
        try:
            page = await events.list_events(
                ctx, EventFilter(chapter_id=tree["paris"].id), limit=limit
            )
        finally:
            sa_event.remove(database.engine.sync_engine, "before_cursor_execute", counter)
        assert len(page.items) == limit
        assert all(len(e.causes) == 2 and len(e.cohost_ids) == 2 for e in page.items)
        return len(statements)

    few, many = await statements_for(5), await statements_for(50)
    # the page (causes and co-hosts included), two rights lookups, the caller's own
    # registrations
    assert few == many == 4


async def test_batched_reads_for_loaders_keep_each_rule(
    session: AsyncSession, system: Ctx, factory: Factory, tree: Tree
) -> None:
    public = await factory.event(tree["paris"])
    draft = await factory.event(tree["paris"], publish=False)
    person, other = await factory.person(), await factory.person()
    mine = await factory.registration(public.id, person)
    theirs = await factory.registration(public.id, other)
    me = as_person(session, person)
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    anonymous = Ctx.of(session, Principal.anonymous())
    both = [mine.id, theirs.id, uuid.uuid4()]
    assert set(await registrations.get_many(me, both)) == {mine.id}
    assert set(await registrations.get_many(organizer, both)) == {mine.id, theirs.id}
    assert await registrations.get_many(anonymous, both) == {}

    own = await registrations.own_for_events(me, [public.id, draft.id])
    assert {event_id: r.id for event_id, r in own.items()} == {public.id: mine.id}
    assert await registrations.own_for_events(organizer, [public.id]) == {}
    narrow = as_person(session, person, scopes={"events:read"})  # may not read registrations
    assert await registrations.own_for_events(narrow, [public.id]) == {}

    series = await recurrence.create_series(
        system,
        {
            **{k: v for k, v in event_input(tree["paris"]).items() if "_at" not in k},
            "start_date": soon(1).date().isoformat(),
            "local_start": "19:00",
            "duration_minutes": 90,
            "frequency": "weekly",
            "count": 2,
        },
    )
    assert await recurrence.get_many_series(anonymous, [series.id]) == {}  # drafts only
    found = await recurrence.get_many_series(organizer, [series.id, uuid.uuid4()])
    assert list(found) == [series.id] and found[series.id].event_ids == series.event_ids
    await events.publish(system, series.event_ids[1])
    seen = await recurrence.get_many_series(anonymous, [series.id])
    assert seen[series.id].event_ids == [series.event_ids[1]]
    assert seen[series.id].local_start == "19:00"
