"""Registration rules: who registers whom, seats and waitlist, cancellation, check-in, reads."""

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import checkin, registrations
from makesense_api.events import service as events
from makesense_api.events.models import Registration
from makesense_api.kit import clock
from makesense_api.kit.errors import (
    CapacityFull,
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
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]
WRITE = {"registrations:write"}


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


@pytest.fixture
def at(monkeypatch: pytest.MonkeyPatch) -> Callable[[datetime], None]:
    """Move the service clock to a given instant."""

    def move(instant: datetime) -> None:
        monkeypatch.setattr(clock, "utcnow", lambda: instant)

    return move


async def rows(session: AsyncSession, event_id: uuid.UUID) -> int:
    stmt = select(func.count()).select_from(Registration).where(Registration.event_id == event_id)
    return (await session.exec(stmt)).one()


async def types_of(session: AsyncSession, subject_id: uuid.UUID) -> list[str]:
    stmt = (
        select(DomainEvent.type)
        .where(DomainEvent.subject_id == subject_id)
        .order_by(DomainEvent.created_at, DomainEvent.id)  # type: ignore[arg-type]
    )
    return list((await session.exec(stmt)).all())


async def people(factory: Factory, n: int) -> list[uuid.UUID]:
    return [await factory.person() for _ in range(n)]


# -- registering ---------------------------------------------------------------------------


async def test_a_person_registers_once_whatever_the_retries(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=3)
    person = await factory.person()
    me = as_person(session, person, scopes=WRITE, client_id="paris-site")
    first = await registrations.register(me, view.id)
    again = await registrations.register(me, view.id, person)
    assert first.status == again.status == "registered" and first.id == again.id
    assert first.client_id == "paris-site" and first.event_id == view.id
    assert await rows(session, view.id) == 1
    assert await registrations.seats_left(me, view.id) == 2
    assert await types_of(session, first.id) == ["registration.created"]
    record = (
        await session.exec(select(DomainEvent).where(DomainEvent.subject_id == first.id))
    ).one()
    assert record.chapter_id == tree["paris"].id
    assert record.payload == {
        "registration_id": str(first.id),
        "event_id": str(view.id),
        "person_id": str(person),
        "status": "registered",
    }


async def test_seats_then_waitlist_then_capacity_full(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=2)
    regs = [await factory.registration(view.id, p) for p in await people(factory, 4)]
    assert [r.status for r in regs] == ["registered", "registered", "waitlisted", "waitlisted"]
    assert [r.waitlist_position for r in regs] == [None, None, 1, 2]
    assert (await events.get_event(factory.ctx, view.id)).seats_taken == 2

    closed = await factory.event(tree["paris"], capacity=1, waitlist_enabled=False)
    await factory.registration(closed.id, await factory.person())
    late = await factory.person()
    before = await session.exec(select(func.count()).select_from(DomainEvent))
    count_before = before.one()
    with pytest.raises(CapacityFull):
        await registrations.register(as_person(session, late), closed.id)
    assert await rows(session, closed.id) == 1
    after = (await session.exec(select(func.count()).select_from(DomainEvent))).one()
    assert after == count_before
    assert (await events.get_event(factory.ctx, closed.id)).seats_taken == 1
    assert await registrations.seats_left(factory.ctx, closed.id) == 0
    unlimited = await factory.event(tree["paris"])
    assert await registrations.seats_left(factory.ctx, unlimited.id) is None


async def test_only_published_events_in_their_window_take_registrations(
    session: AsyncSession, factory: Factory, tree: Tree, at: Callable[[datetime], None]
) -> None:
    person = as_person(session, await factory.person())
    draft = await factory.event(tree["paris"], publish=False)
    with pytest.raises(NotFound):
        await registrations.register(person, draft.id)
    organizer = await factory.member(tree["paris"], "organizer")
    with pytest.raises(Conflict):
        await registrations.register(as_person(session, organizer), draft.id)

    now = clock.utcnow()
    windowed = await factory.event(
        tree["paris"],
        registration_opens_at=now + timedelta(days=1),
        registration_closes_at=now + timedelta(days=2),
    )
    with pytest.raises(Conflict, match="opens"):
        await registrations.register(person, windowed.id)
    at(now + timedelta(days=1, hours=12))
    assert (await registrations.register(person, windowed.id)).status == "registered"
    at(now + timedelta(days=3))
    with pytest.raises(Conflict, match="closed"):
        await registrations.register(as_person(session, await factory.person()), windowed.id)
    # Already registered: the same answer, even after the window closed.
    assert (await registrations.register(person, windowed.id)).status == "registered"


async def test_who_may_register_whom(session: AsyncSession, factory: Factory, tree: Tree) -> None:
    view = await factory.event(tree["paris"])
    person, other = await factory.member(tree["paris"]), await factory.member(tree["paris"])
    with pytest.raises(MissingScope):
        await registrations.register(as_person(session, person, scopes={"events:read"}), view.id)
    with pytest.raises(Unauthenticated):
        await registrations.register(Ctx.of(session, Principal.anonymous()), view.id)
    with pytest.raises(Forbidden):
        await registrations.register(as_person(session, person), view.id, other)
    lagos = as_person(session, await factory.member(tree["lagos"], "organizer"))
    with pytest.raises(Forbidden):
        await registrations.register(lagos, view.id, other)
    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    assert (await registrations.register(organizer, view.id, other)).person_id == other
    with pytest.raises(ValidationFailed) as err:
        await registrations.register(organizer, view.id, uuid.uuid4())
    assert err.value.errors[0].field == "person_id"
    # Someone the organizer cannot see answers exactly like an unknown id.
    stranger = await factory.member(tree["lagos"])
    with pytest.raises(ValidationFailed) as hidden:
        await registrations.register(organizer, view.id, stranger)
    assert hidden.value.errors == err.value.errors

    partner = PartnerOrganisation(slug="whatsapp-bot", name="Bot")
    session.add(partner)
    await session.flush()
    for scope in ("registrations:write", "people:read"):
        session.add(PartnerGrant(partner_id=partner.id, chapter_id=tree["france"].id, scope=scope))
    await session.flush()
    tool = Ctx.of(
        session, Principal.partner(partner.id, WRITE | {"people:read"}, client_id="bot")
    )
    made = await registrations.register(tool, view.id, person)
    assert made.client_id == "bot"
    with pytest.raises(ValidationFailed) as err:
        await registrations.register(tool, view.id)
    assert err.value.errors[0].field == "person_id"


# -- cancelling and the waitlist -----------------------------------------------------------


async def test_cancelling_promotes_the_waitlist_first_in_first_out(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=2)
    who = await people(factory, 5)
    regs = [await factory.registration(view.id, p) for p in who]
    a, b, c, d, e = regs
    cancelled = await registrations.cancel(as_person(session, who[0], scopes=WRITE), a.id)
    assert cancelled.status == "cancelled" and cancelled.cancelled_at is not None
    promoted = await registrations.get_registration(factory.ctx, c.id)
    assert promoted.status == "registered" and promoted.promoted_at is not None
    assert (await registrations.get_registration(factory.ctx, e.id)).waitlist_position == 2
    assert await types_of(session, a.id) == ["registration.created", "registration.cancelled"]
    assert await types_of(session, c.id) == ["registration.created", "registration.promoted"]

    await registrations.cancel(as_person(session, who[3]), d.id)  # waitlisted: no seat freed
    assert (await events.get_event(factory.ctx, view.id)).seats_taken == 2
    await registrations.cancel(as_person(session, who[1]), b.id)
    assert (await registrations.get_registration(factory.ctx, e.id)).status == "registered"
    assert (await events.get_event(factory.ctx, view.id)).seats_taken == 2

    again = await registrations.cancel(as_person(session, who[0]), a.id)  # idempotent
    assert again.status == "cancelled"
    back = await registrations.register(as_person(session, who[0]), view.id)
    assert back.id == a.id and back.status == "waitlisted" and back.cancelled_at is None
    assert back.waitlist_position == 1 and back.queued_at > a.queued_at
    assert await rows(session, view.id) == 5


async def test_who_may_cancel(session: AsyncSession, factory: Factory, tree: Tree) -> None:
    view = await factory.event(tree["paris"])
    person, stranger = await factory.person(), await factory.person()
    reg = await factory.registration(view.id, person)
    with pytest.raises(NotFound):
        await registrations.cancel(as_person(session, stranger), reg.id)
    with pytest.raises(NotFound):
        await registrations.cancel(Ctx.of(session, Principal.anonymous()), reg.id)
    with pytest.raises(MissingScope):
        await registrations.cancel(as_person(session, person, scopes={"profile"}), reg.id)
    member = as_person(session, await factory.member(tree["paris"]))
    with pytest.raises(NotFound):
        await registrations.cancel(member, reg.id)
    reader = as_person(
        session, await factory.member(tree["paris"], "organizer"), scopes={"registrations:read"}
    )
    with pytest.raises(MissingScope):
        await registrations.cancel(reader, reg.id)
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    assert (await registrations.cancel(organizer, reg.id)).status == "cancelled"
    assert (await events.get_event(factory.ctx, view.id)).seats_taken == 0


# -- check-in ------------------------------------------------------------------------------


async def test_organizers_check_in_one_by_one_or_in_bulk_all_or_nothing(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=3)
    regs = [await factory.registration(view.id, p) for p in await people(factory, 4)]
    other = await factory.event(tree["paris"])
    foreign = await factory.registration(other.id, await factory.person())
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))

    single = await checkin.check_in(organizer, regs[0].id)
    assert single.status == "attended" and single.checked_in_at is not None
    assert (await checkin.check_in(organizer, regs[0].id, "no_show")).checked_in_at is None

    with pytest.raises(ValidationFailed) as err:
        await checkin.check_in_many(
            organizer, view.id, [regs[1].id, regs[2].id, regs[3].id, foreign.id]
        )
    assert [e.field for e in err.value.errors] == ["registration_ids.2", "registration_ids.3"]
    untouched = [await registrations.get_registration(organizer, r.id) for r in regs[1:3]]
    assert [r.status for r in untouched] == ["registered", "registered"]

    marked = await checkin.check_in_many(organizer, view.id, [regs[1].id, regs[2].id])
    assert [r.status for r in marked] == ["attended", "attended"]
    assert await types_of(session, regs[1].id) == [
        "registration.created",
        "registration.checked_in",
    ]
    with pytest.raises(ValidationFailed) as err:
        await checkin.check_in_many(organizer, view.id, [uuid.uuid4()] * 501)
    assert err.value.errors[0].field == "registration_ids"
    with pytest.raises(ValidationFailed) as err:
        await checkin.check_in_many(organizer, view.id, [regs[1].id], "present")
    assert err.value.errors[0].field == "status"
    with pytest.raises(Conflict):  # checked-in people keep their seat
        await registrations.cancel(organizer, regs[1].id)
    member = as_person(session, await factory.member(tree["paris"]))
    with pytest.raises(Forbidden):
        await checkin.check_in_many(member, view.id, [regs[1].id])
    with pytest.raises(NotFound):
        await checkin.check_in(member, regs[1].id)


async def test_self_check_in_needs_the_code_on_the_day(
    session: AsyncSession, factory: Factory, tree: Tree, at: Callable[[datetime], None]
) -> None:
    now = clock.utcnow()
    view = await factory.event(
        tree["paris"],
        capacity=1,
        starts_at=now - timedelta(minutes=30),
        ends_at=now + timedelta(hours=2),
    )
    person, queued = await factory.person(), await factory.person()
    await factory.registration(view.id, person)
    await factory.registration(view.id, queued)
    code = (await events.get_event(factory.ctx, view.id)).check_in_code
    assert code is not None
    me = as_person(session, person, scopes=WRITE)
    with pytest.raises(ValidationFailed) as err:
        await checkin.self_check_in(me, view.id, "WRONG-CODE")
    assert err.value.errors[0].field == "code"
    done = await checkin.self_check_in(me, view.id, f" {code.lower()} ")
    assert done.status == "attended" and done.checked_in_at is not None
    assert (await checkin.self_check_in(me, view.id, code)).id == done.id  # idempotent
    with pytest.raises(Conflict):
        await checkin.self_check_in(as_person(session, queued), view.id, code)
    with pytest.raises(MissingScope):
        await checkin.self_check_in(as_person(session, person, scopes={"profile"}), view.id, code)

    later = await factory.event(tree["paris"])
    await factory.registration(later.id, person)
    later_code = (await events.get_event(factory.ctx, later.id)).check_in_code
    assert later_code is not None
    with pytest.raises(Conflict, match="day of the event"):
        await checkin.self_check_in(me, later.id, later_code)
    midnight = later.starts_local.replace(hour=0, minute=0, second=0).astimezone(UTC)
    at(midnight - timedelta(minutes=1))
    with pytest.raises(Conflict, match="day of the event"):
        await checkin.self_check_in(me, later.id, later_code)
    at(midnight + timedelta(minutes=1))
    assert (await checkin.self_check_in(me, later.id, later_code)).status == "attended"


# -- who sees what -------------------------------------------------------------------------


async def test_people_see_their_own_and_organizers_the_attendee_list(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"], capacity=1)
    who = await people(factory, 3)
    regs = [await factory.registration(view.id, p) for p in who]
    own = await registrations.get_registration(
        as_person(session, who[0], scopes={"profile"}), regs[0].id
    )
    assert own.id == regs[0].id
    with pytest.raises(NotFound):
        await registrations.get_registration(as_person(session, who[1]), regs[0].id)
    with pytest.raises(NotFound):  # the token cannot read registrations
        await registrations.get_registration(
            as_person(session, who[0], scopes={"events:read"}), regs[0].id
        )

    organizer = as_person(session, await factory.member(tree["france"], "organizer"))
    listed = await registrations.list_registrations(organizer, view.id)
    assert [r.id for r in listed.items] == [r.id for r in regs]
    waiting = await registrations.list_registrations(organizer, view.id, "waitlisted", limit=1)
    assert [r.waitlist_position for r in waiting.items] == [1] and waiting.has_next
    rest = await registrations.list_registrations(
        organizer, view.id, "waitlisted", after=waiting.end_cursor
    )
    assert [r.id for r in rest.items] == [regs[2].id] and rest.items[0].waitlist_position == 2
    with pytest.raises(ValidationFailed):
        await registrations.list_registrations(organizer, view.id, "maybe")
    with pytest.raises(NotFound):
        await registrations.list_registrations(as_person(session, who[0]), view.id)
    with pytest.raises(NotFound):
        await registrations.list_registrations(
            as_person(session, await factory.member(tree["lagos"], "organizer")), view.id
        )
    with pytest.raises(MissingScope):
        await registrations.list_registrations(
            as_person(
                session, await factory.member(tree["paris"], "organizer"), scopes={"events:read"}
            ),
            view.id,
        )
    with pytest.raises(Unauthenticated):
        await registrations.list_registrations(Ctx.of(session, Principal.anonymous()), view.id)


async def test_my_registrations_pages_through_my_own(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    person = await factory.person()
    made = [
        await factory.registration((await factory.event(tree[c])).id, person)
        for c in ("paris", "lyon", "lagos")
    ]
    await factory.registration((await factory.event(tree["paris"])).id, await factory.person())
    me = as_person(session, person, scopes={"profile"})
    first = await registrations.my_registrations(me, limit=2)
    second = await registrations.my_registrations(me, after=first.end_cursor, limit=2)
    assert [r.id for r in first.items + second.items] == [r.id for r in made]
    assert not second.has_next
    paris_only = as_person(session, person, reach=frozenset({tree["paris"].id}))
    assert [r.id for r in (await registrations.my_registrations(paris_only)).items] == [made[0].id]
    cancelled = await registrations.cancel(as_person(session, person), made[1].id)
    only = await registrations.my_registrations(me, status="cancelled")
    assert [r.id for r in only.items] == [cancelled.id]
    with pytest.raises(Unauthenticated):
        await registrations.my_registrations(Ctx.of(session, Principal.anonymous()))
    with pytest.raises(MissingScope):
        await registrations.my_registrations(as_person(session, person, scopes={"events:read"}))
    with pytest.raises(Forbidden):
        await registrations.my_registrations(
            Ctx.of(session, Principal.partner(uuid.uuid4(), {"registrations:read"}))
        )


async def test_register_result_is_the_same_row_as_listed(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    view = await factory.event(tree["paris"])
    reg = await factory.registration(view.id, await factory.person())
    listed = await registrations.list_registrations(factory.ctx, view.id)
    assert listed.items == [reg]


async def test_nested_pages_batch_many_events(
    session: AsyncSession, factory: Factory, tree: Tree
) -> None:
    shows = [await factory.event(tree["paris"], capacity=1) for _ in range(3)]
    person, other = await factory.person(), await factory.person()
    for show in shows:
        await factory.registration(show.id, person)
        await factory.registration(show.id, other)
    organizer = as_person(session, await factory.member(tree["paris"], "organizer"))
    ids = [s.id for s in shows]
    pages = await registrations.pages_for_events(organizer, ids, Window(first=1))
    assert [len(pages[i].items) for i in ids] == [1, 1, 1]
    assert all(pages[i].has_next and pages[i].items[0].person_id == person for i in ids)
    waiting = await registrations.pages_for_events(organizer, ids, Window(first=5), "waitlisted")
    assert {r.waitlist_position for i in ids for r in waiting[i].items} == {1}
    mine = await registrations.pages_for_events(as_person(session, other), ids, Window(first=5))
    assert {r.person_id for i in ids for r in mine[i].items} == {other}
