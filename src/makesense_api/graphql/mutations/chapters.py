"""Chapter, membership and person mutations."""

import strawberry

from makesense_api.chapters import service as chapters
from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id
from makesense_api.graphql.types.chapters import Chapter, Membership
from makesense_api.people import service as people

UNSET = strawberry.UNSET


@strawberry.input(description="A contact channel of a chapter.")
class ContactInput:
    kind: str = strawberry.field(description="whatsapp, email, video, …")
    value: str = strawberry.field(description="Link or address.")
    private: bool = strawberry.field(default=False, description="Members only.")


@strawberry.input(description="Name and description in one more language.")
class ChapterTranslationInput:
    language: str = strawberry.field(description="BCP 47 tag.")
    name: str | None = strawberry.field(default=None, description="Translated name.")
    description: str | None = strawberry.field(default=None, description="Translated text.")


@strawberry.input(description="A new chapter under an existing one.")
class ChapterCreateInput:
    parent_id: strawberry.ID = strawberry.field(description="The parent chapter.")
    slug: str = strawberry.field(description="Unique, lowercase, hyphenated.")
    name: str = strawberry.field(description="Name in the default language.")
    default_language: str = strawberry.field(description="BCP 47 tag of the default text.")
    kind: str = strawberry.field(description="network, region, country, city, neighbourhood.")
    timezone: str = strawberry.field(description="IANA time zone.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    translations: list[ChapterTranslationInput] | None = strawberry.field(
        default=UNSET, description="Other languages."
    )
    country_code: str | None = strawberry.field(default=UNSET, description="ISO 3166-1 alpha-2.")
    city: str | None = strawberry.field(default=UNSET, description="City.")
    languages: list[str] | None = strawberry.field(default=UNSET, description="BCP 47 tags.")
    latitude: float | None = strawberry.field(default=UNSET, description="Degrees north.")
    longitude: float | None = strawberry.field(default=UNSET, description="Degrees east.")
    contacts: list[ContactInput] | None = strawberry.field(default=UNSET, description="Contacts.")


@strawberry.input(description="Changes to a chapter; omitted fields stay as they are.")
class ChapterUpdateInput:
    id: strawberry.ID = strawberry.field(description="The chapter.")
    name: str | None = strawberry.field(default=UNSET, description="Name.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    default_language: str | None = strawberry.field(default=UNSET, description="BCP 47 tag.")
    translations: list[ChapterTranslationInput] | None = strawberry.field(
        default=UNSET, description="Replaces all translations."
    )
    kind: str | None = strawberry.field(default=UNSET, description="Kind.")
    country_code: str | None = strawberry.field(default=UNSET, description="Country.")
    city: str | None = strawberry.field(default=UNSET, description="City.")
    timezone: str | None = strawberry.field(default=UNSET, description="IANA time zone.")
    languages: list[str] | None = strawberry.field(default=UNSET, description="Languages.")
    latitude: float | None = strawberry.field(default=UNSET, description="Degrees north.")
    longitude: float | None = strawberry.field(default=UNSET, description="Degrees east.")
    status: str | None = strawberry.field(default=UNSET, description="active, dormant, closed.")
    contacts: list[ContactInput] | None = strawberry.field(default=UNSET, description="Contacts.")


@strawberry.input(description="Move a chapter (and its subtree) under another parent.")
class ChapterMoveInput:
    id: strawberry.ID = strawberry.field(description="The chapter to move.")
    parent_id: strawberry.ID = strawberry.field(description="Its new parent.")


@strawberry.input(description="Give a person a role in a chapter.")
class MembershipSetRoleInput:
    chapter_id: strawberry.ID = strawberry.field(description="The chapter.")
    person_id: strawberry.ID = strawberry.field(description="The person.")
    role: str = strawberry.field(description="member, organizer or admin.")


@strawberry.input(description="End a membership.")
class MembershipRemoveInput:
    chapter_id: strawberry.ID = strawberry.field(description="The chapter.")
    person_id: strawberry.ID = strawberry.field(description="The person.")


@strawberry.input(description="Join a chapter as a member (the caller).")
class ChapterJoinInput:
    chapter_id: strawberry.ID = strawberry.field(description="The chapter to join.")


@strawberry.type(description="The chapter after the change.")
class ChapterPayload:
    chapter: Chapter = strawberry.field(description="The chapter.")


@strawberry.type(description="The membership after the change.")
class MembershipPayload:
    membership: Membership = strawberry.field(description="The membership.")


@strawberry.type(description="The membership ended.")
class MembershipRemovePayload:
    removed: bool = strawberry.field(description="Always true.")


ChapterResult = result_union(ChapterPayload, "ChapterResult")
MembershipResult = result_union(MembershipPayload, "MembershipResult")
MembershipRemoveResult = result_union(MembershipRemovePayload, "MembershipRemoveResult")


def _chapter_data(input_: ChapterCreateInput | ChapterUpdateInput) -> dict[str, object]:
    data = given(input_)
    data.pop("id", None)
    if data.get("translations") is not None:
        data["translations"] = {t.pop("language"): t for t in data["translations"]}
    return ids_in(data, parent_id="Chapter")


@strawberry.type
class ChapterMutations:
    @strawberry.mutation(description="Create a chapter under a parent you administer.")
    async def chapter_create(self, info: Info, input: ChapterCreateInput) -> ChapterResult:  # type: ignore[valid-type]
        async def run() -> ChapterPayload:
            view = await chapters.create(info.context.ctx, _chapter_data(input))
            return ChapterPayload(chapter=Chapter.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Change a chapter you administer.")
    async def chapter_update(self, info: Info, input: ChapterUpdateInput) -> ChapterResult:  # type: ignore[valid-type]
        async def run() -> ChapterPayload:
            chapter_id = expect_id(input.id, "Chapter")
            view = await chapters.update(info.context.ctx, chapter_id, _chapter_data(input))
            return ChapterPayload(chapter=Chapter.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Move a chapter and its subtree under another parent.")
    async def chapter_move(self, info: Info, input: ChapterMoveInput) -> ChapterResult:  # type: ignore[valid-type]
        async def run() -> ChapterPayload:
            view = await chapters.move(
                info.context.ctx,
                expect_id(input.id, "Chapter"),
                expect_id(input.parent_id, "Chapter", "parentId"),
            )
            return ChapterPayload(chapter=Chapter.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Join a chapter as a member.")
    async def chapter_join(self, info: Info, input: ChapterJoinInput) -> MembershipResult:  # type: ignore[valid-type]
        async def run() -> MembershipPayload:
            view = await people.join(
                info.context.ctx, expect_id(input.chapter_id, "Chapter", "chapterId")
            )
            return MembershipPayload(membership=Membership.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="Add a person to a chapter or change their role (admins).")
    async def membership_set_role(
        self, info: Info, input: MembershipSetRoleInput
    ) -> MembershipResult:  # type: ignore[valid-type]
        async def run() -> MembershipPayload:
            view = await people.set_role(
                info.context.ctx,
                expect_id(input.chapter_id, "Chapter", "chapterId"),
                expect_id(input.person_id, "Person", "personId"),
                input.role,
            )
            return MembershipPayload(membership=Membership.from_view(view))

        return await attempt(run)

    @strawberry.mutation(description="End a membership (admins, or the member leaving).")
    async def membership_remove(
        self, info: Info, input: MembershipRemoveInput
    ) -> MembershipRemoveResult:  # type: ignore[valid-type]
        async def run() -> MembershipRemovePayload:
            await people.remove_member(
                info.context.ctx,
                expect_id(input.chapter_id, "Chapter", "chapterId"),
                expect_id(input.person_id, "Person", "personId"),
            )
            return MembershipRemovePayload(removed=True)

        return await attempt(run)
