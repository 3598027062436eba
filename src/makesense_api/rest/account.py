"""`/v1/accounts` and `/v1/me` personal data: sign-up for apps, data export and erasure."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from makesense_api.authz.principal import Scope
from makesense_api.oauth.endpoints import client_ip
from makesense_api.people import accounts, privacy
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.problems import HttpProblem
from makesense_api.rest.schemas import Out

api = Registry("account")

Record = dict[str, Any]


class Account(Out):
    """A login just created. No token comes with it: the app signs the person in with the
    authorization code flow (PKCE)."""

    id: uuid.UUID
    person_id: uuid.UUID = Field(description="The person the login belongs to.")
    email: str = Field(description="The login e-mail, normalised (trimmed, lowercase).")
    verified: bool = Field(description="Whether the address has been verified.")
    created_at: datetime


class AccountErase(BaseModel):
    """Re-authentication for erasing one's personal data."""

    # Not `Input`: the password is compared exactly as typed, never trimmed.
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(
        default=None, max_length=1_024,
        description="The account password; required when the person has a login.",
    )


class DataExport(Out):
    """Everything held about the caller. Timestamps are ISO 8601; tokens appear as metadata
    only (never a token nor its hash), the login without its password hash."""

    format: str = Field(description="Version of this document's layout.")
    exported_at: str = Field(description="When the document was made.")
    person: Record = Field(description="The profile, with every personal field.")
    account: Record | None = Field(description="The login; null for a person without one.")
    consents: Record = Field(description="Consents given (e.g. to be contacted), with instants.")
    memberships: list[Record] = Field(description="Chapters joined, with roles.")
    registrations: list[Record] = Field(description="Event registrations, with event titles.")
    contributions: list[Record] = Field(description="Help offered on project needs.")
    enrolments: list[Record] = Field(description="Program enrolments.")
    projects_owned: list[Record] = Field(description="Projects the person owns.")
    oauth_consents: list[Record] = Field(description="Applications allowed to act for them.")
    tokens: list[Record] = Field(description="Access, refresh and personal tokens (metadata).")
    feed_tokens: list[Record] = Field(description="Calendar feed tokens (metadata).")


@api.post(
    "/accounts", "Sign up", response=Account, status=201, anonymous=True,
    location=lambda v: f"/v1/people/{v.person_id}",
)
async def sign_up(c: Call[NoQuery, accounts.SignUp]) -> accounts.AccountView:
    """Create a person and their login (anonymous callers: mobile apps onboarding a
    volunteer). The password needs 12 to 128 characters and must not be the e-mail. An address
    that already has a login is refused with a validation error on `email`. Attempts are
    limited per client address: past the limit the answer is 429 with `Retry-After`."""
    request = c.request
    attempts = accounts.Attempts(
        request.state.throttle, client_ip(request), request.state.settings.signup_max_per_ip
    )
    try:
        return await accounts.register(c.ctx, c.body, attempts)
    except accounts.TooManyAttempts as exc:
        raise HttpProblem(
            429, exc.code, exc.message, **{"Retry-After": str(exc.retry_after)}
        ) from None


@api.get("/me/export", "Export my data", response=DataExport, scope=Scope.PROFILE)
async def export_my_data(c: Call[NoQuery, None]) -> dict[str, Any]:
    """Everything the federation holds about the caller, as one JSON document (`profile`)."""
    return await privacy.export(c.ctx)


@api.delete(
    "/me", "Erase my data", response=None, body_required=False,
    scope=Scope.PROFILE, conflicts=True,
)
async def erase_me(c: Call[NoQuery, AccountErase]) -> None:
    """Erase the caller's personal data in one transaction (`profile`; send the account
    password again when the person has one). The profile is anonymised and the login,
    memberships, consents and every token are deleted; registrations, contributions and
    enrolments remain as anonymous records so impact figures stay true. The last admin of a
    chapter gets 409 until someone else is made admin."""
    await privacy.erase(c.ctx, c.body.password if c.body else None)
