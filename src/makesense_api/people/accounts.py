"""Logins: sign-up, password authentication and password changes.

Passwords are hashed with argon2id (argon2-cffi's RFC 9106 low-memory profile). Hashing and
verifying take tens of milliseconds of CPU on purpose, so they run in a worker thread and never
block the event loop; they also run before any write, so no transaction is held open while
hashing. Hashes never leave this module: read models carry no hash, and nothing is logged.

`authenticate` spends the same work whether the e-mail is known or not (an unknown e-mail is
verified against a dummy hash), so its timing does not tell which addresses have an account.

Self-service sign-up (`register`, for apps and the sign-in pages) is counted per client
address: every attempt counts, successful or not, and past `signup_max_per_ip` within the
failure window the answer is `TooManyAttempts`. An address already taken is reported as such
(the person needs to know to sign in instead, and there is no e-mail channel to tell them
privately) and nothing else about the existing account is revealed; it costs the same hashing
work as a successful sign-up, and the per-address limit bounds how many addresses one client
can probe.
"""

import asyncio
import secrets
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Annotated, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import EmailStr, Field, StringConstraints, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from makesense_api.authz.principal import Scope
from makesense_api.context import Ctx
from makesense_api.kit.clock import utcnow
from makesense_api.kit.db import use_case
from makesense_api.kit.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed
from makesense_api.kit.schemas import Input, parse, raise_if
from makesense_api.oauth.throttle import Throttle
from makesense_api.people.models import Account, Person
from makesense_api.people.schemas import PersonCreate
from makesense_api.people.service import new_person

MIN_PASSWORD = 12
MAX_PASSWORD = 128
MAX_EMAIL = 254

# argon2id, t=3, m=64 MiB, p=4. Changing these makes `authenticate` rehash on next login.
hasher = PasswordHasher()

_email = TypeAdapter(EmailStr)


@dataclass(frozen=True)
class AccountView:
    """A login as its owner sees it; the password hash is never part of it."""

    id: uuid.UUID
    person_id: uuid.UUID
    email: str
    verified: bool
    last_login_at: datetime | None
    created_at: datetime


def _view(account: Account) -> AccountView:
    return AccountView(
        id=account.id,
        person_id=account.person_id,
        email=account.email,
        verified=account.verified,
        last_login_at=account.last_login_at,
        created_at=account.created_at,
    )


# -- helpers ------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """The stored form of an e-mail: trimmed and lowercased, so lookups ignore case."""
    return email.strip().lower()


def _normalize_password(password: str) -> str:
    # The same password typed on different keyboards may arrive composed or decomposed.
    return unicodedata.normalize("NFKC", password)


def email_error(field: str, email: str) -> FieldError | None:
    if len(email) > MAX_EMAIL:
        return FieldError(field, f"must be at most {MAX_EMAIL} characters")
    try:
        _email.validate_python(email)
    except PydanticValidationError:
        return FieldError(field, "not a valid e-mail address")
    return None


def password_error(field: str, password: str, email: str | None = None) -> FieldError | None:
    """The password policy: 12 to 128 characters (after Unicode normalisation), and not the
    account's e-mail address nor its local part."""
    normal = _normalize_password(password)
    if not MIN_PASSWORD <= len(normal) <= MAX_PASSWORD:
        return FieldError(field, f"use {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if email and normal.strip().casefold() in {email, email.partition("@")[0]}:
        return FieldError(field, "must not be your e-mail address")
    return None


async def hash_password(password: str) -> str:
    """An argon2id hash of the password, computed off the event loop."""
    return await asyncio.to_thread(hasher.hash, _normalize_password(password))


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(hasher.verify, password_hash, _normalize_password(password))
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return hasher.hash(secrets.token_urlsafe(24))


async def _burn_verification(password: str) -> None:
    """Spend the work of one verification, for callers that have no real hash to check."""
    dummy = await asyncio.to_thread(_dummy_hash)
    await _verify(dummy, password)


# -- use-cases ----------------------------------------------------------------------------


async def sign_up(
    ctx: Ctx, email: str, password: str, display_name: str, **profile: Any
) -> AccountView:
    """Create a person and their login; `profile` takes the other `PersonCreate` fields."""
    normal = normalize_email(email)
    bad_email = email_error("email", normal)
    errors = [e for e in (bad_email, password_error("password", password, normal)) if e]
    fields = {**profile, "display_name": display_name, "email": None if bad_email else normal}
    try:
        data = parse(PersonCreate, fields)
    except ValidationFailed as exc:
        raise ValidationFailed([*errors, *exc.errors]) from None
    raise_if(list(errors))
    # Hash before writing: no write lock is held while hashing, and a taken address costs the
    # caller as much time as a free one.
    password_hash = await hash_password(password)
    async with use_case(ctx.session):
        person = await new_person(ctx, data)
        account = Account(person_id=person.id, email=normal, password_hash=password_hash)
        taken = False
        try:
            async with ctx.session.begin_nested():
                ctx.session.add(account)
                await ctx.session.flush()
        except IntegrityError:
            # The unique index on account.email decides, so two racing sign-ups cannot both win.
            taken = True
        if taken:
            # Raised outside the handler so the database error (whose parameters include the
            # hash) is not chained to what callers and error reporters see.
            raise ValidationFailed.on("email", EMAIL_TAKEN)
    return _view(account)


EMAIL_TAKEN = "an account already uses this address: sign in instead"


class TooManyAttempts(Conflict):
    """Too many sign-ups from one client address within the window; retry later."""

    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many sign-up attempts: try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempts:
    """Sign-up attempts of one client address, counted in the shared throttle."""

    throttle: Throttle
    address: str
    limit: int

    @property
    def key(self) -> str:
        return f"signup-ip:{self.address}"

    async def count(self) -> None:
        """Refuse when the address is over its limit; else count this attempt."""
        wait = await self.throttle.retry_after(self.key, self.limit)
        if wait is not None:
            raise TooManyAttempts(wait)
        await self.throttle.failed(self.key)


class SignUp(Input):
    """A new volunteer's login: their name, e-mail and password, and optionally a language."""

    name: str = Field(min_length=1, max_length=120, description="Name shown to others.")
    email: str = Field(max_length=MAX_EMAIL, description="Login e-mail; compared ignoring case.")
    # Kept exactly as typed (inputs are trimmed otherwise): sign-in compares it untrimmed.
    password: Annotated[
        str, StringConstraints(strip_whitespace=False, max_length=4 * MAX_PASSWORD)
    ] = Field(
        description=f"{MIN_PASSWORD} to {MAX_PASSWORD} characters, not the e-mail address.",
    )
    locale: str | None = Field(
        default=None, max_length=35, description="Preferred language (BCP 47), e.g. fr-FR."
    )


async def register(ctx: Ctx, data: SignUp | dict[str, Any], attempts: Attempts) -> AccountView:
    """Self-service sign-up: a person and their login, counted against the caller's address."""
    await attempts.count()
    data = parse(SignUp, data)
    profile: dict[str, Any] = {"languages": [data.locale]} if data.locale else {}
    try:
        return await sign_up(ctx, data.email, data.password, data.name, **profile)
    except ValidationFailed as exc:
        raise ValidationFailed(
            [FieldError(_input_field(e.field), e.message) for e in exc.errors]
        ) from None


def _input_field(field: str) -> str:
    """The `SignUp` field a profile error is about."""
    if field.startswith("languages"):
        return "locale"
    return "name" if field == "display_name" else field


async def authenticate(session: AsyncSession, email: str, password: str) -> uuid.UUID | None:
    """The person whose login matches, or None; upgrades outdated hashes on success."""
    normal = normalize_email(email)
    stmt = (
        select(Account)
        .join(Person, col(Person.id) == Account.person_id)
        .where(Account.email == normal, col(Person.erased_at).is_(None))
    )
    account = (await session.exec(stmt)).first()
    if account is None:
        await _burn_verification(password)
        return None
    if not await _verify(account.password_hash, password):
        return None
    new_hash = None
    if hasher.check_needs_rehash(account.password_hash):
        new_hash = await hash_password(password)
    async with use_case(session):
        if new_hash is not None:
            account.password_hash = new_hash
        account.last_login_at = utcnow()
        session.add(account)
    return account.person_id


async def change_password(ctx: Ctx, current_password: str, new_password: str) -> AccountView:
    """Replace the caller's own password; the current one must be given."""
    ctx.authz.require_scope(Scope.PROFILE)
    person_id = ctx.principal.person_id
    if person_id is None:
        raise Forbidden("only a person has a password")
    account = (await ctx.session.exec(
        select(Account).where(Account.person_id == person_id)
    )).first()
    if account is None:
        raise NotFound("account", person_id)
    policy = password_error("new_password", new_password, account.email)
    if not await _verify(account.password_hash, current_password):
        raise ValidationFailed.on("current_password", "does not match")
    if policy is not None:
        raise ValidationFailed(policy)
    new_hash = await hash_password(new_password)
    async with use_case(ctx.session):
        account.password_hash = new_hash
        ctx.session.add(account)
    return _view(account)


async def confirm_password(
    session: AsyncSession, person_id: uuid.UUID, password: str | None
) -> Account | None:
    """Re-authentication: the person's login once `password` matches it again; None when the
    person has no login (nothing to confirm). A missing or wrong password is a field error."""
    stmt = select(Account).where(Account.person_id == person_id)
    account = (await session.exec(stmt)).first()
    if account is None:
        return None
    if not password:
        raise ValidationFailed.on("password", "confirm with your password")
    if len(password) > 4 * MAX_PASSWORD or not await _verify(account.password_hash, password):
        raise ValidationFailed.on("password", "does not match")
    return account


async def get_own(ctx: Ctx) -> AccountView:
    """The caller's own login."""
    ctx.authz.require_scope(Scope.PROFILE)
    person_id = ctx.principal.person_id
    account = None
    if person_id is not None:
        account = (await ctx.session.exec(
            select(Account).where(Account.person_id == person_id)
        )).first()
    if account is None:
        raise NotFound("account", person_id)
    return _view(account)
