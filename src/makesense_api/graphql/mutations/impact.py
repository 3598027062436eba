"""Mobilisation goal mutations."""

from datetime import datetime

import strawberry

from makesense_api.graphql.context import Info
from makesense_api.graphql.errors import attempt, result_union
from makesense_api.graphql.inputs import given, ids_in
from makesense_api.graphql.relay import expect_id
from makesense_api.graphql.types.impact import Goal
from makesense_api.impact import service as impact

UNSET = strawberry.UNSET


@strawberry.input(description="A goal for exactly one chapter (its subtree) or one program.")
class GoalSetInput:
    target: int = strawberry.field(description="People to mobilise.")
    starts_at: datetime = strawberry.field(description="Mobilisation counts from this instant.")
    deadline: datetime = strawberry.field(description="When the target should be met.")
    chapter_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="The chapter (its admins set its goals)."
    )
    program_id: strawberry.ID | None = strawberry.field(
        default=UNSET, description="Or the program (its organizers set its goals)."
    )


@strawberry.input(description="Changes to a goal; omitted fields stay as they are.")
class GoalUpdateInput:
    id: strawberry.ID = strawberry.field(description="The goal.")
    target: int | None = strawberry.field(default=UNSET, description="People to mobilise.")
    starts_at: datetime | None = strawberry.field(default=UNSET, description="Counting start.")
    deadline: datetime | None = strawberry.field(default=UNSET, description="Deadline.")


@strawberry.type(description="The goal after the change.")
class GoalPayload:
    goal: Goal = strawberry.field(description="The goal.")


GoalResult = result_union(GoalPayload, "GoalResult")


@strawberry.type
class ImpactMutations:
    @strawberry.mutation(
        description="Set a mobilisation goal for a chapter's subtree (its admins) or for a "
        "program (its organizers)."
    )
    async def goal_set(self, info: Info, input: GoalSetInput) -> GoalResult:  # type: ignore[valid-type]
        async def run() -> GoalPayload:
            data = ids_in(given(input), chapter_id="Chapter", program_id="Program")
            return GoalPayload(goal=Goal.from_view(await impact.set_goal(info.context.ctx, data)))

        return await attempt(run)

    @strawberry.mutation(description="Change a goal's target or dates (whoever may set it).")
    async def goal_update(self, info: Info, input: GoalUpdateInput) -> GoalResult:  # type: ignore[valid-type]
        async def run() -> GoalPayload:
            data = given(input)
            goal_id = expect_id(data.pop("id"), "Goal")
            view = await impact.update_goal(info.context.ctx, goal_id, data)
            return GoalPayload(goal=Goal.from_view(view))

        return await attempt(run)
