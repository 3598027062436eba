"""`/v1/projects`, `/v1/needs`, `/v1/contributions`: projects, the help they need, offers."""

import uuid

from pydantic import Field

from makesense_api.authz.principal import Scope
from makesense_api.feeds import collections
from makesense_api.feeds.changes import Gone
from makesense_api.kit.pagination import Page
from makesense_api.projects import contributions, needs
from makesense_api.projects import service as projects
from makesense_api.projects.models import (
    ContributionStatus,
    NeedStatus,
    ProjectStage,
    ProjectStatus,
)
from makesense_api.projects.schemas import (
    ContributionDone,
    ContributionOffer,
    ContributionView,
    NeedCreate,
    NeedUpdate,
    NeedView,
    ProjectCreate,
    ProjectFilter,
    ProjectUpdate,
    ProjectView,
)
from makesense_api.rest import schemas
from makesense_api.rest.operations import Call, NoQuery, Registry
from makesense_api.rest.params import FeedQuery

api = Registry("projects")
PROJECT = "/projects/{project_id:uuid}"
NEED = "/needs/{need_id:uuid}"
CONTRIBUTION = "/contributions/{contribution_id:uuid}"


class ProjectQuery(FeedQuery):
    chapter_id: uuid.UUID | None = Field(
        default=None, description="Projects whose home chapter is in this chapter's subtree."
    )
    cause: int | None = Field(default=None, ge=1, le=17, description="A UN SDG, 1–17.")
    stage: ProjectStage | None = None
    status: ProjectStatus | None = None
    owner_id: uuid.UUID | None = None
    q: str | None = Field(default=None, max_length=200, description="Text in title or slug.")


class NeedQuery(FeedQuery):
    status: NeedStatus | None = None


class ContributionQuery(FeedQuery):
    need_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None
    status: ContributionStatus | None = None


@api.get(
    "/projects", "List projects", response=schemas.Project, collection=True, anonymous=True,
    scope=Scope.PROJECTS_READ, feed=True,
)
async def list_projects(
    c: Call[ProjectQuery, None],
) -> Page[ProjectView] | Page[ProjectView | Gone]:
    """Projects the caller may see, in creation order: published and archived ones for
    everyone, drafts for their owners and the home chapter's organizers."""
    q = c.query
    if q.updated_since is not None:
        return await projects.changes_since(c.ctx, q.updated_since, q.cursor, q.limit)
    flt = ProjectFilter(
        subtree=q.chapter_id, cause=q.cause, stage=q.stage, status=q.status,
        owner_id=q.owner_id, text=q.q,
    )
    return await projects.list_projects(c.ctx, flt, q.cursor, q.limit)


@api.post(
    "/projects", "Create a project", response=schemas.Project, status=201,
    scope=Scope.PROJECTS_WRITE, location=lambda v: f"/v1/projects/{v.id}",
)
async def create_project(c: Call[NoQuery, ProjectCreate]) -> ProjectView:
    """Create a draft project in a home chapter; the caller owns it, or an organizer of the
    home chapter creates it on `owner_id`'s behalf."""
    return await projects.create(c.ctx, c.body)


@api.get(
    PROJECT, "Get a project", response=schemas.Project, anonymous=True,
    scope=Scope.PROJECTS_READ,
)
async def get_project(c: Call[NoQuery, None]) -> ProjectView:
    """One project, if the caller may see it."""
    return await projects.get(c.ctx, c.id("project_id"))


@api.patch(
    PROJECT, "Edit a project", response=schemas.Project,
    scope=Scope.PROJECTS_WRITE, current=get_project,
)
async def update_project(c: Call[NoQuery, ProjectUpdate]) -> ProjectView:
    """Change the fields given (owners and organizers of the home chapter); send `If-Match`
    to be sure nobody changed it meanwhile."""
    return await projects.update(c.ctx, c.id("project_id"), c.body)


@api.post(
    PROJECT + "/publish", "Publish a project", response=schemas.Project,
    scope=Scope.PROJECTS_WRITE, conflicts=True,
)
async def publish_project(c: Call[NoQuery, None]) -> ProjectView:
    """Make a draft project public."""
    return await projects.publish(c.ctx, c.id("project_id"))


@api.post(
    PROJECT + "/archive", "Archive a project", response=schemas.Project,
    scope=Scope.PROJECTS_WRITE, conflicts=True,
)
async def archive_project(c: Call[NoQuery, None]) -> ProjectView:
    """Retire a published project; it stays public as a record."""
    return await projects.archive(c.ctx, c.id("project_id"))


# -- needs ---------------------------------------------------------------------------------


@api.get(
    PROJECT + "/needs", "List a project's needs", response=schemas.Need, collection=True,
    anonymous=True, scope=Scope.PROJECTS_READ, feed=True,
)
async def list_needs(c: Call[NeedQuery, None]) -> Page[NeedView] | Page[NeedView | Gone]:
    """A visible project's needs in creation order, optionally only open or filled ones."""
    q = c.query
    if q.updated_since is not None:
        return await collections.need_changes(
            c.ctx, c.id("project_id"), q.updated_since, q.cursor, q.limit
        )
    status = q.status.value if q.status else None
    return await needs.list_needs(c.ctx, c.id("project_id"), status, q.cursor, q.limit)


@api.post(
    PROJECT + "/needs", "Add a need", response=schemas.Need, status=201,
    scope=Scope.PROJECTS_WRITE, location=lambda v: f"/v1/needs/{v.id}", conflicts=True,
)
async def create_need(c: Call[NoQuery, NeedCreate]) -> NeedView:
    """Ask for help with a skill on a project (its managers)."""
    return await needs.create(c.ctx, c.id("project_id"), c.body)


@api.get(NEED, "Get a need", response=schemas.Need, anonymous=True, scope=Scope.PROJECTS_READ)
async def get_need(c: Call[NoQuery, None]) -> NeedView:
    """One need of a project the caller may see."""
    return await needs.get(c.ctx, c.id("need_id"))


@api.patch(
    NEED, "Edit a need", response=schemas.Need, scope=Scope.PROJECTS_WRITE,
    current=get_need,
)
async def update_need(c: Call[NoQuery, NeedUpdate]) -> NeedView:
    """Change a need's skill or text (the project's managers)."""
    return await needs.update(c.ctx, c.id("need_id"), c.body)


@api.post(
    NEED + "/fill", "Mark a need filled", response=schemas.Need, scope=Scope.PROJECTS_WRITE,
    conflicts=True,
)
async def fill_need(c: Call[NoQuery, None]) -> NeedView:
    """Mark an open need as filled (the project's managers)."""
    return await needs.fill(c.ctx, c.id("need_id"))


@api.post(
    NEED + "/reopen", "Reopen a need", response=schemas.Need, scope=Scope.PROJECTS_WRITE,
    conflicts=True,
)
async def reopen_need(c: Call[NoQuery, None]) -> NeedView:
    """Open a filled need again (the project's managers)."""
    return await needs.reopen(c.ctx, c.id("need_id"))


# -- contributions -------------------------------------------------------------------------


@api.post(
    NEED + "/contributions", "Offer help", response=schemas.Contribution, status=201,
    body_required=False, scope=Scope.PROJECTS_WRITE,
    location=lambda v: f"/v1/contributions/{v.id}", conflicts=True,
)
async def offer_help(c: Call[NoQuery, ContributionOffer]) -> ContributionView:
    """Offer one's help on an open need of a published project, as oneself; offering again
    returns the existing offer."""
    return await contributions.offer(c.ctx, c.id("need_id"), c.body)


@api.get(
    "/contributions", "List contributions", response=schemas.Contribution, collection=True,
    scope=Scope.PROJECTS_READ, feed=True,
)
async def list_contributions(
    c: Call[ContributionQuery, None],
) -> Page[ContributionView] | Page[ContributionView | Gone]:
    """Contributions the caller may see (their own, and those on projects they manage), in
    offer order. With `updated_since`, withdrawn offers and those the caller no longer
    manages come back as gone."""
    q = c.query
    if q.updated_since is not None:
        return await collections.contribution_changes(c.ctx, q.updated_since, q.cursor, q.limit)
    status = q.status.value if q.status else None
    return await contributions.list_contributions(
        c.ctx, q.need_id, q.project_id, q.person_id, status, q.cursor, q.limit
    )


@api.get(
    CONTRIBUTION, "Get a contribution", response=schemas.Contribution,
    scope=Scope.PROJECTS_READ,
)
async def get_contribution(c: Call[NoQuery, None]) -> ContributionView:
    """One contribution, for its contributor or the project's managers."""
    return await contributions.get(c.ctx, c.id("contribution_id"))


@api.post(
    CONTRIBUTION + "/accept", "Accept an offer", response=schemas.Contribution,
    scope=Scope.PROJECTS_WRITE, conflicts=True,
)
async def accept_contribution(c: Call[NoQuery, None]) -> ContributionView:
    """Accept an offer (the project's managers)."""
    return await contributions.accept(c.ctx, c.id("contribution_id"))


@api.post(
    CONTRIBUTION + "/decline", "Decline an offer", response=schemas.Contribution,
    scope=Scope.PROJECTS_WRITE, conflicts=True,
)
async def decline_contribution(c: Call[NoQuery, None]) -> ContributionView:
    """Decline an offer (the project's managers)."""
    return await contributions.decline(c.ctx, c.id("contribution_id"))


@api.post(
    CONTRIBUTION + "/complete", "Record help as done", response=schemas.Contribution,
    scope=Scope.PROJECTS_WRITE, conflicts=True,
)
async def complete_contribution(c: Call[NoQuery, ContributionDone]) -> ContributionView:
    """Record an accepted contribution as done, with the hours given (the project's
    managers)."""
    return await contributions.complete(c.ctx, c.id("contribution_id"), c.body)


@api.delete(
    CONTRIBUTION, "Withdraw an offer", response=None, scope=Scope.PROJECTS_WRITE,
    conflicts=True,
)
async def withdraw_contribution(c: Call[NoQuery, None]) -> None:
    """The contributor takes back an offer not answered yet."""
    await contributions.withdraw(c.ctx, c.id("contribution_id"))
