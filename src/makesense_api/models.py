"""Every table model, imported once so the metadata (and Alembic) sees the whole schema."""

from sqlmodel import SQLModel

from makesense_api.chapters.models import Chapter, ChapterClosure
from makesense_api.events.models import (
    Event,
    EventCause,
    EventCohost,
    EventSeries,
    Registration,
)
from makesense_api.feeds.models import FeedToken
from makesense_api.impact.models import Goal, Mobilisation
from makesense_api.kit.models import DomainEvent, Tombstone
from makesense_api.oauth.models import AuthorizationCode, Consent, OAuthClient
from makesense_api.partners.models import PartnerGrant, PartnerOrganisation
from makesense_api.people.models import Account, Membership, Person, PersonCause, PersonSkill
from makesense_api.programs.models import Enrolment, Program, ProgramChapter
from makesense_api.projects.models import (
    Contribution,
    Need,
    Project,
    ProjectCause,
    ProjectOwner,
)
from makesense_api.rest.idempotency import IdempotencyKey
from makesense_api.tokens.models import AccessToken
from makesense_api.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

metadata = SQLModel.metadata

__all__ = [
    "AccessToken",
    "Account",
    "AuthorizationCode",
    "Chapter",
    "ChapterClosure",
    "Consent",
    "Contribution",
    "DomainEvent",
    "Enrolment",
    "Event",
    "EventCause",
    "EventCohost",
    "EventSeries",
    "FeedToken",
    "Goal",
    "IdempotencyKey",
    "Membership",
    "Mobilisation",
    "Need",
    "OAuthClient",
    "PartnerGrant",
    "PartnerOrganisation",
    "Person",
    "PersonCause",
    "PersonSkill",
    "Program",
    "ProgramChapter",
    "Project",
    "ProjectCause",
    "ProjectOwner",
    "Registration",
    "Tombstone",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
]
