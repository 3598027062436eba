"""`/v1/impact`: people mobilised per period, and goals with their progress."""

import uuid

from pydantic import Field

from makesense_api.authz.principal import Scope
from makesense_api.impact import service as impact
from makesense_api.impact.schemas import (
    GoalCreate,
    GoalProgress,
    GoalUpdate,
    GoalView,
    ImpactReport,
    ReportQuery,
)
from makesense_api.kit.pagination import Page
from makesense_api.rest import schemas
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import PageQuery

api = Registry("impact")
GOAL = "/impact/goals/{goal_id:uuid}"


class GoalQuery(PageQuery):
    chapter_id: uuid.UUID | None = Field(default=None, description="Goals of this chapter.")
    program_id: uuid.UUID | None = Field(default=None, description="Goals of this program.")


@api.get(
    "/impact/report", "Impact report", response=schemas.ImpactReport,
    anonymous=True, scope=Scope.IMPACT_READ,
)
async def impact_report(c: Call[ReportQuery, None]) -> ImpactReport:
    """People mobilised, events held and volunteer hours in a chapter's subtree or a program,
    per period (semesters by default). Totals are public; `detail=true` adds breakdowns by
    chapter and cause and the attendance rate, for members with `impact:read`."""
    return await impact.report(c.ctx, c.query)


@api.get(
    "/impact/goals", "List goals", response=schemas.Goal, collection=True,
    anonymous=True, scope=Scope.IMPACT_READ,
)
async def list_goals(c: Call[GoalQuery, None]) -> Page[GoalView]:
    """Goals of the chapters and programs the caller may see, by deadline."""
    q = c.query
    return await impact.list_goals(c.ctx, q.chapter_id, q.program_id, q.cursor, q.limit)


@api.post(
    "/impact/goals", "Set a goal", response=schemas.Goal, status=201,
    scope=Scope.IMPACT_WRITE, location=lambda v: f"/v1/impact/goals/{v.id}",
)
async def create_goal(c: Call[NoQuery, GoalCreate]) -> GoalView:
    """Set a mobilisation goal for a chapter's subtree (its admins) or a program (its
    organizers)."""
    return await impact.set_goal(c.ctx, c.body)


@api.get(GOAL, "Get a goal", response=schemas.Goal, anonymous=True, scope=Scope.IMPACT_READ)
async def get_goal(c: Call[NoQuery, None]) -> GoalView:
    """One goal, as visible as its chapter or program."""
    return await impact.get_goal(c.ctx, c.id("goal_id"))


@api.patch(
    GOAL, "Edit a goal", response=schemas.Goal, scope=Scope.IMPACT_WRITE,
    current=get_goal,
)
async def update_goal(c: Call[NoQuery, GoalUpdate]) -> GoalView:
    """Change a goal's target or dates (whoever may set it)."""
    return await impact.update_goal(c.ctx, c.id("goal_id"), c.body)


@api.get(
    GOAL + "/progress", "Goal progress", response=schemas.GoalProgress, anonymous=True,
    scope=Scope.IMPACT_READ,
)
async def goal_progress(c: Call[NoQuery, None]) -> GoalProgress:
    """People mobilised toward the goal so far, the share of the target reached, and the
    pace still needed per semester and per month."""
    return await impact.progress(c.ctx, c.id("goal_id"))
