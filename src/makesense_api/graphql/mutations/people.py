"""Person mutations: registering people without a login, and editing one's own profile."""

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id
from makesense_api.graphql.types.people import Person
from makesense_api.people import service as people

UNSET = strawberry.UNSET


@strawberry.input(description="A person without a login, registered into a chapter.")
class PersonCreateInput:
    chapter_id: strawberry.ID = strawberry.field(description="The chapter they join as member.")
    display_name: str = strawberry.field(description="Name shown to others.")
    city: str | None = strawberry.field(default=UNSET, description="City of residence.")
    country_code: str | None = strawberry.field(default=UNSET, description="ISO country.")
    bio: str | None = strawberry.field(default=UNSET, description="Short self-description.")
    languages: list[str] | None = strawberry.field(default=UNSET, description="BCP 47 tags.")
    skills: list[str] | None = strawberry.field(default=UNSET, description="Skills offered.")
    causes: list[int] | None = strawberry.field(default=UNSET, description="SDGs, 1–17.")
    email: str | None = strawberry.field(default=UNSET, description="E-mail (personal data).")
    phone: str | None = strawberry.field(default=UNSET, description="Phone (personal data).")
    open_to_matching: bool | None = strawberry.field(
        default=UNSET, description="Whether organizers may propose needs to them."
    )


@strawberry.input(description="Changes to a profile; omitted fields stay as they are.")
class PersonUpdateInput:
    id: strawberry.ID = strawberry.field(description="The person (the caller themself).")
    display_name: str | None = strawberry.field(default=UNSET, description="Name shown.")
    city: str | None = strawberry.field(default=UNSET, description="City of residence.")
    country_code: str | None = strawberry.field(default=UNSET, description="ISO country.")
    bio: str | None = strawberry.field(default=UNSET, description="Short self-description.")
    languages: list[str] | None = strawberry.field(default=UNSET, description="BCP 47 tags.")
    skills: list[str] | None = strawberry.field(default=UNSET, description="Skills offered.")
    causes: list[int] | None = strawberry.field(default=UNSET, description="SDGs, 1–17.")
    email: str | None = strawberry.field(default=UNSET, description="E-mail (personal data).")
    phone: str | None = strawberry.field(default=UNSET, description="Phone (personal data).")
    home_chapter_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Home chapter."
    )
    open_to_matching: bool | None = strawberry.field(
        default=UNSET, description="Whether organizers may propose needs to them."
    )


@strawberry.type(description="The person after the change.")
class PersonPayload:
    person: Person = strawberry.field(description="The person.")


PersonResult = result_union(PersonPayload, "PersonResult")


@strawberry.type
class PeopleMutations:
    @strawberry.mutation(
        description="Register a person without a login as a member of a chapter (organizers "
        "and partner tools with `people:write`)."
    )
    async def person_create(self, info: Info, input: PersonCreateInput) -> PersonResult:  # type: ignore[valid-type]
        async def run() -> PersonPayload:
            data = given(input)
            chapter_id = expect_id(data.pop("chapter_id"), "Chapter", "chapterId")
            view = await people.create(info.context.ctx, chapter_id, data)
            return PersonPayload(person=Person.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Edit one's own profile (`profile` scope).")
    async def person_update(self, info: Info, input: PersonUpdateInput) -> PersonResult:  # type: ignore[valid-type]
        async def run() -> PersonPayload:
            data = ids_in(given(input), home_chapter_id="Chapter")
            person_id = expect_id(str(data.pop("id")), "Person")
            view = await people.update(info.context.ctx, person_id, data)
            return PersonPayload(person=Person.from_view(view))

        return await attempt(run)
