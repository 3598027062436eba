"""The demo network's activity: events, registrations, programs, enrolments and goals.

- Events past and upcoming in sixteen chapters and ten time zones, in person, online and
  hybrid, in eight languages; many linked to projects, some to programs; members-only ones,
  a cancelled one, a draft, and one whose registration opens later.
- A weekly series, "Atelier du mardi" at 19:00 Europe/Paris, from four weeks before the seed
  date to three weeks after the next daylight-saving change, so its UTC start moves while the
  wall-clock time stays.
- A full event with a waitlist: its seats are taken, several people wait, and one cancellation
  promoted the first of them.
- Registrations on past events with their check-ins (attended, no-show, and a few cancelled or
  never checked); registrations on upcoming ones.
- Two programs: "Climate Week" (network-wide, over WhatsApp and Zoom, a recent week, now
  archived) and the year-long "Zero Waste Challenge" (Europe and Morocco, by e-mail), each with
  enrolments, some completed, some dropped.
- Goals: the network's 180,000,000 people mobilised by 2031-12-31T23:59:59Z, one per region
  (adding up to the network's), one per program.

Dates are placed relative to the seed date, so a fresh demo always has upcoming events; given
the same date the content is the same. Upcoming events, the series, registrations, check-ins,
programs, enrolments and goals go through their services. The services rightly refuse to publish
or register for an event that has ended, so a past event is created by the service as a draft,
then published and given its registrations as rows, keeping what the services guarantee:
`seats_taken` counts the seated registrations (registered, attended, no-show) and never exceeds
the capacity, and everyone queued (`queued_at`) before the event started. Its check-ins then go
through the check-in service like any other.
"""

import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from makesense_api.chapters.schemas import ChapterView
from makesense_api.context import Ctx
from makesense_api.events import checkin, recurrence, registrations
from makesense_api.events import service as events
from makesense_api.events.access import forget
from makesense_api.events.changes import check_in_code
from makesense_api.events.models import (
    Event,
    EventFormat,
    EventStatus,
    EventVisibility,
    Registration,
    RegistrationStatus,
)
from makesense_api.impact import service as impact
from makesense_api.programs import enrolments, participants
from makesense_api.programs import service as programs
from makesense_api.projects.models import Project

ACTIVITY_RANDOM_SEED = 2031_06
NETWORK_TARGET = 180_000_000
GOALS_START = datetime(2022, 1, 1, tzinfo=UTC)
NETWORK_DEADLINE = datetime(2031, 12, 31, 23, 59, 59, tzinfo=UTC)
# Regional shares of the network goal (they add up to it).
REGION_TARGETS: Mapping[str, int] = {
    "europe": 40_000_000,
    "africa": 55_000_000,
    "mena": 20_000_000,
    "latin-america": 35_000_000,
    "asia": 30_000_000,
}
SERIES_ZONE = "Europe/Paris"

IN_PERSON, ONLINE, HYBRID = EventFormat.IN_PERSON, EventFormat.ONLINE, EventFormat.HYBRID
MEMBERS = EventVisibility.MEMBERS


@dataclass(frozen=True)
class ActivitySummary:
    events: int
    series: int
    registrations: int
    programs: int
    enrolments: int
    goals: int


@dataclass(frozen=True)
class Network:
    """What the activity is built on: the chapters by slug, and who lives where."""

    chapters: Mapping[str, ChapterView]
    residents: Mapping[str, Sequence[uuid.UUID]]  # chapter slug → its volunteers

    def parent(self, slug: str) -> str | None:
        parent_id = self.chapters[slug].parent_id
        return next((s for s, c in self.chapters.items() if c.id == parent_id), None)

    def within(self, slug: str, ancestor: str) -> bool:
        node: str | None = slug
        while node is not None:
            if node == ancestor:
                return True
            node = self.parent(node)
        return False

    def pool(self, slug: str) -> list[uuid.UUID]:
        """Who comes to a chapter's events: its city (with the neighbourhoods), or the whole
        subtree of a country, region or the network."""
        base = slug
        if self.chapters[slug].kind == "neighbourhood":
            base = self.parent(slug) or slug
        return [p for s, ids in self.residents.items() if self.within(s, base) for p in ids]


@dataclass(frozen=True)
class _Event:
    chapter: str
    day: int  # days from the seed date (from the program's first day for program events)
    at: str  # local wall-clock start
    minutes: int
    format: EventFormat
    language: str
    title: str
    causes: tuple[int, ...]
    capacity: int | None = None
    people: int = 8  # registrations to make
    venue: str | None = None
    address: str | None = None
    description: str | None = None
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    visibility: EventVisibility = EventVisibility.PUBLIC
    project: str | None = None  # slug of a linked project
    program: str | None = None  # slug of a linked program
    opens_in: int | None = None  # registration opens that many days after the seed date
    cancelled: bool = False
    draft: bool = False
    waitlist_demo: bool = False  # over-subscribed on purpose, then one cancellation


PAST: tuple[_Event, ...] = (
    _Event("makesense", -70, "15:00", 90, ONLINE, "en", "Global volunteers' town hall", (17,),
           people=14,
           description="Chapters from five continents share their half-year and what comes "
                       "next.",
           translations={"fr": {"title": "Assemblée mondiale des bénévoles"},
                         "es": {"title": "Asamblea mundial de voluntarios"},
                         "pt-BR": {"title": "Assembleia global de voluntários"}}),
    _Event("madrid", -60, "19:00", 120, IN_PERSON, "es", "Taller de huertos urbanos", (2, 11),
           capacity=25, people=9, venue="Huerto de Tetuán", address="Calle de Bravo Murillo, "
           "Madrid", project="huertos-urbanos-madrid"),
    _Event("casablanca", -52, "18:00", 120, IN_PERSON, "fr",
           "Souk circulaire : atelier réparation", (12, 8), capacity=30, people=9,
           venue="Les Abattoirs", address="Hay Mohammadi, Casablanca",
           project="souk-circulaire",
           translations={"ar": {"title": "السوق الدائري: ورشة إصلاح"}}),
    _Event("paris", -45, "19:00", 120, IN_PERSON, "fr",
           "Apéro-projets : rencontrez les entrepreneurs du quartier", (11, 12),
           capacity=40, people=12, venue="La Recyclerie", address="Paris 18e",
           description="Trois porteurs de projet présentent leurs besoins ; on trinque et on "
                       "s'engage.",
           translations={"en": {"title": "Project drinks: meet the local entrepreneurs"}}),
    _Event("jakarta", -41, "09:00", 120, HYBRID, "id", "Pelatihan bank sampah digital", (12, 11),
           capacity=30, people=8, venue="Balai Warga Menteng", address="Jakarta Pusat",
           project="bank-sampah-digital",
           translations={"en": {"title": "Digital waste bank training"}}),
    _Event("dakar", -38, "16:00", 180, IN_PERSON, "fr",
           "Set Setal : grand nettoyage de la plage de Yoff", (14, 12), capacity=60, people=12,
           venue="Plage de Yoff", address="Yoff, Dakar", project="set-setal-plastique"),
    _Event("paris-goutte-d-or", -33, "14:00", 150, IN_PERSON, "fr",
           "Chantier participatif au jardin", (11, 15, 2), capacity=20, people=8,
           venue="Jardin de la Goutte d'Or", address="Paris 18e"),
    _Event("mexico-city", -31, "10:00", 180, IN_PERSON, "es",
           "Instalación de captación de lluvia en una escuela", (6,), capacity=20, people=8,
           venue="Escuela primaria de Iztapalapa", address="Iztapalapa, CDMX",
           project="agua-limpia-cdmx"),
    _Event("barcelona", -26, "18:00", 90, HYBRID, "ca", "Assemblea oberta d'energia comunitària",
           (7, 13), people=10, venue="Ateneu de Gràcia", address="Gràcia, Barcelona",
           project="energia-comunitaria-bcn",
           translations={"es": {"title": "Asamblea abierta de energía comunitaria"},
                         "en": {"title": "Open assembly on community energy"}}),
    _Event("sao-paulo", -24, "09:00", 240, IN_PERSON, "pt-BR", "Mutirão na horta comunitária",
           (2, 11), capacity=35, people=10, venue="Horta da Laje", address="Zona Leste, São Paulo",
           project="horta-na-laje"),
    _Event("paris-belleville", -20, "10:00", 180, IN_PERSON, "fr", "Repair Café du samedi", (12,),
           capacity=25, people=10, venue="Maison de quartier de Belleville", address="Paris 20e",
           project="repair-cafe-belleville"),
    _Event("lagos", -17, "11:00", 240, IN_PERSON, "en", "E-waste collection day", (12,),
           capacity=50, people=11, venue="Yaba Tech Hub", address="Yaba, Lagos",
           project="lagos-e-waste-hub"),
    _Event("manila", -15, "07:00", 180, IN_PERSON, "en", "Mangrove planting at Manila Bay",
           (14, 13, 15), capacity=40, people=11, venue="Las Piñas wetland park",
           address="Las Piñas, Metro Manila", project="mangrove-guardians",
           translations={"fil": {"title": "Pagtatanim ng bakawan sa Manila Bay"}}),
    _Event("lyon", -12, "18:30", 120, HYBRID, "fr", "Hackathon citoyen : mobilité douce", (11, 13),
           capacity=30, people=10, venue="Tubà", address="Lyon Part-Dieu"),
    _Event("beirut", -10, "17:00", 90, ONLINE, "ar", "ورشة عمل: الطاقة الشمسية للعيادات", (7, 3),
           people=8, project="beirut-solar-clinics",
           translations={"en": {"title": "Workshop: solar power for clinics"},
                         "fr": {"title": "Atelier : l'énergie solaire pour les cliniques"}}),
    _Event("europe", -5, "18:00", 60, ONLINE, "en", "Webinar: measuring impact in your chapter",
           (17,), people=10, visibility=MEMBERS,
           description="For chapter organizers: counting mobilised people and reporting them."),
)

UPCOMING: tuple[_Event, ...] = (
    _Event("barcelona", 4, "18:00", 90, ONLINE, "en", "Community energy: open call for volunteers",
           (7, 13), people=6, project="energia-comunitaria-bcn",
           translations={"ca": {"title": "Energia comunitària: crida oberta al voluntariat"}}),
    _Event("paris-belleville", 6, "10:00", 180, IN_PERSON, "fr", "Repair Café spécial vélos",
           (12, 11), capacity=10, people=15, venue="Maison de quartier de Belleville",
           address="Paris 20e", project="repair-cafe-belleville", waitlist_demo=True,
           description="Dix places à l'atelier ; inscrivez-vous sur liste d'attente si c'est "
                       "complet.",
           translations={"en": {"title": "Repair Café: bicycle special"}}),
    _Event("sao-paulo", 7, "10:00", 180, IN_PERSON, "pt-BR", "Oficina de moda circular", (12, 5),
           capacity=20, people=7, venue="Galpão Moda Circular", address="Brás, São Paulo",
           project="moda-circular-sp"),
    _Event("lagos", 8, "10:00", 360, HYBRID, "en", "Code for Girls: open bootcamp day", (4, 5),
           capacity=30, people=8, venue="Yaba Tech Hub", address="Yaba, Lagos",
           project="code-for-girls-lagos"),
    _Event("paris", 9, "19:00", 120, IN_PERSON, "fr", "Apéro-projets : pitchs et coups de main",
           (11, 12), capacity=40, people=8, venue="La Recyclerie", address="Paris 18e",
           translations={"en": {"title": "Project drinks: pitches and helping hands"}}),
    _Event("manila", 10, "18:00", 90, ONLINE, "fil", "Kwentuhan tungkol sa zero waste sa barangay",
           (12, 11), people=6, translations={"en": {"title": "Zero-waste talk for barangays"}}),
    _Event("dakar", 11, "16:00", 150, IN_PERSON, "fr", "Atelier compostage au marché Castors",
           (12, 2), capacity=30, people=7, venue="Marché Castors", address="Dakar"),
    _Event("jakarta", 12, "19:00", 90, ONLINE, "id", "Diskusi daring: ekonomi sirkular", (12, 8),
           people=6, translations={"en": {"title": "Online discussion: the circular economy"}}),
    _Event("lyon", 13, "18:30", 120, HYBRID, "fr", "Atelier : lancer son projet à impact", (8, 4),
           capacity=25, people=6, venue="Tubà", address="Lyon Part-Dieu"),
    _Event("beirut", 14, "18:00", 60, ONLINE, "en", "Online tutoring: volunteer onboarding",
           (4, 10), people=6, project="tutoring-without-borders",
           translations={"ar": {"title": "التدريس عبر الإنترنت: استقبال المتطوعين"}}),
    _Event("madrid", 16, "19:00", 90, IN_PERSON, "es", "Charla: emprendimiento social en Madrid",
           (8, 10), capacity=50, people=7, venue="La Casa Encendida", address="Lavapiés, Madrid"),
    _Event("mexico-city", 18, "11:00", 180, IN_PERSON, "es",
           "Mercado de productores: jornada de voluntariado", (2, 12), capacity=30, people=6,
           venue="Embarcadero de Xochimilco", address="Xochimilco, CDMX", visibility=MEMBERS,
           project="mercado-de-productores"),
    _Event("casablanca", 20, "18:00", 120, IN_PERSON, "ar", "السوق الدائري: جمع الملابس", (12,),
           capacity=40, people=6, venue="Les Abattoirs", address="Hay Mohammadi, Casablanca",
           project="souk-circulaire",
           translations={"fr": {"title": "Souk circulaire : collecte de vêtements"}}),
    _Event("lyon", 22, "10:00", 120, IN_PERSON, "fr", "Balade vélo solidaire", (11, 13),
           capacity=20, people=3, venue="Place Bellecour", address="Lyon 2e", cancelled=True,
           project="velo-solidaire-lyon"),
    _Event("makesense", 25, "15:00", 90, ONLINE, "en", "Global town hall: half-year impact review",
           (17,), people=0, opens_in=5,
           description="Every six months the network reviews how many people it mobilised.",
           translations={"fr": {"title": "Assemblée mondiale : bilan d'impact semestriel"},
                         "es": {"title": "Asamblea mundial: balance de impacto semestral"}}),
    _Event("paris", 30, "09:30", 480, HYBRID, "fr", "Défi Zéro Déchet : journée mi-parcours",
           (12,), capacity=60, people=8, venue="La Recyclerie", address="Paris 18e",
           program="zero-waste-challenge",
           translations={"en": {"title": "Zero Waste Challenge: halfway day"}}),
    _Event("madrid", 40, "10:00", 180, IN_PERSON, "es", "Taller de reparación de electrodomésticos",
           (12,), capacity=15, people=0, venue="Huerto de Tetuán", address="Madrid", draft=True),
)

# Climate Week's events; `day` counts from the week's Monday.
CLIMATE_WEEK_EVENTS: tuple[_Event, ...] = (
    _Event("makesense", 0, "14:00", 90, ONLINE, "en", "Climate Week opening live", (13,),
           people=14, program="climate-week",
           translations={"fr": {"title": "Climate Week : le direct d'ouverture"}}),
    _Event("paris", 1, "19:00", 180, ONLINE, "fr", "Fresque du Climat en ligne", (13,),
           capacity=24, people=12, program="climate-week",
           translations={"en": {"title": "Climate Fresk online"}}),
    _Event("dakar", 2, "17:00", 120, HYBRID, "fr", "Forum jeunesse et climat", (13, 4),
           capacity=40, people=9, venue="Maison des jeunes de Ouakam", address="Ouakam, Dakar",
           program="climate-week"),
    _Event("sao-paulo", 3, "19:00", 90, ONLINE, "pt-BR", "Roda de conversa: clima e periferias",
           (13, 10), people=9, program="climate-week"),
    _Event("manila", 5, "08:00", 180, IN_PERSON, "en", "Climate Week coastal clean-up", (14, 13),
           capacity=60, people=11, venue="Baseco beach", address="Tondo, Manila",
           program="climate-week", project="mangrove-guardians"),
)

SERIES = _Event(
    "paris", 0, "19:00", 120, IN_PERSON, "fr", "Atelier du mardi", (11, 12), capacity=20,
    people=6, venue="La Base", address="Paris 10e",
    description="Chaque mardi soir, on donne un coup de main aux projets du chapitre.",
    translations={"en": {"title": "Tuesday workshop",
                         "description": "Every Tuesday evening we lend a hand to the "
                                        "chapter's projects."}},
)


# -- placing things in time ----------------------------------------------------------------


def next_dst_change(after: date, zone: str) -> date:
    """The first local date after `after` whose UTC offset differs from the day before's."""
    tz = ZoneInfo(zone)

    def offset(day: date) -> timedelta | None:
        return datetime.combine(day, time(12)).replace(tzinfo=tz).utcoffset()

    day = after
    for _ in range(400):
        following = day + timedelta(days=1)
        if offset(following) != offset(day):
            return following
        day = following
    raise ValueError(f"{zone} has no daylight-saving change")


def climate_week_start(today: date) -> date:
    """Climate Week was the week starting on the Monday seven weeks before the seed date's."""
    return today - timedelta(days=today.weekday() + 49)


def _local(day: date, at: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(at))


# -- the seed ------------------------------------------------------------------------------


class _Activity:
    def __init__(self, ctx: Ctx, network: Network, now: datetime) -> None:
        self.ctx = ctx
        self.network = network
        self.now = now
        self.today = now.date()
        self.rng = random.Random(ACTIVITY_RANDOM_SEED)  # noqa: S311 (reproducible, not secret)
        self.projects: dict[str, uuid.UUID] = {}
        self.programs: dict[str, uuid.UUID] = {}
        self.events = 0
        self.registrations = 0
        self.enrolments = 0
        self.goals = 0
        self.urls = 0

    async def load_projects(self) -> None:
        rows = (await self.ctx.session.exec(select(Project.slug, Project.id))).all()
        self.projects = dict(rows)

    # events ---------------------------------------------------------------------------

    def _input(self, spec: _Event) -> dict[str, object]:
        chapter = self.network.chapters[spec.chapter]
        data: dict[str, object] = {
            "chapter_id": chapter.id,
            "title": spec.title,
            "description": spec.description,
            "translations": {tag: dict(t) for tag, t in spec.translations.items()},
            "format": spec.format,
            "timezone": chapter.timezone,
            "language": spec.language,
            "causes": list(spec.causes),
            "capacity": spec.capacity,
            "visibility": spec.visibility,
        }
        if spec.format != ONLINE:
            data["venue_name"] = spec.venue
            data["venue_address"] = spec.address
            if chapter.latitude is not None and chapter.longitude is not None:
                data["latitude"] = round(chapter.latitude + self.rng.uniform(-0.02, 0.02), 5)
                data["longitude"] = round(chapter.longitude + self.rng.uniform(-0.02, 0.02), 5)
        if spec.format != IN_PERSON:
            self.urls += 1
            data["online_url"] = f"https://meet.example.org/makesense-{spec.chapter}-{self.urls}"
        if spec.project is not None:
            data["project_id"] = self.projects[spec.project]
        if spec.program is not None:
            data["program_id"] = self.programs[spec.program]
        return data

    async def create(self, spec: _Event, day: date) -> uuid.UUID:
        """A draft event on a local date, times given as wall-clock times in its zone."""
        starts = _local(day, spec.at)
        data = self._input(spec)
        data["starts_at"] = starts
        data["ends_at"] = starts + timedelta(minutes=spec.minutes)
        if spec.opens_in is not None:
            data["registration_opens_at"] = _local(self.today + timedelta(days=spec.opens_in),
                                                   "09:00")
        view = await events.create(self.ctx, data)
        self.events += 1
        return view.id

    def _registrants(self, spec: _Event, count: int) -> list[uuid.UUID]:
        pool = self.network.pool(spec.chapter)
        return self.rng.sample(pool, k=min(count, len(pool)))

    async def upcoming(self, spec: _Event, day: date) -> uuid.UUID:
        """Published through the service, with registrations through the service."""
        event_id = await self.create(spec, day)
        if spec.draft:
            return event_id
        await events.publish(self.ctx, event_id)
        made = []
        for person in self._registrants(spec, spec.people):
            made.append(await registrations.register(self.ctx, event_id, person))
        self.registrations += len(made)
        if spec.waitlist_demo:
            # One seated person cancels: the first on the waitlist takes the seat.
            seated = [r for r in made if r.status == RegistrationStatus.REGISTERED]
            await registrations.cancel(self.ctx, seated[2].id)
        elif len(made) >= 5:
            await registrations.cancel(self.ctx, made[-1].id)
        if spec.cancelled:
            await events.cancel(self.ctx, event_id)
        return event_id

    def _seats_for(self, spec: _Event) -> int:
        return spec.people if spec.capacity is None else min(spec.people, spec.capacity)

    async def past(self, spec: _Event, day: date) -> uuid.UUID:
        event_id = await self.create(spec, day)
        await self.history(event_id, self._registrants(spec, self._seats_for(spec)))
        return event_id

    async def history(self, event_id: uuid.UUID, people: Sequence[uuid.UUID]) -> None:
        """Publish an event that has ended and give it the registrations it had (no more than
        its seats), then record who came through the check-in service."""
        session, rng = self.ctx.session, self.rng
        event = (await session.exec(
            select(Event).where(Event.id == event_id).execution_options(populate_existing=True)
        )).one()
        starts = event.starts_at
        published = starts - timedelta(days=rng.randint(14, 30), hours=rng.randint(0, 10))
        window = int((starts - published).total_seconds())
        arrivals = sorted(
            published + timedelta(seconds=rng.randint(3_600, window - 3_600)) for _ in people
        )
        seated: list[uuid.UUID] = []
        for person, queued in zip(people, arrivals, strict=True):
            cancelled = rng.random() < 0.1
            row = Registration(
                event_id=event_id,
                person_id=person,
                status=RegistrationStatus.CANCELLED if cancelled else RegistrationStatus.REGISTERED,
                queued_at=queued,
                cancelled_at=(
                    queued + (starts - queued) * rng.uniform(0.2, 0.9) if cancelled else None
                ),
                created_at=queued,
                updated_at=queued,
            )
            session.add(row)
            if not cancelled:
                seated.append(row.id)
        await session.exec(
            sa.update(Event)
            .where(col(Event.id) == event_id)
            .values(
                status=EventStatus.PUBLISHED,
                published_at=published,
                check_in_code=check_in_code(),
                sequence=Event.sequence + 1,
                seats_taken=len(seated),
                created_at=published - timedelta(days=rng.randint(1, 7)),
                updated_at=published,
            )
            .execution_options(synchronize_session=False)
        )
        forget(session, Event, event_id, "status", "published_at", "check_in_code", "sequence",
               "seats_taken", "created_at", "updated_at")
        await session.flush()
        self.registrations += len(people)
        if not seated:
            return
        # Most came, some did not; now and then an organizer never checked someone.
        rng.shuffle(seated)
        unchecked = 1 if len(seated) > 4 and rng.random() < 0.3 else 0
        no_shows = max(1, round(len(seated) * rng.uniform(0.1, 0.25)))
        absent = seated[:no_shows]
        came = seated[no_shows:len(seated) - unchecked]
        await checkin.check_in_many(self.ctx, event_id, absent, RegistrationStatus.NO_SHOW)
        if came:
            await checkin.check_in_many(self.ctx, event_id, came, RegistrationStatus.ATTENDED)
            # Organizers checked people in as they arrived, not when the demo was loaded.
            await session.exec(
                sa.update(Registration),
                params=[
                    {"id": rid, "checked_in_at": starts + timedelta(minutes=rng.randint(-15, 40))}
                    for rid in came
                ],
            )

    async def series(self) -> tuple[uuid.UUID, list[uuid.UUID]]:
        """The Tuesday workshop, from four weeks ago to three weeks after the next DST change."""
        spec = SERIES
        change = next_dst_change(self.today, SERIES_ZONE)
        data = self._input(spec)
        data.update(
            start_date=self.today - timedelta(weeks=4),
            local_start=spec.at,
            duration_minutes=spec.minutes,
            frequency="weekly",
            by_weekday=[1],
            until=change + timedelta(weeks=3),
        )
        created = await recurrence.create_series(self.ctx, data)
        self.events += len(created.event_ids)
        await recurrence.publish_series(self.ctx, created.id)
        occurrences = (await self.ctx.session.exec(
            select(Event)
            .where(Event.series_id == created.id)
            .order_by(col(Event.starts_at))
            .execution_options(populate_existing=True)
        )).all()
        upcoming = 0
        for event in occurrences:
            if event.status == EventStatus.DRAFT:  # ended before the seed ran
                await self.history(event.id, self._registrants(spec, self._seats_for(spec)))
            elif upcoming < 3:
                upcoming += 1
                for person in self._registrants(spec, spec.people - 2 * upcoming):
                    await registrations.register(self.ctx, event.id, person)
                    self.registrations += 1
        return created.id, [e.id for e in occurrences]

    # programs -------------------------------------------------------------------------

    async def program(
        self,
        slug: str,
        data: dict[str, object],
        joining: Sequence[str],
        added_later: Sequence[str],
    ) -> uuid.UUID:
        chapters = self.network.chapters
        created = await programs.create(self.ctx, {
            **data,
            "slug": slug,
            "chapter_ids": [chapters[s].id for s in joining],
        })
        for other in added_later:
            await participants.add_chapter(self.ctx, created.id, chapters[other].id)
        await programs.publish(self.ctx, created.id)
        self.programs[slug] = created.id
        return created.id

    async def enrol(
        self,
        program_id: uuid.UUID,
        people: Sequence[uuid.UUID],
        completed: float,
        dropped: float,
        finished: tuple[datetime, datetime],
    ) -> None:
        """Enrol people; some complete (at an instant in `finished`), some drop out."""
        rng = self.rng
        for person in people:
            enrolment = await enrolments.enrol(self.ctx, program_id, {"person_id": person})
            self.enrolments += 1
            roll = rng.random()
            if roll < completed:
                start, end = finished
                span = int((end - start).total_seconds())
                when = start + timedelta(seconds=rng.randint(0, max(span, 0)))
                await enrolments.complete(self.ctx, enrolment.id, now=when)
            elif roll < completed + dropped:
                await enrolments.drop(self.ctx, enrolment.id)

    async def climate_week(self) -> None:
        monday = climate_week_start(self.today)
        starts = datetime.combine(monday, time(), tzinfo=UTC)
        ends = starts + timedelta(days=7)
        joining = ("paris", "dakar", "lagos", "sao-paulo", "beirut", "manila")
        program_id = await self.program(
            "climate-week",
            {
                "title": "Climate Week",
                "description": "A week of climate action across the network: live sessions on "
                               "Zoom, local actions coordinated on WhatsApp.",
                "default_language": "en",
                "translations": {
                    "fr": {"title": "Semaine du climat",
                           "description": "Une semaine d'action pour le climat dans tout le "
                                          "réseau."},
                    "es": {"title": "Semana del clima"},
                    "pt-BR": {"title": "Semana do clima"},
                },
                "chapter_id": self.network.chapters["makesense"].id,
                "channels": ["whatsapp", "zoom"],
                "private_links": {
                    "whatsapp": "https://chat.example.org/makesense-climate-week",
                    "zoom": "https://meet.example.org/makesense-climate-week",
                },
                "starts_at": starts,
                "ends_at": ends,
                "target_people": 5_000,
            },
            joining,
            ("mexico-city", "jakarta"),
        )
        for spec in CLIMATE_WEEK_EVENTS:
            await self.past(spec, monday + timedelta(days=spec.day))
        pool = [p for slug in (*joining, "mexico-city", "jakarta")
                for p in self.network.residents.get(slug, ())]
        people = self.rng.sample(pool, k=min(48, len(pool)))
        await self.enrol(program_id, people, 0.6, 0.1, (ends - timedelta(days=2), ends))
        await self.goal({"program_id": program_id, "target": 5_000,
                         "starts_at": starts, "deadline": ends})
        # The week is over: the program stays public as a record.
        await programs.archive(self.ctx, program_id)

    async def zero_waste(self) -> None:
        first = self.today.replace(day=1)
        month = first.month - 5
        year = first.year + (month - 1) // 12
        begins = date(year, (month - 1) % 12 + 1, 1)
        starts = datetime.combine(begins, time(), tzinfo=UTC)
        ends = datetime(begins.year + 1, begins.month, 1, tzinfo=UTC)
        program_id = await self.program(
            "zero-waste-challenge",
            {
                "title": "Zero Waste Challenge",
                "description": "A year of monthly zero-waste missions by e-mail, for households "
                               "and neighbourhood groups.",
                "default_language": "en",
                "translations": {
                    "fr": {"title": "Défi Zéro Déchet",
                           "description": "Une année de missions zéro déchet mensuelles par "
                                          "e-mail."},
                    "es": {"title": "Reto Residuo Cero"},
                    "ar": {"title": "تحدي صفر نفايات"},
                },
                "chapter_id": self.network.chapters["europe"].id,
                "channels": ["email"],
                "private_links": {"email": "https://lists.example.org/zero-waste-challenge"},
                "starts_at": starts,
                "ends_at": ends,
                "target_people": 1_500,
            },
            ("france", "spain"),
            ("morocco",),
        )
        pool = [p for slug, ids in self.network.residents.items()
                if any(self.network.within(slug, c) for c in ("france", "spain", "morocco"))
                for p in ids]
        people = self.rng.sample(pool, k=min(40, len(pool)))
        await self.enrol(program_id, people, 0.3, 0.15, (starts + timedelta(days=60), self.now))
        await self.goal({"program_id": program_id, "target": 1_500,
                         "starts_at": starts, "deadline": ends})

    # goals ----------------------------------------------------------------------------

    async def goal(self, data: dict[str, object]) -> None:
        await impact.set_goal(self.ctx, data)
        self.goals += 1

    async def network_goals(self) -> None:
        chapters = self.network.chapters
        await self.goal({"chapter_id": chapters["makesense"].id, "target": NETWORK_TARGET,
                         "starts_at": GOALS_START, "deadline": NETWORK_DEADLINE})
        for region, target in REGION_TARGETS.items():
            await self.goal({"chapter_id": chapters[region].id, "target": target,
                             "starts_at": GOALS_START, "deadline": NETWORK_DEADLINE})


async def seed_activity(ctx: Ctx, network: Network, now: datetime) -> ActivitySummary:
    """Add the demo's events, programs and goals (in `ctx`'s transaction) as of `now`."""
    activity = _Activity(ctx, network, now)
    await activity.load_projects()
    await activity.network_goals()
    await activity.climate_week()
    await activity.zero_waste()
    for spec in PAST:
        await activity.past(spec, activity.today + timedelta(days=spec.day))
    for spec in UPCOMING:
        await activity.upcoming(spec, activity.today + timedelta(days=spec.day))
    await activity.series()
    await ctx.session.flush()
    return ActivitySummary(
        events=activity.events,
        series=1,
        registrations=activity.registrations,
        programs=len(activity.programs),
        enrolments=activity.enrolments,
        goals=activity.goals,
    )
