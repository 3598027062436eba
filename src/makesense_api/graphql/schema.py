"""The schema object: root Query and Mutation merged from the per-domain modules."""

import strawberry
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

from makesense_api.graphql.mutations.access import AccessMutations
from makesense_api.graphql.mutations.account import AccountMutations
from makesense_api.graphql.mutations.chapters import ChapterMutations
from makesense_api.graphql.mutations.events import EventMutations
from makesense_api.graphql.mutations.feeds import FeedMutations
from makesense_api.graphql.mutations.impact import ImpactMutations
from makesense_api.graphql.mutations.people import PeopleMutations
from makesense_api.graphql.mutations.programs import ProgramMutations
from makesense_api.graphql.mutations.projects import ProjectMutations
from makesense_api.graphql.mutations.webhooks import WebhookMutations
from makesense_api.graphql.queries import CoreQueries
from makesense_api.graphql.queries_access import AccessQueries
from makesense_api.graphql.queries_events import EventQueries
from makesense_api.graphql.queries_programs import ProgramQueries
from makesense_api.graphql.queries_projects import ProjectQueries
from makesense_api.graphql.subscriptions import Subscription
from makesense_api.graphql.types.access import (
    OAuthClient,
    Partner,
    PartnerGrant,
    PersonalAccessToken,
)
from makesense_api.graphql.types.chapters import Membership
from makesense_api.graphql.types.events import EventSeries, Registration
from makesense_api.graphql.types.impact import Goal
from makesense_api.graphql.types.people import Person
from makesense_api.graphql.types.programs import Enrolment
from makesense_api.graphql.types.webhooks import WebhookDelivery, WebhookQueries

Query = merge_types(
    "Query",
    (CoreQueries, ProjectQueries, EventQueries, ProgramQueries, AccessQueries, WebhookQueries),
)
Mutation = merge_types(
    "Mutation",
    (
        ChapterMutations,
        PeopleMutations,
        AccountMutations,
        ProjectMutations,
        EventMutations,
        FeedMutations,
        ProgramMutations,
        ImpactMutations,
        AccessMutations,
        WebhookMutations,
    ),
)
Query.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Read the federation: chapters, people, projects, events, programs and impact."
)
Mutation.__strawberry_definition__.description = (  # type: ignore[attr-defined]
    "Change the federation. Each mutation takes one `input` and returns its result or a typed "
    "error; a failed mutation changes nothing."
)

# Types reachable only through `node(id:)` or unions must be listed explicitly.
EXTRA_TYPES: list[type] = [Person, Membership, Registration, EventSeries, Enrolment, Goal]
EXTRA_TYPES += [OAuthClient, Partner, PartnerGrant, PersonalAccessToken]
EXTRA_TYPES += [WebhookDelivery]


def build_schema(*, suggestions: bool = True) -> strawberry.Schema:
    """The schema; field suggestions are turned off in production."""
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=EXTRA_TYPES,
        config=StrawberryConfig(disable_field_suggestions=not suggestions),
    )


schema = build_schema()
