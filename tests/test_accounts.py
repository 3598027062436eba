"""Logins: sign-up, password checks, hash storage and password changes."""

import asyncio
import dataclasses
import unicodedata
import uuid

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Principal
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.errors import MissingScope, NotFound, Unauthenticated, ValidationFailed
from makesense_api.people import accounts
from makesense_api.people import service as people
from makesense_api.people.models import Account, Person
from makesense_api.people.schemas import PersonCreate
from tests.conftest import as_person

PASSWORD = "correct horse battery"


async def count(session: AsyncSession, model: type[Account] | type[Person]) -> int:
    return (await session.exec(select(func.count()).select_from(model))).one()


async def stored_hash(session: AsyncSession, person_id: uuid.UUID) -> str:
    stmt = select(Account.password_hash).where(Account.person_id == person_id)
    return (await session.exec(stmt)).one()


@pytest.fixture
def anon(session: AsyncSession) -> Ctx:
    return Ctx.of(session, Principal.anonymous())


async def test_sign_up_then_log_in(session: AsyncSession, anon: Ctx) -> None:
    account = await accounts.sign_up(anon, "  Ada@Example.ORG ", PASSWORD, "Ada", city="Paris")
    assert account.email == "ada@example.org"
    assert account.verified is False
    assert account.last_login_at is None
    assert await accounts.authenticate(session, "ada@example.org", PASSWORD) == account.person_id
    # The person behind the login sees their own profile, with the same e-mail.
    me = await people.get(as_person(session, account.person_id), account.person_id)
    assert (me.display_name, me.city, me.email) == ("Ada", "Paris", "ada@example.org")
    own = await accounts.get_own(as_person(session, account.person_id))
    assert own.last_login_at is not None
    assert own.last_login_at <= utcnow()


async def test_login_ignores_email_case(session: AsyncSession, anon: Ctx) -> None:
    account = await accounts.sign_up(anon, "grace@example.org", PASSWORD, "Grace")
    assert await accounts.authenticate(session, "GRACE@Example.org ", PASSWORD) == account.person_id


async def test_wrong_password_and_unknown_email_are_refused(
    session: AsyncSession, anon: Ctx
) -> None:
    await accounts.sign_up(anon, "linus@example.org", PASSWORD, "Linus")
    assert await accounts.authenticate(session, "linus@example.org", PASSWORD + "!") is None
    assert await accounts.authenticate(session, "linus@example.org", "") is None
    assert await accounts.authenticate(session, "nobody@example.org", PASSWORD) is None
    assert await accounts.authenticate(session, "not an e-mail", PASSWORD) is None


async def test_unknown_email_costs_a_verification_too(
    session: AsyncSession, anon: Ctx, monkeypatch: pytest.MonkeyPatch
) -> None:
    await accounts.sign_up(anon, "known@example.org", PASSWORD, "Known")
    calls: list[str] = []
    real = accounts.hasher

    class Spy:
        def verify(self, hash_: str, password: str) -> bool:
            calls.append(hash_)
            return real.verify(hash_, password)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    monkeypatch.setattr(accounts, "hasher", Spy())
    assert await accounts.authenticate(session, "unknown@example.org", PASSWORD) is None
    assert await accounts.authenticate(session, "known@example.org", "wrong password!!") is None
    assert len(calls) == 2
    assert all(h.startswith("$argon2id$") for h in calls)


async def test_duplicate_email_is_a_field_error_and_writes_nothing(
    session: AsyncSession, anon: Ctx
) -> None:
    await accounts.sign_up(anon, "marie@example.org", PASSWORD, "Marie")
    people_before, accounts_before = await count(session, Person), await count(session, Account)
    with pytest.raises(ValidationFailed) as err:
        await accounts.sign_up(anon, "MARIE@example.org", "another long password", "Impostor")
    assert [e.field for e in err.value.errors] == ["email"]
    assert "marie" not in err.value.message.lower()
    # The database error, whose parameters hold the new hash, is not chained to it.
    assert err.value.__context__ is None
    assert err.value.__cause__ is None
    assert await count(session, Person) == people_before
    assert await count(session, Account) == accounts_before
    # The original owner's password still works; the impostor's does not.
    assert await accounts.authenticate(session, "marie@example.org", PASSWORD) is not None
    assert await accounts.authenticate(session, "marie@example.org", "another long password") is None


async def test_hash_is_argon2id_and_never_in_read_models(session: AsyncSession, anon: Ctx) -> None:
    account = await accounts.sign_up(anon, "hedy@example.org", PASSWORD, "Hedy")
    hashed = await stored_hash(session, account.person_id)
    assert hashed.startswith("$argon2id$")
    assert PASSWORD not in hashed
    assert "password_hash" not in {f.name for f in dataclasses.fields(account)}
    assert hashed not in repr(account)
    assert hashed not in repr(await accounts.get_own(as_person(session, account.person_id)))


@pytest.mark.parametrize(
    ("email", "password", "name", "fields"),
    [
        ("short@example.org", "too short", "Short", ["password"]),
        ("long@example.org", "x" * 129, "Long", ["password"]),
        ("not-an-email", PASSWORD, "Bad", ["email"]),
        ("blank@example.org", PASSWORD, "   ", ["display_name"]),
        ("all@bad", "short", "", ["email", "password", "display_name"]),
    ],
)
async def test_sign_up_validation_names_fields_and_writes_nothing(
    session: AsyncSession, anon: Ctx, email: str, password: str, name: str, fields: list[str]
) -> None:
    before = await count(session, Person)
    with pytest.raises(ValidationFailed) as err:
        await accounts.sign_up(anon, email, password, name)
    assert sorted(e.field for e in err.value.errors) == sorted(fields)
    assert password not in err.value.message
    assert await count(session, Person) == before


async def test_profile_fields_are_validated_like_any_person(
    session: AsyncSession, anon: Ctx
) -> None:
    before = await count(session, Person)
    with pytest.raises(ValidationFailed) as err:
        await accounts.sign_up(anon, "x@example.org", PASSWORD, "X", nickname="x")
    assert [e.field for e in err.value.errors] == ["nickname"]
    with pytest.raises(ValidationFailed) as err:
        await accounts.sign_up(anon, "x@example.org", PASSWORD, "X", causes=[3, 18],
                               languages=["fr", "??"])
    assert {e.field for e in err.value.errors} == {"causes.1", "languages.1"}
    assert await count(session, Person) == before
    assert await accounts.authenticate(session, "x@example.org", PASSWORD) is None


async def test_password_boundaries_and_unicode_forms(session: AsyncSession, anon: Ctx) -> None:
    await accounts.sign_up(anon, "twelve@example.org", "a" * 12, "Twelve")
    await accounts.sign_up(anon, "max@example.org", "b" * 128, "Max")
    composed = unicodedata.normalize("NFC", "mot de passe élégant")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    account = await accounts.sign_up(anon, "elegant@example.org", composed, "Élégant")
    assert await accounts.authenticate(session, "elegant@example.org", decomposed) == (
        account.person_id
    )


async def test_outdated_hash_is_upgraded_on_login(session: AsyncSession, anon: Ctx) -> None:
    account = await accounts.sign_up(anon, "old@example.org", PASSWORD, "Old")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    row = (await session.exec(select(Account).where(Account.id == account.id))).one()
    row.password_hash = weak
    session.add(row)
    await session.flush()
    assert await accounts.authenticate(session, "old@example.org", PASSWORD) == account.person_id
    upgraded = await stored_hash(session, account.person_id)
    assert upgraded != weak
    assert not accounts.hasher.check_needs_rehash(upgraded)
    assert await accounts.authenticate(session, "old@example.org", PASSWORD) == account.person_id


async def test_erased_person_cannot_log_in(session: AsyncSession, anon: Ctx) -> None:
    account = await accounts.sign_up(anon, "gone@example.org", PASSWORD, "Gone")
    person = await session.get(Person, account.person_id)
    assert person is not None
    person.erased_at = utcnow()
    session.add(person)
    await session.flush()
    assert await accounts.authenticate(session, "gone@example.org", PASSWORD) is None


async def test_change_password(session: AsyncSession, anon: Ctx) -> None:
    account = await accounts.sign_up(anon, "alan@example.org", PASSWORD, "Alan")
    me = as_person(session, account.person_id)
    with pytest.raises(ValidationFailed) as err:
        await accounts.change_password(me, "not my password", "a brand new password")
    assert err.value.errors[0].field == "current_password"
    with pytest.raises(ValidationFailed) as err:
        await accounts.change_password(me, PASSWORD, "short")
    assert err.value.errors[0].field == "new_password"
    assert await accounts.authenticate(session, "alan@example.org", PASSWORD) is not None

    await accounts.change_password(me, PASSWORD, "a brand new password")
    assert await accounts.authenticate(session, "alan@example.org", PASSWORD) is None
    assert await accounts.authenticate(session, "alan@example.org", "a brand new password") == (
        account.person_id
    )


async def test_change_password_needs_the_person_and_profile_scope(
    session: AsyncSession, anon: Ctx
) -> None:
    account = await accounts.sign_up(anon, "joan@example.org", PASSWORD, "Joan")
    with pytest.raises(Unauthenticated):
        await accounts.change_password(anon, PASSWORD, "a brand new password")
    no_profile = as_person(session, account.person_id, scopes={"events:read"})
    with pytest.raises(MissingScope):
        await accounts.change_password(no_profile, PASSWORD, "a brand new password")
    # A person registered without a login has no password to change.
    loginless = await people.new_person(anon, PersonCreate(display_name="No login"))
    with pytest.raises(NotFound):
        await accounts.change_password(
            as_person(session, loginless.id), PASSWORD, "a brand new password"
        )


async def test_hashing_does_not_block_the_event_loop() -> None:
    ticks = 0
    stop = asyncio.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0.002)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    hashed = await accounts.hash_password(PASSWORD)
    stop.set()
    await task
    assert hashed.startswith("$argon2id$")
    assert ticks >= 5
