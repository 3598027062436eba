"""The large network's activity: programs, events with registrations, enrolments and goals.

At scale 1.0: 100,000 events from about 900 days ago to 120 days ahead (more in recent months,
as the network grows), hosted mostly by cities and neighbourhoods (countries, regions and the
network run online ones), each with one to three causes; 1,000,000 registrations; five programs
(three yearly Climate Weeks, a year-long Zero Waste Challenge, a six-month Digital Skills
program) with 60,000 enrolments; goals for the network, its regions and the programs. Every
count is multiplied by `scale`.

Registrations follow the rules the services enforce: one per person and event; in arrival
order (`queued_at`, between publication and the event's start, never after the seed's `now`)
the first arrivals take the seats up to the capacity, later ones wait when the event has a
waitlist (and are not registered when it has none), and cancellations hold no seat, so
`seats_taken` equals the event's registered, attended and no-show rows. At events that have
taken place, most seated people attended, some did not show up, and a few were never checked.
Overall: about 51% attended, 11% no-show, 24% registered (mostly for upcoming events), 12%
cancelled, 1.5% waitlisted.

The steps register themselves (`register_step`) when `makesense_api.seed` is imported, after
the chapters, people and projects they build on.
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from makesense_api.chapters.models import ChapterKind, ChapterStatus
from makesense_api.events.changes import CHECK_IN_ALPHABET, CHECK_IN_LENGTH
from makesense_api.events.models import EventFormat, EventStatus, RegistrationStatus
from makesense_api.kit.ids import new_id
from makesense_api.programs.models import EnrolmentStatus, ProgramStatus
from makesense_api.projects.models import ProjectStatus
from makesense_api.seed.demo import CAUSE_WEIGHTS
from makesense_api.seed.large import (
    LargeSeed,
    Row,
    SeedProgram,
    SeedStep,
    register_step,
    table,
)

EVENTS_FULL = 100_000
REGISTRATIONS_FULL = 1_000_000
ENROLMENTS_FULL = 60_000
PAST_DAYS = 900
FUTURE_DAYS = 120
EVENTS_PER_BATCH = 2_000
NETWORK_TARGET = 180_000_000
GOALS_START = datetime(2022, 1, 1, tzinfo=UTC)
NETWORK_DEADLINE = datetime(2031, 12, 31, 23, 59, 59, tzinfo=UTC)

FORMATS = (EventFormat.IN_PERSON, EventFormat.ONLINE, EventFormat.HYBRID)
CAPACITIES = (10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100, 150, 200)
DURATIONS = (60, 90, 120, 120, 150, 180, 240)
START_HOURS = (9, 10, 10, 11, 14, 15, 17, 18, 18, 19, 19, 20)  # never in a DST gap
KINDS = (
    ("Volunteer meetup", (17, 11)), ("Repair café", (12, 11)), ("Clean-up day", (14, 15, 12)),
    ("Climate workshop", (13,)), ("Project drinks", (8, 17)), ("Hackathon for good", (9, 11)),
    ("Community garden day", (2, 11, 15)), ("Zero-waste workshop", (12,)),
    ("Tree planting", (15, 13)), ("Skills for good: mentoring", (4, 8)),
    ("Food collection", (1, 2)), ("Solar energy info session", (7, 13)),
    ("Welcome evening for newcomers", (10, 16)), ("Women entrepreneurs circle", (5, 8)),
    ("Coding club", (4, 9)), ("Health outreach", (3,)),
)
ONLINE_KINDS = (
    ("Online info session", (17,)), ("Webinar: measuring impact", (17,)),
    ("Online onboarding for volunteers", (17, 4)), ("Online climate talk", (13,)),
)


@dataclass
class _Host:
    """What the events of one chapter draw on."""

    chapter: int
    pool: Sequence[int]  # people who come: the city's (neighbourhoods included) or the subtree's
    projects: list[uuid.UUID]
    zone: ZoneInfo


# -- programs ------------------------------------------------------------------------------


def _programs(seed: LargeSeed) -> list[SeedProgram]:
    regions = [i for i, c in enumerate(seed.chapters) if c.kind == ChapterKind.REGION]
    root = 0
    now = seed.now
    out: list[SeedProgram] = []
    # Climate Week: the last full week of September, network-wide, for the last three years.
    for year in range(now.year - 2, now.year + 1):
        last = date(year, 9, 30)
        monday = last - timedelta(days=last.weekday() + (7 if last.weekday() < 6 else 0))
        starts = datetime.combine(monday, time(), tzinfo=UTC)
        if now - timedelta(days=PAST_DAYS) <= starts <= now + timedelta(days=FUTURE_DAYS):
            out.append(SeedProgram(new_id(), f"climate-week-{year}", root,
                                   (root, *regions), starts, starts + timedelta(days=7), 0.2))
    first = regions[0]
    month = datetime(now.year, now.month, 1, tzinfo=UTC)
    begins = _months_before(month, 5)
    out.append(SeedProgram(new_id(), "zero-waste-challenge", first, (first,), begins,
                           _months_before(begins, -12), 0.25))
    organizer = regions[1] if len(regions) > 1 else root
    begins = _months_before(month, 14)
    out.append(SeedProgram(new_id(), "digital-skills-for-good", organizer, (organizer,), begins,
                           _months_before(begins, -6), 0.15))
    return out


def _months_before(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 - months
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


PROGRAM_TEXT = {
    "climate-week": ("Climate Week {year}", "A week of climate action across the network.",
                     ["whatsapp", "zoom"]),
    "zero-waste-challenge": ("Zero Waste Challenge", "A year of monthly zero-waste missions.",
                             ["email"]),
    "digital-skills-for-good": ("Digital Skills for Good",
                                "Six months of online training for volunteers.",
                                ["zoom", "email"]),
}


async def seed_programs(seed: LargeSeed) -> None:
    """A few programs with their chapters, and goals for the network, its regions and them."""
    made = _programs(seed)
    seed.programs.extend(made)
    seed.report("programs", 0, len(made))
    programs: list[Row] = []
    taking_part: list[Row] = []
    goals: list[Row] = []
    for p in made:
        key = "climate-week" if p.slug.startswith("climate-week") else p.slug
        title, description, channels = PROGRAM_TEXT[key]
        created = min(p.starts_at - timedelta(days=45), seed.now)
        status = ProgramStatus.ARCHIVED if p.ends_at < seed.now - timedelta(days=30) else (
            ProgramStatus.PUBLISHED)
        target = max(1, round(seed.count(ENROLMENTS_FULL) * p.share * 1.5))
        programs.append({
            "id": p.id, "created_at": created, "updated_at": created, "slug": p.slug,
            "title": title.format(year=p.starts_at.year), "description": description,
            "default_language": "en", "translations": {},
            "chapter_id": seed.chapters[p.chapter].id, "channels": channels,
            "private_links": {c: f"https://{c}.example.org/makesense-{p.slug}" for c in channels},
            "starts_at": p.starts_at, "ends_at": p.ends_at, "target_people": target,
            "status": str(status),
        })
        taking_part.extend(
            {"program_id": p.id, "chapter_id": seed.chapters[c].id} for c in p.chapters
        )
        goals.append(_goal(None, p.id, target, p.starts_at, p.ends_at, created))
    regions = [i for i, c in enumerate(seed.chapters) if c.kind == ChapterKind.REGION]
    weights = [sum(seed.chapters[j].weight for j in seed.subtree(i)) for i in regions]
    created = seed.now - timedelta(days=PAST_DAYS)
    goals.append(_goal(seed.chapters[0].id, None, NETWORK_TARGET, GOALS_START, NETWORK_DEADLINE,
                       created))
    for i, weight in zip(regions, weights, strict=True):
        share = max(1, round(NETWORK_TARGET * weight / (sum(weights) or 1)))
        goals.append(_goal(seed.chapters[i].id, None, share, GOALS_START, NETWORK_DEADLINE,
                           created))
    await seed.write(
        (table("program"), programs),
        (table("program_chapter"), taking_part),
        (table("goal"), goals),
    )
    seed.report("programs", len(made), len(made))


def _goal(chapter: uuid.UUID | None, program: uuid.UUID | None, target: int, starts: datetime,
          deadline: datetime, created: datetime) -> Row:
    return {
        "id": new_id(), "created_at": created, "updated_at": created, "chapter_id": chapter,
        "program_id": program, "metric": "mobilised_people", "target": target,
        "starts_at": starts, "deadline": deadline,
    }


# -- events and registrations --------------------------------------------------------------


def _hosts(seed: LargeSeed) -> tuple[list[_Host], list[float]]:
    """Chapters that host events, with their weights: cities and neighbourhoods by residents
    (90%), countries, regions and the network for online events (10%)."""
    children: dict[int, list[int]] = {}
    for i, c in enumerate(seed.chapters):
        if c.parent is not None:
            children.setdefault(c.parent, []).append(i)

    subtree_people: dict[int, list[int]] = {}

    def people_under(i: int) -> list[int]:
        if i not in subtree_people:
            found = list(seed.residents.get(i, ()))
            for child in children.get(i, ()):
                found.extend(people_under(child))
            subtree_people[i] = found
        return subtree_people[i]

    projects: dict[int, list[uuid.UUID]] = {}
    for p in seed.projects:
        if p.status == ProjectStatus.PUBLISHED:
            projects.setdefault(p.chapter, []).append(p.id)
    zones: dict[str, ZoneInfo] = {}
    hosts: list[_Host] = []
    weights: list[float] = []
    local_total = sum(len(v) for v in seed.residents.values()) or 1
    upper = [i for i, c in enumerate(seed.chapters)
             if c.kind in (ChapterKind.NETWORK, ChapterKind.REGION, ChapterKind.COUNTRY)]
    for i, c in enumerate(seed.chapters):
        zone = zones.setdefault(c.timezone, ZoneInfo(c.timezone))
        if c.kind in (ChapterKind.CITY, ChapterKind.NEIGHBOURHOOD):
            residents = len(seed.residents.get(i, ()))
            if not residents:
                continue
            base = c.parent if c.kind == ChapterKind.NEIGHBOURHOOD and c.parent is not None else i
            hosts.append(_Host(i, people_under(base), projects.get(i, []), zone))
            weights.append(0.9 * residents / local_total)
        elif people_under(i):
            hosts.append(_Host(i, people_under(i), [], zone))
            weights.append(0.1 / len(upper))
    return hosts, weights


def _allocate(weights: list[float], caps: list[int], total: int) -> list[int]:
    """Split `total` in proportion to the weights, no share above its cap."""
    counts = [0] * len(caps)
    left = total
    open_ = [i for i, cap in enumerate(caps) if cap > 0]
    while left > 0 and open_:
        weight = sum(weights[i] for i in open_) or 1.0
        given = 0
        for i in open_:
            share = min(caps[i] - counts[i], max(1, math.floor(left * weights[i] / weight)))
            share = min(share, left - given)
            counts[i] += share
            given += share
            if given == left:
                break
        left -= given
        open_ = [i for i in open_ if counts[i] < caps[i]]
        if given == 0:
            break
    return counts


@dataclass
class _Planned:
    row: Row
    causes: tuple[int, ...]
    pool: Sequence[int]
    published: datetime | None


def _check_in_code(seed: LargeSeed) -> str:
    return "".join(seed.rng.choice(CHECK_IN_ALPHABET) for _ in range(CHECK_IN_LENGTH))


def _plan_event(seed: LargeSeed, host: _Host, n: int) -> _Planned:
    rng, now = seed.rng, seed.now
    chapter = seed.chapters[host.chapter]
    local = chapter.kind in (ChapterKind.CITY, ChapterKind.NEIGHBOURHOOD)
    # Density grows linearly towards the present: more events in recent months.
    span = PAST_DAYS + FUTURE_DAYS
    offset = span * math.sqrt(rng.random()) - PAST_DAYS
    if chapter.status != ChapterStatus.ACTIVE and offset > 0:
        offset = -offset * PAST_DAYS / FUTURE_DAYS
    founded = (chapter.created_at - now).total_seconds() / 86_400
    if offset < founded:  # not before the chapter existed
        offset = rng.uniform(founded, 0)
    day = (now + timedelta(days=offset)).astimezone(host.zone).date()
    hour = rng.choice(START_HOURS)
    starts = datetime.combine(day, time(hour, rng.choice((0, 0, 30)))).replace(
        tzinfo=host.zone).astimezone(UTC)
    ends = starts + timedelta(minutes=rng.choice(DURATIONS))
    fmt = rng.choices(FORMATS, weights=(55, 25, 20))[0] if local else EventFormat.ONLINE
    title, causes = rng.choice(KINDS if fmt != EventFormat.ONLINE or local else ONLINE_KINDS)
    extra = rng.choices(list(CAUSE_WEIGHTS), weights=list(CAUSE_WEIGHTS.values()))[0]
    causes = tuple(sorted({*causes, extra}))[:3]
    future = starts > now
    status = rng.choices(
        (EventStatus.PUBLISHED, EventStatus.CANCELLED, EventStatus.DRAFT),
        weights=(85, 5, 10) if future else (94, 5, 1),
    )[0]
    created = min(starts - timedelta(days=rng.randint(7, 60), hours=rng.randint(0, 23)),
                  now - timedelta(hours=1))
    published = None
    if status != EventStatus.DRAFT:
        published = min(created + timedelta(hours=rng.randint(1, 72)), now)
    cancelled = None
    if published is not None and status == EventStatus.CANCELLED:
        cancelled = published + (min(starts, now) - published) * rng.uniform(0.3, 0.95)
    capacity = None if rng.random() < 0.3 else rng.choice(CAPACITIES)
    in_person = fmt != EventFormat.ONLINE
    project = rng.choice(host.projects) if host.projects and rng.random() < 0.1 else None
    place = chapter.city or chapter.name
    row: Row = {
        "id": new_id(), "created_at": created, "updated_at": cancelled or published or created,
        "chapter_id": chapter.id, "project_id": project, "program_id": None, "series_id": None,
        "title": f"{title} — {place}", "description": None, "default_language": "en",
        "translations": {}, "format": str(fmt),
        "venue_name": f"{place} community hall" if in_person else None,
        "venue_address": place if in_person else None,
        "latitude": round(chapter.lat + rng.uniform(-0.03, 0.03), 5) if in_person else None,
        "longitude": round(chapter.lon + rng.uniform(-0.03, 0.03), 5) if in_person else None,
        "online_url": (f"https://meet.example.org/makesense-{chapter.slug}-{n}"
                       if fmt != EventFormat.IN_PERSON else None),
        "starts_at": starts, "ends_at": ends, "timezone": chapter.timezone,
        "language": chapter.default_language if rng.random() < 0.85 else "en",
        "country_code": chapter.country_code, "capacity": capacity, "seats_taken": 0,
        "waitlist_enabled": rng.random() < 0.85, "registration_opens_at": None,
        "registration_closes_at": None,
        "visibility": "members" if rng.random() < 0.1 else "public", "status": str(status),
        "check_in_code": _check_in_code(seed) if published else None,
        "sequence": {EventStatus.DRAFT: 0, EventStatus.PUBLISHED: 1,
                     EventStatus.CANCELLED: 2}[status],
        "published_at": published, "cancelled_at": cancelled,
    }
    return _Planned(row, causes, host.pool, published)


def _link_programs(seed: LargeSeed, planned: list[_Planned]) -> None:
    """Half of the events held during a Climate Week in its chapters' subtrees join it."""
    weeks = [p for p in seed.programs if p.slug.startswith("climate-week")]
    for event in planned:
        starts = event.row["starts_at"]
        for week in weeks:
            if week.starts_at <= starts < week.ends_at and seed.rng.random() < 0.5:
                event.row["program_id"] = week.id


def _registrations(seed: LargeSeed, event: _Planned, n: int) -> list[Row]:
    """`n` people at most (fewer when not enough existed yet), in arrival order, with the
    statuses the services would have given them; sets the event's `seats_taken`."""
    rng, now, row = seed.rng, seed.now, event.row
    if n <= 0 or event.published is None:
        return []
    starts: datetime = row["starts_at"]
    last = min(starts, now)
    opened: datetime = event.published
    span = max(1, int((last - opened).total_seconds()))
    drawn = rng.sample(event.pool, k=min(len(event.pool), n + n // 2 + 4))
    arrivals = sorted(opened + timedelta(seconds=rng.randint(0, span)) for _ in drawn)
    capacity: int | None = row["capacity"]
    held = row["status"] == EventStatus.PUBLISHED and starts <= now  # it took place
    out: list[Row] = []
    seats = 0
    for person, queued in zip(drawn, arrivals, strict=True):
        if len(out) == n:
            break
        if seed.person_created[person] > queued:
            continue
        cancelled_at = checked = None
        if rng.random() < 0.12:
            status = RegistrationStatus.CANCELLED
            cancelled_at = queued + (last - queued) * rng.uniform(0.1, 0.9)
        elif capacity is None or seats < capacity:
            seats += 1
            status = RegistrationStatus.REGISTERED
            if held:
                roll = rng.random()
                if roll < 0.80:
                    status = RegistrationStatus.ATTENDED
                    checked = starts + timedelta(minutes=rng.randint(-15, 45))
                elif roll < 0.97:
                    status = RegistrationStatus.NO_SHOW
        elif row["waitlist_enabled"]:
            status = RegistrationStatus.WAITLISTED
        else:
            continue  # refused: the event was full and had no waitlist
        out.append({
            "id": new_id(), "created_at": queued,
            "updated_at": checked or cancelled_at or queued, "event_id": row["id"],
            "person_id": seed.people[person], "status": str(status), "queued_at": queued,
            "promoted_at": None, "cancelled_at": cancelled_at, "checked_in_at": checked,
            "client_id": None,
        })
    row["seats_taken"] = seats
    return out


def _room(capacity: int | None) -> int:
    """The most registrations an event gets: its seats, cancellations and a short waitlist."""
    return 400 if capacity is None else capacity * 4 // 3 + 2


async def seed_events(seed: LargeSeed) -> None:
    """Events across the tree and three years, with causes and registrations."""
    rng = seed.rng
    total = seed.count(EVENTS_FULL)
    hosts, weights = _hosts(seed)
    if not hosts:
        return
    chosen = rng.choices(range(len(hosts)), weights=weights, k=total)
    planned = [_plan_event(seed, hosts[h], n) for n, h in enumerate(chosen)]
    _link_programs(seed, planned)
    # How many registrations each event gets: popularity, bounded by who could come.
    popularity = [rng.lognormvariate(0, 0.9) if p.published else 0.0 for p in planned]
    caps = [0 if p.published is None else min(len(p.pool), _room(p.row["capacity"]))
            for p in planned]
    wanted = _allocate(popularity, caps, seed.count(REGISTRATIONS_FULL))
    seed.report("events", 0, total)
    owed = 0  # registrations earlier events could not take (too few people existed yet)
    for start in range(0, total, EVENTS_PER_BATCH):
        batch = range(start, min(total, start + EVENTS_PER_BATCH))
        registrations: list[Row] = []
        for n in batch:
            extra = min(owed, wanted[n], caps[n] - wanted[n]) if wanted[n] else 0
            made = _registrations(seed, planned[n], wanted[n] + extra)
            owed += wanted[n] - len(made)
            registrations.extend(made)
        await seed.write(
            (table("event"), [planned[n].row for n in batch]),
            (table("event_cause"), [
                {"event_id": planned[n].row["id"], "cause": c}
                for n in batch for c in planned[n].causes
            ]),
            (table("registration"), registrations),
        )
        seed.report("events", batch.stop, total)


# -- enrolments ----------------------------------------------------------------------------


async def seed_enrolments(seed: LargeSeed) -> None:
    """People of the programs' chapters enrol; at finished programs most completed."""
    rng, now = seed.rng, seed.now
    total = seed.count(ENROLMENTS_FULL)
    rows: list[Row] = []
    for p in seed.programs:
        opened = p.starts_at - timedelta(days=30)
        if opened >= now:
            continue
        inside = {j for c in p.chapters for j in seed.subtree(c)}
        pool = [n for n, home in enumerate(seed.person_home)
                if home in inside and seed.person_created[n] < min(p.ends_at, now)]
        last = min(p.ends_at, now)
        finished = p.ends_at <= now
        for person in rng.sample(pool, k=min(len(pool), round(total * p.share))):
            when = seed.between(max(opened, seed.person_created[person]), last)
            roll = rng.random()
            status, completed = EnrolmentStatus.ENROLLED, None
            if p.starts_at < now and roll < (0.55 if finished else 0.2):
                status = EnrolmentStatus.COMPLETED
                completed = seed.between(max(when, p.starts_at), last)
            elif roll < (0.7 if finished else 0.3):
                status = EnrolmentStatus.DROPPED
            rows.append({
                "id": new_id(), "created_at": when, "updated_at": completed or when,
                "program_id": p.id, "person_id": seed.people[person],
                "chapter_id": seed.chapters[seed.person_home[person]].id,
                "status": str(status), "completed_at": completed,
            })
    step = seed.batch_rows * 2
    seed.report("enrolments", 0, len(rows))
    for start in range(0, len(rows), step):
        await seed.write((table("enrolment"), rows[start:start + step]))
        seed.report("enrolments", min(len(rows), start + step), len(rows))


STEPS = (
    SeedStep("programs", seed_programs),
    SeedStep("events", seed_events),
    SeedStep("enrolments", seed_enrolments),
)


def register() -> None:
    """Add the activity steps to every `seed_large` run (idempotent)."""
    for step in STEPS:
        register_step(step)
