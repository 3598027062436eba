"""Project, need and contribution mutations."""

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import Error, attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id, to_global_id
from makesense_api.graphql.types.projects import Contribution, Need, Project
from makesense_api.projects import contributions, needs
from makesense_api.projects import service as projects
from makesense_api.projects.schemas import ContributionView, NeedView, ProjectView

UNSET = strawberry.UNSET


@strawberry.input(description="Title and description in one more language.")
class ProjectTranslationInput:
    language: str = strawberry.field(description="BCP 47 tag.")
    title: str | None = strawberry.field(default=None, description="Translated title.")
    description: str | None = strawberry.field(default=None, description="Translated text.")


@strawberry.input(description="A new draft project; the caller owns it unless `ownerId` is set.")
class ProjectCreateInput:
    home_chapter_id: strawberry.ID = strawberry.field(description="The project's chapter.")
    slug: str = strawberry.field(description="Unique, lowercase, hyphenated.")
    title: str = strawberry.field(description="Title in the default language.")
    default_language: str = strawberry.field(description="BCP 47 tag of the default text.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    translations: list[ProjectTranslationInput] | None = strawberry.field(
        default=UNSET, description="Other languages."
    )
    causes: list[int] | None = strawberry.field(default=UNSET, description="SDGs, 1–17.")
    stage: str | None = strawberry.field(default=UNSET, description="idea (default), launch, …")
    owner_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Create on a person's behalf (the chapter's organizers)."
    )


@strawberry.input(description="Changes to a project; omitted fields stay as they are.")
class ProjectUpdateInput:
    id: strawberry.ID = strawberry.field(description="The project.")
    slug: str | None = strawberry.field(default=UNSET, description="New slug.")
    title: str | None = strawberry.field(default=UNSET, description="Title.")
    description: str | None = strawberry.field(default=UNSET, description="Description.")
    default_language: str | None = strawberry.field(default=UNSET, description="BCP 47 tag.")
    translations: list[ProjectTranslationInput] | None = strawberry.field(
        default=UNSET, description="Replaces all translations."
    )
    causes: list[int] | None = strawberry.field(default=UNSET, description="Replaces the SDGs.")
    stage: str | None = strawberry.field(default=UNSET, description="idea, launch, growth, scale.")


@strawberry.input(description="Make a draft project public.")
class ProjectPublishInput:
    id: strawberry.ID = strawberry.field(description="The draft project.")


@strawberry.input(description="Retire a published project; it stays public as a record.")
class ProjectArchiveInput:
    id: strawberry.ID = strawberry.field(description="The published project.")


@strawberry.input(description="Make a person a co-owner of a project.")
class ProjectAddOwnerInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")
    person_id: strawberry.ID = strawberry.field(description="The new co-owner.")


@strawberry.input(description="Remove a co-owner from a project (one owner always remains).")
class ProjectRemoveOwnerInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")
    person_id: strawberry.ID = strawberry.field(description="The owner leaving.")


@strawberry.input(description="Ask for help with a skill on a project.")
class NeedCreateInput:
    project_id: strawberry.ID = strawberry.field(description="The project.")
    skill: str = strawberry.field(description="The skill wanted.")
    title: str = strawberry.field(description="What the help is for.")
    description: str | None = strawberry.field(default=UNSET, description="Details.")


@strawberry.input(description="Changes to a need; omitted fields stay as they are.")
class NeedUpdateInput:
    id: strawberry.ID = strawberry.field(description="The need.")
    skill: str | None = strawberry.field(default=UNSET, description="The skill wanted.")
    title: str | None = strawberry.field(default=UNSET, description="What the help is for.")
    description: str | None = strawberry.field(default=UNSET, description="Details.")


@strawberry.input(description="Mark an open need as filled.")
class NeedFillInput:
    id: strawberry.ID = strawberry.field(description="The open need.")


@strawberry.input(description="Open a filled need again.")
class NeedReopenInput:
    id: strawberry.ID = strawberry.field(description="The filled need.")


@strawberry.input(description="Offer one's help on an open need of a published project.")
class ContributionOfferInput:
    need_id: strawberry.ID = strawberry.field(description="The need.")
    message: str | None = strawberry.field(default=UNSET, description="A note to the owners.")


@strawberry.input(description="Accept an offer of help.")
class ContributionAcceptInput:
    id: strawberry.ID = strawberry.field(description="The offered contribution.")


@strawberry.input(description="Decline an offer of help.")
class ContributionDeclineInput:
    id: strawberry.ID = strawberry.field(description="The offered contribution.")


@strawberry.input(description="Record an accepted contribution as done.")
class ContributionCompleteInput:
    id: strawberry.ID = strawberry.field(description="The accepted contribution.")
    hours: float = strawberry.field(description="Hours given, 0–10000.")


@strawberry.input(description="Take back an offer not yet answered.")
class ContributionWithdrawInput:
    id: strawberry.ID = strawberry.field(description="The caller's offered contribution.")


@strawberry.type(description="The project after the change.")
class ProjectPayload:
    project: Project = strawberry.field(description="The project.")


@strawberry.type(description="The need after the change.")
class NeedPayload:
    need: Need = strawberry.field(description="The need.")


@strawberry.type(description="The contribution after the change.")
class ContributionPayload:
    contribution: Contribution = strawberry.field(description="The contribution.")


@strawberry.type(description="The offer was withdrawn.")
class ContributionWithdrawPayload:
    withdrawn_id: strawberry.ID = strawberry.field(
        description="Global ID of the withdrawn contribution, to drop from client caches."
    )


ProjectResult = result_union(ProjectPayload, "ProjectResult")
NeedResult = result_union(NeedPayload, "NeedResult")
ContributionResult = result_union(ContributionPayload, "ContributionResult")
ContributionWithdrawResult = result_union(ContributionWithdrawPayload, "ContributionWithdrawResult")


def _project_data(input_: ProjectCreateInput | ProjectUpdateInput) -> dict[str, Any]:
    data = given(input_)
    data.pop("id", None)
    if data.get("translations") is not None:
        data["translations"] = {t.pop("language"): t for t in data["translations"]}
    return ids_in(data, home_chapter_id="Chapter", owner_id="Person")


def _without(input_: object, *keys: str) -> dict[str, Any]:
    """The fields given, minus the IDs that travel as separate service arguments."""
    return {k: v for k, v in given(input_).items() if k not in keys}


# Each runs the service call inside `attempt`, so that a malformed global ID, parsed within the
# call, becomes a typed ValidationError like any other input error.


async def _project(call: Callable[[], Awaitable[ProjectView]]) -> ProjectPayload | Error:
    async def run() -> ProjectPayload:
        return ProjectPayload(project=Project.from_view(await call()))

    return await attempt(run)


async def _need(call: Callable[[], Awaitable[NeedView]]) -> NeedPayload | Error:
    async def run() -> NeedPayload:
        return NeedPayload(need=Need.from_view(await call()))

    return await attempt(run)


async def _contribution(
    call: Callable[[], Awaitable[ContributionView]],
) -> ContributionPayload | Error:
    async def run() -> ContributionPayload:
        return ContributionPayload(contribution=Contribution.from_view(await call()))

    return await attempt(run)


@strawberry.type
class ProjectMutations:
    @strawberry.mutation(description="Create a draft project in a chapter you can see.")
    async def project_create(self, info: Info, input: ProjectCreateInput) -> ProjectResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _project(lambda: projects.create(ctx, _project_data(input)))

    @strawberry.mutation(description="Change a project's text, causes or stage (its managers).")
    async def project_update(self, info: Info, input: ProjectUpdateInput) -> ProjectResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _project(
            lambda: projects.update(ctx, expect_id(input.id, "Project"), _project_data(input))
        )

    @strawberry.mutation(description="Make a draft project public (its managers).")
    async def project_publish(self, info: Info, input: ProjectPublishInput) -> ProjectResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _project(lambda: projects.publish(ctx, expect_id(input.id, "Project")))

    @strawberry.mutation(description="Retire a published project (its managers).")
    async def project_archive(self, info: Info, input: ProjectArchiveInput) -> ProjectResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _project(lambda: projects.archive(ctx, expect_id(input.id, "Project")))

    @strawberry.mutation(description="Add a co-owner to a project (its managers).")
    async def project_add_owner(self, info: Info, input: ProjectAddOwnerInput) -> ProjectResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _project(
            lambda: projects.add_owner(
                ctx,
                expect_id(input.project_id, "Project", "projectId"),
                expect_id(input.person_id, "Person", "personId"),
            )
        )

    @strawberry.mutation(description="Remove a co-owner from a project (its managers).")
    async def project_remove_owner(
        self, info: Info, input: ProjectRemoveOwnerInput
    ) -> ProjectResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _project(
            lambda: projects.remove_owner(
                ctx,
                expect_id(input.project_id, "Project", "projectId"),
                expect_id(input.person_id, "Person", "personId"),
            )
        )

    @strawberry.mutation(description="Ask for help with a skill (the project's managers).")
    async def need_create(self, info: Info, input: NeedCreateInput) -> NeedResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _need(
            lambda: needs.create(
                ctx,
                expect_id(input.project_id, "Project", "projectId"),
                _without(input, "id", "project_id"),
            )
        )

    @strawberry.mutation(description="Change a need's skill or text (the project's managers).")
    async def need_update(self, info: Info, input: NeedUpdateInput) -> NeedResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _need(
            lambda: needs.update(
                ctx, expect_id(input.id, "Need"), _without(input, "id", "project_id")
            )
        )

    @strawberry.mutation(description="Mark an open need as filled (the project's managers).")
    async def need_fill(self, info: Info, input: NeedFillInput) -> NeedResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _need(lambda: needs.fill(ctx, expect_id(input.id, "Need")))

    @strawberry.mutation(description="Open a filled need again (the project's managers).")
    async def need_reopen(self, info: Info, input: NeedReopenInput) -> NeedResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _need(lambda: needs.reopen(ctx, expect_id(input.id, "Need")))

    @strawberry.mutation(
        description="Offer your help on an open need of a published project; offering again "
        "returns the existing offer."
    )
    async def contribution_offer(
        self, info: Info, input: ContributionOfferInput
    ) -> ContributionResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _contribution(
            lambda: contributions.offer(
                ctx, expect_id(input.need_id, "Need", "needId"), _without(input, "need_id")
            )
        )

    @strawberry.mutation(description="Accept an offer of help (the project's managers).")
    async def contribution_accept(
        self, info: Info, input: ContributionAcceptInput
    ) -> ContributionResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _contribution(
            lambda: contributions.accept(ctx, expect_id(input.id, "Contribution"))
        )

    @strawberry.mutation(description="Decline an offer of help (the project's managers).")
    async def contribution_decline(
        self, info: Info, input: ContributionDeclineInput
    ) -> ContributionResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _contribution(
            lambda: contributions.decline(ctx, expect_id(input.id, "Contribution"))
        )

    @strawberry.mutation(
        description="Record an accepted contribution as done, with the hours given (the "
        "project's managers)."
    )
    async def contribution_complete(
        self, info: Info, input: ContributionCompleteInput
    ) -> ContributionResult:  # type: ignore[valid-type]
        ctx = info.context.ctx
        return await _contribution(
            lambda: contributions.complete(
                ctx, expect_id(input.id, "Contribution"), {"hours": input.hours}
            )
        )

    @strawberry.mutation(description="Take back your offer before it is answered.")
    async def contribution_withdraw(
        self, info: Info, input: ContributionWithdrawInput
    ) -> ContributionWithdrawResult:  # type: ignore[valid-type]
        async def run() -> ContributionWithdrawPayload:
            raw = expect_id(input.id, "Contribution")
            await contributions.withdraw(info.context.ctx, raw)
            return ContributionWithdrawPayload(withdrawn_id=to_global_id("Contribution", raw))

        return await attempt(run)
