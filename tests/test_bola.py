"""Object-level authorization: every kind of private object, through every way to reach it, as
seen by the one principal allowed and by those who must not see it.

One world serves the whole module (net → europe → france → {paris → batignolles, lyon},
africa → lagos), built once inside a transaction that is rolled back at the end; each test
runs in a savepoint of its own. The world holds, in Paris, one private object of each kind
with values only the allowed principal may read (its secrets). Each test reaches one object
one way as one of these principals:

    owner          the subject allowed, through a token carrying the scopes the way needs
    other_chapter  a person with the same role in Lyon, through the same scopes
    no_scope       the owner, through a token carrying every scope but the resource's
    other_reach    the owner, through a token restricted to Lyon's subtree
    partner        a partner organisation granted every grantable scope on Lyon
    anonymous      no token at all

The owner must get the object, so that the probe provably reaches it. Everyone else gets null,
an empty list, "not found" or a typed denial, and none of the secrets appears anywhere in the
response; a refused change leaves the object as it was.

Ways: GraphQL `node(id:)`/`nodes`, root lookups and lists with filters, nested edges, typed
mutations; REST `/v1/...` routes where they exist (a way whose route is absent is skipped);
the services themselves for objects no transport exposes (OAuth clients, partner grants and
personal tokens).

Then: changes that name a person by ID treat a person the caller cannot see as unknown; and a
partner token restricted to Paris acts in Paris and its neighbourhoods and nowhere else,
whatever the partner's other grants.
"""

import re
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.routing import Mount

from makesense_api.app import create_app
from makesense_api.authz.principal import ALL_SCOPES, Principal
from makesense_api.chapters import service as chapters
from makesense_api.chapters.models import Chapter
from makesense_api.chapters.schemas import ChapterView
from makesense_api.config import Settings
from makesense_api.context import Ctx
from makesense_api.events.models import Event, Registration
from makesense_api.graphql.relay import to_global_id
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import Database, SerialSession, make_sessionmaker
from makesense_api.kit.errors import DomainError, Forbidden, NotFound, Unauthenticated
from makesense_api.oauth import service as oauth_clients
from makesense_api.oauth.models import OAuthClient
from makesense_api.partners import service as partners
from makesense_api.partners.models import PartnerGrant
from makesense_api.people import service as people
from makesense_api.people.schemas import PersonCreate
from makesense_api.programs.models import Program
from makesense_api.projects.models import Project
from makesense_api.tokens import service as tokens
from tests.factories import Factory

PRINCIPALS = ["owner", "other_chapter", "no_scope", "other_reach", "partner", "anonymous"]
GQL_HEADERS = {"Accept": "application/graphql-response+json"}
DENIALS = {"NotFoundError", "ForbiddenError", "UnauthenticatedError"}
# Typed refusals of the services (MissingScope is a Forbidden).
REFUSALS = (NotFound, Forbidden, Unauthenticated)
CHANGED = "changed by the caller"
S = frozenset


def mark() -> str:
    """A value that appears nowhere unless the object it belongs to is shown."""
    return secrets.token_hex(8)


# -- the world ----------------------------------------------------------------------------


@dataclass
class World:
    """The tree, the people holding roles in it, and the private objects with their secrets
    (by builder). Plain data: each test reads rows through its own session."""

    tree: dict[str, ChapterView]
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    slugs: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    holders: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)
    partner_id: uuid.UUID | None = None

    def gid(self, type_name: str, key: str) -> str:
        raw = self.tree[key].id if key in self.tree else self.ids[key]
        return to_global_id(type_name, raw)


async def new_member(factory: Factory, chapter: ChapterView, role: str,
                     **profile: Any) -> uuid.UUID:
    profile.setdefault("display_name", f"{role.title()} of {chapter.slug}")
    person_id = (await people.new_person(factory.ctx, PersonCreate(**profile))).id
    await people.set_role(factory.ctx, chapter.id, person_id, role)
    return person_id


# -- the private objects, all in Paris -----------------------------------------------------

Builder = Callable[[Factory, World], Awaitable[dict[str, str]]]


async def closed_chapter(f: Factory, w: World) -> dict[str, str]:
    name = f"Closed {mark()}"
    closed = await f.chapter(w.tree["paris"], slug=f"closed-{mark()}", name=name,
                             kind="neighbourhood")
    await chapters.update(f.ctx, closed.id, {"status": "closed"})
    w.ids["closed"] = closed.id
    w.slugs["closed"] = closed.slug
    return {"name": name}


async def private_contacts(f: Factory, w: World) -> dict[str, str]:
    url = f"https://chat.whatsapp.com/{mark()}"
    await chapters.update(f.ctx, w.tree["paris"].id, {"contacts": [
        {"kind": "whatsapp", "value": url, "private": True},
        {"kind": "email", "value": "paris@example.org", "private": False},
    ]})
    w.ids["host_event"] = (await f.event(w.tree["paris"])).id
    return {"contact": url}


async def member(f: Factory, w: World) -> dict[str, str]:
    tag = mark()
    w.ids["member"] = await new_member(
        f, w.tree["paris"], "member", display_name=f"Member {tag}",
        email=f"m-{tag}@example.org", phone=f"+33 6 {int(tag[:8], 16) % 10**8:08d}",
    )
    return {"name": f"Member {tag}", "email": f"m-{tag}@example.org"}


async def draft_event(f: Factory, w: World) -> dict[str, str]:
    title = f"Draft {mark()}"
    w.ids["draft_event"] = (await f.event(w.tree["paris"], publish=False, title=title)).id
    return {"title": title}


async def online_event(f: Factory, w: World) -> dict[str, str]:
    url = f"https://meet.example.org/{mark()}"
    event = await f.event(w.tree["paris"], format="online", online_url=url, venue_name=None)
    w.ids["online_event"] = event.id
    return {"url": url}


async def coded_event(f: Factory, w: World) -> dict[str, str]:
    event_id = (await f.event(w.tree["paris"])).id
    w.ids["coded_event"] = event_id
    code = (await f.ctx.session.get(Event, event_id, populate_existing=True)).check_in_code
    assert code
    return {"code": code}


async def registration(f: Factory, w: World) -> dict[str, str]:
    tag = mark()
    event = await f.event(w.tree["paris"])
    person = await new_member(f, w.tree["paris"], "member", display_name=f"Attendee {tag}",
                              email=f"a-{tag}@example.org")
    registered = await f.registration(event.id, person)
    w.ids |= {"reg_event": event.id, "registration": registered.id}
    return {
        "name": f"Attendee {tag}",
        "email": f"a-{tag}@example.org",
        "gid": to_global_id("Registration", registered.id),
        "uuid": str(registered.id),
    }


async def draft_project(f: Factory, w: World) -> dict[str, str]:
    title = f"Draft project {mark()}"
    project = await f.project(w.tree["paris"], await f.person(), publish=False, title=title)
    w.ids["project"] = project.id
    w.slugs["project"] = project.slug
    return {"title": title, "slug": project.slug}


async def program(f: Factory, w: World) -> dict[str, str]:
    link = f"https://chat.whatsapp.com/{mark()}"
    made = await f.program(w.tree["paris"], private_links={"whatsapp": link})
    w.ids["program"] = made.id
    w.ids["program_event"] = (await f.event(w.tree["paris"], program_id=made.id)).id
    w.slugs["program"] = made.slug
    return {"link": link}


async def oauth_client(f: Factory, w: World) -> dict[str, str]:
    tag = mark()
    created = await oauth_clients.create(f.ctx, {
        "name": f"Paris site {tag}", "chapter_id": w.tree["paris"].id,
        "client_type": "confidential", "redirect_uris": [f"https://{tag}.example.org/cb"],
        "grant_types": ["authorization_code"], "scopes": ["profile", "events:read"],
    })
    w.ids["client"] = created.view.id
    return {"name": f"Paris site {tag}", "uri": f"https://{tag}.example.org/cb"}


async def grantee(f: Factory, w: World) -> dict[str, str]:
    name = f"Grantee {mark()}"
    partner = await f.partner(name=name)
    await f.grant(partner.id, w.tree["paris"], "events:read", "people:read")
    w.ids["grantee"] = partner.id
    return {"name": name}


async def personal_token(f: Factory, w: World) -> dict[str, str]:
    name = f"Script {mark()}"
    created = await tokens.create_personal(
        Ctx.of(f.ctx.session, Principal.person(w.holders["paris", "member"])),
        {"name": name, "scopes": ["events:read"], "expires_in_days": 30},
    )
    w.ids["token"] = created.view.id
    return {"name": name, "prefix": created.view.prefix, "plaintext": created.token}


@dataclass(frozen=True)
class Kind:
    """A kind of private object: who may see it, with which scopes, and how it is made."""

    name: str
    owner: tuple[str, str]  # (chapter, role) of the allowed person
    scopes: frozenset[str]  # what the owner's token carries
    needs: frozenset[str]  # left out of the no_scope token
    build: Builder
    chapter_bound: bool = True  # whether a token's chapter reach applies to it


CLOSED = Kind("closed-chapter", ("paris", "admin"), S({"chapters:write"}),
              S({"chapters:read", "chapters:write"}), closed_chapter)
SETTINGS = Kind("chapter-settings", ("paris", "admin"), S({"chapters:write"}),
                S({"chapters:read", "chapters:write"}), closed_chapter)
CONTACTS = Kind("private-contacts", ("paris", "member"), S({"chapters:read"}),
                S({"chapters:read", "chapters:write"}), private_contacts)
MEMBERS = Kind("member-list", ("paris", "organizer"), S({"people:read"}),
               S({"people:read", "people:write"}), member)
PEOPLE = Kind("personal-data", ("paris", "organizer"), S({"people:read"}),
              S({"people:read", "people:write"}), member)
DRAFT_EVENT = Kind("draft-event", ("paris", "organizer"), S({"events:read"}),
                   S({"events:read", "events:write"}), draft_event)
ONLINE_URL = Kind("event-online-url", ("paris", "organizer"), S({"events:read"}),
                  S({"events:read", "events:write"}), online_event)
CHECK_IN_CODE = Kind("event-check-in-code", ("paris", "organizer"), S({"events:write"}),
                     S({"events:write"}), coded_event)
REGISTRATIONS = Kind("registration", ("paris", "organizer"),
                     S({"registrations:read", "people:read"}),
                     S({"registrations:read", "registrations:write"}), registration)
DRAFT_PROJECT = Kind("draft-project", ("paris", "organizer"), S({"projects:read"}),
                     S({"projects:read", "projects:write"}), draft_project)
PROGRAM_LINKS = Kind("program-private-links", ("paris", "organizer"), S({"programs:write"}),
                     S({"programs:write"}), program)
CLIENTS = Kind("oauth-client", ("paris", "admin"), S({"chapters:write"}),
               S({"chapters:read", "chapters:write"}), oauth_client)
GRANTS = Kind("partner-grant", ("paris", "admin"), S({"chapters:write"}),
              S({"chapters:read", "chapters:write"}), grantee)
PARTNER = Kind("partner-record", ("root", "admin"), S({"chapters:write"}),
               S({"chapters:read", "chapters:write"}), grantee)
PERSONAL = Kind("personal-token", ("paris", "member"), S({"profile"}), S({"profile"}),
                personal_token, chapter_bound=False)
KINDS = [CLOSED, SETTINGS, CONTACTS, MEMBERS, PEOPLE, DRAFT_EVENT, ONLINE_URL, CHECK_IN_CODE,
         REGISTRATIONS, DRAFT_PROJECT, PROGRAM_LINKS, CLIENTS, GRANTS, PARTNER, PERSONAL]


async def build_world(f: Factory) -> World:
    w = World(await f.tree())
    for chapter in ("root", "paris", "lyon"):
        for role in ("member", "organizer", "admin"):
            w.holders[chapter, role] = await new_member(f, w.tree[chapter], role)
    partner = await f.partner()
    await f.grant(partner.id, w.tree["lyon"], *sorted(partners.GRANTABLE_SCOPES))
    w.partner_id = partner.id
    for kind in KINDS:
        if kind.build.__name__ not in w.secrets:
            w.secrets[kind.build.__name__] = await kind.build(f, w)
    return w


@pytest.fixture(scope="module")
async def base(database: Database) -> AsyncIterator[tuple[AsyncConnection, World]]:
    """The world, in a transaction that outlives the module's tests and is rolled back."""
    async with database.engine.connect() as conn:
        outer = await conn.begin()
        try:
            async with SerialSession(
                bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
            ) as session:
                world = await build_world(Factory(Ctx.of(session, Principal.system())))
                await session.commit()  # into the outer transaction
            yield conn, world
        finally:
            await outer.rollback()


@pytest.fixture
async def connection(
    base: tuple[AsyncConnection, World],
) -> AsyncIterator[AsyncConnection]:
    """Each test in a savepoint of the module's transaction (replaces the suite's fixture)."""
    conn, _ = base
    savepoint = await conn.begin_nested()
    try:
        yield conn
    finally:
        if savepoint.is_active:
            await savepoint.rollback()


@pytest.fixture
def world(base: tuple[AsyncConnection, World]) -> World:
    return base[1]


@pytest.fixture(scope="module")
async def module_client(
    settings: Settings, database: Database, base: tuple[AsyncConnection, World]
) -> AsyncIterator[httpx.AsyncClient]:
    """One application for the module, on the module's connection: a request's commit is a
    savepoint inside the current test's savepoint."""
    conn, _ = base
    app_database = Database(
        database.engine,
        make_sessionmaker(conn, join_transaction_mode="create_savepoint"),  # type: ignore[arg-type]
    )
    async with LifespanManager(create_app(settings, app_database)) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
def client(module_client: httpx.AsyncClient, connection: AsyncConnection) -> httpx.AsyncClient:
    """The module's application, inside this test's savepoint (replaces the suite's fixture)."""
    return module_client


# -- probes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """What a principal got: the status, the whole body, and whether it got the object
    (None when only the secrets tell, e.g. a list, or a field of a visible object)."""

    status: int
    text: str
    granted: bool | None = None


@dataclass
class Probe:
    http: httpx.AsyncClient
    session: AsyncSession
    world: World
    token: str | None
    principal: Principal

    @property
    def ctx(self) -> Ctx:
        return Ctx.of(self.session, self.principal)


Call = Callable[[Probe], Awaitable[Seen]]
Check = Callable[[AsyncSession, World], Awaitable[bool]]


@dataclass(frozen=True)
class Way:
    kind: Kind
    name: str
    call: Call
    scopes: frozenset[str] | None = None  # the owner's token, when not the kind's
    rest: str | None = None  # the REST route (template) the way needs
    known: tuple[str, ...] = ()  # secrets the caller sends itself (IDs)
    shows: tuple[str, ...] | None = None  # secrets the owner sees this way; default: all
    changed: Check | None = None  # a write: whether it took place

    @property
    def id(self) -> str:
        return f"{self.kind.name}/{self.name}"


def bearer(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


async def graphql(p: Probe, query: str, **variables: Any) -> tuple[Seen, dict[str, Any]]:
    response = await p.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={**GQL_HEADERS, **bearer(p.token)},
    )
    body: dict[str, Any] = response.json()
    return Seen(response.status_code, response.text), body


Variables = Callable[[World], dict[str, Any]]


def gql_read(query: str, variables: Variables, root: str | None = None,
             whole: bool = True) -> Call:
    """A query; with `root`, whether `data[root]` is non-null tells if the object was given."""

    async def call(p: Probe) -> Seen:
        seen, body = await graphql(p, query, **variables(p.world))
        if root is None or not whole:
            return seen
        value = (body.get("data") or {}).get(root)
        if isinstance(value, list):
            value = [v for v in value if v]
        return Seen(seen.status, seen.text, bool(value))

    return call


def gql_write(query: str, field_name: str, variables: Variables) -> Call:
    """A mutation: the payload means granted, a typed denial means refused."""

    async def call(p: Probe) -> Seen:
        seen, body = await graphql(p, query, **variables(p.world))
        result = (body.get("data") or {}).get(field_name) or {}
        typename = result.get("__typename")
        assert typename is None or typename.endswith("Payload") or typename in DENIALS, body
        return Seen(seen.status, seen.text, None if typename is None else typename not in DENIALS)

    return call


def rest_get(path: Callable[[World], str], by_id: bool = True) -> Call:
    """A GET; for a resource by id, 200 means granted (a list or a field tells by its body)."""

    async def call(p: Probe) -> Seen:
        response = await p.http.get(path(p.world), headers=bearer(p.token))
        granted = response.status_code == 200 if by_id else None
        return Seen(response.status_code, response.text, granted)

    return call


def service(fn: Callable[[Probe], Awaitable[Any]], list_call: bool = False) -> Call:
    """A service call as the probe's principal: its result, or its typed refusal."""

    async def call(p: Probe) -> Seen:
        try:
            result = await fn(p)
        except REFUSALS as exc:
            return Seen(404 if isinstance(exc, NotFound) else 403, str(exc), False)
        except DomainError as exc:  # any other refusal is a test failure with its reason
            raise AssertionError(f"unexpected {exc!r}") from exc
        return Seen(200, repr(result), None if list_call else True)

    return call


@cache
def rest_routes() -> frozenset[str]:
    """The REST paths the application serves now, with `{name}` placeholders."""
    app = create_app(Settings(database_url="sqlite+aiosqlite:///:memory:"))
    found = set()
    for route in app.routes:
        if isinstance(route, Mount) and route.path == "/v1":
            for sub in route.routes:
                found.add("/v1" + re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", getattr(sub, "path", "")))
    return frozenset(found)


async def row(session: AsyncSession, model: Any, key: uuid.UUID) -> Any:
    return await session.get(model, key, populate_existing=True)


def has_text(model: Any, key: str, attr: str, value: str) -> Check:
    async def check(session: AsyncSession, w: World) -> bool:
        raw = w.tree[key].id if key in w.tree else w.ids[key]
        return getattr(await row(session, model, raw), attr) == value

    return check


def has_status(model: Any, key: str, status: str) -> Check:
    async def check(session: AsyncSession, w: World) -> bool:
        return str((await row(session, model, w.ids[key])).status) == status

    return check


async def client_rotated(session: AsyncSession, w: World) -> bool:
    return (await row(session, OAuthClient, w.ids["client"])).secret_rotated_at is not None


async def client_revoked(session: AsyncSession, w: World) -> bool:
    return (await row(session, OAuthClient, w.ids["client"])).revoked_at is not None


async def grant_gone(session: AsyncSession, w: World) -> bool:
    stmt = select(PartnerGrant).where(PartnerGrant.partner_id == w.ids["grantee"])
    return not (await session.exec(stmt)).all()


async def token_dead(session: AsyncSession, w: World) -> bool:
    plaintext = w.secrets["personal_token"]["plaintext"]
    return await tokens.resolve(session, plaintext, utcnow()) is None


def v(**keys: tuple[str, str] | str) -> Variables:
    """Variables from the world: (type, key) is that object's global ID, "slug:key" its slug,
    "changed" the value a refused change must not leave behind; anything else is itself."""

    def value(w: World, spec: tuple[str, str] | str) -> Any:
        if isinstance(spec, tuple):
            return w.gid(*spec)
        if spec.startswith("slug:"):
            return w.slugs[spec.removeprefix("slug:")]
        return CHANGED if spec == "changed" else spec

    return lambda w: {name: value(w, spec) for name, spec in keys.items()}


CHAPTER_FIELDS = "name status contacts { value }"
PERSON_FIELDS = "displayName email phone"
EVENT_FIELDS = "title status onlineUrl checkInCode"
PROJECT_FIELDS = "title slug status"
PROGRAM_FIELDS = "title privateLinks { url }"
REGISTRATION_FIELDS = f"id status person {{ {PERSON_FIELDS} }}"


def node(type_name: str, fields: str, key: str, whole: bool = True) -> Call:
    query = (f"query($id: ID!) {{ node(id: $id) {{ __typename ... on {type_name} {{ {fields} }} }} }}")
    return gql_read(query, v(id=(type_name, key)), "node", whole)


def nodes(type_name: str, fields: str, key: str) -> Call:
    query = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ ... on {type_name} {{ {fields} }} }} }}"

    async def call(p: Probe) -> Seen:
        seen, body = await graphql(p, query, ids=[p.world.gid(type_name, key)])
        found = [n for n in (body.get("data") or {}).get("nodes") or [] if n]
        return Seen(seen.status, seen.text, bool(found))

    return call


def mutation(name: str, input_type: str, payload: str, **inputs: tuple[str, str] | str) -> Call:
    query = (f"mutation($input: {input_type}!) {{ {name}(input: $input) {{ __typename "
             f"... on {payload} ... on Error {{ code message }} }} }}")
    build = v(**inputs)

    async def call(p: Probe) -> Seen:
        return await gql_write(query, name, lambda w: {"input": build(w)})(p)

    return call


WAYS: list[Way] = [
    # A closed chapter is seen by its managers only; its settings are changed by its admins.
    Way(CLOSED, "gql-node", node("Chapter", CHAPTER_FIELDS, "closed")),
    Way(CLOSED, "gql-chapter-by-slug", gql_read(
        f"query($slug: String!) {{ chapter(slug: $slug) {{ {CHAPTER_FIELDS} }} }}",
        v(slug="slug:closed"), "chapter")),
    Way(CLOSED, "gql-chapters-subtree", gql_read(
        "query($id: ID!) { chapters(filter: {subtree: $id}, first: 100) "
        "{ edges { node { name } } } }", v(id=("Chapter", "paris")))),
    Way(CLOSED, "gql-chapters-status-closed", gql_read(
        '{ chapters(filter: {status: "closed"}, first: 100) { edges { node { name } } } }',
        v())),
    Way(CLOSED, "gql-children-edge", gql_read(
        '{ chapter(slug: "paris") { children(first: 100) { edges { node { name } } } } }', v())),
    Way(CLOSED, "rest-get", rest_get(lambda w: f"/v1/chapters/{w.slugs['closed']}"),
        rest="/v1/chapters/{slug}"),
    Way(CLOSED, "rest-list", rest_get(lambda w: "/v1/chapters?subtree=paris&limit=100", False),
        rest="/v1/chapters"),
    Way(CLOSED, "gql-chapterUpdate", mutation(
        "chapterUpdate", "ChapterUpdateInput", "ChapterPayload { chapter { name description } }",
        id=("Chapter", "closed"), description="changed"),
        changed=has_text(Chapter, "closed", "description", CHANGED)),
    Way(SETTINGS, "gql-chapterUpdate", mutation(
        "chapterUpdate", "ChapterUpdateInput", "ChapterPayload { chapter { description } }",
        id=("Chapter", "paris"), description="changed"), shows=(),
        changed=has_text(Chapter, "paris", "description", CHANGED)),
    # Private contact channels are for the chapter's members.
    Way(CONTACTS, "gql-chapter-by-slug", gql_read(
        '{ chapter(slug: "paris") { contacts { value private } } }', v())),
    Way(CONTACTS, "gql-node", node("Chapter", CHAPTER_FIELDS, "paris", whole=False)),
    Way(CONTACTS, "gql-chapters-subtree", gql_read(
        "query($id: ID!) { chapters(filter: {subtree: $id}, first: 100) "
        "{ edges { node { contacts { value } } } } }", v(id=("Chapter", "france")))),
    Way(CONTACTS, "gql-event-host-edge", gql_read(
        "query($id: ID!) { event(id: $id) { hostChapter { contacts { value } } } }",
        v(id=("Event", "host_event")))),
    Way(CONTACTS, "rest-get", rest_get(lambda w: "/v1/chapters/paris", by_id=False),
        rest="/v1/chapters/{slug}"),
    Way(CONTACTS, "rest-list", rest_get(lambda w: "/v1/chapters?subtree=france&limit=100",
                                        False), rest="/v1/chapters"),
    # Member lists are for organizers with people:read.
    Way(MEMBERS, "gql-members-edge", gql_read(
        '{ chapter(slug: "paris") { members(first: 100) { edges { node { role '
        f"person {{ {PERSON_FIELDS} }} }} }} }} }} }}", v())),
    Way(MEMBERS, "gql-node-members-edge", gql_read(
        "query($id: ID!) { node(id: $id) { ... on Chapter { members(first: 100) { edges "
        f"{{ node {{ person {{ {PERSON_FIELDS} }} }} }} }} }} }} }}", v(id=("Chapter", "paris")))),
    # Personal data: the person themself, and organizers of their chapters with people:read.
    Way(PEOPLE, "gql-node", node("Person", PERSON_FIELDS, "member")),
    Way(PEOPLE, "gql-nodes", nodes("Person", PERSON_FIELDS, "member")),
    Way(PEOPLE, "gql-people-by-chapter", gql_read(
        "query($id: ID!) { people(filter: {chapter: $id}, first: 100) "
        f"{{ edges {{ node {{ {PERSON_FIELDS} }} }} }} }}", v(id=("Chapter", "paris")))),
    Way(PEOPLE, "gql-people", gql_read(
        f"{{ people(first: 100) {{ edges {{ node {{ {PERSON_FIELDS} }} }} }} }}", v())),
    Way(PEOPLE, "gql-person-memberships-edge", gql_read(
        "query($id: ID!) { node(id: $id) { ... on Person { memberships { person "
        f"{{ {PERSON_FIELDS} }} }} }} }} }}", v(id=("Person", "member")), "node")),
    Way(PEOPLE, "rest-get", rest_get(lambda w: f"/v1/people/{w.ids['member']}"),
        rest="/v1/people/{person_id}"),
    Way(PEOPLE, "rest-list-by-chapter", rest_get(
        lambda w: f"/v1/people?chapter_id={w.tree['paris'].id}&limit=100", False),
        rest="/v1/people"),
    Way(PEOPLE, "rest-list", rest_get(lambda w: "/v1/people?limit=100", False),
        rest="/v1/people"),
    # Draft events are for the host chapter's organizers.
    Way(DRAFT_EVENT, "gql-node", node("Event", EVENT_FIELDS, "draft_event")),
    Way(DRAFT_EVENT, "gql-event-by-id", gql_read(
        f"query($id: ID!) {{ event(id: $id) {{ {EVENT_FIELDS} }} }}", v(id=("Event", "draft_event")),
        "event")),
    Way(DRAFT_EVENT, "gql-events-drafts", gql_read(
        "{ events(filter: {status: DRAFT, upcoming: false}, first: 100) "
        "{ edges { node { title } } } }", v())),
    Way(DRAFT_EVENT, "gql-events-subtree", gql_read(
        "query($id: ID!) { events(filter: {subtree: $id, status: DRAFT}, first: 100) "
        "{ edges { node { title } } } }", v(id=("Chapter", "paris")))),
    Way(DRAFT_EVENT, "gql-chapter-events-edge", gql_read(
        '{ chapter(slug: "paris") { events(filter: {status: DRAFT}, first: 100) '
        "{ edges { node { title } } } } }", v())),
    Way(DRAFT_EVENT, "rest-get", rest_get(lambda w: f"/v1/events/{w.ids['draft_event']}"),
        rest="/v1/events/{event_id}"),
    Way(DRAFT_EVENT, "rest-list", rest_get(
        lambda w: f"/v1/events?chapter_id={w.tree['paris'].id}&status=draft&limit=100", False),
        rest="/v1/events"),
    Way(DRAFT_EVENT, "rest-chapter-calendar", rest_get(
        lambda w: "/v1/chapters/paris/events.ics", False), shows=(),
        rest="/v1/chapters/{slug}/events.ics"),
    Way(DRAFT_EVENT, "gql-eventUpdate", mutation(
        "eventUpdate", "EventUpdateInput", "EventPayload { event { title description } }",
        id=("Event", "draft_event"), description="changed"), scopes=S({"events:write"}),
        changed=has_text(Event, "draft_event", "description", CHANGED)),
    Way(DRAFT_EVENT, "gql-eventPublish", mutation(
        "eventPublish", "EventPublishInput", "EventPayload { event { title status } }",
        id=("Event", "draft_event")), scopes=S({"events:write"}),
        changed=has_status(Event, "draft_event", "published")),
    # An online event's URL is for registered people and organizers.
    Way(ONLINE_URL, "gql-node", node("Event", EVENT_FIELDS, "online_event", whole=False)),
    Way(ONLINE_URL, "gql-events-subtree", gql_read(
        "query($id: ID!) { events(filter: {subtree: $id}, first: 100) "
        "{ edges { node { onlineUrl } } } }", v(id=("Chapter", "paris")))),
    Way(ONLINE_URL, "gql-chapter-events-edge", gql_read(
        '{ chapter(slug: "paris") { events(first: 100) { edges { node { onlineUrl } } } } }',
        v())),
    Way(ONLINE_URL, "rest-get", rest_get(lambda w: f"/v1/events/{w.ids['online_event']}", False),
        rest="/v1/events/{event_id}"),
    Way(ONLINE_URL, "rest-list", rest_get(
        lambda w: f"/v1/events?chapter_id={w.tree['paris'].id}&limit=100", False),
        rest="/v1/events"),
    Way(ONLINE_URL, "rest-chapter-calendar", rest_get(
        lambda w: "/v1/chapters/paris/events.ics", False), shows=(),
        rest="/v1/chapters/{slug}/events.ics"),
    # The check-in code is for the event's managers.
    Way(CHECK_IN_CODE, "gql-node", node("Event", EVENT_FIELDS, "coded_event", whole=False)),
    Way(CHECK_IN_CODE, "gql-events-subtree", gql_read(
        "query($id: ID!) { events(filter: {subtree: $id}, first: 100) "
        "{ edges { node { checkInCode } } } }", v(id=("Chapter", "paris")))),
    Way(CHECK_IN_CODE, "rest-get", rest_get(lambda w: f"/v1/events/{w.ids['coded_event']}", False),
        rest="/v1/events/{event_id}"),
    # Registrations: the person's own, and all of them for the host chapter's organizers.
    Way(REGISTRATIONS, "gql-node", node("Registration", REGISTRATION_FIELDS, "registration"),
        known=("gid", "uuid")),
    Way(REGISTRATIONS, "gql-event-registrations-edge", gql_read(
        "query($id: ID!) { event(id: $id) { registrations(first: 100) "
        f"{{ edges {{ node {{ {REGISTRATION_FIELDS} }} }} }} }} }}", v(id=("Event", "reg_event"))),
        shows=("name", "email", "gid")),
    Way(REGISTRATIONS, "rest-get", rest_get(
        lambda w: f"/v1/registrations/{w.ids['registration']}"), known=("gid", "uuid"),
        shows=(), rest="/v1/registrations/{registration_id}"),
    Way(REGISTRATIONS, "rest-event-registrations", rest_get(
        lambda w: f"/v1/events/{w.ids['reg_event']}/registrations?limit=100", False),
        shows=("uuid",), rest="/v1/events/{event_id}/registrations"),
    Way(REGISTRATIONS, "gql-registrationCheckIn", mutation(
        "registrationCheckIn", "RegistrationCheckInInput",
        f"RegistrationPayload {{ registration {{ {REGISTRATION_FIELDS} }} }}",
        id=("Registration", "registration")), known=("gid", "uuid"),
        scopes=S({"registrations:write", "people:read"}),
        changed=has_status(Registration, "registration", "attended")),
    Way(REGISTRATIONS, "gql-registrationCancel", mutation(
        "registrationCancel", "RegistrationCancelInput",
        f"RegistrationPayload {{ registration {{ {REGISTRATION_FIELDS} }} }}",
        id=("Registration", "registration")), known=("gid", "uuid"),
        scopes=S({"registrations:write", "people:read"}),
        changed=has_status(Registration, "registration", "cancelled")),
    # Draft projects are for their owners and the home chapter's organizers.
    Way(DRAFT_PROJECT, "gql-node", node("Project", PROJECT_FIELDS, "project")),
    Way(DRAFT_PROJECT, "gql-project-by-slug", gql_read(
        f"query($slug: String!) {{ project(slug: $slug) {{ {PROJECT_FIELDS} }} }}",
        v(slug="slug:project"), "project"), known=("slug",)),
    Way(DRAFT_PROJECT, "gql-projects-drafts", gql_read(
        '{ projects(filter: {status: "draft"}, first: 100) { edges { node { title slug } } } }',
        v())),
    Way(DRAFT_PROJECT, "gql-projects-subtree", gql_read(
        "query($id: ID!) { projects(filter: {subtree: $id}, first: 100) "
        "{ edges { node { title slug } } } }", v(id=("Chapter", "paris")))),
    Way(DRAFT_PROJECT, "rest-get", rest_get(lambda w: f"/v1/projects/{w.ids['project']}"),
        rest="/v1/projects/{project_id}"),
    Way(DRAFT_PROJECT, "rest-list", rest_get(
        lambda w: f"/v1/projects?chapter_id={w.tree['paris'].id}&status=draft&limit=100",
        False), rest="/v1/projects"),
    Way(DRAFT_PROJECT, "gql-projectUpdate", mutation(
        "projectUpdate", "ProjectUpdateInput", "ProjectPayload { project { title slug } }",
        id=("Project", "project"), description="changed"), scopes=S({"projects:write"}),
        changed=has_text(Project, "project", "description", CHANGED)),
    Way(DRAFT_PROJECT, "gql-projectPublish", mutation(
        "projectPublish", "ProjectPublishInput", "ProjectPayload { project { title slug } }",
        id=("Project", "project")), scopes=S({"projects:write"}),
        changed=has_status(Project, "project", "published")),
    # A program's private channel links are for enrolled people and its organizers.
    Way(PROGRAM_LINKS, "gql-node", node("Program", PROGRAM_FIELDS, "program", whole=False)),
    Way(PROGRAM_LINKS, "gql-program-by-slug", gql_read(
        f"query($slug: String!) {{ program(slug: $slug) {{ {PROGRAM_FIELDS} }} }}",
        v(slug="slug:program"))),
    Way(PROGRAM_LINKS, "gql-programs-by-chapter", gql_read(
        "query($id: ID!) { programs(filter: {chapter: $id}, first: 100) "
        f"{{ edges {{ node {{ {PROGRAM_FIELDS} }} }} }} }}", v(id=("Chapter", "paris")))),
    Way(PROGRAM_LINKS, "gql-event-program-edge", gql_read(
        f"query($id: ID!) {{ event(id: $id) {{ program {{ {PROGRAM_FIELDS} }} }} }}",
        v(id=("Event", "program_event")))),
    Way(PROGRAM_LINKS, "rest-get", rest_get(lambda w: f"/v1/programs/{w.ids['program']}",
                                            False), rest="/v1/programs/{program_id}"),
    Way(PROGRAM_LINKS, "rest-list", rest_get(
        lambda w: f"/v1/programs?chapter_id={w.tree['paris'].id}&limit=100", False),
        rest="/v1/programs"),
    Way(PROGRAM_LINKS, "gql-programUpdate", mutation(
        "programUpdate", "ProgramUpdateInput", f"ProgramPayload {{ program {{ {PROGRAM_FIELDS} }} }}",
        id=("Program", "program"), description="changed"),
        changed=has_text(Program, "program", "description", CHANGED)),
    # OAuth clients: no transport exposes them; their managers reach them through the service.
    Way(CLIENTS, "service-get", service(lambda p: oauth_clients.get(p.ctx, p.world.ids["client"]))),
    Way(CLIENTS, "service-list", service(lambda p: oauth_clients.list_clients(
        p.ctx, chapter_id=p.world.tree["paris"].id))),
    Way(CLIENTS, "service-update", service(lambda p: oauth_clients.update(
        p.ctx, p.world.ids["client"], {"name": CHANGED})), shows=("uri",),
        changed=has_text(OAuthClient, "client", "name", CHANGED)),
    Way(CLIENTS, "service-rotate-secret", service(lambda p: oauth_clients.rotate_secret(
        p.ctx, p.world.ids["client"])), changed=client_rotated),
    Way(CLIENTS, "service-revoke", service(lambda p: oauth_clients.revoke(
        p.ctx, p.world.ids["client"])), changed=client_revoked),
    # Partner grants: the granting chapter's admins; the partner's record: network admins.
    Way(GRANTS, "service-grants-of-chapter", service(lambda p: partners.grants_of_chapter(
        p.ctx, p.world.tree["paris"].id))),
    Way(GRANTS, "service-grants-of-subtree", service(lambda p: partners.grants_of_chapter(
        p.ctx, p.world.tree["paris"].id, subtree=True))),
    Way(GRANTS, "service-revoke", service(lambda p: partners.revoke(
        p.ctx, p.world.ids["grantee"], p.world.tree["paris"].id)), shows=(),
        changed=grant_gone),
    Way(PARTNER, "service-get", service(lambda p: partners.get(p.ctx, p.world.ids["grantee"]))),
    Way(PARTNER, "service-grants-of-partner", service(lambda p: partners.grants_of_partner(
        p.ctx, p.world.ids["grantee"]))),
    # Personal tokens: their person only.
    Way(PERSONAL, "service-list", service(lambda p: tokens.list_personal(p.ctx), list_call=True),
        shows=("name", "prefix")),
    Way(PERSONAL, "service-revoke", service(lambda p: tokens.revoke(
        p.ctx, p.world.ids["token"])), shows=(), changed=token_dead),
]




# -- the matrix ---------------------------------------------------------------------------


async def token_for(factory: Factory, w: World, way: Way, who: str) -> str | None:
    chapter, role = way.kind.owner
    scopes = way.scopes or way.kind.scopes
    person = w.holders[chapter, role]
    if who == "anonymous":
        return None
    if who == "partner":
        return await factory.token(None, partners.GRANTABLE_SCOPES, partner_id=w.partner_id)
    if who == "other_chapter":
        return await factory.token(w.holders["lyon", role], scopes)
    if who == "no_scope":
        return await factory.token(person, ALL_SCOPES - way.kind.needs)
    if who == "other_reach":
        return await factory.token(person, scopes, [w.tree["lyon"].id])
    return await factory.token(person, scopes)


def cases() -> list[Any]:
    return [
        pytest.param(way, who, id=f"{way.id}-{who}")
        for way in WAYS
        for who in PRINCIPALS
        # A person's own tokens belong to no chapter subtree: a reach does not bound them.
        if who != "other_reach" or way.kind.chapter_bound
    ]


@pytest.mark.parametrize(("way", "who"), cases())
async def test_only_the_allowed_principal_reaches_the_object(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession, world: World,
    way: Way, who: str,
) -> None:
    if way.rest is not None and way.rest not in rest_routes():
        pytest.skip(f"no REST route {way.rest}")
    token = await token_for(factory, world, way, who)
    principal = Principal.anonymous()
    if token is not None:
        resolved = await tokens.resolve(session, token, utcnow())
        assert resolved is not None
        principal = resolved
    seen = await way.call(Probe(client, session, world, token, principal))
    assert seen.status < 500 and "INTERNAL_SERVER_ERROR" not in seen.text, seen.text
    secrets_ = {k: s for k, s in world.secrets[way.kind.build.__name__].items()
                if k not in way.known}
    if who == "owner":
        wanted = [k for k in (secrets_ if way.shows is None else way.shows) if k != "plaintext"]
        missing = sorted(k for k in wanted if secrets_[k] not in seen.text)
        assert seen.granted is not False, seen.text[:3000]
        assert not missing, f"the owner does not see {missing}: {seen.text[:3000]}"
        if way.changed is not None:
            assert await way.changed(session, world)
        return
    leaked = sorted(k for k, s in secrets_.items() if s in seen.text)
    assert not leaked, f"{who} sees {leaked}: {seen.text[:3000]}"
    assert seen.granted is not True, f"{who} got the object: {seen.text[:3000]}"
    if seen.status != 200:  # a refusal, or a filter naming a chapter the caller cannot see
        assert seen.status in (401, 403, 404, 422), seen.text
    if way.changed is not None:
        assert not await way.changed(session, world), f"{who} changed it: {seen.text[:3000]}"


# -- a partner token restricted to a subtree ----------------------------------------------

CREATE = """mutation($input: EventCreateInput!) { eventCreate(input: $input) {
  __typename ... on EventPayload { event { id title hostChapter { slug } } }
  ... on Error { code message } } }"""
UPDATE = """mutation($id: ID!) { eventUpdate(input: {id: $id, title: "Taken over"}) {
  __typename ... on EventPayload { event { title } } ... on Error { code } } }"""
CANCEL = """mutation($id: ID!) { eventCancel(input: {id: $id}) {
  __typename ... on EventPayload { event { status } } ... on Error { code } } }"""
PUBLISH = """mutation($id: ID!) { eventPublish(input: {id: $id}) {
  __typename ... on EventPayload { event { status } } ... on Error { code } } }"""
LOOK = """query($id: ID!, $lyon: ID!) {
  node(id: $id) { id ... on Event { title } }
  event(id: $id) { title }
  chapter(slug: "lyon") { name }
  events(filter: {subtree: $lyon, upcoming: false, status: DRAFT}, first: 100)
    { edges { node { title } } }
  published: events(first: 100) { edges { node { title hostChapter { slug } } } }
  chapters(first: 100) { edges { node { slug } } }
  viewer { partnerId reach scopes }
}"""


def event_input(chapter: ChapterView, title: str) -> dict[str, Any]:
    start = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    return {
        "chapterId": to_global_id("Chapter", chapter.id), "title": title, "format": "IN_PERSON",
        "timezone": "Europe/Paris", "language": "fr", "venueName": "La Ruche",
        "startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=2)).isoformat(),
    }


async def gql_as(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    response = await http.post("/graphql", json={"query": query, "variables": variables},
                               headers={**GQL_HEADERS, **bearer(token)})
    assert response.status_code == 200, response.text
    return response.json()


async def client_credentials(http: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await http.post("/oauth/token", data={"grant_type": "client_credentials"},
                               auth=(client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def test_a_partner_token_restricted_to_paris_never_reaches_lyon(
    client: httpx.AsyncClient, factory: Factory, session: AsyncSession, world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test client speaks plain http
    tree = world.tree
    partner = await factory.partner()
    # Grants on both cities (and on the country above them): only the token's reach differs.
    for chapter in (tree["paris"], tree["lyon"], tree["france"]):
        await factory.grant(partner.id, chapter, "events:write", "registrations:write")
    lyon_title, lyon_draft_title = f"Lyon {mark()}", f"Lyon draft {mark()}"
    lyon_event = await factory.event(tree["lyon"], title=lyon_title)
    lyon_draft = await factory.event(tree["lyon"], publish=False, title=lyon_draft_title)
    paris_closed = world.slugs["closed"]
    settings = {"client_type": "confidential", "grant_types": ["client_credentials"],
                "redirect_uris": [], "scopes": ["events:write", "registrations:write"]}
    paris_only = await factory.oauth_client(partner_id=partner.id, reach=[tree["paris"].id],
                                            **settings)
    assert paris_only.client_secret is not None
    token = await client_credentials(client, paris_only.view.client_id, paris_only.client_secret)

    for chapter in (tree["paris"], tree["batignolles"]):
        made = (await gql_as(client, token, CREATE,
                             input=event_input(chapter, f"In {chapter.slug}")))["data"]
        assert made["eventCreate"]["__typename"] == "EventPayload", made
        assert made["eventCreate"]["event"]["hostChapter"]["slug"] == chapter.slug
        event_id = made["eventCreate"]["event"]["id"]
        published = (await gql_as(client, token, PUBLISH, id=event_id))["data"]
        assert published["eventPublish"]["__typename"] == "EventPayload", published

    # Lyon is out of sight: the chapter named is "no such chapter", as for any unknown one.
    refused = (await gql_as(client, token, CREATE, input=event_input(tree["lyon"], "In Lyon")))
    result = refused["data"]["eventCreate"]
    assert result["__typename"] in DENIALS or (
        result["__typename"] == "ValidationError" and "no such chapter" in result["message"]
    ), refused
    made_in_lyon = select(Event).where(Event.chapter_id == tree["lyon"].id)
    assert {e.title for e in (await session.exec(made_in_lyon)).all()} == {
        lyon_title, lyon_draft_title}

    for target in (lyon_event, lyon_draft):
        gid = to_global_id("Event", target.id)
        seen = await gql_as(client, token, LOOK, id=gid, lyon=to_global_id("Chapter",
                                                                            tree["lyon"].id))
        text = str(seen)
        assert lyon_title not in text and lyon_draft_title not in text, seen
        data = seen["data"]
        assert data["node"] is None and data["event"] is None and data["chapter"] is None, seen
        slugs = {e["node"]["slug"] for e in data["chapters"]["edges"]}
        assert slugs == {"paris", "batignolles"}, slugs  # not even Paris's closed child
        assert paris_closed not in text
        hosts = {e["node"]["hostChapter"]["slug"] for e in data["published"]["edges"]}
        assert hosts <= {"paris", "batignolles"}, hosts
        assert data["viewer"]["reach"] == [to_global_id("Chapter", tree["paris"].id)]
        for query in (UPDATE, CANCEL, PUBLISH):
            answer = await gql_as(client, token, query, id=gid)
            (result,) = answer["data"].values()
            assert result["__typename"] in DENIALS, answer
        row_ = await session.get(Event, target.id, populate_existing=True)
        assert row_ is not None and row_.title == target.title
        assert str(row_.status) == str(target.status)

    if "/v1/events/{event_id}" in rest_routes():
        response = await client.get(f"/v1/events/{lyon_event.id}", headers=bearer(token))
        assert response.status_code == 404, response.text
        assert lyon_title not in response.text
    if "/v1/events" in rest_routes():
        listed = await client.get("/v1/events?limit=100", headers=bearer(token))
        assert listed.status_code == 200, listed.text
        assert lyon_title not in listed.text
        start = (utcnow() + timedelta(days=12)).replace(microsecond=0)
        body = {"title": "Over REST", "format": "in_person", "timezone": "Europe/Paris",
                "language": "fr", "venue_name": "La Ruche", "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat()}
        for chapter, allowed in ((tree["batignolles"], True), (tree["lyon"], False)):
            made_rest = await client.post("/v1/events", headers=bearer(token),
                                          json={**body, "chapter_id": str(chapter.id)})
            assert (made_rest.status_code == 201) is allowed, made_rest.text
            if not allowed:
                assert made_rest.status_code in (403, 404, 422), made_rest.text
        assert {e.title for e in (await session.exec(made_in_lyon)).all()} == {
            lyon_title, lyon_draft_title}

    # The same partner, through a client without a reach, acts in Lyon: the reach is what
    # kept the first token out, not a missing grant.
    anywhere = await factory.oauth_client(partner_id=partner.id, **settings)
    assert anywhere.client_secret is not None
    wide = await client_credentials(client, anywhere.view.client_id, anywhere.client_secret)
    made = await gql_as(client, wide, CREATE, input=event_input(tree["lyon"], "Lyon by grant"))
    assert made["data"]["eventCreate"]["__typename"] == "EventPayload", made


# -- people named by ID in a change ---------------------------------------------------------
#
# Changes that name a person (register them, make them an owner, a member, enrol them) must
# treat a person the caller cannot see exactly like an unknown ID: a refusal that tells
# nothing, nothing created, nothing of the person shown.

NAMING: dict[str, tuple[str, str]] = {
    # name: (mutation, what the change is done on)
    "membershipSetRole": (
        """mutation($on: ID!, $who: ID!) { membershipSetRole(input:
           {chapterId: $on, personId: $who, role: "member"}) { __typename
           ... on Error { code message } ... on MembershipPayload { membership { role
           person { displayName } } } } }""", "chapter"),
    "programEnrol": (
        """mutation($on: ID!, $who: ID!) { programEnrol(input: {programId: $on, personId: $who})
           { __typename ... on Error { code message } ... on EnrolmentPayload { enrolment
           { status person { displayName } } } } }""", "program"),
    "eventRegister": (
        """mutation($on: ID!, $who: ID!) { eventRegister(input: {eventId: $on, personId: $who})
           { __typename ... on Error { code message } ... on RegistrationPayload { registration
           { status person { displayName } } } } }""", "event"),
    "projectAddOwner": (
        """mutation($on: ID!, $who: ID!) { projectAddOwner(input: {projectId: $on, personId: $who})
           { __typename ... on Error { code message } ... on ProjectPayload { project
           { owners { displayName } } } } }""", "project"),
    "projectCreate": (
        """mutation($on: ID!, $who: ID!) { projectCreate(input: {homeChapterId: $on,
           ownerId: $who, slug: "named-owner", title: "Named owner", defaultLanguage: "fr"})
           { __typename ... on Error { code message } ... on ProjectPayload { project
           { owners { displayName } } } } }""", "chapter"),
}
@pytest.mark.parametrize("change", sorted(NAMING))
async def test_a_person_the_caller_cannot_see_is_no_such_person(
    client: httpx.AsyncClient, factory: Factory, world: World, change: str
) -> None:
    tree = world.tree
    caller = world.holders["paris", "admin"]  # every role in Paris, with every scope
    token = await factory.token(caller, ALL_SCOPES - {"offline_access"})
    hidden_name = f"Hidden {mark()}"
    hidden = await new_member(factory, tree["lagos"], "member", display_name=hidden_name,
                              email=f"{mark()}@example.org")
    program = await factory.program(tree["paris"])
    event = await factory.event(tree["paris"])
    project = await factory.project(tree["paris"], caller, publish=False)
    targets = {"chapter": to_global_id("Chapter", tree["paris"].id),
               "program": to_global_id("Program", program.id),
               "event": to_global_id("Event", event.id),
               "project": to_global_id("Project", project.id)}
    query, target = NAMING[change]

    async def name(person_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
        body = await gql_as(client, token, query, on=targets[target],
                            who=to_global_id("Person", person_id))
        assert "errors" not in body, body
        (result,) = body["data"].values()
        return repr(body), result

    nobody = uuid.uuid4()
    _, unknown = await name(nobody)
    assert unknown["__typename"] in {"ValidationError", *DENIALS}, unknown
    text, result = await name(hidden)
    assert hidden_name not in text, text
    assert result["__typename"] == unknown["__typename"], text
    assert result["message"].replace(str(hidden), "?") == unknown["message"].replace(
        str(nobody), "?"), text
    seen = await gql_as(client, token, "query($id: ID!) { node(id: $id) { id } }",
                        id=to_global_id("Person", hidden))
    assert seen["data"]["node"] is None  # still invisible to the caller
