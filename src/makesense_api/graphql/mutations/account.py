"""Account mutations: self-service sign-up for apps, and erasure of one's personal data."""

from datetime import datetime

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import attempt, result_union
from makesense_api.graphql.inputs import given
from makesense_api.graphql.relay import to_global_id
from makesense_api.oauth.endpoints import client_ip
from makesense_api.people import accounts, privacy

UNSET = strawberry.UNSET


@strawberry.input(description="A new volunteer's login.")
class AccountSignUpInput:
    name: str = strawberry.field(description="Name shown to others.")
    email: str = strawberry.field(description="Login e-mail; compared ignoring case.")
    password: str = strawberry.field(
        description="12 to 128 characters, not the e-mail address."
    )
    locale: str | None = strawberry.field(
        default=UNSET, description="Preferred language (BCP 47), e.g. fr-FR."
    )


@strawberry.type(
    description="The login just created. No token comes with it: the app signs the person in "
    "with the authorization code flow (PKCE)."
)
class AccountSignUpPayload:
    person_id: strawberry.ID = strawberry.field(description="The new person's global ID.")
    email: str = strawberry.field(description="The login e-mail, normalised.")
    verified: bool = strawberry.field(description="Whether the address has been verified.")
    created_at: datetime = strawberry.field(description="When the login was created.")


@strawberry.input(description="Re-authentication for erasing one's personal data.")
class ViewerEraseInput:
    password: str | None = strawberry.field(
        default=UNSET, description="The account password; required when the person has one."
    )


@strawberry.type(description="The caller's personal data was erased; their tokens are gone.")
class ViewerErasePayload:
    erased: bool = strawberry.field(description="Always true.")


AccountSignUpResult = result_union(AccountSignUpPayload, "AccountSignUpResult")
ViewerEraseResult = result_union(ViewerErasePayload, "ViewerEraseResult")


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Create a person and their login (anonymous callers: apps onboarding a "
        "volunteer). An address that already has a login is a validation error on `email`; "
        "attempts are limited per client address (`ConflictError` code `too_many_attempts`)."
    )
    async def account_sign_up(self, info: Info, input: AccountSignUpInput) -> AccountSignUpResult:  # type: ignore[valid-type]
        async def run() -> AccountSignUpPayload:
            request = info.context.request
            state = request.state
            attempts = accounts.Attempts(
                state.throttle, client_ip(request), state.settings.signup_max_per_ip
            )
            view = await accounts.register(info.context.ctx, given(input), attempts)
            return AccountSignUpPayload(
                person_id=to_global_id("Person", view.person_id),
                email=view.email,
                verified=view.verified,
                created_at=view.created_at,
            )

        return await attempt(run)

    @strawberry.mutation(
        description="Erase the caller's personal data (`profile`; the password again when the "
        "person has one). Registrations and contributions remain as anonymous records; the "
        "last admin of a chapter gets a `ConflictError` until someone else is admin."
    )
    async def viewer_erase(self, info: Info, input: ViewerEraseInput) -> ViewerEraseResult:  # type: ignore[valid-type]
        async def run() -> ViewerErasePayload:
            await privacy.erase(info.context.ctx, given(input).get("password"))
            return ViewerErasePayload(erased=True)

        return await attempt(run)
