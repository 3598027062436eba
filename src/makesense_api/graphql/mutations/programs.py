"""Program, participating chapter and enrolment mutations."""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import Error, attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id
from makesense_api.graphql.types.programs import Channel, Enrolment, Program
from makesense_api.programs import enrolments, participants
from makesense_api.programs import service as programs
from makesense_api.programs.schemas import EnrolmentView, ProgramView

UNSET = strawberry.UNSET


@strawberry.input(description="Title and description in one more language.")
class ProgramTranslationInput:
    language: str = strawberry.field(description="BCP 47 tag.")
    title: str | None = strawberry.field(default=None, description="Translated title.")
    description: str | None = strawberry.field(default=None, description="Translated text.")


@strawberry.input(description="A private link for one channel.")
class ChannelLinkInput:
    channel: Channel = strawberry.field(description="One of the program's channels.")
    url: str = strawberry.field(description="The link, 1–500 characters.")


@strawberry.input(description="A new draft program organized by a chapter you organize.")
class ProgramCreateInput:
    chapter_id: strawberry.ID = strawberry.field(description="The organizing chapter.")
    slug: str = strawberry.field(description="Unique, lowercase, hyphenated.")
    title: str = strawberry.field(description="Title in the default language.")
    default_language: str = strawberry.field(description="BCP 47 tag of the default text.")
    starts_at: datetime = strawberry.field(description="Start of the period (with an offset).")
    ends_at: datetime = strawberry.field(description="End of the period (with an offset).")
    target_people: int = strawberry.field(description="People to mobilise.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    translations: list[ProgramTranslationInput] | None = strawberry.field(
        default=UNSET, description="Other languages."
    )
    channels: list[Channel] | None = strawberry.field(default=UNSET, description="Channels.")
    private_links: list[ChannelLinkInput] | None = strawberry.field(
        default=UNSET, description="Links for enrolled people and organizers."
    )
    chapter_ids: list[strawberry.ID] | None = strawberry.field(
        default=UNSET, description="Other chapters taking part (you must organize them)."
    )


@strawberry.input(description="Changes to a program; omitted fields stay as they are.")
class ProgramUpdateInput:
    id: strawberry.ID = strawberry.field(description="The program.")
    title: str | None = strawberry.field(default=UNSET, description="Title.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    default_language: str | None = strawberry.field(default=UNSET, description="BCP 47 tag.")
    translations: list[ProgramTranslationInput] | None = strawberry.field(
        default=UNSET, description="Replaces all translations."
    )
    channels: list[Channel] | None = strawberry.field(
        default=UNSET, description="Replaces the channels (links of dropped ones go)."
    )
    private_links: list[ChannelLinkInput] | None = strawberry.field(
        default=UNSET, description="Replaces the private links."
    )
    starts_at: datetime | None = strawberry.field(default=UNSET, description="Start.")
    ends_at: datetime | None = strawberry.field(default=UNSET, description="End.")
    target_people: int | None = strawberry.field(default=UNSET, description="Target.")


@strawberry.input(description="Make a draft program public.")
class ProgramPublishInput:
    id: strawberry.ID = strawberry.field(description="The draft program.")


@strawberry.input(description="Close a published program.")
class ProgramArchiveInput:
    id: strawberry.ID = strawberry.field(description="The published program.")


@strawberry.input(description="A chapter joining a program.")
class ProgramAddChapterInput:
    program_id: strawberry.ID = strawberry.field(description="The program.")
    chapter_id: strawberry.ID = strawberry.field(description="The chapter joining.")


@strawberry.input(description="A chapter leaving a program.")
class ProgramRemoveChapterInput:
    program_id: strawberry.ID = strawberry.field(description="The program.")
    chapter_id: strawberry.ID = strawberry.field(description="The chapter leaving.")


@strawberry.input(description="Enrol in a published program.")
class ProgramEnrolInput:
    program_id: strawberry.ID = strawberry.field(description="The program.")
    person_id: strawberry.ID | None = strawberry.field(
        default=None, description="Whom to enrol (organizers); the caller when omitted."
    )
    chapter_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The chapter to take part through; by default the person's home chapter "
        "when it takes part, else the organizing chapter.",
    )


@strawberry.input(description="Record a completed enrolment.")
class EnrolmentCompleteInput:
    id: strawberry.ID = strawberry.field(description="The enrolment.")


@strawberry.input(description="Leave a program.")
class EnrolmentDropInput:
    id: strawberry.ID = strawberry.field(description="The enrolment.")


@strawberry.type(description="The program after the change.")
class ProgramPayload:
    program: Program = strawberry.field(description="The program.")


@strawberry.type(description="The enrolment after the change.")
class EnrolmentPayload:
    enrolment: Enrolment = strawberry.field(description="The enrolment.")


ProgramResult = result_union(ProgramPayload, "ProgramResult")
EnrolmentResult = result_union(EnrolmentPayload, "EnrolmentResult")


def _program_data(input_: ProgramCreateInput | ProgramUpdateInput) -> dict[str, Any]:
    data = given(input_)
    data.pop("id", None)
    if data.get("translations") is not None:
        data["translations"] = {t.pop("language"): t for t in data["translations"]}
    if data.get("channels") is not None:
        data["channels"] = [c.value for c in data["channels"]]
    if data.get("private_links") is not None:
        data["private_links"] = {
            link["channel"].value: link["url"] for link in data["private_links"]
        }
    if data.get("chapter_ids") is not None:
        data["chapter_ids"] = [
            expect_id(c, "Chapter", f"chapter_ids.{i}") for i, c in enumerate(data["chapter_ids"])
        ]
    return ids_in(data, chapter_id="Chapter")


async def _program(call: Callable[[], Awaitable[ProgramView]]) -> ProgramPayload | Error:
    async def run() -> ProgramPayload:
        return ProgramPayload(program=Program.from_view(await call()))

    return await attempt(run)


async def _enrolment(call: Callable[[], Awaitable[EnrolmentView]]) -> EnrolmentPayload | Error:
    async def run() -> EnrolmentPayload:
        return EnrolmentPayload(enrolment=Enrolment.from_view(await call()))

    return await attempt(run)


@strawberry.type
class ProgramMutations:
    @strawberry.mutation(description="Create a draft program organized by a chapter you organize.")
    async def program_create(self, info: Info, input: ProgramCreateInput) -> ProgramResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _program(lambda: programs.create(ctx, _program_data(input)))

    @strawberry.mutation(description="Change a program (its organizers).")
    async def program_update(self, info: Info, input: ProgramUpdateInput) -> ProgramResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _program(
            lambda: programs.update(ctx, expect_id(input.id, "Program"), _program_data(input))
        )

    @strawberry.mutation(description="Make a draft program public and open for enrolment.")
    async def program_publish(self, info: Info, input: ProgramPublishInput) -> ProgramResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _program(lambda: programs.publish(ctx, expect_id(input.id, "Program")))

    @strawberry.mutation(description="Close a published program; it stays public as a record.")
    async def program_archive(self, info: Info, input: ProgramArchiveInput) -> ProgramResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _program(lambda: programs.archive(ctx, expect_id(input.id, "Program")))

    @strawberry.mutation(
        description="Make a chapter take part (organizers of the program and of the chapter)."
    )
    async def program_add_chapter(self, info: Info, input: ProgramAddChapterInput) -> ProgramResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _program(
            lambda: participants.add_chapter(
                ctx,
                expect_id(input.program_id, "Program", "programId"),
                expect_id(input.chapter_id, "Chapter", "chapterId"),
            )
        )

    @strawberry.mutation(
        description="Withdraw a chapter (organizers of the program or of that chapter)."
    )
    async def program_remove_chapter(
        self, info: Info, input: ProgramRemoveChapterInput
    ) -> ProgramResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _program(
            lambda: participants.remove_chapter(
                ctx,
                expect_id(input.program_id, "Program", "programId"),
                expect_id(input.chapter_id, "Chapter", "chapterId"),
            )
        )

    @strawberry.mutation(
        description="Enrol yourself, or a person you organize, in a published program; "
        "enrolling again changes nothing."
    )
    async def program_enrol(self, info: Info, input: ProgramEnrolInput) -> EnrolmentResult:  # type: ignore[valid-type]
        async def call() -> EnrolmentView:
            data = ids_in(given(input), person_id="Person", chapter_id="Chapter")
            program_id = data.pop("program_id")
            return await enrolments.enrol(
                info.context.ctx, expect_id(program_id, "Program", "programId"), data
            )

        return await _enrolment(call)

    @strawberry.mutation(description="Record that an enrolled person completed the program.")
    async def enrolment_complete(
        self, info: Info, input: EnrolmentCompleteInput
    ) -> EnrolmentResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _enrolment(lambda: enrolments.complete(ctx, expect_id(input.id, "Enrolment")))

    @strawberry.mutation(description="Leave a program (the person, or organizers).")
    async def enrolment_drop(self, info: Info, input: EnrolmentDropInput) -> EnrolmentResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _enrolment(lambda: enrolments.drop(ctx, expect_id(input.id, "Enrolment")))
