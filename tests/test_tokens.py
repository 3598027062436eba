"""Tokens: format, personal tokens, issuing, resolving, hashing at rest, and recording use."""

import hashlib
import logging
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import write_intent
from makesense_api.kit.errors import (
    Conflict,
    Forbidden,
    MissingScope,
    NotFound,
    Unauthenticated,
    ValidationFailed,
)
from makesense_api.partners import service as partners
from makesense_api.people.models import Person
from makesense_api.tokens import service as tokens
from makesense_api.tokens.models import AccessToken, TokenKind
from tests.conftest import as_person
from tests.factories import Factory

Tree = dict[str, ChapterView]
MINE = {"profile", "events:write", "people:read"}


@pytest.fixture
async def tree(factory: Factory) -> Tree:
    return await factory.tree()


@pytest.fixture
async def person(factory: Factory, tree: Tree) -> uuid.UUID:
    return await factory.member(tree["paris"], "organizer")


def pat(**overrides: object) -> dict[str, object]:
    return {"name": "my script", "scopes": ["events:read"], "expires_in_days": 30, **overrides}


def fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> set[str]:
    return {e.field for e in exc.value.errors}


async def row_of(session: AsyncSession, token_id: uuid.UUID) -> AccessToken:
    stmt = (
        select(AccessToken)
        .where(AccessToken.id == token_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(stmt)).one()


# -- format -------------------------------------------------------------------------------


def test_tokens_carry_a_recognisable_prefix_and_a_checksum() -> None:
    made = {kind: tokens.new_token(kind) for kind in TokenKind}
    assert made[TokenKind.PERSONAL].startswith("msk_pat_")
    assert made[TokenKind.ACCESS].startswith("msk_at_")
    assert made[TokenKind.REFRESH].startswith("msk_rt_")
    for kind, token in made.items():
        assert tokens.token_kind(token) == kind
        assert token.isascii() and token.replace("_", "").isalnum()
    token = made[TokenKind.ACCESS]
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert tokens.token_kind(flipped) is None
    assert tokens.token_kind(token[:-1]) is None
    assert tokens.token_kind("msk_xx_" + token[7:]) is None
    assert tokens.token_kind("") is None
    assert tokens.new_token(TokenKind.ACCESS) != token


# -- personal tokens ----------------------------------------------------------------------


async def test_personal_tokens_are_created_listed_and_revoked(
    session: AsyncSession, person: uuid.UUID
) -> None:
    me = as_person(session, person, scopes=MINE)
    created = await tokens.create_personal(me, pat(scopes=["events:read", "profile"]))
    assert created.token.startswith("msk_pat_")
    assert created.token not in repr(created)
    view = created.view
    assert (view.kind, view.name, view.scopes) == (
        "personal",
        "my script",
        ["events:read", "profile"],
    )
    assert view.prefix == created.token[:16] and view.reach is None
    assert timedelta(days=29) < view.expires_at - utcnow() <= timedelta(days=30)

    listed = await tokens.list_personal(me)
    assert [v.id for v in listed] == [view.id]
    assert not hasattr(listed[0], "token") and not hasattr(listed[0], "token_hash")
    assert created.token not in repr(listed)

    principal = await tokens.resolve(session, created.token, utcnow())
    assert principal == Principal.person(person, {"events:read", "profile"})

    await tokens.revoke(me, view.id)
    assert await tokens.list_personal(me) == []
    assert await tokens.resolve(session, created.token, utcnow()) is None
    with pytest.raises(NotFound):
        await tokens.revoke(me, view.id)


async def test_only_the_owner_sees_and_revokes_a_personal_token(
    session: AsyncSession, factory: Factory, tree: Tree, person: uuid.UUID
) -> None:
    created = await tokens.create_personal(as_person(session, person, scopes=MINE), pat())
    other = as_person(session, await factory.member(tree["root"], "admin"))
    assert await tokens.list_personal(other) == []
    with pytest.raises(NotFound):
        await tokens.revoke(other, created.view.id)
    with pytest.raises(NotFound):
        await tokens.revoke(other, uuid.uuid4())
    # An OAuth access token of the same person is not a personal token.
    issued = await tokens.issue(
        session, kind=TokenKind.ACCESS, person_id=person, scopes={"profile"}, ttl=timedelta(hours=1)
    )
    me = as_person(session, person, scopes=MINE)
    assert [v.id for v in await tokens.list_personal(me)] == [created.view.id]
    with pytest.raises(NotFound):
        await tokens.revoke(me, issued.id)


async def test_personal_tokens_need_a_person_with_the_profile_scope(
    session: AsyncSession, factory: Factory, tree: Tree, person: uuid.UUID
) -> None:
    with pytest.raises(Unauthenticated):
        await tokens.create_personal(Ctx.of(session, Principal.anonymous()), pat())
    with pytest.raises(MissingScope):
        await tokens.create_personal(as_person(session, person, scopes={"events:read"}), pat())
    with pytest.raises(MissingScope):
        await tokens.list_personal(as_person(session, person, scopes={"events:read"}))
    partner = await factory.partner()
    as_partner = Ctx.of(session, Principal.partner(partner.id, {"profile", "events:read"}))
    with pytest.raises(Forbidden):
        await tokens.create_personal(as_partner, pat())
    with pytest.raises(Forbidden):
        await tokens.list_personal(as_partner)


async def test_a_personal_token_never_carries_more_scopes_than_the_calling_token(
    session: AsyncSession, person: uuid.UUID
) -> None:
    me = as_person(session, person, scopes=MINE)
    with pytest.raises(ValidationFailed) as exc:
        await tokens.create_personal(
            me, pat(scopes=["events:read", "projects:write", "chapters:read", "nope"])
        )
    assert fields(exc) == {"scopes.1", "scopes.2", "scopes.3"}
    with pytest.raises(ValidationFailed) as exc:
        await tokens.create_personal(me, pat(scopes=["offline_access"]))
    assert fields(exc) == {"scopes.0"}
    # A write scope covers its read scope, so asking for less is fine.
    made = await tokens.create_personal(me, pat(scopes=["events:read", "events:read"]))
    assert made.view.scopes == ["events:read"]
    assert await tokens.list_personal(me) != []


async def test_reach_is_limited_to_visible_chapters_inside_the_callers_reach(
    session: AsyncSession, factory: Factory, tree: Tree, person: uuid.UUID
) -> None:
    me = as_person(session, person, scopes=MINE)
    made = await tokens.create_personal(me, pat(reach=[tree["paris"].id, tree["lyon"].id]))
    assert set(made.view.reach or []) == {tree["paris"].id, tree["lyon"].id}
    principal = await tokens.resolve(session, made.token, utcnow())
    assert principal is not None
    assert principal.reach == frozenset({tree["paris"].id, tree["lyon"].id})

    with pytest.raises(ValidationFailed) as exc:
        await tokens.create_personal(me, pat(reach=[tree["paris"].id, uuid.uuid4()]))
    assert fields(exc) == {"reach.1"}

    in_france = as_person(session, person, scopes=MINE, reach=frozenset({tree["france"].id}))
    with pytest.raises(ValidationFailed) as exc:
        await tokens.create_personal(in_france, pat(reach=[tree["lagos"].id]))
    assert fields(exc) == {"reach.0"}
    inherited = await tokens.create_personal(in_france, pat())
    assert inherited.view.reach == [tree["france"].id]
    narrower = await tokens.create_personal(in_france, pat(reach=[tree["batignolles"].id]))
    assert narrower.view.reach == [tree["batignolles"].id]


async def test_expiry_is_required_and_bounded(session: AsyncSession, person: uuid.UUID) -> None:
    me = as_person(session, person, scopes=MINE)
    for days in (0, 366, -1):
        with pytest.raises(ValidationFailed) as exc:
            await tokens.create_personal(me, pat(expires_in_days=days))
        assert fields(exc) == {"expires_in_days"}
    with pytest.raises(ValidationFailed) as exc:
        await tokens.create_personal(me, {"name": "x", "scopes": ["profile"]})
    assert fields(exc) == {"expires_in_days"}
    with pytest.raises(ValidationFailed) as exc:
        await tokens.create_personal(me, pat(name="", scopes=[]))
    assert fields(exc) == {"name", "scopes"}
    year = await tokens.create_personal(me, pat(expires_in_days=365))
    assert year.view.expires_at - utcnow() > timedelta(days=364)


async def test_active_personal_tokens_are_capped(
    session: AsyncSession, person: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "MAX_ACTIVE_PERSONAL", 2)
    me = as_person(session, person, scopes=MINE)
    first = await tokens.create_personal(me, pat())
    await tokens.create_personal(me, pat())
    with pytest.raises(Conflict):
        await tokens.create_personal(me, pat())
    await tokens.revoke(me, first.view.id)
    await tokens.create_personal(me, pat())


async def test_tokens_are_stored_only_as_hashes(session: AsyncSession, person: uuid.UUID) -> None:
    me = as_person(session, person, scopes=MINE)
    created = await tokens.create_personal(me, pat())
    secret = created.token.removeprefix("msk_pat_")
    row = await row_of(session, created.view.id)
    assert row.token_hash == hashlib.sha256(created.token.encode()).hexdigest()
    assert row.prefix == secret[:8]
    raw = (await (await session.connection()).execute(text("SELECT * FROM access_token"))).all()
    stored = " ".join(str(value) for line in raw for value in line)
    assert secret[:8] in stored
    assert created.token not in stored and secret[8:] not in stored and secret[:12] not in stored


async def test_no_log_record_contains_a_token(
    session: AsyncSession, person: uuid.UUID, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    me = as_person(session, person, scopes=MINE)
    created = await tokens.create_personal(me, pat())
    await tokens.resolve(session, created.token, utcnow())
    await tokens.revoke(me, created.view.id)
    await tokens.resolve(session, created.token, utcnow())
    assert any(r.getMessage() == "token rejected" for r in caplog.records)
    secret = created.token.removeprefix("msk_pat_")
    for record in caplog.records:
        dumped = repr(record.__dict__)
        assert secret[8:] not in dumped and secret[:12] not in dumped


# -- issuing and resolving ----------------------------------------------------------------


async def test_person_and_partner_tokens_resolve_to_their_principal(
    session: AsyncSession, factory: Factory, tree: Tree, person: uuid.UUID
) -> None:
    reach = {tree["france"].id}
    issued = await tokens.issue(
        session,
        kind=TokenKind.ACCESS,
        person_id=person,
        client_id="paris-site",
        scopes={"profile", "events:read"},
        reach=reach,
        ttl=timedelta(minutes=10),
    )
    assert issued.token.startswith("msk_at_") and issued.token not in repr(issued)
    assert await tokens.resolve(session, issued.token, utcnow()) == Principal.person(
        person, {"profile", "events:read"}, frozenset(reach), "paris-site"
    )
    partner = await factory.partner()
    plain = await factory.token(None, ["people:read"], partner_id=partner.id)
    assert await tokens.resolve(session, plain, utcnow()) == Principal.partner(
        partner.id, {"people:read"}
    )


async def test_expired_and_revoked_tokens_do_not_resolve(
    session: AsyncSession, factory: Factory, person: uuid.UUID
) -> None:
    plain = await factory.token(person, ["profile"])
    now = utcnow()
    assert await tokens.resolve(session, plain, now + timedelta(minutes=59)) is not None
    assert await tokens.resolve(session, plain, now + timedelta(hours=1, seconds=1)) is None
    me = as_person(session, person, scopes=MINE)
    created = await tokens.create_personal(me, pat())
    await tokens.revoke(me, created.view.id)
    assert await tokens.resolve(session, created.token, utcnow()) is None


async def test_erased_people_and_inactive_partners_lose_their_tokens(
    session: AsyncSession, factory: Factory, tree: Tree, person: uuid.UUID, system: Ctx
) -> None:
    mine = await factory.token(person, ["profile"])
    partner = await factory.partner()
    theirs = await factory.token(None, ["events:read"], partner_id=partner.id)
    assert await tokens.resolve(session, mine, utcnow()) is not None
    assert await tokens.resolve(session, theirs, utcnow()) is not None

    row = await session.get_one(Person, person)
    row.erased_at = utcnow()
    session.add(row)
    await session.flush()
    await partners.update(system, partner.id, {"active": False})
    assert await tokens.resolve(session, mine, utcnow()) is None
    assert await tokens.resolve(session, theirs, utcnow()) is None

    await partners.update(system, partner.id, {"active": True})
    assert await tokens.resolve(session, theirs, utcnow()) is not None


async def test_refresh_tokens_and_strangers_are_not_bearer_tokens(
    session: AsyncSession, factory: Factory, person: uuid.UUID
) -> None:
    refresh = await factory.token(person, ["offline_access", "profile"], kind="refresh")
    assert await tokens.resolve(session, refresh, utcnow()) is None
    found = await tokens.lookup(session, refresh, utcnow(), kinds={TokenKind.REFRESH})
    assert found is not None and found.principal.person_id == person
    unknown = tokens.new_token(TokenKind.ACCESS)
    for stranger in (unknown, "msk_at_short", "not-a-token", "", refresh.upper()):
        assert await tokens.resolve(session, stranger, utcnow()) is None


async def test_issue_rejects_impossible_tokens(session: AsyncSession, person: uuid.UUID) -> None:
    other = uuid.uuid4()
    hour = timedelta(hours=1)
    for kwargs in (
        {"scopes": {"profile"}, "ttl": hour},
        {"scopes": {"profile"}, "ttl": hour, "person_id": person, "partner_id": other},
        {"scopes": {"profile", "root"}, "ttl": hour, "person_id": person},
        {"scopes": {"profile"}, "ttl": timedelta(0), "person_id": person},
    ):
        with pytest.raises(ValueError, match=r"."):
            await tokens.issue(session, kind=TokenKind.ACCESS, **kwargs)  # type: ignore[arg-type]


# -- recording use ------------------------------------------------------------------------


async def test_use_is_recorded_at_most_once_a_minute(
    session: AsyncSession, person: uuid.UUID, factory: Factory
) -> None:
    plain = await factory.token(person, ["profile"])
    now = utcnow()
    found = await tokens.lookup(session, plain, now)
    assert found is not None and found.use_due(now)
    updated_at = (await row_of(session, found.token_id)).updated_at
    assert await tokens.record_use(session, found.token_id, now) is True
    assert await tokens.record_use(session, found.token_id, now + timedelta(seconds=30)) is False
    again = await tokens.lookup(session, plain, now + timedelta(seconds=30))
    assert again is not None and again.last_used_at == now
    assert not again.use_due(now + timedelta(seconds=30))
    later = now + timedelta(seconds=61)
    assert again.use_due(later)
    assert await tokens.record_use(session, found.token_id, later) is True
    row = await row_of(session, found.token_id)
    assert row.last_used_at == later and row.updated_at == updated_at


async def test_resolve_records_use_only_in_transactions_opened_for_writing(
    session: AsyncSession, person: uuid.UUID, factory: Factory
) -> None:
    plain = await factory.token(person, ["profile"])
    read_only = write_intent.set(False)
    try:
        assert await tokens.resolve(session, plain, utcnow()) is not None
    finally:
        write_intent.reset(read_only)
    found = await tokens.lookup(session, plain, utcnow())
    assert found is not None and found.last_used_at is None
    now = utcnow()
    assert await tokens.resolve(session, plain, now) is not None
    assert (await row_of(session, found.token_id)).last_used_at == now
