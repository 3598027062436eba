"""Response bodies of the REST surface: the public contract, built from the services' read models.

Each model reads a service view by attribute (`from_attributes`), so the REST shape is stated
here once and the services stay transport-free. `content_language` names the attribute that
holds the language the multilingual text was chosen in (it becomes `Content-Language`).
"""

import uuid
from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    content_language: ClassVar[str | None] = None


class Deleted(Out):
    """In a change feed: an item to drop, deleted or no longer visible to the caller."""

    id: uuid.UUID
    deleted: Literal[True] = True
    deleted_at: datetime = Field(description="When it was deleted or last changed.")


# -- chapters ----------------------------------------------------------------------------


class Contact(Out):
    """A public contact channel of a chapter; private ones are shown to its members only."""

    kind: str = Field(description="whatsapp, email, video, …")
    value: str
    private: bool = Field(description="Shown to the chapter's members only.")


class Chapter(Out):
    """A node of the federation tree: network, region, country, city or neighbourhood."""

    content_language: ClassVar[str | None] = "language"

    id: uuid.UUID
    slug: str
    name: str = Field(description="In `language`, chosen by Accept-Language.")
    description: str | None
    language: str = Field(description="BCP 47 tag of the language `name` is given in.")
    kind: str
    parent_id: uuid.UUID | None
    depth: int = Field(description="0 for the network's root.")
    country_code: str | None = Field(description="ISO 3166-1 alpha-2.")
    city: str | None
    timezone: str = Field(description="IANA time zone.")
    languages: list[str] = Field(description="Languages spoken in the chapter (BCP 47).")
    latitude: float | None
    longitude: float | None
    status: str = Field(description="active, dormant or closed.")
    contacts: list[Contact]
    created_at: datetime
    updated_at: datetime


# -- events ------------------------------------------------------------------------------


class Event(Out):
    """An event hosted by a chapter. `online_url` is shown to registered people and organizers
    only, `check_in_code` to organizers only."""

    content_language: ClassVar[str | None] = "text_language"

    id: uuid.UUID
    chapter_id: uuid.UUID = Field(description="The host chapter.")
    cohost_ids: list[uuid.UUID]
    project_id: uuid.UUID | None
    program_id: uuid.UUID | None
    series_id: uuid.UUID | None
    title: str = Field(description="In `text_language`, chosen by Accept-Language.")
    description: str | None
    text_language: str = Field(description="BCP 47 tag of the language of title and description.")
    format: str = Field(description="in_person, online or hybrid.")
    venue_name: str | None
    venue_address: str | None
    latitude: float | None
    longitude: float | None
    online_url: str | None
    starts_at: datetime = Field(description="UTC instant.")
    ends_at: datetime = Field(description="UTC instant.")
    starts_local: datetime = Field(description="The start in the event's zone, with its offset.")
    ends_local: datetime = Field(description="The end in the event's zone, with its offset.")
    timezone: str = Field(description="IANA zone the event happens in.")
    language: str = Field(description="BCP 47 tag of the language spoken at the event.")
    country_code: str | None
    causes: list[int] = Field(description="UN Sustainable Development Goals, 1–17.")
    capacity: int | None = Field(description="null: unlimited.")
    seats_taken: int
    seats_left: int | None = Field(description="null when the capacity is unlimited.")
    waitlist_enabled: bool
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    visibility: str = Field(description="public or members.")
    status: str = Field(description="draft, published or cancelled.")
    sequence: int = Field(description="Revision number (iCalendar SEQUENCE).")
    published_at: datetime | None
    cancelled_at: datetime | None
    check_in_code: str | None
    viewer_registration: str | None = Field(
        description="The caller's own registration status at this event, if any."
    )
    created_at: datetime
    updated_at: datetime


class Registration(Out):
    """A person's place at an event: registered, waitlisted, cancelled, attended or no_show."""

    id: uuid.UUID
    event_id: uuid.UUID
    person_id: uuid.UUID
    status: str
    queued_at: datetime = Field(description="Arrival order; the waitlist is first in, first out.")
    waitlist_position: int | None = Field(description="1 = next promoted; null unless waitlisted.")
    promoted_at: datetime | None
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    client_id: str | None = Field(description="The OAuth client that made the registration.")
    created_at: datetime
    updated_at: datetime


# -- projects ----------------------------------------------------------------------------


class Owner(Out):
    """An owner of a project."""

    person_id: uuid.UUID
    display_name: str


class Project(Out):
    """A social or environmental entrepreneur's project."""

    content_language: ClassVar[str | None] = "language"

    id: uuid.UUID
    slug: str
    title: str = Field(description="In `language`, chosen by Accept-Language.")
    description: str | None
    language: str = Field(description="BCP 47 tag of the language of title and description.")
    default_language: str
    home_chapter_id: uuid.UUID
    stage: str = Field(description="idea, launch, growth or scale.")
    status: str = Field(description="draft, published or archived.")
    causes: list[int]
    owners: list[Owner]
    created_at: datetime
    updated_at: datetime


class Need(Out):
    """Help a project asks for: a skill, open until its managers mark it filled."""

    id: uuid.UUID
    project_id: uuid.UUID
    skill: str
    title: str
    description: str | None
    status: str = Field(description="open or filled.")
    created_at: datetime
    updated_at: datetime


class Contribution(Out):
    """An offer of help on a need, seen by the contributor and the project's managers."""

    id: uuid.UUID
    need_id: uuid.UUID
    project_id: uuid.UUID
    person_id: uuid.UUID
    display_name: str
    status: str = Field(description="offered, accepted, declined or done.")
    message: str | None
    hours: float | None
    created_at: datetime
    updated_at: datetime


# -- programs ----------------------------------------------------------------------------


class Program(Out):
    """A mobilisation program across chapters; `private_links` only for enrolled people and
    organizers."""

    content_language: ClassVar[str | None] = "language"

    id: uuid.UUID
    slug: str
    title: str
    description: str | None
    language: str = Field(description="BCP 47 tag of the language of title and description.")
    chapter_id: uuid.UUID = Field(description="The organizing chapter.")
    chapter_ids: list[uuid.UUID] = Field(description="Every chapter taking part.")
    channels: list[str]
    private_links: dict[str, str] | None
    starts_at: datetime
    ends_at: datetime
    target_people: int
    status: str = Field(description="draft, published or archived.")
    viewer_enrolment: str | None = Field(description="The caller's own enrolment status, if any.")
    created_at: datetime
    updated_at: datetime


class ProgramEvent(Out):
    """An event linked to a program."""

    id: uuid.UUID
    chapter_id: uuid.UUID
    title: str
    language: str
    format: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    status: str


class Enrolment(Out):
    """A person taking part in a program, through one chapter."""

    id: uuid.UUID
    program_id: uuid.UUID
    person_id: uuid.UUID
    chapter_id: uuid.UUID
    status: str = Field(description="enrolled, completed or dropped.")
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime


# -- people ------------------------------------------------------------------------------


class Person(Out):
    """A volunteer's profile; `email` and `phone` only for the person and their organizers."""

    id: uuid.UUID
    display_name: str
    city: str | None
    country_code: str | None
    bio: str | None
    languages: list[str]
    skills: list[str]
    causes: list[int]
    home_chapter_id: uuid.UUID | None
    open_to_matching: bool
    email: str | None
    phone: str | None
    created_at: datetime
    updated_at: datetime


class Membership(Out):
    """A person's membership of a chapter, with their role there."""

    id: uuid.UUID
    person_id: uuid.UUID
    chapter_id: uuid.UUID
    role: str = Field(description="member, organizer or admin.")
    created_at: datetime


class Me(Out):
    """The caller: the token's subject, scopes and reach, and the person's own profile."""

    person: Person | None = Field(description="Null for partner tokens or without `profile`.")
    partner_id: uuid.UUID | None
    client_id: str | None
    scopes: list[str]
    reach: list[uuid.UUID] | None = Field(
        description="Chapters whose subtrees bound the token; null: unrestricted."
    )


# -- impact ------------------------------------------------------------------------------


class ChapterCount(Out):
    """Distinct people mobilised in one chapter's subtree."""

    chapter_id: uuid.UUID
    slug: str
    name: str
    people: int


class CauseCount(Out):
    """Distinct people mobilised for one Sustainable Development Goal."""

    cause: int
    people: int


class PeriodFigures(Out):
    """One period's figures; the detail fields are null unless the caller may read them."""

    label: str = Field(description="2026-H1, 2026-Q3, 2026-05, 2026 …")
    start: datetime
    end: datetime
    mobilised: int = Field(description="Distinct people mobilised within the period.")
    events_held: int
    volunteer_hours: float
    attended: int | None
    no_shows: int | None
    attendance_rate: float | None
    by_chapter: list[ChapterCount] | None
    by_cause: list[CauseCount] | None


class ImpactReport(Out):
    """Mobilisation figures of a chapter's subtree or a program, one entry per period."""

    chapter_id: uuid.UUID | None
    program_id: uuid.UUID | None
    period: str
    detailed: bool
    periods: list[PeriodFigures]


class Goal(Out):
    """A mobilisation goal of a chapter's subtree or of a program."""

    id: uuid.UUID
    chapter_id: uuid.UUID | None
    program_id: uuid.UUID | None
    metric: str
    target: int
    starts_at: datetime
    deadline: datetime
    created_at: datetime
    updated_at: datetime


class GoalProgress(Out):
    """How far a goal is, and the pace still needed (null once the deadline has passed)."""

    goal: Goal
    as_of: datetime
    mobilised: int
    remaining: int
    percent: float
    semesters_left: int
    per_semester: int | None
    months_left: int
    per_month: int | None
