"""Programs, enrolments, impact reports and goals through the GraphQL schema."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.events.models import Event, EventCause, Registration
from makesense_api.graphql.relay import to_global_id
from makesense_api.impact import rollup
from makesense_api.impact.models import Goal
from makesense_api.people import service as people
from makesense_api.people.models import Person
from makesense_api.people.schemas import PersonCreate
from makesense_api.programs.models import Enrolment, Program
from tests.factories import Factory
from tests.gql import count_statements, execute, run

Tree = dict[str, ChapterView]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


async def named(
    factory: Factory, name: str, chapter: ChapterView | None = None, role: str = "member"
) -> uuid.UUID:
    """A person called `name`, with a role in `chapter` when given."""
    person = await people.new_person(factory.ctx, PersonCreate(display_name=name))
    if chapter is not None:
        await people.set_role(factory.ctx, chapter.id, person.id, role)
    return person.id


@pytest.fixture
async def who(factory: Factory, tree: Tree) -> dict[str, Principal]:
    """Callers with every scope: France organizers and admins, Paris members, Lagos."""
    return {
        "org": Principal.person(await named(factory, "Flo", tree["france"], "organizer")),
        "admin": Principal.person(await named(factory, "Ada", tree["france"], "admin")),
        "lagos_org": Principal.person(await named(factory, "Lami", tree["lagos"], "organizer")),
        "vera": Principal.person(await named(factory, "Vera", tree["paris"])),
        "omar": Principal.person(await named(factory, "Omar", tree["paris"])),
    }


def gid(type_name: str, view: Any) -> str:
    return to_global_id(type_name, view.id)


def pid(principal: Principal) -> uuid.UUID:
    assert principal.person_id is not None
    return principal.person_id


async def rows(session: AsyncSession, model: type[SQLModel]) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


SELECTIONS = {
    "program": "... on ProgramPayload { program { id slug title status channels targetPeople "
    "privateLinks { channel url } chapters { slug } } }",
    "enrolment": "... on EnrolmentPayload { enrolment { id status completedAt "
    "chapter { slug } program { slug } person { displayName } } }",
    "goal": "... on GoalPayload { goal { id target deadline chapter { slug } program { slug } } }",
}


async def mutate(
    session: AsyncSession, name: str, input: dict[str, Any], principal: Principal | None = None
) -> dict[str, Any]:
    """Run one mutation and return its result, whatever its type."""
    kind = (
        "enrolment" if name == "programEnrol" else next(k for k in SELECTIONS if name.startswith(k))
    )
    query = f"""mutation($input: {name[0].upper()}{name[1:]}Input!) {{ {name}(input: $input) {{
      __typename {SELECTIONS[kind]}
      ... on Error {{ code message }} ... on ValidationError {{ fields {{ field message }} }} }} }}"""
    result: dict[str, Any] = (await run(session, query, {"input": input}, principal))[name]
    return result


def fields_of(result: dict[str, Any]) -> set[str]:
    assert result["__typename"] == "ValidationError", result
    return {f["field"] for f in result["fields"]}


# -- reading ------------------------------------------------------------------------------

PROGRAM_PAGE = """query($slug: String!) { program(slug: $slug) {
  id title language channels status targetPeople startsAt viewerEnrolment
  privateLinks { channel url } organizingChapter { slug } chapters { slug }
  events(first: 2) { edges { node { title hostChapter { slug } } } pageInfo { hasNextPage } }
  enrolments(first: 10) { edges { node { status person { displayName } chapter { slug } } } }
} }"""


async def test_a_program_page_shows_links_and_enrolments_only_to_those_allowed(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    program = await factory.program(
        tree["france"],
        slug="climate-week",
        title="Climate Week",
        translations={"fr": {"title": "Semaine du climat"}},
        chapter_ids=[tree["lagos"].id],
    )
    for title, days in (("Kick-off", 1), ("Workshop", 2), ("Closing", 3)):
        starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
        await factory.event(
            tree["paris"],
            title=title,
            program_id=program.id,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
        )
    await mutate(session, "programEnrol", {"programId": gid("Program", program)}, who["vera"])
    await mutate(session, "programEnrol", {"programId": gid("Program", program)}, who["omar"])

    public = await run(session, PROGRAM_PAGE, {"slug": "climate-week"}, languages=("fr",))
    page = public["program"]
    assert (page["title"], page["language"]) == ("Semaine du climat", "fr")
    assert (page["channels"], page["status"], page["targetPeople"]) == (
        ["WHATSAPP", "ZOOM"],
        "PUBLISHED",
        1000,
    )
    assert page["startsAt"] == T0.isoformat()
    assert page["organizingChapter"] == {"slug": "france"}
    assert sorted(c["slug"] for c in page["chapters"]) == ["france", "lagos"]
    assert page["privateLinks"] is None and page["viewerEnrolment"] is None
    assert page["enrolments"]["edges"] == []
    assert [e["node"]["title"] for e in page["events"]["edges"]] == ["Kick-off", "Workshop"]
    assert page["events"]["edges"][0]["node"]["hostChapter"] == {"slug": "paris"}
    assert page["events"]["pageInfo"]["hasNextPage"]

    mine = (await run(session, PROGRAM_PAGE, {"slug": "climate-week"}, who["vera"]))["program"]
    assert mine["viewerEnrolment"] == "ENROLLED"
    assert mine["privateLinks"] == [
        {"channel": "WHATSAPP", "url": program.private_links["whatsapp"]}
    ]
    assert [e["node"]["person"] for e in mine["enrolments"]["edges"]] == [{"displayName": "Vera"}]
    organized = (await run(session, PROGRAM_PAGE, {"slug": "climate-week"}, who["org"]))["program"]
    assert [e["node"]["person"]["displayName"] for e in organized["enrolments"]["edges"]] == [
        "Vera",
        "Omar",
    ]
    assert {e["node"]["chapter"]["slug"] for e in organized["enrolments"]["edges"]} == {"france"}
    assert (await run(session, PROGRAM_PAGE, {"slug": "nothing"}))["program"] is None


LIST = """query($filter: ProgramFilterInput) { programs(filter: $filter, first: 10) {
  totalCount edges { node { slug status } } } }"""
NODE = """query($id: ID!) { node(id: $id) { id __typename ... on Program { slug }
  ... on Enrolment { status } ... on Goal { target } } }"""


async def test_lists_filter_and_drafts_stay_hidden(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    week = await factory.program(tree["france"], slug="week")
    await factory.program(tree["lagos"], slug="lagos-days")
    draft = await factory.program(tree["france"], slug="draft", publish=False)
    listed = (await run(session, LIST))["programs"]
    assert listed["totalCount"] == 2
    assert [e["node"]["slug"] for e in listed["edges"]] == ["week", "lagos-days"]
    france = {"chapter": gid("Chapter", tree["france"])}
    organized = (await run(session, LIST, {"filter": france}, who["org"]))["programs"]
    assert [e["node"]["slug"] for e in organized["edges"]] == ["week", "draft"]
    drafts = (await run(session, LIST, {"filter": {"status": "DRAFT"}}, who["org"]))["programs"]
    assert drafts == {"totalCount": 1, "edges": [{"node": {"slug": "draft", "status": "DRAFT"}}]}
    assert (await run(session, NODE, {"id": gid("Program", draft)}))["node"] is None
    assert (await run(session, NODE, {"id": gid("Program", draft)}, who["lagos_org"]))[
        "node"
    ] is None
    assert (await run(session, NODE, {"id": gid("Program", draft)}, who["org"]))["node"] == {
        "id": gid("Program", draft),
        "__typename": "Program",
        "slug": "draft",
    }
    assert (await run(session, '{ program(slug: "draft") { slug } }'))["program"] is None
    assert (await run(session, NODE, {"id": gid("Program", week)}))["node"]["slug"] == "week"
    bad = await execute(session, LIST, {"filter": {"chapter": "garbage"}})
    assert bad.errors[0].message == "filter.chapter: not a valid global ID"


async def test_nested_events_and_enrolments_cost_the_same_for_2_or_8_programs(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    for chapter, n in (("lyon", 2), ("lagos", 8)):
        for i in range(n):
            day = T0 + timedelta(days=i)
            program = await factory.program(
                tree[chapter], starts_at=day, ends_at=day + timedelta(days=7)
            )
            starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
            for _ in range(2):
                await factory.event(
                    tree[chapter],
                    program_id=program.id,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                )
            await mutate(
                session, "programEnrol", {"programId": gid("Program", program)}, who["vera"]
            )
    query = """query($chapter: ID!) { programs(first: 20, filter: {chapter: $chapter}) {
      edges { node { slug organizingChapter { slug } chapters { slug }
        events(first: 5) { edges { node { title hostChapter { slug } } } }
        enrolments(first: 5) { edges { node { status person { displayName } program { slug } } } }
      } } } }"""
    counts = []
    for chapter, n in (("lyon", 2), ("lagos", 8)):
        with count_statements(session) as statements:
            data = await run(
                session, query, {"chapter": gid("Chapter", tree[chapter])}, who["vera"]
            )
        edges = data["programs"]["edges"]
        assert len(edges) == n
        assert all(len(e["node"]["events"]["edges"]) == 2 for e in edges)
        assert all(len(e["node"]["enrolments"]["edges"]) == 1 for e in edges)
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


# -- mutations ----------------------------------------------------------------------------


def new_program(chapter: ChapterView, **overrides: Any) -> dict[str, Any]:
    return {
        "chapterId": gid("Chapter", chapter),
        "slug": "climate-week",
        "title": "Climate Week",
        "defaultLanguage": "en",
        "startsAt": T0.isoformat(),
        "endsAt": (T0 + timedelta(days=7)).isoformat(),
        "targetPeople": 5000,
        "channels": ["WHATSAPP", "ZOOM"],
        "privateLinks": [{"channel": "WHATSAPP", "url": "https://chat.whatsapp.com/abc"}],
        **overrides,
    }


async def test_program_mutations_succeed_and_fail_with_typed_errors(
    session: AsyncSession, tree: Tree, who: dict[str, Principal]
) -> None:
    org, before = who["org"], await rows(session, Program)
    bad = await mutate(
        session,
        "programCreate",
        new_program(tree["france"], slug="X Y", endsAt=T0.isoformat()),
        org,
    )
    assert fields_of(bad) == {"slug", "ends_at"}
    stray = new_program(tree["france"], privateLinks=[{"channel": "EMAIL", "url": "x"}])
    assert fields_of(await mutate(session, "programCreate", stray, org)) == {"private_links.email"}
    assert fields_of(
        await mutate(session, "programCreate", new_program(tree["france"], chapterId="x"), org)
    ) == {"chapter_id"}
    anonymous = await mutate(session, "programCreate", new_program(tree["france"]))
    assert anonymous["__typename"] == "UnauthenticatedError"
    elsewhere = await mutate(
        session, "programCreate", new_program(tree["france"]), who["lagos_org"]
    )
    assert elsewhere["__typename"] == "ForbiddenError"
    assert await rows(session, Program) == before

    created = (await mutate(session, "programCreate", new_program(tree["france"]), org))["program"]
    assert (created["status"], created["channels"]) == ("DRAFT", ["WHATSAPP", "ZOOM"])
    assert created["privateLinks"] == [
        {"channel": "WHATSAPP", "url": "https://chat.whatsapp.com/abc"}
    ]
    program = created["id"]
    updated = await mutate(
        session, "programUpdate", {"id": program, "targetPeople": 8000, "channels": ["ZOOM"]}, org
    )
    assert updated["program"]["targetPeople"] == 8000
    assert updated["program"]["privateLinks"] == []  # the WhatsApp link went with its channel
    assert (await mutate(session, "programPublish", {"id": program}, org))["program"][
        "status"
    ] == "PUBLISHED"
    again = await mutate(session, "programPublish", {"id": program}, org)
    assert again["__typename"] == "ConflictError"

    lagos = {"programId": program, "chapterId": gid("Chapter", tree["lagos"])}
    refused = await mutate(session, "programAddChapter", lagos, org)
    assert refused["__typename"] == "ForbiddenError"  # France's organizer does not run Lagos
    paris = {"programId": program, "chapterId": gid("Chapter", tree["paris"])}
    added = await mutate(session, "programAddChapter", paris, org)
    assert sorted(c["slug"] for c in added["program"]["chapters"]) == ["france", "paris"]
    removed = await mutate(session, "programRemoveChapter", paris, org)
    assert [c["slug"] for c in removed["program"]["chapters"]] == ["france"]
    organizing = {"programId": program, "chapterId": gid("Chapter", tree["france"])}
    assert fields_of(await mutate(session, "programRemoveChapter", organizing, org)) == {
        "chapter_id"
    }

    archived = await mutate(session, "programArchive", {"id": program}, org)
    assert archived["program"]["status"] == "ARCHIVED"
    closed = await mutate(session, "programUpdate", {"id": program, "title": "X"}, org)
    assert closed["__typename"] == "ConflictError"
    late = await mutate(session, "programEnrol", {"programId": program}, who["vera"])
    assert late["__typename"] == "ConflictError"


async def test_enrolments_move_from_enrolled_to_completed_or_dropped(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    program = gid("Program", await factory.program(tree["france"], chapter_ids=[tree["paris"].id]))
    before = await rows(session, Enrolment)
    anonymous = await mutate(session, "programEnrol", {"programId": program})
    assert anonymous["__typename"] == "UnauthenticatedError"
    outside = {"programId": program, "chapterId": gid("Chapter", tree["lagos"])}
    assert fields_of(await mutate(session, "programEnrol", outside, who["vera"])) == {"chapter_id"}
    assert await rows(session, Enrolment) == before

    through_paris = {"programId": program, "chapterId": gid("Chapter", tree["paris"])}
    vera = (await mutate(session, "programEnrol", through_paris, who["vera"]))["enrolment"]
    assert (vera["status"], vera["chapter"], vera["person"]) == (
        "ENROLLED",
        {"slug": "paris"},
        {"displayName": "Vera"},
    )
    again = await mutate(session, "programEnrol", {"programId": program}, who["vera"])
    assert again["enrolment"]["id"] == vera["id"]
    enrolled_by_org = await mutate(
        session,
        "programEnrol",
        {"programId": program, "personId": to_global_id("Person", pid(who["omar"]))},
        who["org"],
    )
    assert enrolled_by_org["enrolment"]["person"] == {"displayName": "Omar"}

    own = await mutate(session, "enrolmentComplete", {"id": vera["id"]}, who["vera"])
    assert own["__typename"] == "ForbiddenError"
    done = await mutate(session, "enrolmentComplete", {"id": vera["id"]}, who["org"])
    assert done["enrolment"]["status"] == "COMPLETED" and done["enrolment"]["completedAt"]
    too_late = await mutate(session, "enrolmentDrop", {"id": vera["id"]}, who["vera"])
    assert too_late["__typename"] == "ConflictError"
    omar = enrolled_by_org["enrolment"]["id"]
    unseen = await mutate(session, "enrolmentDrop", {"id": omar}, who["vera"])
    assert unseen["__typename"] == "NotFoundError"
    dropped = await mutate(session, "enrolmentDrop", {"id": omar}, who["omar"])
    assert dropped["enrolment"]["status"] == "DROPPED"
    assert (await run(session, NODE, {"id": omar}, who["omar"]))["node"]["status"] == "DROPPED"
    assert (await run(session, NODE, {"id": omar}))["node"] is None


# -- impact -------------------------------------------------------------------------------


async def attended(
    session: AsyncSession,
    chapter: ChapterView,
    at: datetime,
    *people: uuid.UUID,
    causes: tuple[int, ...] = (),
) -> None:
    """A past published event of `chapter` that `people` attended."""
    event = Event(
        chapter_id=chapter.id,
        title="Past event",
        default_language="en",
        format="in_person",
        starts_at=at,
        ends_at=at + timedelta(hours=2),
        timezone="Europe/Paris",
        language="en",
        status="published",
    )
    session.add(event)
    await session.flush()
    session.add_all(EventCause(event_id=event.id, cause=c) for c in causes)
    session.add_all(
        Registration(event_id=event.id, person_id=p, status="attended", queued_at=at)
        for p in people
    )
    session.add(
        Registration(
            event_id=event.id, person_id=await named_free(session), status="no_show", queued_at=at
        )
    )
    await session.flush()
    await rollup.rebuild(session)


async def named_free(session: AsyncSession) -> uuid.UUID:
    person = Person(display_name="Someone")
    session.add(person)
    await session.flush()
    return person.id


WIDGET = """query($slug: String!, $detail: Boolean!) { chapter(slug: $slug) {
  impact(from: "2026-01-01T00:00:00+00:00", to: "2027-01-01T00:00:00+00:00", period: SEMESTER,
         detail: $detail) {
    period detailed chapter { slug }
    periods { label start mobilised eventsHeld hours attendanceRate
      byChapter { slug mobilised } byCause { cause mobilised } } } } }"""


async def test_an_impact_widget_and_goals(
    session: AsyncSession, factory: Factory, tree: Tree, who: dict[str, Principal]
) -> None:
    vera, omar = pid(who["vera"]), pid(who["omar"])
    await attended(
        session, tree["paris"], datetime(2026, 3, 10, 18, tzinfo=UTC), vera, omar, causes=(13,)
    )
    await attended(session, tree["batignolles"], datetime(2026, 9, 2, 18, tzinfo=UTC), vera)

    widget = (await run(session, WIDGET, {"slug": "paris", "detail": False}))["chapter"]["impact"]
    assert (widget["period"], widget["detailed"], widget["chapter"]) == (
        "SEMESTER",
        False,
        {"slug": "paris"},
    )
    assert [(p["label"], p["mobilised"], p["eventsHeld"]) for p in widget["periods"]] == [
        ("2026-H1", 2, 1),
        ("2026-H2", 1, 1),
    ]
    assert widget["periods"][0]["start"] == "2026-01-01T00:00:00+00:00"
    assert widget["periods"][0]["attendanceRate"] is None  # detail only
    assert widget["periods"][0]["byChapter"] is None
    refused = await execute(session, WIDGET, {"slug": "paris", "detail": True})
    assert refused.errors[0].message == "authentication required"
    detail = await run(session, WIDGET, {"slug": "paris", "detail": True}, who["vera"])
    first = detail["chapter"]["impact"]["periods"][0]
    assert first["attendanceRate"] == pytest.approx(2 / 3)
    assert first["byChapter"] == [{"slug": "batignolles", "mobilised": 0}]
    assert first["byCause"] == [{"cause": 13, "mobilised": 2}]

    root = """query($chapter: ID, $to: DateTime!) { impact(chapter: $chapter, period: YEAR,
      from: "2026-01-01T00:00:00+00:00", to: $to) { periods { label mobilised } } }"""
    year = {"chapter": gid("Chapter", tree["france"]), "to": "2027-01-01T00:00:00+00:00"}
    assert (await run(session, root, year))["impact"]["periods"] == [
        {"label": "2026", "mobilised": 2}
    ]
    backwards = await execute(session, root, {**year, "to": "2025-01-01T00:00:00+00:00"})
    assert backwards.errors[0].message.startswith("to:")
    neither = await execute(session, root, {"to": "2027-01-01T00:00:00+00:00"})
    assert neither.errors[0].message.startswith("chapter:")
    hidden = gid("Program", await factory.program(tree["france"], publish=False))
    program_report = """query($program: ID) { impact(program: $program,
      from: "2026-01-01T00:00:00+00:00", to: "2027-01-01T00:00:00+00:00") { detailed } }"""
    assert (await run(session, program_report, {"program": hidden}))["impact"] is None

    before = await rows(session, Goal)
    goal = {
        "chapterId": gid("Chapter", tree["france"]),
        "target": 4,
        "startsAt": "2026-01-01T00:00:00+00:00",
        "deadline": "2027-01-01T00:00:00+00:00",
    }
    organizer = await mutate(session, "goalSet", goal, who["org"])
    assert organizer["__typename"] == "ForbiddenError"  # chapter goals are for its admins
    backwards_goal = await mutate(
        session, "goalSet", {**goal, "deadline": "2025-01-01T00:00:00+00:00"}, who["admin"]
    )
    assert fields_of(backwards_goal) == {"deadline"}
    assert await rows(session, Goal) == before
    set_ = (await mutate(session, "goalSet", goal, who["admin"]))["goal"]
    assert (set_["target"], set_["chapter"], set_["program"]) == (4, {"slug": "france"}, None)
    changed = await mutate(session, "goalUpdate", {"id": set_["id"], "target": 8}, who["admin"])
    assert changed["goal"]["target"] == 8
    program_goal = {
        **{k: v for k, v in goal.items() if k != "chapterId"},
        "programId": gid("Program", await factory.program(tree["france"])),
    }
    for_program = (await mutate(session, "goalSet", program_goal, who["org"]))["goal"]
    assert for_program["program"] is not None

    goals = """query($chapter: ID) { goals(chapter: $chapter) { edges { node { id target
      progress(asOf: "2026-10-01T00:00:00+00:00") { mobilised remaining percent perSemester } } } } }"""
    listed = (await run(session, goals, {"chapter": gid("Chapter", tree["france"])}))["goals"]
    assert listed["edges"] == [
        {
            "node": {
                "id": set_["id"],
                "target": 8,
                "progress": {"mobilised": 2, "remaining": 6, "percent": 25.0, "perSemester": 3},
            }
        }
    ]
    assert (await run(session, NODE, {"id": set_["id"]}))["node"]["target"] == 8
